"""When a live stream asks again who its caller is, and what ends it (no server, no database:
a stand-in gate and clock); what the CLI says when the server ends its stream."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from haul.cli.api import Api
from haul.errors import ApiError, Unauthorized
from haul.service import Owner
from haul.web.api.stream_auth import CHANGED, UNCHECKED, CallerWatch

ALICE = Owner(key="user:2", user_id=2, is_admin=True)


@dataclass
class Accounts:
    changes: int = 0


@dataclass
class Gate:
    """Answers who the caller is with ``answer`` (an owner, or an error to raise)."""

    answer: Owner | Exception = ALICE
    accounts: Accounts = field(default_factory=Accounts)
    asked: int = 0

    async def fresh_owner(self, conn: Any) -> Owner:
        self.asked += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def watch(gate: Gate, clock: Clock) -> CallerWatch:
    return CallerWatch(gate, conn=None, owner=ALICE, every=2.0, clock=clock)  # type: ignore[arg-type]


async def test_the_caller_is_asked_again_every_few_seconds_and_at_once_after_a_change() -> None:
    gate, clock = Gate(), Clock()
    w = watch(gate, clock)
    assert not await w.ended() and gate.asked == 0  # just opened: nothing due
    clock.now += 1.9
    assert not await w.ended() and gate.asked == 0
    clock.now += 0.2
    assert not await w.ended() and gate.asked == 1
    gate.accounts.changes += 1  # an account changed in this process
    assert not await w.ended() and gate.asked == 2
    assert not await w.ended() and gate.asked == 2


async def test_no_login_ends_the_stream_with_the_reason() -> None:
    gate, clock = Gate(answer=Unauthorized("This API token is not valid.")), Clock()
    w = watch(gate, clock)
    gate.accounts.changes += 1
    assert await w.ended()
    assert w.unauthorized and w.reason == "This API token is not valid."
    assert await w.ended() and gate.asked == 1  # ended for good, not asked again


async def test_other_rights_or_another_person_end_the_stream() -> None:
    for now in (Owner(key="user:2", user_id=2, is_admin=False), Owner(key="session:x")):
        gate, clock = Gate(answer=now), Clock()
        w = watch(gate, clock)
        clock.now += 5
        assert await w.ended()
        assert not w.unauthorized and w.reason == CHANGED


async def test_a_database_that_does_not_answer_ends_the_stream() -> None:
    gate, clock = Gate(answer=ConnectionError("database gone")), Clock()
    w = watch(gate, clock)
    clock.now += 5
    assert await w.ended() and w.reason == UNCHECKED


def test_the_cli_says_why_the_server_ended_its_stream() -> None:
    body = (
        'event: hello\ndata: {"channels": ["*"]}\n\n'
        'event: closed\ndata: {"detail": "This API token is not valid."}\n\n'
    )
    api = Api("http://127.0.0.1:8680", token="t")
    api.http = httpx.Client(
        base_url="http://127.0.0.1:8680/api/v1",
        transport=httpx.MockTransport(
            lambda _: httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})
        ),
    )
    seen = []
    with pytest.raises(ApiError) as caught:
        for kind, _ in api.events():
            seen.append(kind)
    assert seen == ["hello"]
    assert caught.value.message == "The event stream ended: This API token is not valid."
