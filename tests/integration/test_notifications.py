"""Notifications end to end: real receivers over HTTP, the real Apprise library, the API.

Deliveries go through :class:`haul.notify.Notifier` over the app's real database (SQLite and
PostgreSQL), with short backoff delays; tests wait on what the receiver recorded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from haul.notify import Backoff, Notifier, download_summary
from haul.service.values import Owner
from tests.conftest import App
from tests.support.server import free_port
from tests.support.wait import await_for
from tests.support.webhooks import WebhookReceiver

SECRET = "correct horse battery staple"
TG_TOKEN = "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQr"


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret=SECRET) as receiver:
        yield receiver


@pytest.fixture
async def notifier(app: App) -> AsyncIterator[Notifier]:
    """A notifier over the app's database with delays short enough for a test."""
    async with httpx.AsyncClient() as http:
        notifier = Notifier(app.runtime.db, http, backoff=Backoff(attempts=5, base=0.02, cap=0.1))
        try:
            yield notifier
        finally:
            await notifier.aclose()


def summary(download_id: int = 12, owner: str = "local", **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": download_id,
        "url": "https://example.org/bbb.mp4",
        "status": "completed",
        "owner": owner,
        "title": "Big Buck Bunny",
        "client": "builtin",
        "files": [{"path": "bbb.mp4", "size": 1234}],
        **extra,
    }
    return dict(download_summary(**values))


async def add(app: App, **body: Any) -> dict[str, Any]:
    response = await app.post("/notifications", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def arrived(hooks: WebhookReceiver, count: int, path: str | None = None) -> list[Any]:
    def check() -> list[Any]:
        got = [r for r in hooks.requests if path is None or r.path == path]
        return got if len(got) >= count else []

    return await await_for(check, 10, what=f"{count} request(s) at the receiver")


async def test_a_signed_webhook_arrives_with_a_valid_signature_and_the_download(
    app: App, notifier: Notifier, hooks: WebhookReceiver
) -> None:
    await add(app, kind="webhook", url=hooks.url(), secret=SECRET, events=["completed"])
    notifier.emit("completed", "local", summary())
    [request] = await arrived(hooks, 1)
    assert request.method == "POST" and request.path == "/hook"
    assert request.signature_ok is True
    assert request.header("X-Haul-Event") == "completed"
    assert request.header("Content-Type") == "application/json"
    assert (request.header("X-Haul-Signature") or "").startswith("sha256=")
    document = request.json
    assert document["event"] == "completed"
    assert document["delivery"] == request.header("X-Haul-Delivery")
    assert document["sent_at"].endswith("+00:00")
    download = document["download"]
    assert download["id"] == 12 and download["title"] == "Big Buck Bunny"
    assert download["url"] == "https://example.org/bbb.mp4"
    assert download["status"] == "completed" and download["owner"] == "local"
    assert download["files"] == [{"path": "bbb.mp4", "size": 1234}]
    assert await notifier.drain(5)


async def test_a_webhook_without_a_secret_is_sent_unsigned(
    app: App, notifier: Notifier, hooks: WebhookReceiver
) -> None:
    await add(app, kind="webhook", url=hooks.url(), events=["failed"])
    failure = summary(status="failed", error_code="http_404", error_message="No such file.")
    notifier.emit("failed", "local", failure)
    [request] = await arrived(hooks, 1)
    assert request.header("X-Haul-Signature") is None
    assert request.json["download"]["error"] == {"code": "http_404", "message": "No such file."}


async def test_a_receiver_failing_twice_gets_the_third_attempt(
    app: App, notifier: Notifier, hooks: WebhookReceiver
) -> None:
    await add(app, kind="webhook", url=hooks.url(), secret=SECRET)
    hooks.fail_next(2, status=503)
    notifier.emit("completed", "local", summary())
    requests = await arrived(hooks, 3)
    assert [r.status for r in requests] == [503, 503, 200]
    assert len({r.header("X-Haul-Delivery") for r in requests}) == 1  # one delivery, retried
    assert all(r.signature_ok for r in requests)
    assert await notifier.drain(5)
    assert len(hooks.requests) == 3


async def test_429_with_retry_after_is_retried(
    app: App, notifier: Notifier, hooks: WebhookReceiver
) -> None:
    await add(app, kind="webhook", url=hooks.url())
    hooks.fail_next(1, status=429, retry_after="0")
    notifier.emit("completed", "local", summary())
    requests = await arrived(hooks, 2)
    assert [r.status for r in requests] == [429, 200]


async def test_a_400_is_not_retried_and_a_dead_receiver_gives_up(
    app: App, notifier: Notifier, hooks: WebhookReceiver
) -> None:
    await add(app, kind="webhook", url=hooks.url())
    hooks.answer_always(400)
    notifier.emit("completed", "local", summary())
    assert await notifier.drain(5)
    assert [r.status for r in hooks.requests] == [400]

    hooks.answer_always(500)
    notifier.emit("completed", "local", summary())
    assert await notifier.drain(5)
    assert [r.status for r in hooks.requests] == [400] + [500] * 5  # five attempts in all


async def test_failed_attempts_are_logged_without_credentials(
    app: App, notifier: Notifier, hooks: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="haul")
    await add(
        app, name="chat", kind="webhook", url=hooks.url("/T1/B2/tok3n?key=qk9"), secret=SECRET
    )
    apprise_url = f"json://bob:pw-in-url@127.0.0.1:{hooks.port}/apprise-tok3n"
    await add(app, name="push", kind="apprise", url=apprise_url)
    hooks.fail_next(2, status=503)
    notifier.emit("completed", "local", summary())
    assert await notifier.drain(5)
    assert sorted(r.status for r in hooks.requests) == [200, 200, 503, 503]
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("haul.notify")]
    assert any("failed on attempt 1/5" in line for line in lines), lines
    assert any(f"chat (http://127.0.0.1:{hooks.port})" in line for line in lines), lines
    for line in lines:
        for secret in ("tok3n", "qk9", SECRET, "pw-in-url", "bob"):
            assert secret not in line


async def test_targets_hear_only_the_events_they_subscribe_to(
    app: App, notifier: Notifier, hooks: WebhookReceiver
) -> None:
    await add(app, name="failures", kind="webhook", url=hooks.url("/failed"), events=["failed"])
    await add(app, name="done", kind="webhook", url=hooks.url("/done"), events=["completed"])
    await add(app, name="off", kind="webhook", url=hooks.url("/off"), enabled=False)
    notifier.emit("completed", "local", summary())
    assert await notifier.drain(5)
    assert [r.path for r in hooks.requests] == ["/done"]
    notifier.emit("failed", "local", summary(status="failed"))
    assert await notifier.drain(5)
    assert [r.path for r in hooks.requests] == ["/done", "/failed"]


async def test_an_owners_target_hears_only_that_owner_and_a_global_one_hears_all(
    app: App, notifier: Notifier, hooks: WebhookReceiver
) -> None:
    service = app.runtime.notification_service
    admin = Owner(key="local", is_admin=True)
    await service.create(admin, kind="webhook", url=hooks.url("/all"), scope="global")
    for key in ("u:3", "u:4"):
        user = Owner(key=key, is_admin=False)
        await service.create(user, kind="webhook", url=hooks.url(f"/{key}"))
    notifier.emit("completed", "u:3", summary(owner="u:3"))
    assert await notifier.drain(5)
    assert sorted(r.path for r in hooks.requests) == ["/all", "/u:3"]
    notifier.emit("completed", "local", summary())
    assert await notifier.drain(5)
    assert sorted(r.path for r in hooks.requests) == ["/all", "/all", "/u:3"]
    # A user sees only their own targets; the administrator sees every one.
    assert [t.owner_key for t in await service.configured(Owner(key="u:4", is_admin=False))] == [
        "u:4"
    ]
    assert len(await service.configured(admin)) == 3


async def test_an_apprise_json_url_reaches_the_receiver_through_apprise(
    app: App, notifier: Notifier, hooks: WebhookReceiver
) -> None:
    url = f"json://127.0.0.1:{hooks.port}/apprise"
    created = await add(app, kind="apprise", url=url, events=["imported"])
    assert created["url"] == "json://…"
    imported = summary(library_paths=["Movies/Big Buck Bunny (2008)/Big Buck Bunny.mp4"])
    notifier.emit("imported", "local", imported)
    [request] = await arrived(hooks, 1)
    assert request.path == "/apprise"
    sent = request.json
    assert sent["title"] == "haul: Big Buck Bunny was added to the library"
    assert "Movies/Big Buck Bunny (2008)/Big Buck Bunny.mp4" in sent["message"]
    assert sent["type"] == "success"

    answer = await app.post(f"/notifications/{created['id']}/test")
    assert answer.json() == {"ok": True, "error": None, "status": None}
    [_, test] = await arrived(hooks, 2)
    assert test.json["title"] == "haul: test"


async def test_a_failing_apprise_target_is_retried(
    app: App, notifier: Notifier, hooks: WebhookReceiver
) -> None:
    await add(app, kind="apprise", url=f"json://127.0.0.1:{hooks.port}/apprise")
    hooks.fail_next(1, status=503)
    notifier.emit("completed", "local", summary())
    requests = await arrived(hooks, 2)
    assert [r.status for r in requests] == [503, 200]


async def test_the_api_never_returns_a_secret_or_an_apprise_token(app: App) -> None:
    webhook = await add(
        app, kind="webhook", url="https://bob:hunter2@hooks.example.org/h", secret=SECRET
    )
    apprise = await add(app, kind="apprise", url=f"tgram://{TG_TOKEN}/12345", events=["failed"])
    assert webhook["has_secret"] is True and apprise["has_secret"] is False
    assert webhook["url"] == "https://bob:***@hooks.example.org/h"
    assert apprise["url"] == "tgram://…" and apprise["name"] == "tgram"
    assert apprise["scope"] == "owner" and apprise["owner"] == "local"
    changed = await app.http.patch(
        f"/api/v1/notifications/{webhook['id']}", json={"events": ["failed", "completed"]}
    )
    assert changed.status_code == 200 and changed.json()["has_secret"] is True
    assert changed.json()["events"] == ["completed", "failed"]
    answers = [
        changed.text,
        (await app.get("/notifications")).text,
        (await app.get(f"/notifications/{webhook['id']}")).text,
        (await app.get(f"/notifications/{apprise['id']}")).text,
        json.dumps([webhook, apprise]),
    ]
    for text in answers:
        assert SECRET not in text and "hunter2" not in text
        assert TG_TOKEN.split(":")[1] not in text and "12345" not in text
    cleared = await app.http.patch(f"/api/v1/notifications/{webhook['id']}", json={"secret": ""})
    assert cleared.json()["has_secret"] is False


@pytest.mark.parametrize(
    ("body", "sentence"),
    [
        ({"kind": "webhook", "url": "ftp://example.org/x"}, "must start with http:// or https://"),
        ({"kind": "webhook", "url": "http://"}, "has no host name"),
        ({"kind": "apprise", "url": "nosuchservice://abc"}, "Apprise does not understand that"),
        ({"kind": "apprise", "url": "tgram://x"}, "Apprise does not understand that tgram://"),
        (
            {"kind": "webhook", "url": "https://e.org/h", "events": ["done"]},
            "haul sends no 'done' event; choose from completed, failed, imported, "
            "subscription.new.",
        ),
        (
            {"kind": "webhook", "url": "https://e.org/h", "events": []},
            "Choose at least one event",
        ),
        (
            {"kind": "apprise", "url": f"tgram://{TG_TOKEN}/1", "secret": "x"},
            "an Apprise URL carries its own tokens",
        ),
        ({"kind": "email", "url": "https://e.org/h"}, "kind: Input should be 'webhook' or"),
        ({"kind": "webhook", "url": "https://e.org/h", "scope": "everyone"}, "scope: Input"),
        (
            {"kind": "webhook", "url": "http://169.254.169.254/hook"},
            "Notifications cannot go there",
        ),
    ],
)
async def test_bad_input_answers_422_with_a_sentence(
    app: App, body: dict[str, Any], sentence: str
) -> None:
    response = await app.post("/notifications", json=body)
    assert response.status_code == 422, response.text
    assert sentence in response.json()["detail"]
    assert (await app.get("/notifications")).json()["items"] == []


async def test_names_are_unique_and_unknown_ids_are_404(app: App) -> None:
    await add(app, name="phone", kind="webhook", url="https://e.org/a")
    again = await app.post("/notifications", json={"name": "phone", "kind": "webhook",
                                                   "url": "https://e.org/b"})  # fmt: skip
    assert again.status_code == 409
    assert "named 'phone' already exists" in again.json()["detail"]
    missing = await app.get("/notifications/999")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "There is no notification target 999."
    assert (await app.http.delete("/api/v1/notifications/999")).status_code == 404


async def test_the_test_endpoint_says_what_happened(app: App, hooks: WebhookReceiver) -> None:
    target = await add(app, kind="webhook", url=hooks.url(), secret=SECRET, events=["failed"])
    ok = await app.post(f"/notifications/{target['id']}/test")
    assert ok.json() == {"ok": True, "error": None, "status": 200}
    [request] = await arrived(hooks, 1)
    assert request.signature_ok and request.json["event"] == "test"
    assert request.json["download"] is None

    hooks.answer_always(400)
    refused = (await app.post(f"/notifications/{target['id']}/test")).json()
    assert refused["ok"] is False and refused["status"] == 400
    assert refused["error"] == f"http://127.0.0.1:{hooks.port} answered 400 Bad Request"
    assert len(hooks.requests) == 2  # a test is tried once

    dead = await add(app, kind="webhook", url=f"http://127.0.0.1:{free_port()}/hook")
    nobody = (await app.post(f"/notifications/{dead['id']}/test")).json()
    assert nobody["ok"] is False and nobody["error"].startswith("cannot connect to http://127")

    deleted = await app.http.delete(f"/api/v1/notifications/{target['id']}")
    assert deleted.status_code == 204
    assert (await app.get(f"/notifications/{target['id']}")).status_code == 404


async def test_emit_never_raises_and_aclose_cancels_what_is_in_flight(
    app: App, hooks: WebhookReceiver
) -> None:
    await add(app, kind="webhook", url=hooks.url())
    hooks.answer_always(503)
    async with httpx.AsyncClient() as http:
        notifier = Notifier(app.runtime.db, http, backoff=Backoff(attempts=5, base=30, cap=60))
        notifier.emit("exploded", "local", summary())  # not a kind: ignored, no exception
        notifier.emit("completed", "local", {"id": 1, "oops": object()})  # not JSON: logged
        notifier.emit("completed", "local", summary())
        await arrived(hooks, 1)
        assert notifier.pending() == 1  # waiting 30 s before its second attempt
        await notifier.aclose()
        assert notifier.pending() == 0
        notifier.emit("completed", "local", summary())  # after close: nothing happens
        assert notifier.pending() == 0
    assert len(hooks.requests) == 1
