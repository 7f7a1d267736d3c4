"""Signed file links, file names in headers, content types, durations (pure)."""

from __future__ import annotations

import base64
import struct
from datetime import UTC, datetime

import pytest

from haul.cli.links import parse_duration
from haul.core import links
from haul.errors import ExpiredLink, InvalidLink
from haul.web.files import ascii_name, content_disposition, content_type

KEY = bytes(range(32))
BORN = links.born_of(datetime(2025, 5, 1, 8, 30, 15, 123456, tzinfo=UTC))
NOW = 1_750_000_000.0


def token_for(download_id: int = 7, index: int = 0, expires_at: int = int(NOW) + 3600) -> str:
    return links.sign(KEY, links.Claim(download_id, index, expires_at), born=BORN)


def test_a_link_opens_until_it_expires() -> None:
    token = token_for(index=2)
    assert len(token) == 71 and "=" not in token and "/" not in token and "+" not in token
    assert links.verify(KEY, token, born=BORN, now=NOW) == links.Claim(7, 2, int(NOW) + 3600)
    with pytest.raises(ExpiredLink) as expired:
        links.verify(KEY, token, born=BORN, now=NOW + 3600)
    assert expired.value.message == (
        "This link expired on 2025-06-15 16:06 UTC. Ask for a new link."
    )
    assert expired.value.code == "link_expired"


def test_expiry_is_rounded_up_to_whole_seconds() -> None:
    assert links.expiry(100.2, 10) == 111
    assert links.expiry(100.0, 10) == 110


def test_microseconds_of_creation_are_exact() -> None:
    moment = datetime(2025, 5, 1, 8, 30, 15, 123457, tzinfo=UTC)
    assert links.born_of(moment) - BORN == 1
    assert links.born_of(moment.replace(tzinfo=None)) == links.born_of(moment)


def swapped(token: str, download_id: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token + "="))
    raw[1:9] = struct.pack(">Q", download_id)
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def test_a_changed_or_foreign_link_is_refused() -> None:
    token = token_for()
    forged = [
        swapped(token, 8),  # another download's id
        token[:40] + ("A" if token[40] != "A" else "B") + token[41:],  # a changed tag
        swapped(token, 7)[:12] + ("A" if token[12] != "A" else "B") + token[13:],  # expiry
        links.sign(bytes(32), links.Claim(7, 0, int(NOW) + 3600), born=BORN),  # another key
    ]
    for bad in forged:
        with pytest.raises(InvalidLink, match="incomplete or was changed"):
            links.verify(KEY, bad, born=BORN, now=NOW)
    # The same id, given again to a newer download after the first was removed.
    with pytest.raises(InvalidLink):
        links.verify(KEY, token, born=BORN + 1, now=NOW)
    # An expired link that was tampered with says it was tampered with, not its date.
    with pytest.raises(InvalidLink):
        links.verify(KEY, swapped(token, 8), born=BORN, now=NOW + 10**6)


@pytest.mark.parametrize(
    "token",
    ["", "abc", "%%%%", "é" * 71, token_for()[:-4], token_for() + "AAAA", "A" * 500],
)
def test_a_malformed_link_is_not_valid(token: str) -> None:
    with pytest.raises(InvalidLink, match="incomplete or was changed") as refused:
        links.verify(KEY, token, born=BORN, now=NOW)
    assert refused.value.code == "invalid_link"


def test_a_future_version_is_not_read() -> None:
    raw = bytearray(base64.urlsafe_b64decode(token_for() + "="))
    raw[0] = 2
    with pytest.raises(InvalidLink, match="incomplete or was changed"):
        links.read(base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode())


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("clip.mkv", "video/x-matroska"),
        ("CLIP.MKV", "video/x-matroska"),
        ("clip.webm", "video/webm"),
        ("song.m4a", "audio/mp4"),
        ("clip.en.srt", "application/x-subrip"),
        ("clip.en.vtt", "text/vtt"),
        ("segment.ts", "video/mp2t"),
        ("clip.mp4", "video/mp4"),
        ("doc.pdf", "application/pdf"),
        ("no-extension", "application/octet-stream"),
    ],
)
def test_content_types_of_media(name: str, expected: str) -> None:
    assert content_type(name) == expected


def test_content_disposition_names_the_file() -> None:
    assert content_disposition("clip.mp4") == 'attachment; filename="clip.mp4"'
    assert content_disposition("Café déjà vu.mkv") == (
        'attachment; filename="Cafe deja vu.mkv"; '
        "filename*=UTF-8''Caf%C3%A9%20d%C3%A9j%C3%A0%20vu.mkv"
    )
    assert content_disposition('a "quoted" \\ name.mp4').startswith(
        "attachment; filename=\"a _quoted_ _ name.mp4\"; filename*=UTF-8''a%20%22quoted%22"
    )
    assert ascii_name("東京.mp4") == "download.mp4"
    assert content_disposition("東京.mp4").endswith("filename*=UTF-8''%E6%9D%B1%E4%BA%AC.mp4")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("30m", 1800), ("2h", 7200), ("7d", 604800), ("1w", 604800),
     ("1h30m", 5400), (" 1.5h ", 5400)],
)  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "2x", "h", "2h-", "soon"])
def test_bad_durations_say_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match="write it like 90s, 30m, 2h"):
        parse_duration(text)
