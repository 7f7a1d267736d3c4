"""The library pages without a browser: the list, an item's detail, and the forms that add,
change, delete and rescan, posted the way a browser without JavaScript posts them."""

from __future__ import annotations

import html
import re
from typing import Any

from tests.conftest import App
from tests.integration.test_api_downloads import finished, submit
from tests.integration.test_web_pages import HTML, open_page
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin


def field_errors(page: str) -> dict[str, str]:
    """The notes beside the fields of a page, by field."""
    found = re.findall(r'class="field-error" id="(\w+)-error">([^<]*)<', page)
    return {name: html.unescape(text) for name, text in found}


async def api_item(app: App, **body: Any) -> dict[str, Any]:
    response = await app.post("/media", json=body)
    assert response.status_code == 201, response.text
    item: dict[str, Any] = response.json()
    return item


async def post_form(app: App, path: str, csrf: str, **fields: str) -> Any:
    return await app.http.post(path, data={"csrf": csrf, **fields}, headers=HTML)


async def test_an_item_added_with_the_form_is_listed_and_shown(app: App) -> None:
    page, csrf = await open_page(app, "/library")
    assert "The library is empty" in page
    added = await post_form(
        app, "/library", csrf, kind="movie", title=" The Matrix ", year="1999", imdb="tt0133093"
    )
    assert added.status_code == 303
    where = added.headers["location"]
    assert re.fullmatch(r"/library/\d+\?created=1", where)
    detail = (await app.http.get(where, headers=HTML)).text
    assert "<h1" in detail and "The Matrix" in detail
    assert "Added to the library." in detail
    assert "https://www.imdb.com/title/tt0133093/" in detail
    media_id = int(where.split("/")[2].split("?")[0])
    assert f'href="/add?media={media_id}"' in detail  # "Download for this item"
    listed = (await app.http.get("/library", headers=HTML)).text
    assert f'href="/library/{media_id}"' in listed
    assert "no file" in listed and "0 downloads" in listed
    stored = (await app.get(f"/media/{media_id}")).json()
    assert (stored["title"], stored["year"], stored["external_ids"]) == (
        "The Matrix",
        1999,
        {"imdb": "tt0133093"},
    )


async def test_mistakes_are_noted_beside_their_fields_and_the_form_is_kept(app: App) -> None:
    _, csrf = await open_page(app, "/library")
    response = await post_form(
        app,
        "/library",
        csrf,
        kind="episode",
        title="",
        year="99",
        season="one",
        episode="2",
        imdb="0133093",
        tmdb="-4",
    )
    assert response.status_code == 422
    notes = field_errors(response.text)
    assert notes["title"] == "A media item needs a title."
    assert "from 1870 to 2200" in notes["year"]
    assert "whole number" in notes["season"] and "'one'" in notes["season"]
    assert notes["parent"] == "An episode belongs to a series: give the series as parent."
    assert "is not an IMDb id" in notes["imdb"]
    assert "positive number" in notes["tmdb"]
    assert 'value="one"' in response.text and 'value="0133093"' in response.text
    assert re.search(r'<details class="panel" id="add" open>', response.text)
    assert (await app.get("/media")).json()["items"] == []


async def test_episodes_are_grouped_by_season_under_their_series(app: App) -> None:
    series = await api_item(app, kind="series", title="Mystery Hour", year=2004)
    _, csrf = await open_page(app, f"/library?add=episode&parent={series['id']}")
    for season, episode, title in (
        ("1", "2", "Second"),
        ("0", "1", "Pilot special"),
        ("1", "1", "First"),
    ):
        response = await post_form(
            app,
            "/library",
            csrf,
            kind="episode",
            title=title,
            parent=str(series["id"]),
            season=season,
            episode=episode,
        )
        assert response.status_code == 303, field_errors(response.text)
    page = (await app.http.get(f"/library/{series['id']}", headers=HTML)).text
    headings = re.findall(r'<h3 class="season">(\w+(?: \d+)?) ', page)
    assert headings == ["Specials", "Season 1"]
    assert page.index(">First<") < page.index(">Second<")
    listed = (await app.http.get("/library?kind=episode", headers=HTML)).text
    assert "Mystery Hour · S01E02" in listed
    assert "Mystery Hour</a>" not in listed  # the filter shows episodes only
    searched = (await app.http.get("/library?q=pilot", headers=HTML)).text
    assert "Pilot special" in searched and ">First<" not in searched


async def test_change_then_delete_an_item(app: App) -> None:
    movie = await api_item(
        app, kind="movie", title="Alien", year=1979, external_ids={"imdb": "tt0078748", "tmdb": 348}
    )
    page, csrf = await open_page(app, f"/library/{movie['id']}")
    assert 'value="tt0078748"' in page  # the edit form is filled
    wrong = await post_form(
        app, f"/library/{movie['id']}", csrf, title="Alien", year="1979", imdb="tt0078748", tmdb="x"
    )
    assert wrong.status_code == 422
    assert "positive number" in field_errors(wrong.text)["tmdb"]
    assert re.search(r'<details class="panel" id="edit" open>', wrong.text)
    saved = await post_form(
        app,
        f"/library/{movie['id']}",
        csrf,
        title="Alien (Director's Cut)",
        year="2003",
        tmdb="348",
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("?saved=1")
    stored = (await app.get(f"/media/{movie['id']}")).json()
    assert stored["title"] == "Alien (Director's Cut)" and stored["year"] == 2003
    assert stored["external_ids"] == {"tmdb": 348}  # the emptied IMDb id is gone

    gone = await post_form(app, f"/library/{movie['id']}/delete", csrf, delete_files="true")
    assert gone.status_code == 303 and gone.headers["location"] == "/library?deleted=0"
    note = (await app.http.get(gone.headers["location"], headers=HTML)).text
    assert "The media item was deleted." in note
    assert (await app.get(f"/media/{movie['id']}")).status_code == 404
    missing = await app.http.get(f"/library/{movie['id']}", headers=HTML)
    assert missing.status_code == 404 and "There is no media item" in missing.text


async def test_detail_shows_the_probed_file_with_a_link_that_fetches_it(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    data = media_files.mp4.read_bytes()
    origin.add_file("/films/heat.mp4", data, content_type="video/mp4")
    movie = await api_item(app, kind="movie", title="Heat", year=1995)
    download = await submit(app, origin.url("/films/heat.mp4"), media_id=movie["id"])
    assert (await finished(app, download["id"]))["status"] == "completed"

    page = (await app.http.get(f"/library/{movie['id']}", headers=HTML)).text
    assert f'href="/downloads/{download["id"]}"' in page
    assert '<span class="badge b-completed">completed</span>' in page
    for shown in ("mp4", "h264 320\u00d7240", "aac, 1 ch", "eng", "Heat (1995).mp4", "(move)"):
        assert shown in page, shown
    link = re.search(r'<a href="(/api/v1/downloads/\d+/file\?index=\d+)" download', page)
    assert link, "no link fetches the file"
    fetched = await app.http.get(html.unescape(link.group(1)))
    assert fetched.status_code == 200 and fetched.content == data
    listed = (await app.http.get("/library", headers=HTML)).text
    assert "has its file" in listed and "1 download<" in listed


async def test_rescan_says_what_it_found(app: App, origin: Origin) -> None:
    origin.add_file("/notes.bin", b"x" * 50_000)
    download = await submit(app, origin.url("/notes.bin"))
    done = await finished(app, download["id"])
    (app.runtime.settings.downloads_root / done["files"][0]["path"]).unlink()
    _, csrf = await open_page(app, "/library")
    response = await post_form(app, "/library/rescan", csrf, back="/library")
    assert response.status_code == 303
    page = (await app.http.get(response.headers["location"], headers=HTML)).text
    assert "Looked for 1 file on disk: 1 missing." in page


async def test_library_forms_need_the_pages_token(app: App) -> None:
    refused = await app.http.post("/library", data={"kind": "movie", "title": "X"}, headers=HTML)
    assert refused.status_code == 403
    assert (await app.get("/media")).json()["items"] == []
