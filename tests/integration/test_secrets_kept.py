"""Secrets go in and never come out: not in an API answer or a page, not in an event, not in
a log line, and in the database only in the one column that keeps each.

One test sets up everything that holds a secret (a real aria2 with an RPC secret, clients
that cannot be reached with their passwords, an IPTV provider, a signed webhook whose URL
has a token, an Apprise URL with a password), goes through adding, listing, showing,
changing and testing each and through what fails, downloads IPTV films through aria2 (which
is given the stream URL with the provider's password), lets one fail for good, and lets the
notifications go out. Then it looks everywhere.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest

from haul.events.bus import Event
from haul.logsetup import QUIET_LIBRARIES
from tests.conftest import App
from tests.integration.test_api_downloads import finished
from tests.support.aria2 import Aria2Daemon, aria2_daemon
from tests.support.server import free_port
from tests.support.tables import text_cells
from tests.support.wait import await_for
from tests.support.webhooks import WebhookReceiver
from tests.support.xtream import XtreamServer

ARIA2_SECRET = "aria2-S3CR3T-7f1c2d"
QBIT_PASSWORD = "qbit-PA55-9d2e41"
TRANSMISSION_PASSWORD = "trans-PA55-4b7a09"
WRONG_SECRET = "wrong-S3CR3T-c0ffee"
HOOK_TOKEN = "hook-T0KEN-51ab7c"
HOOK_SECRET = "hook-HMAC-0c3d88"
APPRISE_PASSWORD = "apprise-PA55-77ee19"
APPRISE_TOKEN = "apprise-T0KEN-e4e4a1"
HTML = {"Accept": "text/html"}


def forms(secret: str) -> set[str]:
    """A secret as it may appear: as is, and URL-encoded in a path or a query."""
    return {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}


@pytest.fixture
def aria2(tmp_path: Path) -> Iterator[Aria2Daemon]:
    with aria2_daemon(tmp_path / "aria2", secret=ARIA2_SECRET) as running:
        yield running


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret=HOOK_SECRET) as receiver:
        yield receiver


class Seen:
    """Everything that left haul during the test: answers, events, log lines."""

    def __init__(self) -> None:
        self.answers: list[str] = []
        self.events: list[str] = []

    async def answer(self, response: httpx.Response) -> None:
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return
        await response.aread()
        self.answers.append(f"{response.request.url} {response.status_code} {response.text}")


async def _collect(sub: Any, into: list[str]) -> None:
    while True:
        event: Event | None = await sub.get()
        if event is None:
            return
        into.append(json.dumps(event.as_json(), default=str))


async def test_no_secret_leaves_its_column(
    app: App,
    aria2: Aria2Daemon,
    xtream: XtreamServer,
    hooks: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for library in QUIET_LIBRARIES:  # as `haul serve` sets them up, at any --log-level
        caplog.set_level(logging.WARNING, logger=library)
    seen = Seen()
    app.http.event_hooks["response"].append(seen.answer)
    sub = app.runtime.bus.subscribe()
    collector = asyncio.create_task(_collect(sub, seen.events))
    closed = f"http://127.0.0.1:{free_port()}"

    # -- download clients: add, list, show, change, test, and what fails ---------------------
    aria = {"name": "aria2", "kind": "aria2", "url": aria2.url, "secret": ARIA2_SECRET}
    added = await app.post("/clients", json={**aria, "prefer_for_files": True})
    assert added.status_code == 201, added.text
    assert added.json()["has_secret"] is True
    assert (await app.get("/clients")).status_code == 200
    assert (await app.get("/clients/aria2")).status_code == 200
    assert (await app.http.patch("/api/v1/clients/aria2", json={"priority": 3})).status_code == 200
    assert (await app.post("/clients/aria2/test")).json()["ok"] is True
    wrong = await app.post("/clients/aria2/test", json={"secret": WRONG_SECRET})
    assert wrong.json()["ok"] is False, wrong.text
    for secret in (WRONG_SECRET, ARIA2_SECRET):  # a change is kept without a test
        patched = await app.http.patch("/api/v1/clients/aria2", json={"secret": secret})
        assert patched.status_code == 200, patched.text
    for kind, password in (("qbittorrent", QBIT_PASSWORD), ("transmission", TRANSMISSION_PASSWORD)):
        other = {"name": kind, "kind": kind, "url": closed, "username": "me", "secret": password}
        assert (await app.post("/clients/test", json=other)).json()["ok"] is False
        assert (await app.post("/clients", json=other)).status_code == 201  # kept, unreachable
    for page in ("/clients", "/clients/aria2"):
        assert (await app.http.get(page, headers=HTML)).status_code == 200

    # -- the IPTV provider -----------------------------------------------------------------
    provider = {
        "name": "panel",
        "url": xtream.base_url,
        "username": xtream.username,
        "password": xtream.password,
    }
    made = await app.post("/iptv/providers", json=provider)
    assert made.status_code == 201, made.text
    pid = made.json()["id"]
    assert (await app.get("/iptv/providers")).status_code == 200
    assert (await app.get(f"/iptv/providers/{pid}")).status_code == 200
    changed = await app.http.patch(f"/api/v1/iptv/providers/{pid}", json={"timeout": 9})
    assert changed.status_code == 200, changed.text
    assert (await app.post(f"/iptv/providers/{pid}/test")).json()["ok"] is True
    bad = await app.post(f"/iptv/providers/{pid}/test", json={"password": WRONG_SECRET})
    assert bad.json()["ok"] is False
    elsewhere = {**provider, "name": "gone", "url": closed}
    assert (await app.post("/iptv/providers/test", json=elsewhere)).json()["ok"] is False
    assert (await app.get(f"/iptv/providers/{pid}/vod")).status_code == 200
    assert (await app.get(f"/iptv/providers/{pid}/series")).status_code == 200

    # -- notifications: a signed webhook with a token in its URL, an Apprise URL -------------
    webhook = {
        "kind": "webhook",
        "name": "hook",
        "url": hooks.url(f"/hook?token={HOOK_TOKEN}"),
        "secret": HOOK_SECRET,
        "scope": "global",
    }
    apprise = {
        "kind": "apprise",
        "name": "push",
        "url": f"json://bob:{APPRISE_PASSWORD}@127.0.0.1:{hooks.port}/{APPRISE_TOKEN}",
        "scope": "global",
    }
    ids = []
    for target in (webhook, apprise):
        created = await app.post("/notifications", json=target)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    assert (await app.get("/notifications")).status_code == 200
    for target_id in ids:
        assert (await app.get(f"/notifications/{target_id}")).status_code == 200
        patched = await app.http.patch(f"/api/v1/notifications/{target_id}", json={"enabled": True})
        assert patched.status_code == 200, patched.text
        assert (await app.post(f"/notifications/{target_id}/test")).json()["ok"] is True
    hooks.fail_next(2, status=500)  # the next tests fail: their errors are said too
    for target_id in ids:
        assert (await app.post(f"/notifications/{target_id}/test")).json()["ok"] is False

    # -- downloads: through aria2 and the built-in engine, one of each failing for good -------
    xtream.fail_stream("movie", 104, times=1000, status=404)
    xtream.fail_stream("movie", 103, times=1000, status=404)
    items = []
    for engine, good_id, bad_id in (("aria2", 101, 104), ("builtin", 102, 103)):
        good = (await app.post(f"/iptv/providers/{pid}/vod/{good_id}/download")).json()
        failing = (await app.post(f"/iptv/providers/{pid}/vod/{bad_id}/download")).json()
        done = await finished(app, good["id"])
        assert done["status"] == "completed" and done["client"] == engine, done
        lost = await finished(app, failing["id"])
        assert lost["status"] == "failed", lost
        items += [good, failing]
        off = await app.http.patch("/api/v1/clients/aria2", json={"prefer_for_files": False})
        assert off.status_code == 200
    for item in items:
        assert (await app.get(f"/downloads/{item['id']}")).status_code == 200
        assert (await app.get(f"/downloads/{item['id']}/events")).status_code == 200
    assert (await app.get("/downloads")).status_code == 200
    assert (await app.get("/logs/errors")).status_code == 200
    for page in ("/", "/logs", *(f"/downloads/{item['id']}" for item in items)):
        assert (await app.http.get(page, headers=HTML)).status_code == 200

    # the notifications of the finished and the failed download went out
    await await_for(
        lambda: sum(r.path.startswith("/hook") for r in hooks.requests) >= 7,
        20,
        what="the webhook to hear of the four downloads",
    )
    await await_for(
        lambda: sum(r.path == f"/{APPRISE_TOKEN}" for r in hooks.requests) >= 7,
        20,
        what="the Apprise target to hear of the four downloads",
    )
    sub.close()
    await collector

    # -- now look everywhere ------------------------------------------------------------------
    secrets = {
        ARIA2_SECRET: {("clients", "secret")},
        WRONG_SECRET: set(),
        QBIT_PASSWORD: {("clients", "secret")},
        TRANSMISSION_PASSWORD: {("clients", "secret")},
        xtream.password: {("iptv_providers", "password")},
        HOOK_TOKEN: {("notification_targets", "url")},
        HOOK_SECRET: {("notification_targets", "secret")},
        APPRISE_PASSWORD: {("notification_targets", "url")},
        APPRISE_TOKEN: {("notification_targets", "url")},
    }
    lines = [logging.Formatter("%(name)s %(message)s").format(record) for record in caplog.records]
    assert len(seen.answers) > 40 and seen.events and lines
    cells = await text_cells(app)
    for secret, columns in secrets.items():
        for form in forms(secret):
            for where, texts in (("answer", seen.answers), ("event", seen.events), ("log", lines)):
                leaks = [text[:400] for text in texts if form in text]
                assert not leaks, f"{secret!r} appears in {where}s: {leaks}"
            kept = {(table, column) for table, column, text in cells if form in text}
            assert kept <= columns, f"{secret!r} is kept in {kept - columns}"
