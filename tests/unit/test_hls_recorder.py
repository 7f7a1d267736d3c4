"""The live recorder's own decisions over a scripted HLS server (httpx's mock transport):
what it appends, in which order, and when a recording ends. Real media and a real server:
tests/integration/test_live_recording.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from haul.engine.base import EngineJob, Progress, StopSignal
from haul.engine.hls import LiveRecorder, audio_args
from haul.errors import PermanentTransferError

URL = "http://tv.example/live/index.m3u8"


def playlist(first: int, names: list[str], *, ended: bool = False) -> str:
    lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:1", f"#EXT-X-MEDIA-SEQUENCE:{first}"]
    for name in names:
        lines += ["#EXTINF:1.0,", name]
    return "\n".join(lines + (["#EXT-X-ENDLIST"] if ended else [])) + "\n"


def server(readings: list[str]) -> tuple[httpx.MockTransport, list[str]]:
    """Answers the playlist with each of ``readings`` in turn (the last one from then on) and
    a segment ``x.ts`` with the bytes ``x``; the paths asked for, in order."""
    asked: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        asked.append(path)
        if path.endswith(".m3u8"):
            reads = sum(1 for p in asked if p.endswith(".m3u8"))
            return httpx.Response(200, text=readings[min(reads, len(readings)) - 1])
        return httpx.Response(200, content=Path(path).stem.encode())

    return httpx.MockTransport(handle), asked


async def record(
    tmp_path: Path,
    readings: list[str],
    stop: StopSignal | None = None,
    on_progress: Callable[[Progress], None] = lambda p: None,
) -> tuple[bytes, list[str], dict[str, object]]:
    transport, asked = server(readings)
    async with httpx.AsyncClient(transport=transport) as client:
        recorder = LiveRecorder(client, hiccup=0.5, ffmpeg=None)
        job = EngineJob(download_id=1, url=URL, dest_dir=tmp_path, hints={"title": "News"})
        result = await recorder.run(job, on_progress, stop or StopSignal())
    [file] = result.files
    assert file.name.startswith("News (") and file.suffix == ".ts"
    return file.read_bytes(), asked, result.meta


async def test_each_new_segment_is_appended_once_in_order(tmp_path: Path) -> None:
    seen: list[Progress] = []
    data, asked, meta = await record(
        tmp_path,
        [
            playlist(0, ["a.ts"]),
            playlist(0, ["a.ts", "b.ts"]),
            playlist(1, ["b.ts", "c.ts"], ended=True),
        ],
        on_progress=seen.append,
    )
    assert data == b"abc"
    assert [p for p in asked if p.endswith(".ts")] == ["/live/a.ts", "/live/b.ts", "/live/c.ts"]
    assert meta["recorded_seconds"] == 3.0 and meta["ended_by"] == "stream_ended"
    assert all(p.live and p.total_bytes is None for p in seen)
    assert seen[-1].recorded_seconds == 3.0 and seen[-1].downloaded_bytes == 3
    # The recording is shown by the stream's name, never by its work file's.
    assert {p.filename for p in seen} == {"News"}
    assert not (tmp_path / "live.ts").exists() and not (tmp_path / "live.json").exists()


async def test_it_starts_near_the_live_edge(tmp_path: Path) -> None:
    names = [f"s{i}.ts" for i in range(10)]
    data, _, _ = await record(tmp_path, [playlist(0, names), playlist(0, names, ended=True)])
    assert data == b"s7s8s9"


async def test_a_stream_numbered_again_from_the_start_goes_on(tmp_path: Path) -> None:
    data, _, _ = await record(
        tmp_path,
        [playlist(40, ["x.ts", "y.ts"]), playlist(0, ["p.ts", "q.ts"], ended=True)],
    )
    assert data == b"xypq"


async def test_a_stream_that_stops_growing_ends_the_recording(tmp_path: Path) -> None:
    data, _, meta = await record(tmp_path, [playlist(0, ["a.ts", "b.ts"])])
    assert data == b"ab" and meta["ended_by"] == "stream_quiet"


async def test_stopped_before_anything_was_recorded_is_said(tmp_path: Path) -> None:
    stop = StopSignal()
    stop.set("finish")
    with pytest.raises(PermanentTransferError, match="stopped before anything"):
        await record(tmp_path, [playlist(0, ["a.ts"])], stop)


def test_a_cancel_overrides_the_end_of_a_recording() -> None:
    stop = StopSignal()
    stop.set("finish")
    stop.set("pause")
    assert stop.reason == "finish"
    stop.set("cancel")
    assert stop.reason == "cancel"


@pytest.mark.parametrize(
    ("audio", "quality", "codec", "expected"),
    [
        ("mp3", None, None, ("mp3", ["-c:a", "libmp3lame", "-q:a", "5"])),
        ("mp3", "0", None, ("mp3", ["-c:a", "libmp3lame", "-q:a", "0"])),
        ("mp3", "10", None, ("mp3", ["-c:a", "libmp3lame", "-q:a", "9"])),
        ("mp3", "192K", None, ("mp3", ["-c:a", "libmp3lame", "-b:a", "192k"])),
        ("m4a", "2", None, ("m4a", ["-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart"])),
        ("opus", "96K", None, ("opus", ["-c:a", "libopus", "-b:a", "96k"])),
        ("flac", "3", None, ("flac", ["-c:a", "flac"])),
        ("wav", None, None, ("wav", ["-c:a", "pcm_s16le"])),
        ("best", None, "mp3", ("mp3", ["-c:a", "copy"])),
        ("best", None, "ac3", ("mka", ["-c:a", "copy"])),
        ("best", None, None, ("mka", ["-c:a", "copy"])),
    ],
)
def test_audio_only_is_converted_as_the_profile_says(
    audio: str, quality: str | None, codec: str | None, expected: tuple[str, list[str]]
) -> None:
    assert audio_args(audio, quality, codec) == expected


def test_best_audio_keeps_aac_in_m4a() -> None:
    extension, args = audio_args("best", "5", "aac")
    assert extension == "m4a" and args[:2] == ["-c:a", "copy"] and "aac_adtstoasc" in args
