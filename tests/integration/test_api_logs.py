"""The logs API on SQLite and PostgreSQL: entries of real failed downloads (a 404 from the
origin, a page without media, an IPTV stream the panel refuses), counts by domain and code,
filters, cursor paging, clearing, bad parameters and who may read them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import insert, select

from haul.store.models import ErrorLog, UnsupportedUrl, utcnow
from tests.conftest import App
from tests.integration.test_api_downloads import finished, submit
from tests.integration.test_iptv_downloads import add_provider
from tests.support import media
from tests.support.origin import Origin
from tests.support.xtream import XtreamServer


async def errors(app: App, **params: Any) -> dict[str, Any]:
    response = await app.get("/logs/errors", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def unsupported(app: App, **params: Any) -> dict[str, Any]:
    response = await app.get("/logs/unsupported", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def fails(app: App, url: str) -> dict[str, Any]:
    done = await finished(app, (await submit(app, url))["id"])
    assert done["status"] == "failed", done
    return done


async def test_failed_downloads_are_logged_and_counted_by_domain(app: App, origin: Origin) -> None:
    origin.add_file("/gone.bin", b"x")
    origin.fault("/gone.bin", "404", times=None)
    origin.add_page("/blog", media.page_without_media())
    gone = await fails(app, origin.url("/gone.bin"))
    blog = await fails(app, origin.url("/blog"))
    # The same origin by another name is another domain.
    other = origin.url("/gone.bin").replace("127.0.0.1", "localhost")
    elsewhere = await fails(app, other)

    listing = await errors(app)
    assert listing["next_cursor"] is None
    newest, middle, oldest = listing["items"]
    assert [newest["download_id"], middle["download_id"], oldest["download_id"]] == [
        elsewhere["id"],
        blog["id"],
        gone["id"],
    ]
    assert oldest["code"] == "http_404" and oldest["domain"] == "127.0.0.1"
    assert oldest["message"] == gone["error"] and "404" in oldest["message"]
    assert oldest["download_exists"] and oldest["url"] == origin.url("/gone.bin")
    assert middle["code"] == "unsupported_url" and origin.url("/blog") in middle["message"]
    assert newest["domain"] == "localhost"

    links = (await unsupported(app))["items"]
    assert [(u["url"], u["domain"], u["owner"]) for u in links] == [
        (origin.url("/blog"), "127.0.0.1", "local")
    ]
    assert "Unsupported URL" in links[0]["error"] or origin.url("/blog") in links[0]["error"]

    summary = (await app.get("/logs/summary")).json()
    assert summary["errors"]["total"] == 3
    assert summary["errors"]["by_domain"] == [
        {"domain": "127.0.0.1", "count": 2},
        {"domain": "localhost", "count": 1},
    ]
    assert summary["errors"]["domains"] == 2 and summary["errors"]["other_domains"] == 0
    assert summary["errors"]["by_code"] == [
        {"code": "http_404", "count": 2},
        {"code": "unsupported_url", "count": 1},
    ]
    assert summary["unsupported"]["total"] == 1
    assert summary["unsupported"]["by_domain"] == [{"domain": "127.0.0.1", "count": 1}]
    top_one = (await app.get("/logs/summary", params={"top": 1})).json()["errors"]
    assert top_one["by_domain"] == [{"domain": "127.0.0.1", "count": 2}]
    assert top_one["domains"] == 2 and top_one["other_domains"] == 1

    # Filters: a domain (as typed, any case), a code, words of the message.
    only_local = await errors(app, domain="LocalHost")
    assert [e["download_id"] for e in only_local["items"]] == [elsewhere["id"]]
    not_found = await errors(app, code="http_404", domain="127.0.0.1")
    assert [e["download_id"] for e in not_found["items"]] == [gone["id"]]
    worded = await errors(app, q="NOT FOUND gone.bin")
    assert [e["download_id"] for e in worded["items"]] == [elsewhere["id"], gone["id"]]
    assert (await errors(app, q="nothing-like-this"))["items"] == []
    assert (await unsupported(app, domain="localhost"))["items"] == []
    assert len((await unsupported(app, q="/BLOG"))["items"]) == 1

    # Removing a download from view keeps its log entry; the entry no longer links to it.
    assert (await app.http.delete(f"/api/v1/downloads/{gone['id']}")).status_code in (200, 204)
    [entry] = (await errors(app, code="http_404", domain="127.0.0.1"))["items"]
    assert entry["download_id"] == gone["id"] and not entry["download_exists"]


async def seed(app: App, count: int, *, age: timedelta = timedelta(0)) -> None:
    """``count`` error log and unsupported entries over three domains and two codes."""
    now = utcnow() - age
    domains = ["a.example", "b.example", "c.example"]
    async with app.runtime.db.write() as s:
        await s.execute(
            insert(ErrorLog),
            [
                {
                    "domain": domains[i % 3],
                    "error_code": "http_404" if i % 2 else "timeout",
                    "message": f"entry {i}: 100% of_it failed",
                    "created_at": now + timedelta(seconds=i),
                }
                for i in range(count)
            ],
        )
        await s.execute(
            insert(UnsupportedUrl),
            [
                {
                    "url": f"https://{domains[i % 3]}/page/{i}",
                    "domain": domains[i % 3],
                    "error": f"Unsupported URL: https://{domains[i % 3]}/page/{i}",
                    "created_at": now + timedelta(seconds=i),
                }
                for i in range(count)
            ],
        )


async def test_pages_continue_with_the_cursor_and_filters_apply(app: App) -> None:
    await seed(app, 120)
    seen: list[int] = []
    cursor = ""
    sizes = []
    while True:
        page = await errors(app, limit=50, cursor=cursor)
        sizes.append(len(page["items"]))
        seen += [e["id"] for e in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert sizes == [50, 50, 20]
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == 120
    # A cursor past every id starts at the newest.
    assert [e["id"] for e in (await errors(app, cursor=str(2**31 - 1)))["items"]] == seen[:50]

    # A filtered list pages the same way, and only holds what matches.
    kept: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = await errors(app, domain="b.example", code="timeout", limit=7, cursor=cursor)
        kept += page["items"]
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert len(kept) == 20  # i % 3 == 1 and i even, of 0..119
    assert {(e["domain"], e["code"]) for e in kept} == {("b.example", "timeout")}

    # Wildcards of LIKE are taken literally.
    assert len((await errors(app, q="100%", limit=500))["items"]) == 120
    assert (await errors(app, q="100_"))["items"] == []
    assert len((await errors(app, q="of_it", limit=500))["items"]) == 120

    links = await unsupported(app, domain="c.example", limit=30)
    assert len(links["items"]) == 30 and links["next_cursor"] is not None
    rest = await unsupported(app, domain="c.example", limit=30, cursor=links["next_cursor"])
    assert len(rest["items"]) == 10 and rest["next_cursor"] is None
    summary = (await app.get("/logs/summary")).json()
    assert summary["errors"]["by_domain"] == [
        {"domain": d, "count": 40} for d in ("a.example", "b.example", "c.example")
    ]
    assert summary["unsupported"]["total"] == 120
    assert summary["unsupported"]["by_code"] == [{"code": "unsupported_url", "count": 120}]


async def test_old_entries_are_cleared_and_recent_ones_kept(app: App) -> None:
    await seed(app, 3, age=timedelta(days=40))
    await seed(app, 2, age=timedelta(days=10))
    await seed(app, 1)
    cleared = await app.http.delete("/api/v1/logs/errors", params={"older_than_days": 30})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json() == {"removed": 3, "older_than_days": 30}
    assert len((await errors(app))["items"]) == 3
    assert len((await unsupported(app))["items"]) == 6  # the other log is untouched

    week = await app.http.delete("/api/v1/logs/unsupported", params={"older_than_days": 7})
    assert week.json() == {"removed": 5, "older_than_days": 7}
    everything = await app.http.delete("/api/v1/logs/errors")
    assert everything.json() == {"removed": 3, "older_than_days": None}
    summary = (await app.get("/logs/summary")).json()
    assert summary["errors"]["total"] == 0 and summary["errors"]["by_domain"] == []
    assert summary["unsupported"]["total"] == 1


BAD_PARAMETERS: list[tuple[str, str, dict[str, Any], str]] = [
    ("GET", "/logs/errors", {"limit": 0}, "limit"),
    ("GET", "/logs/errors", {"limit": 501}, "limit"),
    ("GET", "/logs/errors", {"limit": "ten"}, "limit"),
    ("GET", "/logs/errors", {"cursor": "abc"}, "cursor"),
    ("GET", "/logs/unsupported", {"cursor": "-5"}, "cursor"),
    ("GET", "/logs/errors", {"cursor": "99999999999999"}, "cursor"),  # no id is that large
    ("GET", "/logs/errors", {"domain": "x" * 300}, "domain"),
    ("GET", "/logs/summary", {"top": 0}, "top"),
    ("DELETE", "/logs/errors", {"older_than_days": -1}, "older_than_days"),
    ("DELETE", "/logs/unsupported", {"older_than_days": "soon"}, "older_than_days"),
]


async def test_bad_parameters_get_422_with_a_sentence(app: App) -> None:
    await seed(app, 2)
    for method, path, params, says in BAD_PARAMETERS:
        response = await app.http.request(method, f"/api/v1{path}", params=params)
        assert response.status_code == 422, (path, params, response.text)
        body = response.json()
        assert says in body["detail"], (params, body)
        assert body["detail"].endswith(".") and body["code"] in ("invalid_input", "invalid_cursor")
    # Nothing was removed by a refused clear.
    summary = (await app.get("/logs/summary")).json()
    assert summary["errors"]["total"] == 2 and summary["unsupported"]["total"] == 2


async def test_only_administrators_read_or_clear_the_logs(visitor: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/logs/errors"),
        ("GET", "/logs/unsupported"),
        ("GET", "/logs/summary"),
        ("DELETE", "/logs/errors"),
        ("DELETE", "/logs/unsupported"),
    ]:
        response = await visitor.request(method, f"/api/v1{path}")
        assert response.status_code == 403, (path, response.text)
        assert response.json()["detail"] == "Only an administrator can do that."
    page = await visitor.get("/logs", headers={"Accept": "text/html"})
    assert page.status_code == 403 and "Only an administrator can do that." in page.text


async def test_a_failed_iptv_download_is_logged_without_the_password(
    app: App, xtream: XtreamServer
) -> None:
    pid = await add_provider(app, xtream)
    xtream.fail_stream("movie", 101, times=10, status=404)
    item = (await app.post(f"/iptv/providers/{pid}/vod/101/download")).json()
    failed = await finished(app, item["id"])
    assert failed["status"] == "failed" and failed["error_code"] == "http_404"

    [entry] = (await errors(app))["items"]
    assert entry["download_id"] == item["id"] and entry["domain"] == f"iptv:{pid}"
    assert entry["message"] == failed["error"]
    async with app.runtime.db.read() as s:
        stored = (await s.scalars(select(ErrorLog.message))).all()
    summary = (await app.get("/logs/summary")).text
    shown = [(await app.get("/logs/errors")).text, summary, *stored]
    shown.append((await app.http.get("/logs", headers={"Accept": "text/html"})).text)
    for text in shown:
        assert xtream.password not in text
        for encoded in (xtream.password.replace(" ", "%20"), xtream.password.replace(" ", "+")):
            assert encoded not in text
    assert (await errors(app, domain=f"iptv:{pid}"))["items"] == [entry]


async def test_the_openapi_schema_documents_the_logs(app: App) -> None:
    schema = (await app.get("/openapi.json")).json()
    paths = schema["paths"]
    assert set(paths["/api/v1/logs/errors"]) == {"get", "delete"}
    assert set(paths["/api/v1/logs/unsupported"]) == {"get", "delete"}
    ok = paths["/api/v1/logs/errors"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorLogPage")
    assert "403" in paths["/api/v1/logs/summary"]["get"]["responses"]
    entry = schema["components"]["schemas"]["ErrorEntryOut"]["properties"]
    assert {"download_exists", "domain", "code", "message"} <= set(entry)
