"""The pure parts of notifications: signature, backoff, payload, kinds, URL checks."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from haul.errors import InputError, InvalidTargetURL
from haul.notify import apprise_urls, payload, signing
from haul.notify.backoff import Backoff, retry_after_seconds, status_retryable
from haul.notify.delivery import Attempt, deliver
from haul.notify.kinds import check_kinds
from haul.notify.targets import Target, check_url, location, shown_url

# Computed with `printf '%s' '1700000000.{"event":"completed"}' | openssl dgst -sha256
# -hmac 'It is a secret'`, independently of haul's code.
KNOWN = "sha256=615a0a1f7fc35934e2dc97b3b292a680fd256c35b9c2538d4a12764ed159826a"


class FixedRandom(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def test_signature_matches_an_independent_hmac() -> None:
    body = b'{"event":"completed"}'
    assert signing.signature("It is a secret", 1700000000, body) == KNOWN
    assert signing.verify("It is a secret", "1700000000", body, KNOWN, now=1700000100)


def test_verify_refuses_a_changed_body_wrong_secret_old_timestamp_or_no_header() -> None:
    body = b'{"event":"completed"}'
    now = 1700000000
    assert not signing.verify("It is a secret", now, body + b" ", KNOWN, now=now)
    assert not signing.verify("another", now, body, KNOWN, now=now)
    assert not signing.verify("It is a secret", now, body, KNOWN, now=now + 301)
    assert signing.verify("It is a secret", now, body, KNOWN, now=now + 301, tolerance=None)
    assert not signing.verify("It is a secret", now, body, None, now=now)
    assert not signing.verify("It is a secret", "soon", body, KNOWN, now=now)
    assert not signing.verify("It is a secret", now + 1, body, KNOWN, now=now)


def test_headers_carry_event_delivery_timestamp_and_a_signature_only_with_a_secret() -> None:
    body = b"{}"
    signed = signing.headers("failed", "d-1", body, secret="k", timestamp=1700000000)
    assert signed["X-Haul-Event"] == "failed"
    assert signed["X-Haul-Delivery"] == "d-1"
    assert signed["X-Haul-Timestamp"] == "1700000000"
    assert signed["Content-Type"] == "application/json"
    assert signing.verify("k", "1700000000", body, signed["X-Haul-Signature"], tolerance=None)
    plain = signing.headers("failed", "d-1", body, secret=None, timestamp=1700000000)
    assert "X-Haul-Signature" not in plain


def test_backoff_doubles_up_to_the_cap_and_jitter_only_shortens() -> None:
    backoff = Backoff(attempts=5, base=1.0, cap=3.0, jitter=0.25)
    assert backoff.schedule(FixedRandom(0.0)) == [1.0, 2.0, 3.0, 3.0]
    assert backoff.schedule(FixedRandom(1.0)) == [0.75, 1.5, 2.25, 2.25]
    assert backoff.delay(5) is None  # the fifth attempt was the last
    waits = Backoff().schedule(random.Random(7))
    assert len(waits) == 4
    assert all(0.75 * full <= wait <= full for wait, full in zip(waits, [1, 2, 4, 8], strict=True))


def test_backoff_honours_a_longer_retry_after() -> None:
    backoff = Backoff(base=1.0, jitter=0.0)
    assert backoff.delay(1, retry_after=7) == 7
    assert backoff.delay(3, retry_after=1) == 4


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), (" 10 ", 10.0), ("0", 0.0), ("61", None), ("-1", None), ("1.5", None),
     ("Wed, 21 Oct 2026 07:28:00 GMT", None), (None, None)],
)  # fmt: skip
def test_retry_after_is_honoured_only_as_a_small_number_of_seconds(
    header: str | None, expected: float | None
) -> None:
    assert retry_after_seconds(header, cap=60) == expected


@pytest.mark.parametrize(
    ("status", "retry"),
    [(500, True), (502, True), (503, True), (429, True), (400, False), (401, False),
     (404, False), (408, False), (410, False), (422, False)],
)  # fmt: skip
def test_only_5xx_and_429_are_retried(status: int, retry: bool) -> None:
    assert status_retryable(status) is retry


async def test_deliver_stops_on_success_on_a_final_error_and_after_the_last_attempt() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    answers = iter([Attempt(False, retryable=True, error="503"), Attempt(True, status=200)])

    async def flaky() -> Attempt:
        return next(answers)

    backoff = Backoff(attempts=3, base=1.0, jitter=0.0)
    outcome = await deliver(flaky, backoff, label="t", sleep=sleep)
    assert (outcome.ok, outcome.attempts, waits) == (True, 2, [1.0])

    async def refused() -> Attempt:
        return Attempt(False, retryable=False, error="400 Bad Request", status=400)

    outcome = await deliver(refused, backoff, label="t", sleep=sleep)
    assert (outcome.ok, outcome.attempts, outcome.status) == (False, 1, 400)

    waits.clear()

    async def down() -> Attempt:
        return Attempt(False, retryable=True, error="down", retry_after=5)

    outcome = await deliver(down, backoff, label="t", sleep=sleep)
    assert (outcome.ok, outcome.attempts, outcome.error) == (False, 3, "down")
    assert waits == [5, 5]


def test_summary_and_body_carry_what_a_receiver_needs() -> None:
    summary = payload.download_summary(
        id=12,
        url="https://user:pw@example.org/bbb.mp4?x=1",
        status="failed",
        owner="u:3",
        title="Big Buck Bunny",
        error_code="http_404",
        error_message="The server has no such file.",
        client="builtin",
        media_id=7,
        files=[{"path": "bbb.mp4", "size": 1000, "probe": {}}, ("extra.srt", None)],
        library_paths=["Movies/BBB (2008)/BBB.mp4"],
    )
    assert summary["url"] == "https://example.org/bbb.mp4?x=1"  # no credentials
    assert summary["files"] == [
        {"path": "bbb.mp4", "size": 1000},
        {"path": "extra.srt", "size": None},
    ]
    assert summary["error"] == {"code": "http_404", "message": "The server has no such file."}
    sent = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    document = json.loads(payload.body("failed", summary, delivery="abc", sent_at=sent))
    assert document == {
        "event": "failed",
        "delivery": "abc",
        "sent_at": "2026-11-21T10:00:00+00:00",
        "download": dict(summary),
    }
    title, text = payload.message("failed", summary)
    assert title == "haul: Big Buck Bunny failed"
    assert "The server has no such file." in text
    plain = payload.download_summary(id=1, url="https://e.org/a", status="completed", owner="local")
    assert plain["error"] is None and plain["files"] == [] and plain["library_paths"] == []


@dataclass
class Row:
    """A recorded download as :func:`payload.summary_of` reads it."""

    id: int = 7
    source_url: str = "https://user:secret@e.org/a.mkv"
    owner_key: str = "user:3"
    title: str | None = "A film"
    last_error_code: str | None = "http_404"
    last_error_message: str | None = "Not found"
    client: str | None = "aria2"
    media_id: int | None = 12
    files: list[Any] | None = None


def test_summary_of_a_recorded_download() -> None:
    row = Row(files=[{"path": "a.mkv", "size": 10}])
    assert payload.summary_of(row, "failed") == {
        "id": 7,
        "title": "A film",
        "url": "https://e.org/a.mkv",
        "status": "failed",
        "error": {"code": "http_404", "message": "Not found"},
        "client": "aria2",
        "media_id": 12,
        "owner": "user:3",
        "files": [{"path": "a.mkv", "size": 10}],
        "library_paths": [],
    }
    bare = payload.summary_of(Row(last_error_code=None, last_error_message=None), "completed")
    assert bare["error"] is None and bare["files"] == []


def test_event_kinds_are_checked_with_a_sentence() -> None:
    assert check_kinds(["imported", "completed"]) == ["completed", "imported"]
    with pytest.raises(InputError, match=r"no 'done' event; choose from completed, failed, imp"):
        check_kinds(["done"])
    with pytest.raises(InputError, match="at least one event"):
        check_kinds([])


def test_urls_are_checked_and_never_shown_with_their_secrets() -> None:
    assert check_url("webhook", " https://example.org/h ", allow_private=True) == (
        "https://example.org/h"
    )
    with pytest.raises(InvalidTargetURL, match="must start with http:// or https://"):
        check_url("webhook", "ftp://example.org/h", allow_private=True)
    with pytest.raises(InvalidTargetURL, match="link-local, metadata"):
        check_url("webhook", "http://169.254.169.254/latest", allow_private=True)
    with pytest.raises(InvalidTargetURL, match="private or loopback"):
        check_url("webhook", "http://127.0.0.1:9/h", allow_private=False)
    with pytest.raises(InvalidTargetURL, match="Apprise does not understand that nope://"):
        check_url("apprise", "nope://token", allow_private=True)
    tgram = "tgram://123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQr/12345"
    assert check_url("apprise", tgram, allow_private=True) == tgram
    assert apprise_urls.redact(tgram) == "tgram://…"
    assert location("apprise", tgram) == "tgram://…"
    assert location("webhook", "https://u:p@hooks.example.org:8443/T0/B0/XyZ?t=1") == (
        "https://hooks.example.org:8443"
    )
    assert shown_url("webhook", "https://u:p@h.example.org/x") == "https://u:***@h.example.org/x"
    target = Target(1, "tg", "apprise", tgram, ("completed",), secret=None)
    assert tgram.split("://")[1] not in json.dumps(target.to_json())
