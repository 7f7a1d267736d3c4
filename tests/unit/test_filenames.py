"""Naming and error translation of the HTTP engine: pure functions, no network."""

from __future__ import annotations

import email.utils
import socket
from pathlib import Path

import httpx
import pytest

from haul.core.paths import sanitize_filename
from haul.engine.filenames import disposition_name, titled
from haul.engine.http import (
    filename_for,
    network_error,
    parse_retry_after,
    part_path,
    status_error,
)
from haul.errors import PermanentTransferError, TransientTransferError


@pytest.mark.parametrize(
    ("url", "disposition", "content_type", "expected"),
    [
        ("https://h/a/b/movie.mkv", None, None, "movie.mkv"),
        ("https://h/a/My%20Clip.mp4?sig=1#x", None, "video/mp4", "My Clip.mp4"),
        ("https://h/get", 'attachment; filename="Report 2024.pdf"', None, "Report 2024.pdf"),
        ("https://h/get", "attachment; filename=plain.txt", None, "plain.txt"),
        ("https://h/get", r'attachment; filename="say \"hi\".txt"', None, "say _hi_.txt"),
        (
            "https://h/get",
            "attachment; filename=\"fallback.txt\"; filename*=UTF-8''%C3%A9t%C3%A9.txt",
            None,
            "été.txt",
        ),
        ("https://h/watch/42", None, "video/mp4; codecs=avc1", "42.mp4"),
        ("https://h/watch/42", None, "application/octet-stream", "42"),
        ("https://h/", None, "video/x-matroska", "download.mkv"),
        ("https://h/", None, None, "download.bin"),
        ("https://h/", "attachment", None, "download.bin"),
        ("https://h/README", 'inline; filename="README"', "text/plain", "README"),
    ],
)
def test_filename_for(url: str, disposition: str | None, content_type: str | None, expected: str):
    assert filename_for(url, disposition, content_type) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("a\x00b\x1fc.bin", "abc.bin"),
        ("..", ""),
        ("...hidden", "hidden"),
        ("  spaced name.  ", "spaced name"),
        ('what?<is>:this*|".txt', "what__is__this___.txt"),
        ("/", ""),
    ],
)
def test_sanitize_filename(raw: str, expected: str):
    assert sanitize_filename(raw) == expected


def test_long_names_are_cut_to_200_bytes_keeping_the_extension():
    name = sanitize_filename("é" * 300 + ".mp4")
    assert name.endswith(".mp4")
    assert len(name.encode()) <= 200
    assert name.encode().decode() == name  # no broken multi-byte character
    assert len(sanitize_filename("x" * 500).encode()) == 200


def test_hostile_disposition_never_yields_a_path():
    for hostile in ("../../etc/passwd", "/etc/shadow", "a/../../b", "\x00", "C:\\x\\y.exe"):
        name = filename_for("https://h/f", f'attachment; filename="{hostile}"', None)
        assert name and "/" not in name and "\\" not in name and "\x00" not in name
        assert name not in (".", "..")


def test_part_path_sits_next_to_the_final_file():
    assert part_path(Path("/d/movie.mp4")) == Path("/d/movie.mp4.part")


def test_retry_after_in_seconds_or_as_a_date():
    now = 1_700_000_000.0
    later = email.utils.formatdate(now + 120, usegmt=True)
    earlier = email.utils.formatdate(now - 120, usegmt=True)
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after(later, now=now) == pytest.approx(120, abs=1)
    assert parse_retry_after(earlier, now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def _response(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("GET", "https://files.example/a.bin")
    return httpx.Response(status, headers=headers, request=request)


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        (404, PermanentTransferError, "http_404"),
        (403, PermanentTransferError, "http_403"),
        (410, PermanentTransferError, "http_410"),
        (429, TransientTransferError, "http_429"),
        (500, TransientTransferError, "http_500"),
        (503, TransientTransferError, "http_503"),
    ],
)
def test_status_error_table(status: int, kind: type[Exception], code: str):
    error = status_error(_response(status))
    assert type(error) is kind
    assert error.code == code
    assert error.message.startswith(f"The server answered {status} ")
    assert "https://files.example/a.bin" in error.message


def test_status_error_reads_retry_after():
    assert status_error(_response(429, {"Retry-After": "12"})).retry_after == 12.0
    assert status_error(_response(503, {"Retry-After": "5"})).retry_after == 5.0


def test_network_errors_are_classified():
    url = "https://files.example/a.bin"
    dns = httpx.ConnectError("[Errno -2] Name or service not known")
    dns.__cause__ = socket.gaierror(-2, "Name or service not known")
    assert network_error(dns, url).code == "dns"
    assert "files.example" in network_error(dns, url).message
    assert network_error(httpx.ConnectError("refused"), url).code == "connection"
    assert network_error(httpx.ReadTimeout("slow"), url).code == "timeout"
    assert network_error(httpx.ConnectTimeout("slow"), url).code == "timeout"
    assert network_error(httpx.RemoteProtocolError("cut"), url).code == "connection"
    assert network_error(httpx.ReadError("reset"), url).transient
    assert not network_error(httpx.UnsupportedProtocol("ftp"), url).transient


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ('attachment; filename="caf\udce9.bin"', "café.bin"),  # aiohttp's latin-1 byte
        ('attachment; filename="café.bin"', "café.bin"),  # httpx's reading of the same
        ("attachment; filename*=UTF-8''caf%C3%A9.bin", "café.bin"),
        ("attachment; filename*=iso-8859-1'fr'caf%E9.bin", "café.bin"),
        ("attachment; filename*=UTF-8''caf%E9.bin", "café.bin"),  # not UTF-8 after all
        ("attachment; filename*=rot13''n.bin", "n.bin"),  # not a text encoding
        ("attachment; filename=\"a.bin\"; filename*=UTF-8''%E2%82%AC.bin", "€.bin"),
        ("inline", None),
    ],
)
def test_a_content_disposition_is_read_in_any_encoding(header: str, name: str | None) -> None:
    assert disposition_name(header) == name


@pytest.mark.parametrize(
    ("title", "derived", "content_type", "name"),
    [
        ("Episode 3: The Start", "3.mp3", None, "Episode 3_ The Start.mp3"),
        ("Ep 4 / part two", "default", "audio/mpeg", "Ep 4 - part two.mp3"),  # no folder
        ("Ep. 5.", "stream", "audio/mp4", "Ep. 5.m4a"),
        ("../../etc/passwd", "a.MP3", None, "-..-etc-passwd.mp3"),
        ("...", "x.mp3", None, None),  # nothing of it left: named as any file
    ],
)
def test_a_listings_title_names_its_file_with_the_extension_of_its_address(
    title: str, derived: str, content_type: str | None, name: str | None
) -> None:
    assert titled(title, derived, content_type) == name
