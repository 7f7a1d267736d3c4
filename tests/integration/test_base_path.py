"""haul under a base path (``HAUL_BASE_PATH=/haul``), in-process: every page a person can
reach by following links names only addresses under the base path (links, forms, scripts,
styles, pictures), redirects and cookies stay under it, the API, the events and the static
files answer there, and nothing answers outside it but a pointer to it and the health check.
The live event stream through a real proxy is tested in tests/browser/test_behind_proxy.py."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from argon2 import PasswordHasher

from haul.core import credentials
from haul.settings import Settings
from tests.integration.test_web_pages import token

BASE = "/haul"
ADMIN = ("root", "admin password 1")
HTML = {"Accept": "text/html"}
#: Attributes that name an address the browser fetches or goes to.
URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "poster", "content"})


class Addresses(HTMLParser):
    """Every address a page names in an attribute, with the tag it is on."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        for name, value in attrs:
            if value is None or name not in URL_ATTRIBUTES:
                continue
            if name == "content" and named.get("name") != "haul-base":
                continue
            self.found.append((tag, name, value))


def addresses(page: str) -> list[tuple[str, str, str]]:
    parser = Addresses()
    parser.feed(page)
    return parser.found


def outside(page: str) -> list[str]:
    """The addresses of this server a page names outside the base path."""
    return [f"<{tag} {name}={value!r}>" for tag, name, value in addresses(page) if escapes(value)]


def escapes(value: str) -> bool:
    """Whether an address of this server leads out of the base path (one relative to the
    page, ``#main`` or ``?page=2``, stays where the page is)."""
    parts = urlsplit(value)
    if parts.netloc:
        return parts.netloc == "127.0.0.1" and not under_base(parts.path)
    if parts.scheme or not value.startswith("/"):
        return False
    return not under_base(parts.path)


def under_base(path: str) -> bool:
    return path == BASE or path.startswith(BASE + "/")


@pytest.fixture(autouse=True)
def _quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    quick = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(credentials, "_hasher", lambda: quick)


@pytest.fixture
def based(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'haul.db'}",
        data_dir=tmp_path / "data",
        download_dir=tmp_path / "downloads",
        mode="accounts",
        base_path=BASE + "/",  # a final slash is the same base
        progress_interval=0.1,
    )


@pytest.fixture
async def site(based: Settings) -> AsyncIterator[httpx.AsyncClient]:
    from haul.web.app import create_app

    application = create_app(based)
    async with application.router.lifespan_context(application):
        await application.state.runtime.accounts.create_user(*ADMIN, role="admin")
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            yield http


async def log_in(http: httpx.AsyncClient) -> None:
    """Through the pages, as a person does: each step stays under the base path."""
    first = await http.get(f"{BASE}/add", headers=HTML)
    assert first.status_code == 303
    assert first.headers["location"] == f"{BASE}/login?next=%2Fadd"
    form = await http.get(first.headers["location"], headers=HTML)
    assert form.status_code == 200
    assert outside(form.text) == []
    csrf_cookie = form.headers["set-cookie"]
    assert "Path=/haul;" in csrf_cookie or csrf_cookie.endswith("Path=/haul"), csrf_cookie
    done = await http.post(
        f"{BASE}/login",
        data={"username": ADMIN[0], "password": ADMIN[1], "next": "/add", "csrf": token(form.text)},
        headers=HTML,
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"{BASE}/add"
    login_cookie = next(v for k, v in done.headers.multi_items() if "haul_login=" in v)
    assert re.search(r"[Pp]ath=/haul(;|$)", login_cookie), login_cookie


async def test_every_page_links_only_under_the_base_path(site: httpx.AsyncClient) -> None:
    await log_in(site)
    made = await site.post(
        f"{BASE}/api/v1/downloads", json={"url": "http://videos.example/film.mkv", "paused": True}
    )
    assert made.status_code == 201, made.text
    media = await site.post(f"{BASE}/api/v1/media", json={"kind": "movie", "title": "A film"})
    assert media.status_code == 201, media.text
    down = {"name": "nas-aria2", "kind": "aria2", "url": "http://127.0.0.1:9/jsonrpc"}
    client = await site.post(f"{BASE}/api/v1/clients", json={**down, "secret": "s"})
    assert client.status_code == 201, client.text
    sub = await site.post(
        f"{BASE}/api/v1/subscriptions",
        json={"url": "http://videos.example/channel", "paused": True},
    )
    assert sub.status_code == 201, sub.text
    seen: set[str] = set()
    todo = [f"{BASE}/", f"{BASE}/account", f"{BASE}/login", f"{BASE}/api/v1/docs"]
    escaped: list[str] = []
    while todo and len(seen) < 150:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        answer = await site.get(path, headers=HTML)
        if answer.status_code in (301, 302, 303, 307, 308):
            location = answer.headers["location"]
            assert not escapes(location), f"{path} redirects out of {BASE}: {location}"
            todo.append(location)
            continue
        assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text[:300]}"
        if "text/html" not in answer.headers.get("content-type", ""):
            continue
        escaped += [f"{path}: {named}" for named in outside(answer.text)]
        for tag, attribute, value in addresses(answer.text):
            target = urljoin(f"http://127.0.0.1{path}", value)
            parts = urlsplit(target)
            if parts.netloc != "127.0.0.1" or (tag, attribute) != ("a", "href"):
                continue
            if parts.path.endswith("/logout") or "/file" in parts.path:
                continue
            todo.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    assert escaped == []
    # The crawl went through the menu to every page and to the things made above.
    pages = ("/", "/add", "/library", "/subscriptions", "/cookies", "/clients", "/settings")
    for page in (*pages, "/logs", "/users"):
        assert f"{BASE}{page}" in seen, f"{page} was not reached"
    assert f"{BASE}/subscriptions/{sub.json()['id']}" in seen
    assert f"{BASE}/downloads/{made.json()['id']}" in seen
    assert f"{BASE}/library/{media.json()['id']}" in seen
    assert f"{BASE}/clients/nas-aria2" in seen
    # The banner of a client that does not answer, which the script puts on every page.
    banner = (await site.get(f"{BASE}/ui/summary")).json()["banner"]
    assert "nas-aria2 is unreachable" in banner and outside(banner) == []
    # What the pages load answers under the base path.
    for asset in ("/static/haul.js", "/static/haul.css", "/static/haul.svg"):
        assert (await site.get(f"{BASE}{asset}")).status_code == 200
    listing = await site.get(f"{BASE}/", headers=HTML)
    assert f'<meta name="haul-base" content="{BASE}">' in listing.text
    rows = await site.get(f"{BASE}/ui/rows?ids={made.json()['id']}", headers=HTML)
    assert outside(rows.text) == []
    missing = await site.get(f"{BASE}/nowhere", headers=HTML)
    assert missing.status_code == 404 and outside(missing.text) == []
    schema = (await site.get(f"{BASE}/api/v1/openapi.json")).json()
    assert schema["servers"] == [{"url": BASE}]


async def test_outside_the_base_path_only_a_pointer_and_the_health_check(
    site: httpx.AsyncClient,
) -> None:
    root = await site.get("/")
    assert root.status_code == 307 and root.headers["location"] == f"{BASE}/"
    for path in ("/add", "/api/v1/downloads", "/static/haul.js", "/hauler/", "/login"):
        answer = await site.get(path)
        assert answer.status_code == 404, path
        assert answer.json()["detail"] == "haul is at /haul/ on this server."
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert (await site.get("/healthz")).status_code == 200
    assert (await site.get(f"{BASE}/healthz")).status_code == 200
    # Starlette's own redirect of a trailing slash stays under the base path too.
    slashed = await site.get(f"{BASE}/api/v1/downloads/")
    assert slashed.status_code == 307
    assert urlsplit(slashed.headers["location"]).path == f"{BASE}/api/v1/downloads"


async def test_the_live_events_answer_under_the_base_path(based: Settings) -> None:
    from haul.web.app import create_app
    from tests.integration.test_isolation import EventReader, SocketReader

    application = create_app(based)
    async with application.router.lifespan_context(application):
        accounts = application.state.runtime.accounts
        admin = await accounts.create_user(*ADMIN, role="admin")
        _, token = await accounts.create_token(admin.id, "events")
        stream = EventReader(application, token)
        socket = SocketReader(application, token)
        for reader, path in ((stream, "/api/v1/events"), (socket, "/api/v1/ws")):
            reader.scope.update(path=f"{BASE}{path}", raw_path=f"{BASE}{path}".encode())
        outside = SocketReader(application, token)  # at /api/v1/ws, outside the base path
        transport = httpx.ASGITransport(app=application)
        bearer = {"Authorization": f"Bearer {token}"}
        try:
            await stream.start()
            await socket.start()
            await outside.start(expect_accept=False)
            assert outside.closed_with == 1008
            async with httpx.AsyncClient(
                transport=transport, base_url="http://127.0.0.1", headers=bearer
            ) as http:
                made = await http.post(
                    f"{BASE}/api/v1/downloads",
                    json={"url": "http://videos.example/live.mkv", "paused": True},
                )
            assert made.status_code == 201, made.text
            download_id = made.json()["id"]
            await stream.until(lambda ids: download_id in ids)
            await socket.until(lambda messages: any(m.get("id") == download_id for m in messages))
        finally:
            for reader in (stream, socket, outside):
                await reader.close()
