"""Live streams end when their caller may no longer read them: an account disabled or
demoted, a login ended, a token revoked. Two real `haul serve` processes share one
database (SQLite, then PostgreSQL); each change is made on the server holding the stream
(seen at once) and on the other one (seen by the periodic re-check), and read by a real
event-stream and WebSocket client."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.pg import fresh_database
from tests.support.server import HaulServer
from tests.support.sse import LiveStream
from tests.support.wait import wait_for

PASSWORD = "correct horse battery"
#: Seconds a stream may go on after the change: at once (within the loop's second) on the
#: server that made it; the re-check (2 s) plus the credentials' cache (5 s) on another.
WITHIN = {"same": 6.0, "other": 15.0}
_names = count(1)


@dataclass
class Pair:
    streams: HaulServer  # holds the streams
    other: HaulServer  # another process on the same database
    boss: dict[str, str]  # headers of the first administrator

    def server(self, where: str) -> HaulServer:
        return self.streams if where == "same" else self.other

    def call(self, where: str, method: str, path: str, **kw: Any) -> httpx.Response:
        kw.setdefault("headers", self.boss)
        return self.server(where).api(method, path, **kw)

    def person(self, role: str = "user") -> tuple[int, str]:
        name = f"p{next(_names)}"
        made = self.call(
            "same", "POST", "/users", json={"username": name, "password": PASSWORD, "role": role}
        )
        assert made.status_code == 201, made.text
        return made.json()["id"], name

    def token(self, name: str) -> tuple[int, dict[str, str]]:
        body = {"username": name, "password": PASSWORD, "name": "stream"}
        made = self.streams.api("POST", "/auth/token", json=body).json()
        return made["id"], {"Authorization": f"Bearer {made['token']}"}

    def queue(self, headers: dict[str, str]) -> int:
        """A paused download of the caller with these headers (a new URL each time)."""
        body = {"url": f"https://example.com/{next(_names)}.mp4", "paused": True}
        made = self.streams.api("POST", "/downloads", headers=headers, json=body)
        assert made.status_code == 201, made.text
        return int(made.json()["id"])

    def login(self, name: str) -> dict[str, str]:
        answer = self.streams.api(
            "POST", "/auth/login", json={"username": name, "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        return {"Cookie": f"haul_login={answer.cookies['haul_login']}"}


@contextmanager
def shared_database(request: pytest.FixtureRequest, root: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{root / 'haul.db'}"
        return
    with fresh_database(request.getfixturevalue("pg_server")) as url:
        yield url


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    root = tmp_path_factory.mktemp("streams")
    with shared_database(request, root) as url:
        env = {"HAUL_DATABASE_URL": url, "HAUL_MODE": "accounts"}
        streams = HaulServer(root / "a", env=env)
        # On PostgreSQL the second one is an API node; on SQLite each runs its worker.
        api_only = {"HAUL_EMBEDDED_WORKER": "false"} if request.param == "postgres" else {}
        other = HaulServer(root / "b", env={**env, **api_only})
        made = subprocess.run(
            [sys.executable, "-m", "haul", "users", "create-admin", "boss", "--password-stdin"],
            input=PASSWORD,
            capture_output=True,
            text=True,
            timeout=120,
            env=streams.env,
        )
        assert made.returncode == 0, made.stderr
        streams.start()
        other.start()
        try:
            body = {"username": "boss", "password": PASSWORD, "name": "tests"}
            token = streams.api("POST", "/auth/token", json=body).json()["token"]
            yield Pair(streams, other, {"Authorization": f"Bearer {token}"})
        finally:
            streams.stop()
            other.stop()


def ends(stream: LiveStream, where: str) -> None:
    assert stream.ended.wait(WITHIN[where]), f"the {stream.kind} stream still runs"


#: Each case covers both stream kinds and both processes, crossed the other way in the next
#: case, so every (kind, process) pair runs twice on each database in this file.
CASES = [("sse", "other"), ("ws", "same")]
CROSSED = [("ws", "other"), ("sse", "same")]


@pytest.mark.parametrize(("kind", "where"), CASES)
def test_a_disabled_account_loses_its_stream(pair: Pair, kind: str, where: str) -> None:
    user_id, name = pair.person()
    stream = LiveStream(pair.streams.url, kind, pair.token(name)[1]).start()
    assert (
        pair.call(where, "PATCH", f"/users/{user_id}", json={"disabled": True}).status_code == 200
    )
    ends(stream, where)
    assert stream.close_code in (None, 4401)
    assert stream.closed is not None and "not valid" in stream.closed["detail"]


@pytest.mark.parametrize(("kind", "where"), CROSSED)
def test_a_revoked_token_loses_its_stream(pair: Pair, kind: str, where: str) -> None:
    _, name = pair.person()
    token_id, headers = pair.token(name)
    stream = LiveStream(pair.streams.url, kind, headers).start()
    assert pair.call(where, "DELETE", f"/tokens/{token_id}").status_code == 204
    ends(stream, where)
    assert stream.close_code in (None, 4401)


@pytest.mark.parametrize(("kind", "where"), CASES)
def test_logging_out_ends_the_login_stream(pair: Pair, kind: str, where: str) -> None:
    _, name = pair.person()
    cookie = pair.login(name)
    stream = LiveStream(pair.streams.url, kind, cookie).start()
    assert pair.call(where, "POST", "/auth/logout", headers=cookie).status_code == 204
    ends(stream, where)
    assert stream.close_code in (None, 4401)


@pytest.mark.parametrize(("kind", "where"), CROSSED)
def test_a_demoted_admin_stops_seeing_other_owners(pair: Pair, kind: str, where: str) -> None:
    admin_id, name = pair.person("admin")
    _, headers = pair.token(name)
    stream = LiveStream(pair.streams.url, kind, headers).start()
    boss = LiveStream(pair.streams.url, kind, pair.boss).start()
    before = pair.queue(pair.boss)
    wait_for(lambda: stream.created(before), 10, what="the admin to see the boss's download")

    assert pair.call(where, "PATCH", f"/users/{admin_id}", json={"role": "user"}).status_code == 200
    ends(stream, where)
    assert stream.close_code in (None, 4403)
    assert stream.closed is not None and "rights changed" in stream.closed["detail"]

    # Connected again, the same token reads only its own downloads.
    again = LiveStream(pair.streams.url, kind, headers).start()
    after = pair.queue(pair.boss)
    wait_for(lambda: boss.created(after), 10, what="the boss to see the download")
    own = pair.queue(headers)
    wait_for(lambda: again.created(own), 10, what="the user to see their own download")
    assert not again.created(after)
    assert not boss.ended.is_set()  # streams of callers who may still read go on
    for live in (again, boss):
        live.stop()
