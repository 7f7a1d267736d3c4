"""The clients pages without a browser: the list with live health, the forms that add, change,
test and remove a client as a browser without JavaScript posts them, and secrets that never
reach the page."""

from __future__ import annotations

import html
import re
from typing import Any

from tests.conftest import App
from tests.integration.test_library_pages import field_errors
from tests.integration.test_web_pages import HTML, open_page
from tests.support.server import free_port

SECRET = "pw-7f3a-never-shown"


def settings(**changes: str) -> dict[str, str]:
    """The add form as a person fills it for an aria2 (nothing listens on its port)."""
    return {
        "kind": "aria2",
        "name": "spare",
        "url": f"http://127.0.0.1:{free_port()}/jsonrpc",
        "secret": SECRET,
        "category": "haul",
        "priority": "3",
        "enabled": "true",
        **changes,
    }


async def post_form(app: App, path: str, csrf: str, **fields: str) -> Any:
    return await app.http.post(path, data={"csrf": csrf, **fields}, headers=HTML)


async def test_the_built_in_engine_is_listed_and_cannot_be_edited(app: App) -> None:
    page, _ = await open_page(app, "/clients")
    row = re.search(r'<tr class="client builtin" id="c-builtin".*?</tr>', page, re.S)
    assert row, "the built-in engine is not listed"
    assert "Ready." in row.group(0)
    assert "<form" not in row.group(0) and "Edit" not in row.group(0)
    assert re.search(r'<details class="panel" id="add" open>', page)  # nothing else yet


async def test_a_bad_url_is_noted_beside_its_field_and_the_password_is_not_sent_back(
    app: App,
) -> None:
    _, csrf = await open_page(app, "/clients")
    response = await post_form(app, "/clients", csrf, **settings(url="localhost:6800"))
    assert response.status_code == 422
    notes = field_errors(response.text)
    assert "looks like http://127.0.0.1:6800/jsonrpc" in notes["url"]
    assert 'value="spare"' in response.text and 'value="localhost:6800"' in response.text
    assert SECRET not in response.text
    assert "type it again" in response.text
    assert (await app.get("/clients")).json()["items"] == []

    several = await post_form(
        app,
        "/clients",
        csrf,
        **settings(name="no spaces", url="ftp://x", priority="high", slot_limit="0"),
    )
    notes = field_errors(several.text)
    assert set(notes) == {"name", "url", "priority", "slot_limit"}, notes


async def test_add_edit_and_remove_a_client_and_its_password_never_shows(app: App) -> None:
    _, csrf = await open_page(app, "/clients")
    added = await post_form(app, "/clients", csrf, **settings(username="me"))
    assert added.status_code == 303 and added.headers["location"] == "/clients?added=spare"
    listed = (await app.http.get(added.headers["location"], headers=HTML)).text
    assert "spare was added." in listed
    row = re.search(r'<tr class="client" id="c-spare".*?</tr>', listed, re.S)
    assert row
    assert "refused the connection" in row.group(0)  # health asked live
    edit_page = (await app.http.get("/clients/spare", headers=HTML)).text
    assert "A password is stored: leave this blank to keep it." in edit_page
    rows = (await app.http.get("/ui/clients/rows", headers=HTML)).text
    for shown in (listed, edit_page, rows):
        assert SECRET not in shown

    # A blank password keeps the stored one; a mistake comes back without it.
    wrong = await post_form(
        app, "/clients/spare", csrf, url="http://127.0.0.1:1/jsonrpc", category="", priority="2"
    )
    assert wrong.status_code == 422
    assert "category" in field_errors(wrong.text)
    assert SECRET not in wrong.text
    saved = await post_form(
        app,
        "/clients/spare",
        csrf,
        url="http://127.0.0.1:1/jsonrpc",
        category="films",
        priority="2",
        slot_limit="4",
        enabled="true",
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/clients?saved=spare"
    stored = (await app.get("/clients/spare")).json()
    assert stored["has_secret"] is True
    assert (stored["url"], stored["category"], stored["priority"], stored["slot_limit"]) == (
        "http://127.0.0.1:1/jsonrpc",
        "films",
        2,
        4,
    )
    assert stored["username"] is None  # emptied in the form
    spec = (await app.runtime.client_service.get("spare")).spec
    assert spec.secret == SECRET

    cleared = await post_form(
        app,
        "/clients/spare",
        csrf,
        url=stored["url"],
        category="films",
        priority="2",
        clear_secret="true",
    )
    assert cleared.status_code == 303
    stored = (await app.get("/clients/spare")).json()
    assert stored["has_secret"] is False and stored["enabled"] is False

    removed = await post_form(app, "/clients/spare/delete", csrf)
    assert removed.status_code == 303 and removed.headers["location"] == "/clients?removed=spare"
    assert (await app.get("/clients")).json()["items"] == []


async def test_test_buttons_say_what_is_wrong_in_plain_words(app: App) -> None:
    _, csrf = await open_page(app, "/clients")
    port = free_port()
    tried = await post_form(
        app, "/clients", csrf, action="test", **settings(url=f"http://127.0.0.1:{port}/jsonrpc")
    )
    assert tried.status_code == 200
    result = re.search(
        r'<p class="test-result bad" id="test-result" role="status">([^<]*)<', tried.text
    )
    assert result
    assert html.unescape(result.group(1)) == f"aria2 at 127.0.0.1:{port} refused the connection"
    assert (await app.get("/clients")).json()["items"] == []  # a test saves nothing
    assert SECRET not in tried.text

    as_json = await app.http.post(
        "/clients",
        data={"csrf": csrf, "action": "test", **settings(url="nope")},
        headers={"Accept": "application/json"},
    )
    assert as_json.status_code == 422
    assert "url" in as_json.json()["errors"]

    assert (await post_form(app, "/clients", csrf, **settings())).status_code == 303
    saved_test = await post_form(app, "/clients/spare/test", csrf)
    assert saved_test.status_code == 200
    row = re.search(r'<tr class="client" id="c-spare".*?</tr>', saved_test.text, re.S)
    assert row and "Test: aria2 at 127.0.0.1:" in row.group(0)
    quick = await app.http.post(
        "/clients/spare/test", data={"csrf": csrf}, headers={"Accept": "application/json"}
    )
    assert quick.json()["ok"] is False
    assert "refused the connection" in quick.json()["text"]


async def test_a_url_with_a_password_in_it_is_refused(app: App) -> None:
    _, csrf = await open_page(app, "/clients")
    response = await post_form(
        app, "/clients", csrf, **settings(url=f"http://me:{SECRET}@127.0.0.1:6800/jsonrpc")
    )
    assert response.status_code == 422
    assert field_errors(response.text)["url"] == (
        "Put the password in the password field, not in the URL."
    )
    assert SECRET not in response.text
    assert 'value="http://me:***@127.0.0.1:6800/jsonrpc"' in response.text


async def test_client_forms_need_the_pages_token(app: App) -> None:
    refused = await app.http.post("/clients", data=settings(), headers=HTML)
    assert refused.status_code == 403
    assert (await app.get("/clients")).json()["items"] == []
