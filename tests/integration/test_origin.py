"""The test origin itself: Range, HEAD, faults, throttling and the request log."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.origin import Origin, parse_range
from tests.support.wait import wait_for

DATA = bytes(range(256)) * 40  # 10 240 bytes


@pytest.fixture
def origin() -> Iterator[Origin]:
    with Origin() as server:
        server.add_file("/data.bin", DATA, filename="data.bin")
        yield server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as http:
        yield http


def test_full_get_has_length_validators_and_disposition(origin: Origin, client: httpx.Client):
    response = client.get(origin.url("/data.bin"))
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["content-length"] == str(len(DATA))
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-disposition"] == 'attachment; filename="data.bin"'
    again = client.get(origin.url("/data.bin"))
    assert again.headers["etag"] == response.headers["etag"]
    assert again.headers["last-modified"] == response.headers["last-modified"]


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=10-19", 10, 19), ("bytes=10000-", 10000, 10239), ("bytes=-5", 10235, 10239)],
)
def test_ranges(origin: Origin, client: httpx.Client, header: str, start: int, end: int):
    response = client.get(origin.url("/data.bin"), headers={"Range": header})
    assert response.status_code == 206
    assert response.content == DATA[start : end + 1]
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert origin.requests[-1].range_header == header


def test_unsatisfiable_range_is_416(origin: Origin, client: httpx.Client):
    response = client.get(origin.url("/data.bin"), headers={"Range": f"bytes={len(DATA)}-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(DATA)}"


def test_stale_if_range_gets_the_whole_file(origin: Origin, client: httpx.Client):
    headers = {"Range": "bytes=100-", "If-Range": '"not-the-etag"'}
    assert client.get(origin.url("/data.bin"), headers=headers).status_code == 200
    etag = client.head(origin.url("/data.bin")).headers["etag"]
    headers["If-Range"] = etag
    assert client.get(origin.url("/data.bin"), headers=headers).status_code == 206


def test_head_sends_headers_only(origin: Origin, client: httpx.Client):
    response = client.head(origin.url("/data.bin"))
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(DATA))
    assert response.content == b""
    assert origin.requests[-1].method == "HEAD"
    assert origin.requests[-1].bytes_sent == 0


def test_file_dir_and_missing_path(origin: Origin, client: httpx.Client, tmp_path: Path):
    (tmp_path / "hls").mkdir()
    (tmp_path / "hls" / "index.m3u8").write_text("#EXTM3U\n")
    (tmp_path / "big.bin").write_bytes(DATA)
    origin.add_dir("/media", tmp_path / "hls")
    origin.add_file("/big", tmp_path / "big.bin")
    playlist = client.get(origin.url("/media/index.m3u8"))
    assert playlist.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert playlist.text == "#EXTM3U\n"
    ranged = client.get(origin.url("/big"), headers={"Range": "bytes=5-9"})
    assert ranged.content == DATA[5:10]
    assert client.get(origin.url("/media/../big.bin")).status_code == 404
    assert client.get(origin.url("/nothing")).status_code == 404


def test_status_fault_then_normal(origin: Origin, client: httpx.Client):
    origin.fault("/data.bin", "status", times=2, status=503, headers={"Retry-After": "2"})
    first = client.get(origin.url("/data.bin"))
    assert (first.status_code, first.headers["retry-after"]) == (503, "2")
    assert client.get(origin.url("/data.bin")).status_code == 503
    assert client.get(origin.url("/data.bin")).status_code == 200


def test_404_fault_is_forever(origin: Origin, client: httpx.Client):
    origin.fault("/data.bin", "404")
    assert [client.get(origin.url("/data.bin")).status_code for _ in range(3)] == [404] * 3


def test_reset_fault_cuts_the_body(origin: Origin, client: httpx.Client):
    origin.fault("/data.bin", "reset", after_bytes=1000)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.get(origin.url("/data.bin"))
    assert origin.requests[-1].bytes_sent == 1000
    assert client.get(origin.url("/data.bin")).content == DATA


def test_slow_headers_fault_delays_the_answer(origin: Origin, client: httpx.Client):
    origin.fault("/data.bin", "slow_headers", delay=0.2)
    began = time.monotonic()
    assert client.get(origin.url("/data.bin")).status_code == 200
    assert time.monotonic() - began >= 0.2


def test_bad_total_fault_lies_in_content_range(origin: Origin, client: httpx.Client):
    origin.fault("/data.bin", "bad_total", total=99999)
    response = client.get(origin.url("/data.bin"), headers={"Range": "bytes=0-"})
    assert response.headers["content-range"] == f"bytes 0-{len(DATA) - 1}/99999"


def test_throttle_paces_the_body_and_can_be_lifted(origin: Origin, client: httpx.Client):
    origin.throttle("/data.bin", 20_000)  # 10 KiB at 20 kB/s: about half a second
    with client.stream("GET", origin.url("/data.bin")) as response:
        chunks = response.iter_raw()
        received = 0
        while received < 2000:
            received += len(next(chunks))
        assert received < len(DATA)
        origin.throttle("/data.bin", None)
        began = time.monotonic()
        received += sum(len(chunk) for chunk in chunks)
    assert received == len(DATA)
    assert time.monotonic() - began < 0.2


def test_throttled_sender_notices_a_closed_client(origin: Origin):
    origin.throttle("/data.bin", 2_000)
    with httpx.Client(timeout=5) as http, http.stream("GET", origin.url("/data.bin")) as response:
        next(response.iter_raw())
    wait_for(lambda: origin.requests[-1].finished is not None, timeout=1.0)
    assert origin.requests[-1].bytes_sent < len(DATA)


def test_close_cuts_idle_keepalive_connections():
    before = threading.active_count()
    origin = Origin()
    origin.add_file("/x", b"x")
    http = httpx.Client()
    assert http.get(origin.url("/x")).content == b"x"  # leaves a keep-alive connection open
    began = time.monotonic()
    origin.close()
    http.close()
    assert time.monotonic() - began < 1.0
    assert threading.active_count() == before


def test_parse_range_rejects_what_it_cannot_serve():
    assert parse_range("bytes=0-0", 10) == (0, 0)
    assert parse_range("bytes=5-100", 10) == (5, 9)
    assert parse_range("bytes=1-2,4-5", 10) is None
    assert parse_range("items=1-2", 10) is None
    assert parse_range("bytes=x-", 10) is None
    assert parse_range("bytes=-0", 10) == "unsatisfiable"
