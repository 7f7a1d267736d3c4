"""Behind trusted proxies (``HAUL_TRUSTED_PROXIES``), in-process: what a proxy says of the
client (``X-Forwarded-For``, ``-Proto``, ``-Host``) and who it signed in (``HAUL_AUTH_HEADER``)
is believed from the proxy's address only; from anyone else the same headers change nothing.
Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from haul.errors import LoginFailed
from haul.settings import Settings

PROXY = "10.0.0.2"
STRANGER = "10.0.0.66"
SOURCE = "http://videos.example/watch/{n}"


@asynccontextmanager
async def haul(settings: Settings, **overrides: Any) -> AsyncIterator[Any]:
    from haul.web.app import create_app

    app = create_app(settings.model_copy(update={"trusted_proxies": PROXY, **overrides}))
    async with app.router.lifespan_context(app):
        yield app


def browser(app: Any, peer: str, **headers: str) -> httpx.AsyncClient:
    """A client whose connections come from ``peer`` (the proxy, or someone else)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(peer, 50000)),
        base_url="http://127.0.0.1",
        headers=headers,
    )


async def add(http: httpx.AsyncClient, n: int) -> httpx.Response:
    return await http.post("/api/v1/downloads", json={"url": SOURCE.format(n=n), "paused": True})


async def test_the_client_address_of_a_trusted_proxy_counts_for_public_limits(
    settings: Settings,
) -> None:
    async with haul(settings, mode="public", public_limit_per_ip=1) as app:
        # Two people behind the proxy, at two addresses: one download each.
        async with (
            browser(app, PROXY, **{"X-Forwarded-For": "203.0.113.7"}) as anna,
            browser(app, PROXY, **{"X-Forwarded-For": "198.51.100.9"}) as ben,
        ):
            assert (await add(anna, 1)).status_code == 201
            assert (await add(ben, 2)).status_code == 201
        # Someone else claiming other addresses is still one address: the second is refused.
        async with (
            browser(app, STRANGER, **{"X-Forwarded-For": "192.0.2.1"}) as cleo,
            browser(app, STRANGER, **{"X-Forwarded-For": "192.0.2.2"}) as dan,
        ):
            assert (await add(cleo, 3)).status_code == 201
            refused = await add(dan, 4)
            assert refused.status_code == 429
            assert "from one network address" in refused.json()["detail"]
        # The proxy's own address in the list is skipped: the client is the one before it.
        async with browser(
            app, PROXY, **{"X-Forwarded-For": f"203.0.113.7, {PROXY}"}
        ) as anna_again:
            assert (await add(anna_again, 5)).status_code == 429


async def test_https_at_the_proxy_makes_cookies_secure_and_origins_https(
    settings: Settings,
) -> None:
    async with haul(settings, mode="public") as app:
        async with browser(app, PROXY, **{"X-Forwarded-Proto": "https"}) as behind:
            cookie = (await behind.get("/api/v1/auth/me")).headers["set-cookie"]
            assert "; Secure" in cookie
            # A page of http:// is another origin than haul's https:// pages.
            plain = await behind.post(
                "/api/v1/downloads",
                json={"url": SOURCE.format(n=1)},
                headers={"Origin": "http://127.0.0.1"},
            )
            assert plain.status_code == 403
            assert plain.json()["code"] == "cross_site"
            same = await behind.post(
                "/api/v1/downloads",
                json={"url": SOURCE.format(n=1), "paused": True},
                headers={"Origin": "https://127.0.0.1"},
            )
            assert same.status_code == 201, same.text
        async with browser(app, STRANGER, **{"X-Forwarded-Proto": "https"}) as direct:
            cookie = (await direct.get("/api/v1/auth/me")).headers["set-cookie"]
            assert "Secure" not in cookie


async def test_the_name_a_trusted_proxy_forwards_is_the_host(settings: Settings) -> None:
    async with haul(settings, allowed_hosts="haul.example.com") as app:
        forwarded = {"X-Forwarded-Host": "haul.example.com"}
        async with browser(app, PROXY, **forwarded) as behind:
            assert (await behind.get("/api/v1/auth/me")).status_code == 200
            posted = await behind.post(
                "/api/v1/downloads",
                json={"url": SOURCE.format(n=1), "paused": True},
                headers={"Origin": "http://haul.example.com"},
            )
            assert posted.status_code == 201, posted.text
        async with browser(app, PROXY, **{"X-Forwarded-Host": "rebound.example"}) as other:
            refused = await other.get("/api/v1/auth/me")
            assert refused.status_code == 400 and refused.json()["code"] == "unknown_host"
        # From anyone else the header is not the host: the request is to 127.0.0.1.
        async with browser(app, STRANGER, **{"X-Forwarded-Host": "rebound.example"}) as direct:
            assert (await direct.get("/api/v1/auth/me")).status_code == 200
            claimed = await direct.post(
                "/api/v1/downloads",
                json={"url": SOURCE.format(n=2)},
                headers={"Origin": "http://rebound.example"},
            )
            assert claimed.status_code == 403


# -- single sign-on through the proxy -------------------------------------------------------


@asynccontextmanager
async def signed_in_by_proxy(settings: Settings, **overrides: Any) -> AsyncIterator[Any]:
    async with haul(settings, mode="accounts", auth_header="Remote-User", **overrides) as app:
        yield app


async def test_the_person_a_trusted_proxy_names_is_signed_in(settings: Settings) -> None:
    async with signed_in_by_proxy(settings) as app:
        # The first account of an instance is its administrator, as on the setup page.
        async with browser(app, PROXY, **{"Remote-User": "root"}) as first:
            assert (await first.get("/api/v1/auth/me")).json()["is_admin"] is True
        async with browser(app, PROXY, **{"Remote-User": "alice"}) as alice:
            me = (await alice.get("/api/v1/auth/me")).json()
            assert me["user"]["username"] == "alice"
            assert me["user"]["role"] == "user" and not me["is_admin"]
            made = await add(alice, 1)
            assert made.status_code == 201, made.text
            page = await alice.get("/", headers={"Accept": "text/html"})
            assert page.status_code == 200
            assert "videos.example" in page.text
            assert "Log out" not in page.text  # the proxy signs her out, not haul
            assert (await alice.get("/users")).status_code == 403
        # The account was made once; she is the same person the next time, also when the
        # proxy passes on its own sign-in (Basic) beside the name.
        basic = {"Remote-User": "Alice", "Authorization": "Basic YWxpY2U6c2VjcmV0"}
        async with browser(app, PROXY, **basic) as again:
            listed = (await again.get("/api/v1/downloads")).json()["items"]
            assert [i["id"] for i in listed] == [made.json()["id"]]
        users = await app.state.runtime.accounts.users()
        assert [(u.username, u.role) for u in users] == [("root", "admin"), ("alice", "user")]


async def test_two_names_in_the_header_sign_nobody_in(settings: Settings) -> None:
    async with signed_in_by_proxy(settings) as app:
        twice = httpx.Headers([("Remote-User", "alice"), ("Remote-User", "admin")])
        async with browser(app, PROXY) as both:
            answer = await both.get("/api/v1/auth/me", headers=twice)
            assert answer.status_code == 403
            assert "in 2 Remote-User headers; haul takes exactly one" in answer.json()["detail"]
            page = await both.get("/", headers=[*twice.multi_items(), ("Accept", "text/html")])
            assert page.status_code == 403
        assert await app.state.runtime.accounts.users() == []


async def test_the_header_from_anyone_else_signs_nobody_in(settings: Settings) -> None:
    async with signed_in_by_proxy(settings) as app:
        async with browser(app, STRANGER, **{"Remote-User": "root"}) as stranger:
            answer = await stranger.get("/api/v1/auth/me")
            assert answer.status_code == 401
            page = await stranger.get("/", headers={"Accept": "text/html"})
            assert page.status_code == 303 and page.headers["location"].startswith("/login")
        assert await app.state.runtime.accounts.users() == []


async def test_the_role_of_new_people_and_what_the_proxy_cannot_do(settings: Settings) -> None:
    async with signed_in_by_proxy(settings, auth_header_role="admin") as app:
        accounts = app.state.runtime.accounts
        old = await accounts.create_user("bob", "bob password 1", role="user")
        async with browser(app, PROXY, **{"Remote-User": "carol"}) as carol:
            assert (await carol.get("/api/v1/auth/me")).json()["is_admin"] is True
        # Someone haul already knows keeps their role.
        async with browser(app, PROXY, **{"Remote-User": "bob"}) as bob:
            assert (await bob.get("/api/v1/auth/me")).json()["is_admin"] is False
        await accounts.update_user(old.id, disabled=True)
        async with browser(app, PROXY, **{"Remote-User": "bob"}) as bob:
            refused = await bob.get("/api/v1/auth/me")
            assert refused.status_code == 403
            assert refused.json()["detail"] == "This account is disabled; ask an administrator."
        async with browser(app, PROXY, **{"Remote-User": "no/such name"}) as odd:
            refused = await odd.get("/api/v1/auth/me")
            assert refused.status_code == 403
            assert "not a user name haul takes" in refused.json()["detail"]
        # A made account has no password: only the proxy signs it in.
        with pytest.raises(LoginFailed):
            await accounts.authenticate("carol", "", "127.0.0.1")
