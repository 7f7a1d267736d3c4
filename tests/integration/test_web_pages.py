"""The downloads pages without a browser: what the server renders, the forms that work without
JavaScript, CSRF and cross-site refusals, and the fragments the page script swaps in."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import App
from tests.support.origin import Origin
from tests.support.wait import await_for

HTML = {"Accept": "text/html"}


def token(page: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found, "the page carries no CSRF token"
    return found.group(1)


async def open_page(app: App, path: str) -> tuple[str, str]:
    """The page's HTML and its CSRF token (the cookie stays in the client)."""
    response = await app.http.get(path, headers=HTML)
    assert response.status_code == 200, response.text
    return response.text, token(response.text)


async def queue(app: App, url: str, **extra: Any) -> dict[str, Any]:
    response = await app.post("/downloads", json={"url": url, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def row_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="d-(\d+)"', page)]


async def test_empty_list_says_how_to_start(app: App) -> None:
    page, _ = await open_page(app, "/")
    assert "<h1>Downloads</h1>" in page
    assert "Nothing here yet" in page
    assert 'href="/add"' in page


async def test_list_shows_downloads_with_their_state(app: App, origin: Origin) -> None:
    origin.add_file("/ok.bin", b"x" * 50_000, filename="ok.bin")
    done = await queue(app, origin.url("/ok.bin"))
    waiting = await queue(app, origin.url("/later.bin"), paused=True, title="Later <b>film</b>")
    await await_for(
        lambda: _status(app, done["id"], "completed"), timeout=30, what="the file finished"
    )
    page, _ = await open_page(app, "/")
    assert row_ids(page) == [waiting["id"], done["id"]]  # newest first
    assert "Later &lt;b&gt;film&lt;/b&gt;" in page  # titles are escaped, never markup
    assert 'class="badge b-completed">completed' in page
    assert 'class="badge b-paused">paused' in page
    assert "50.0 KB" in page
    # Each row has the controls that fit its state.
    resume = f'action="/downloads/{waiting["id"]}/resume"'
    assert resume in page
    assert f'action="/downloads/{done["id"]}/remove"' in page
    assert f'action="/downloads/{done["id"]}/pause"' not in page


async def _status(app: App, download_id: int, wanted: str) -> bool:
    return bool((await app.get(f"/downloads/{download_id}")).json()["status"] == wanted)


async def test_filters_search_sort_and_pages(app: App) -> None:
    urls = [f"http://192.0.2.1/show-{i:02d}.mkv" for i in range(60)]
    created = (await app.post("/downloads", json={"urls": urls, "paused": True})).json()["items"]
    await queue(app, "http://192.0.2.1/other-film.mp4", paused=True)
    ids = sorted(item["id"] for item in created)

    page, _ = await open_page(app, "/?q=show")
    first = row_ids(page)
    assert first == sorted(ids, reverse=True)[:50]
    more = re.search(r'href="(/\?[^"]*cursor=\d+[^"]*)"', page)
    assert more, "a second page is linked"
    page2, _ = await open_page(app, more.group(1).replace("&amp;", "&"))
    assert row_ids(page2) == sorted(ids, reverse=True)[50:]

    page, _ = await open_page(app, "/?q=other")
    assert len(row_ids(page)) == 1
    page, _ = await open_page(app, "/?q=show-07")
    assert row_ids(page) == [ids[7]]
    page, _ = await open_page(app, "/?sort=oldest&q=show")
    assert row_ids(page)[:3] == ids[:3]
    page, _ = await open_page(app, "/?status=completed")
    assert row_ids(page) == []
    assert "No download matches these filters" in page
    # A search for LIKE wildcards takes them literally.
    page, _ = await open_page(app, "/?q=%25")
    assert row_ids(page) == []


async def test_add_form_queues_links_and_goes_to_the_list(app: App, origin: Origin) -> None:
    origin.add_file("/a.bin", b"a" * 1000, filename="a.bin")
    _, csrf = await open_page(app, "/add")
    response = await app.http.post(
        "/add",
        data={"csrf": csrf, "urls": f"{origin.url('/a.bin')}\n\n  {origin.url('/b.bin')}  \n"},
        headers=HTML,
    )
    assert response.status_code == 303
    added = response.headers["location"]
    assert added.startswith("/?added=")
    listed = (await app.get("/downloads")).json()["items"]
    assert {item["url"] for item in listed} == {origin.url("/a.bin"), origin.url("/b.bin")}
    page, _ = await open_page(app, added)
    assert "Queued 2 downloads" in page


async def test_add_form_shows_errors_beside_the_field_and_keeps_what_failed(
    app: App, origin: Origin
) -> None:
    _, csrf = await open_page(app, "/add")
    good = origin.url("/fine.bin")
    response = await app.http.post(
        "/add",
        data={"csrf": csrf, "urls": f"{good}\nfile:///etc/passwd\nnot a link"},
        headers=HTML,
    )
    assert response.status_code == 422
    page = response.text
    errors = re.findall(r'<p class="field-error" id="urls-error">([^<]+)</p>', page)
    assert len(errors) == 2
    assert errors[0].startswith("file:///etc/passwd: ")
    # What was queued is said; only the links that failed are left in the box.
    assert "Queued 1 download" in page
    box = re.search(r'<textarea id="urls"[^>]*>([^<]*)</textarea>', page)
    assert box and box.group(1).split("\n") == ["file:///etc/passwd", "not a link"]
    assert len((await app.get("/downloads")).json()["items"]) == 1

    nothing = await app.http.post("/add", data={"csrf": csrf, "urls": "  "}, headers=HTML)
    assert nothing.status_code == 422
    assert "Paste at least one link" in nothing.text

    unknown = await app.http.post(
        "/add", data={"csrf": csrf, "urls": good + "?2", "profile": "nope"}, headers=HTML
    )
    assert unknown.status_code == 422
    assert re.search(r'id="profile-error">[^<]*nope', unknown.text)

    fast = {"csrf": csrf, "urls": good + "?3", "speed_limit": "fast", "paused": "true"}
    refused = await app.http.post("/add", data=fast, headers=HTML)
    assert refused.status_code == 422
    assert re.search(r'id="speed_limit-error">[^<]*is not a speed', refused.text)
    limited = await app.http.post("/add", data={**fast, "speed_limit": "750K"}, headers=HTML)
    assert limited.status_code == 303, limited.text
    newest = (await app.get("/downloads")).json()["items"][0]
    assert newest["url"] == good + "?3" and newest["speed_limit"] == 750_000


async def test_forms_without_the_pages_token_are_refused(app: App) -> None:
    refused = await app.http.post("/add", data={"urls": "http://192.0.2.1/x.mp4"}, headers=HTML)
    assert refused.status_code == 403
    assert "reload the page" in refused.text
    _, csrf = await open_page(app, "/add")
    wrong = await app.http.post(
        "/add", data={"urls": "http://192.0.2.1/x.mp4", "csrf": csrf[::-1]}, headers=HTML
    )
    assert wrong.status_code == 403
    assert (await app.get("/downloads")).json()["items"] == []


async def test_other_sites_cannot_make_the_browser_act(app: App) -> None:
    item = await queue(app, "http://192.0.2.1/x.mp4", paused=True)
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = await app.http.post(f"/api/v1/downloads/{item['id']}/cancel", headers=headers)
        assert response.status_code == 403
        assert "another web site" in response.json()["detail"]
    assert (await app.get(f"/downloads/{item['id']}")).json()["status"] == "paused"
    same = await app.http.post(
        f"/api/v1/downloads/{item['id']}/resume", headers={"Origin": "http://127.0.0.1"}
    )
    assert same.status_code == 200


async def test_buttons_work_without_javascript(app: App) -> None:
    first = await queue(app, "http://192.0.2.1/one.mp4", paused=True)
    second = await queue(app, "http://192.0.2.1/two.mp4", paused=True)
    _, csrf = await open_page(app, "/")
    cancel = await app.http.post(
        f"/downloads/{first['id']}/cancel", data={"csrf": csrf, "back": "/?q=one"}, headers=HTML
    )
    assert cancel.status_code == 303
    assert cancel.headers["location"] == "/?q=one"
    assert (await app.get(f"/downloads/{first['id']}")).json()["status"] == "canceled"
    # A redirect never leaves the site.
    away = await app.http.post(
        f"/downloads/{first['id']}/remove",
        data={"csrf": csrf, "back": "//evil.example/"},
        headers=HTML,
    )
    assert away.headers["location"] == "/"
    assert (await app.get(f"/downloads/{first['id']}")).status_code == 404

    bulk = await app.http.post(
        "/ui/bulk",
        data={"csrf": csrf, "action": "cancel", "ids": [str(second["id"])]},
        headers=HTML,
    )
    assert bulk.status_code == 303
    assert (await app.get(f"/downloads/{second['id']}")).json()["status"] == "canceled"


async def test_detail_page_tells_what_happened_and_what_comes_next(
    app: App, origin: Origin
) -> None:
    origin.add_file("/film.mp4", b"m" * 20_000, filename="film.mp4")
    done = await queue(app, origin.url("/film.mp4"))
    failed = await queue(app, origin.url("/gone.mp4"))
    await await_for(lambda: _status(app, done["id"], "completed"), timeout=30)
    await await_for(lambda: _status(app, failed["id"], "failed"), timeout=30)

    page, _ = await open_page(app, f"/downloads/{done['id']}")
    assert f'href="/api/v1/downloads/{done["id"]}/file?index=0"' in page
    assert "film.mp4" in page
    for kind in ("created", "started", "completed"):
        assert f"<b>{kind}</b>" in page

    page, _ = await open_page(app, f"/downloads/{failed['id']}")
    assert "404" in page
    assert "will not try again on its own" in page
    assert f'action="/downloads/{failed["id"]}/retry"' in page

    missing = await app.http.get("/downloads/999999", headers=HTML)
    assert missing.status_code == 404
    assert "There is no download 999999." in missing.text
    assert "<h1>" in missing.text
    unknown = await app.http.get("/no/such/page", headers=HTML)
    assert unknown.status_code == 404
    assert "<h1>" in unknown.text
    # The API keeps answering JSON.
    assert (await app.get("/downloads/999999")).json()["code"] == "not_found"


async def test_fragments_and_totals_for_the_page_script(app: App, origin: Origin) -> None:
    origin.add_file("/slow.bin", b"s" * 2_000_000, filename="slow.bin")
    origin.throttle("/slow.bin", 200_000)
    moving = await queue(app, origin.url("/slow.bin"))
    waiting = await queue(app, "http://192.0.2.1/w.mp4", paused=True)

    async def downloading() -> dict[str, Any] | None:
        summary: dict[str, Any] = (await app.http.get("/ui/summary")).json()
        return summary if summary["active"] == 1 and summary["speed"] > 0 else None

    summary = await await_for(downloading, timeout=20, what="one active download with a speed")
    assert summary["paused"] == 1
    assert summary["speed_text"].endswith("/s")
    assert summary["banner"].strip() == ""

    rows = await app.http.get(f"/ui/rows?ids={moving['id']},{waiting['id']},424242")
    assert row_ids(rows.text) == [waiting["id"], moving["id"]]
    assert 'class="badge b-downloading"' in rows.text
    panel = await app.http.get(f"/ui/downloads/{moving['id']}/panel")
    assert panel.status_code == 200
    assert "What happens next" in panel.text
    await app.post(f"/downloads/{moving['id']}/cancel", json={"delete_files": True})


async def test_add_page_offers_the_media_item_it_was_opened_for(app: App) -> None:
    made = []
    for n in range(3):
        response = await app.post("/media", json={"kind": "movie", "title": f"Film {n}"})
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])
    series = (await app.post("/media", json={"kind": "series", "title": "A show"})).json()
    page, _ = await open_page(app, f"/add?media={made[0]}")
    assert f'<option value="{made[0]}" selected>Film 0' in page
    options = re.findall(r'<option value="(\d+)"', page)
    assert [int(o) for o in options] == sorted(made, reverse=True)  # newest first, no series
    assert str(series["id"]) not in options


async def test_a_cursor_no_server_handed_out_is_refused(app: App) -> None:
    for cursor in ("99999999999999", "-1", "x", "\u00b2"):
        for path in ("/downloads", "/logs/errors"):
            response = await app.get(path, params={"cursor": cursor})
            assert response.status_code == 422, (path, cursor)
            assert response.json()["code"] == "invalid_cursor"
