"""Isolation, endpoint by endpoint: a user can neither read nor act on another user's
downloads, files, library, IPTV providers, notification targets, tokens or events. What
belongs to someone else answers 404 (as if it did not exist, so ids cannot be probed); what
only administrators may do answers 403. The route table below must name every route the app
serves: a new route without a rule fails the test until someone decides its rule.

Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any

import pytest

from haul.settings import Settings
from tests.support.origin import Origin
from tests.support.people import People, Person, crowd
from tests.support.xtream import XtreamServer

#: What Bob (a user) gets on a route when he names what Alice owns.
OWN = "404"  # Alice's resource in the path: not found
ADMIN = "403"  # administrators only
MINE = "mine"  # a list or action on the caller's own things (checked separately)
OPEN = "open"  # not about anybody's things (login, health, the schema)

ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/downloads"): MINE,
    ("POST", "/api/v1/downloads"): MINE,
    ("POST", "/api/v1/downloads/torrent"): MINE,
    ("POST", "/api/v1/downloads/pause"): MINE,
    ("POST", "/api/v1/downloads/resume"): MINE,
    ("POST", "/api/v1/downloads/retry"): MINE,
    ("POST", "/api/v1/downloads/cancel"): MINE,
    ("POST", "/api/v1/downloads/stop"): MINE,
    ("GET", "/api/v1/formats"): MINE,
    ("GET", "/api/v1/downloads/{download_id}"): OWN,
    ("DELETE", "/api/v1/downloads/{download_id}"): OWN,
    ("PATCH", "/api/v1/downloads/{download_id}"): OWN,
    ("GET", "/api/v1/downloads/{download_id}/events"): OWN,
    ("POST", "/api/v1/downloads/{download_id}/pause"): OWN,
    ("POST", "/api/v1/downloads/{download_id}/resume"): OWN,
    ("POST", "/api/v1/downloads/{download_id}/retry"): OWN,
    ("POST", "/api/v1/downloads/{download_id}/cancel"): OWN,
    ("POST", "/api/v1/downloads/{download_id}/stop"): OWN,
    ("GET", "/api/v1/downloads/{download_id}/file"): OWN,
    ("GET", "/api/v1/downloads/{download_id}/files"): OWN,
    ("GET", "/api/v1/downloads/{download_id}/thumbnail"): OWN,
    ("POST", "/api/v1/downloads/{download_id}/media"): OWN,
    ("POST", "/api/v1/downloads/{download_id}/reprocess"): OWN,
    ("POST", "/api/v1/downloads/{download_id}/link"): OWN,
    ("GET", "/api/v1/auth/me"): OPEN,
    ("POST", "/api/v1/auth/login"): OPEN,
    ("POST", "/api/v1/auth/logout"): OPEN,
    ("POST", "/api/v1/auth/setup"): OPEN,
    ("POST", "/api/v1/auth/token"): OPEN,
    ("PUT", "/api/v1/auth/password"): MINE,
    ("GET", "/api/v1/users"): ADMIN,
    ("POST", "/api/v1/users"): ADMIN,
    ("GET", "/api/v1/users/{user_id}"): ADMIN,
    ("PATCH", "/api/v1/users/{user_id}"): ADMIN,
    ("DELETE", "/api/v1/users/{user_id}"): ADMIN,
    ("GET", "/api/v1/users/{user_id}/owned"): ADMIN,
    ("GET", "/api/v1/tokens"): MINE,
    ("POST", "/api/v1/tokens"): MINE,
    ("DELETE", "/api/v1/tokens/{token_id}"): OWN,
    ("GET", "/api/v1/clients"): ADMIN,
    ("POST", "/api/v1/clients"): ADMIN,
    ("POST", "/api/v1/clients/test"): ADMIN,
    ("GET", "/api/v1/clients/{name}"): ADMIN,
    ("PATCH", "/api/v1/clients/{name}"): ADMIN,
    ("DELETE", "/api/v1/clients/{name}"): ADMIN,
    ("POST", "/api/v1/clients/{name}/test"): ADMIN,
    ("GET", "/api/v1/clients/{name}/untracked"): ADMIN,
    ("POST", "/api/v1/clients/{name}/adopt"): ADMIN,
    ("GET", "/api/v1/media"): MINE,
    ("POST", "/api/v1/media"): MINE,
    ("GET", "/api/v1/media/{media_id}"): OWN,
    ("PATCH", "/api/v1/media/{media_id}"): OWN,
    ("DELETE", "/api/v1/media/{media_id}"): OWN,
    ("POST", "/api/v1/media/{media_id}/reprocess"): OWN,
    ("GET", "/api/v1/media/{media_id}/thumbnail"): OWN,
    ("POST", "/api/v1/media/rescan"): ADMIN,
    ("GET", "/api/v1/notifications"): MINE,
    ("POST", "/api/v1/notifications"): MINE,
    ("GET", "/api/v1/notifications/{target_id}"): OWN,
    ("PATCH", "/api/v1/notifications/{target_id}"): OWN,
    ("DELETE", "/api/v1/notifications/{target_id}"): OWN,
    ("POST", "/api/v1/notifications/{target_id}/test"): OWN,
    ("GET", "/api/v1/subscriptions"): MINE,
    ("POST", "/api/v1/subscriptions"): MINE,
    ("GET", "/api/v1/subscriptions/{subscription_id}"): OWN,
    ("PATCH", "/api/v1/subscriptions/{subscription_id}"): OWN,
    ("DELETE", "/api/v1/subscriptions/{subscription_id}"): OWN,
    ("POST", "/api/v1/subscriptions/{subscription_id}/check"): OWN,
    ("GET", "/api/v1/subscriptions/{subscription_id}/entries"): OWN,
    ("GET", "/api/v1/cookies"): MINE,
    ("POST", "/api/v1/cookies"): MINE,
    ("DELETE", "/api/v1/cookies/{set_id}"): OWN,
    ("GET", "/api/v1/retention"): OPEN,
    ("POST", "/api/v1/retention/run"): ADMIN,
    ("GET", "/api/v1/iptv/providers"): MINE,
    ("POST", "/api/v1/iptv/providers"): MINE,
    ("POST", "/api/v1/iptv/providers/test"): MINE,
    ("GET", "/api/v1/iptv/providers/{provider}"): OWN,
    ("PATCH", "/api/v1/iptv/providers/{provider}"): OWN,
    ("DELETE", "/api/v1/iptv/providers/{provider}"): OWN,
    ("POST", "/api/v1/iptv/providers/{provider}/test"): OWN,
    ("GET", "/api/v1/iptv/providers/{provider}/categories"): OWN,
    ("GET", "/api/v1/iptv/providers/{provider}/vod"): OWN,
    ("GET", "/api/v1/iptv/providers/{provider}/vod/{stream_id}"): OWN,
    ("GET", "/api/v1/iptv/providers/{provider}/series"): OWN,
    ("GET", "/api/v1/iptv/providers/{provider}/series/{series_id}"): OWN,
    ("POST", "/api/v1/iptv/providers/{provider}/vod/{stream_id}/download"): OWN,
    ("POST", "/api/v1/iptv/providers/{provider}/series/{series_id}/download"): OWN,
    ("GET", "/api/v1/events"): MINE,
    ("GET", "/api/v1/profiles"): OPEN,
    ("GET", "/api/v1/limits"): OPEN,
    ("POST", "/api/v1/profiles"): ADMIN,
    ("GET", "/api/v1/profiles/{name}"): OPEN,
    ("PATCH", "/api/v1/profiles/{name}"): ADMIN,
    ("DELETE", "/api/v1/profiles/{name}"): ADMIN,
    ("GET", "/api/v1/config"): ADMIN,
    ("PATCH", "/api/v1/config"): ADMIN,
    ("GET", "/api/v1/logs/errors"): ADMIN,
    ("DELETE", "/api/v1/logs/errors"): ADMIN,
    ("GET", "/api/v1/logs/unsupported"): ADMIN,
    ("DELETE", "/api/v1/logs/unsupported"): ADMIN,
    ("GET", "/api/v1/logs/summary"): ADMIN,
    ("GET", "/api/v1/healthz"): OPEN,
    ("GET", "/api/v1/readyz"): OPEN,
    ("GET", "/metrics"): ADMIN,
    ("GET", "/files/{token}"): OPEN,  # a signed link: the token is the permission
}


@dataclass
class Alices:
    """What Alice owns, by path parameter."""

    values: dict[str, str]
    paused: int
    finished: int
    media: int


def served_routes(app: Any) -> set[tuple[str, str]]:
    routes = set()
    for path, operations in app.openapi()["paths"].items():
        routes |= {(method.upper(), path) for method in operations}
    return routes | {("GET", "/metrics"), ("GET", "/files/{token}")}


async def alice_owns(people: People, origin: Origin, panel: XtreamServer) -> Alices:
    alice = people.alice
    origin.add_file("/film.bin", b"x" * 50_000)
    paused = await alice.post("/downloads", json={"url": origin.url("/paused.bin"), "paused": True})
    finished = await alice.post("/downloads", json={"url": origin.url("/film.bin")})
    assert paused.status_code == 201 and finished.status_code == 201, finished.text
    media = await alice.post("/media", json={"kind": "movie", "title": "Alice's Film"})
    target = await alice.post(
        "/notifications", json={"name": "mine", "kind": "webhook", "url": "https://e.org/a"}
    )
    provider = await alice.post(
        "/iptv/providers",
        json={
            "name": "alices",
            "url": panel.base_url,
            "username": panel.username,
            "password": panel.password,
        },
    )
    cookies = await alice.post(
        "/cookies", json={"cookies_txt": "example.test\tFALSE\t/\tFALSE\t0\tsid\talices\n"}
    )
    assert cookies.status_code == 201, cookies.text
    subscription = await alice.post(
        "/subscriptions", json={"url": origin.url("/alices-channel"), "paused": True}
    )
    assert subscription.status_code == 201, subscription.text
    assert media.status_code == 201 and target.status_code == 201, target.text
    assert provider.status_code == 201, provider.text
    tokens = (await alice.get("/tokens")).json()
    finished_id = finished.json()["id"]
    for _ in range(300):
        state = (await alice.get(f"/downloads/{finished_id}")).json()
        if state["status"] == "completed":
            break
        await asyncio.sleep(0.1)
    assert state["status"] == "completed", state
    return Alices(
        values={
            "download_id": str(finished_id),
            "media_id": str(media.json()["id"]),
            "target_id": str(target.json()["id"]),
            "provider": str(provider.json()["id"]),
            "stream_id": "1",
            "series_id": "1",
            "token_id": str(tokens[0]["id"]),
            "set_id": str(cookies.json()["id"]),
            "subscription_id": str(subscription.json()["id"]),
            "user_id": str(alice.user_id),
            "name": "builtin",
        },
        paused=paused.json()["id"],
        finished=finished_id,
        media=media.json()["id"],
    )


def body_for(method: str, path: str) -> dict[str, Any] | None:
    if method in ("GET", "DELETE"):
        return None
    if path.endswith("/media"):
        return {"media_id": 1}
    if path.endswith("/download"):
        return {}
    if path.startswith("/api/v1/users"):
        return {"role": "admin"}
    if method == "PATCH" and path == "/api/v1/downloads/{download_id}":
        return {"speed_limit": "1M"}
    return {}


@pytest.fixture
def open_settings(settings: Settings) -> Settings:
    # The test origin and panel listen on 127.0.0.1.
    return settings.model_copy(update={"allow_private_addresses": True})


async def test_every_route_has_a_rule(open_settings: Settings) -> None:
    from haul.web.app import create_app

    served = served_routes(create_app(open_settings))
    assert served - ROUTES.keys() == set(), "routes without an isolation rule"
    assert ROUTES.keys() - served == set(), "rules for routes the app no longer serves"


async def test_a_user_cannot_touch_another_users_things(
    open_settings: Settings, origin: Origin, xtream: XtreamServer
) -> None:
    async with crowd(open_settings) as people:
        alices = await alice_owns(people, origin, xtream)
        bob = people.bob
        for (method, template), rule in sorted(ROUTES.items()):
            if rule not in (OWN, ADMIN):
                continue
            path = template.format(**alices.values)
            answer = await bob.http.request(method, path, json=body_for(method, template))
            assert answer.status_code == int(rule), (method, path, answer.text)
            detail = answer.json()["detail"]
            assert isinstance(detail, str) and detail, (method, path)
            if rule == OWN:
                # The same answer as for something that never existed.
                assert "Alice" not in answer.text and "alices" not in answer.text
        await still_alices(people, alices)


async def still_alices(people: People, alices: Alices) -> None:
    """Nothing Bob tried changed what Alice has."""
    alice = people.alice
    paused = (await alice.get(f"/downloads/{alices.paused}")).json()
    assert paused["status"] == "paused"
    finished = await alice.get(f"/downloads/{alices.finished}/file")
    assert finished.status_code == 200 and finished.content == b"x" * 50_000
    assert (await alice.get(f"/media/{alices.media}")).status_code == 200
    assert len((await alice.get("/notifications")).json()["items"]) == 1
    assert len((await alice.get("/iptv/providers")).json()["items"]) == 1
    assert len(await _list(alice, "/tokens")) == 1
    assert len((await alice.get("/cookies")).json()["items"]) == 1
    subscriptions = (await alice.get("/subscriptions")).json()["items"]
    assert [(s["paused"], s["last_checked_at"]) for s in subscriptions] == [(True, None)]


async def _list(person: Person, path: str) -> list[Any]:
    answer = (await person.get(path)).json()
    return answer["items"] if isinstance(answer, dict) else answer


async def test_lists_and_bulk_actions_hold_only_the_callers_own(
    open_settings: Settings, origin: Origin, xtream: XtreamServer
) -> None:
    async with crowd(open_settings) as people:
        alices = await alice_owns(people, origin, xtream)
        bob, admin = people.bob, people.admin
        paths = (
            "/downloads",
            "/media",
            "/notifications",
            "/iptv/providers",
            "/tokens",
            "/cookies",
            "/subscriptions",
        )
        for path in paths:
            assert [x for x in await _list(bob, path) if x.get("name") != "tests"] == [], path
        assert len(await _list(admin, "/downloads")) == 2  # administrators see everyone's
        ids = {"ids": [alices.paused, alices.finished]}
        for action in ("pause", "resume", "retry", "cancel"):
            answer = (await bob.post(f"/downloads/{action}", json=ids)).json()
            assert answer["items"] == [], action
            assert {e["code"] for e in answer["errors"]} == {"not_found"}, answer
        # Bob cannot file his download under Alice's media item, nor submit for it.
        own = await bob.post("/downloads", json={"url": "http://example.test/b", "paused": True})
        attach = await bob.post(
            f"/downloads/{own.json()['id']}/media", json={"media_id": alices.media}
        )
        assert attach.status_code == 404
        submit = await bob.post(
            "/downloads", json={"url": "http://example.test/c", "media_id": alices.media}
        )
        assert submit.status_code == 404
        await still_alices(people, alices)


async def test_events_reach_only_their_owner(open_settings: Settings) -> None:
    async with crowd(open_settings) as people:
        readers = [
            EventReader(people.app, people.alice.token),
            EventReader(people.app, people.bob.token),
            EventReader(people.app, people.bob.token, query="download=1"),
        ]
        try:
            for reader in readers:
                await reader.start()
            made = await people.alice.post(
                "/downloads", json={"url": "http://example.test/alone", "paused": True}
            )
            mine = made.json()["id"]
            assert mine == 1  # the download Bob's third stream asked for by id
            await readers[0].until(lambda ids: mine in ids)
            await people.bob.post(
                "/downloads", json={"url": "http://example.test/b", "paused": True}
            )
            await readers[1].until(lambda ids: len(ids) > 0)
            # Bob's stream carries his own download only, never Alice's.
            assert mine not in readers[1].ids and mine not in readers[2].ids
            assert readers[2].ids == []
        finally:
            for reader in readers:
                await reader.close()


class EventReader:
    """An SSE stream of the app read in-process (ASGI): the ids of the download events."""

    def __init__(self, app: Any, token: str, query: str = "") -> None:
        self.app = app
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/api/v1/events",
            "raw_path": b"/api/v1/events",
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode())],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 80),
            "state": {},
        }
        self.text = ""
        self.ids: list[int] = []
        self._hello = asyncio.Event()
        self._more = asyncio.Event()
        self._gone = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self.app(self.scope, self._receive, self._send))
        await asyncio.wait_for(self._hello.wait(), 10)

    async def until(self, condition: Any, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not condition(self.ids):
                self._more.clear()
                await self._more.wait()

    async def close(self) -> None:
        self._gone.set()
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._task, 5)

    async def _receive(self) -> dict[str, Any]:
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] != "http.response.body":
            return
        self.text += message.get("body", b"").decode()
        *blocks, self.text = self.text.replace("\r\n", "\n").split("\n\n")
        for block in blocks:
            fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
            if fields.get("event") == "hello":
                self._hello.set()
            elif "data" in fields:
                self.ids.append(json.loads(fields["data"])["id"])
        self._more.set()


async def test_websocket_events_reach_only_their_owner(open_settings: Settings) -> None:
    async with crowd(open_settings) as people:
        alice = SocketReader(people.app, people.alice.token)
        bob = SocketReader(people.app, people.bob.token)
        stranger = SocketReader(people.app, None)
        try:
            await alice.start()
            await bob.start()
            # Bob asks for Alice's channels by name: he may ask, but gets nothing of hers.
            await bob.say({"subscribe": ["download.1", f"owner.user:{people.alice.user_id}"]})
            await bob.until(lambda messages: any(m.get("type") == "subscribed" for m in messages))
            made = await people.alice.post(
                "/downloads", json={"url": "http://example.test/alone", "paused": True}
            )
            assert made.json()["id"] == 1
            await alice.until(lambda messages: any(m.get("id") == 1 for m in messages))
            await bob.say({"subscribe": []})  # back to his own
            await people.bob.post(
                "/downloads", json={"url": "http://example.test/b", "paused": True}
            )
            await bob.until(lambda messages: any(m.get("id") == 2 for m in messages))
            assert all(m.get("id") != 1 for m in bob.messages)
            # Without credentials the socket is closed before it opens.
            await stranger.start(expect_accept=False)
            assert stranger.closed_with == 4401
        finally:
            for reader in (alice, bob, stranger):
                await reader.close()


class SocketReader:
    """A WebSocket of the app driven in-process (ASGI), keeping the JSON messages it got."""

    def __init__(self, app: Any, token: str | None) -> None:
        headers = [(b"host", b"127.0.0.1")]
        if token is not None:
            headers.append((b"authorization", f"Bearer {token}".encode()))
        self.app = app
        self.scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "ws",
            "path": "/api/v1/ws",
            "raw_path": b"/api/v1/ws",
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 40001),
            "server": ("127.0.0.1", 80),
            "subprotocols": [],
            "state": {},
        }
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.messages: list[dict[str, Any]] = []
        self.closed_with: int | None = None
        self._opened = asyncio.Event()
        self._more = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, *, expect_accept: bool = True) -> None:
        await self.inbox.put({"type": "websocket.connect"})
        self._task = asyncio.create_task(self.app(self.scope, self.inbox.get, self._send))
        await asyncio.wait_for(self._opened.wait(), 10)
        assert (self.closed_with is None) == expect_accept

    async def say(self, message: dict[str, Any]) -> None:
        await self.inbox.put({"type": "websocket.receive", "text": json.dumps(message)})

    async def until(self, condition: Any, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not condition(self.messages):
                self._more.clear()
                await self._more.wait()

    async def close(self) -> None:
        await self.inbox.put({"type": "websocket.disconnect", "code": 1000})
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._task, 5)

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.accept":
            self._opened.set()
        elif message["type"] == "websocket.close":
            self.closed_with = message.get("code")
            self._opened.set()
        elif message["type"] == "websocket.send":
            self.messages.append(json.loads(message["text"]))
            self._more.set()
