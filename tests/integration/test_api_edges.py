"""Requests at the edges the schema fuzzing found answered with a 500 or off the schema: each
is now a 4xx with a sentence, in the shape the OpenAPI schema declares for errors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from haul.store.models import ClientConfig
from tests.conftest import App

BEYOND_INT32 = 2**31
BEYOND_INT64 = 2**63


def refused(answer: Any, status: int = 422) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert isinstance(body["detail"], str) and body["detail"].endswith("."), body
    return body


async def test_ids_beyond_what_the_database_holds_are_refused_not_crashed(app: App) -> None:
    for big in (BEYOND_INT32, BEYOND_INT64, 10**30):
        for path in (f"/downloads/{big}", f"/media/{big}", f"/notifications/{big}"):
            body = refused(await app.get(path))
            assert "less than or equal to 2147483647" in body["detail"]
        refused(await app.post("/downloads/pause", json={"ids": [big]}))
        refused(await app.get(f"/downloads?media_id={big}"))
        refused(await app.post("/downloads", json={"url": "http://127.0.0.1:9/a", "media_id": big}))
    assert (await app.get("/downloads/2147483647")).status_code == 404


async def test_a_cursor_of_the_media_list_is_one_the_server_handed_out(app: App) -> None:
    for cursor in ("99999999999999999999", "²", "-1"):
        body = refused(await app.get("/media", params={"cursor": cursor}))
        assert body["code"] == "invalid_cursor"


async def test_runtime_settings_have_a_ceiling(app: App) -> None:
    body = refused(
        await app.http.patch(
            "/api/v1/config",
            json={"retention_days": 1e308, "retry_max_delay": 1e300, "limit_global": 10**30},
        )
    )
    assert body["errors"] == {
        "retention_days": "retention_days must be at most 36500 days.",
        "retry_max_delay": "retry_max_delay must be at most 2592000 seconds (30 days).",
        "limit_global": "limit_global must be at most 10000.",
    }
    assert (await app.post("/retention/run", json={})).status_code == 200


async def test_null_in_a_client_change_means_its_default(app: App) -> None:
    made = await app.post(
        "/clients",
        json={"name": "a2", "kind": "aria2", "url": "http://127.0.0.1:9/jsonrpc", "enabled": False},
    )
    assert made.status_code == 201, made.text
    changed = await app.http.patch(
        "/api/v1/clients/a2", json={"enabled": None, "seed_minutes": None, "priority": None}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["enabled"] is True
    assert changed.json()["seed_minutes"] is None
    body = refused(await app.http.patch("/api/v1/clients/a2", json={"url": None}))
    assert body["errors"] == {"url": "url cannot be empty; leave it out to keep it."}
    refused(await app.http.patch("/api/v1/clients/a2", json={"seed_minutes": BEYOND_INT32}))


async def test_a_password_inside_a_client_url_is_refused_and_an_old_one_is_masked(
    app: App,
) -> None:
    given = {"name": "a2", "kind": "qbittorrent", "url": "http://me:pa55w0rd@127.0.0.1:9/"}
    body = refused(await app.post("/clients", json={**given, "enabled": False}))
    assert body["detail"].startswith("Put the user name and the password of a client")
    assert (await app.get("/clients/a2")).status_code == 404
    # one saved before such URLs were refused still works, and is shown without its password
    async with app.runtime.db.write() as s:
        await s.execute(
            insert(ClientConfig).values(
                name="a2", kind="qbittorrent", url=given["url"], enabled=True
            )
        )
    await app.runtime.reload_clients()
    assert "a2" in app.runtime.directory.clients
    for answer in (await app.get("/clients/a2"), await app.get("/clients")):
        assert answer.status_code == 200
        assert "pa55w0rd" not in answer.text and "http://me:***@127.0.0.1:9/" in answer.text
    # a change that leaves the URL alone is taken; giving the URL again asks for the fields
    changed = await app.http.patch("/api/v1/clients/a2", json={"priority": 3})
    assert changed.status_code == 200, changed.text
    refused(await app.http.patch("/api/v1/clients/a2", json={"url": given["url"]}))


async def test_an_id_given_twice_in_a_bulk_action_is_acted_on_once(app: App) -> None:
    made = await app.post("/downloads", json={"url": "http://127.0.0.1:9/b", "paused": True})
    download_id = made.json()["id"]
    answer = await app.post("/downloads/cancel", json={"ids": [download_id] * 1000})
    assert answer.status_code == 200
    assert [item["id"] for item in answer.json()["items"]] == [download_id]
    assert answer.json()["errors"] == []


async def test_a_body_that_cannot_be_read_is_a_422_with_a_sentence(app: App) -> None:
    for content, kind in (
        (b'{"url": "\xff"}', "application/json"),
        (b"garbage", "multipart/form-data; boundary=x"),
    ):
        path = "/downloads" if kind == "application/json" else "/downloads/torrent"
        body = refused(await app.post(path, content=content, headers={"content-type": kind}))
        assert body["code"] == "unreadable_body"
    body = refused(await app.post("/downloads", json={"url": 5}))
    assert body["code"] == "invalid_input"
    assert list(body["errors"]) == ["url"]


async def test_the_schema_describes_every_error_answer(app: App) -> None:
    schema = (await app.get("/openapi.json")).json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    error = {"$ref": "#/components/schemas/ErrorOut"}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    content = response.get("content", {}).get("application/json", {})
                    assert content.get("schema") == error, (method, path, status)
