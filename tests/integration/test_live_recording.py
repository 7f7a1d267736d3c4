"""Recording a live HLS stream end to end through the API: a growing playlist of real MPEG-TS
segments made by ffmpeg, served on loopback; stop keeps a playable file, cancel discards it."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from sqlalchemy import select

from haul.engine.base import EngineJob, StopSignal
from haul.engine.hls import LiveRecorder
from haul.errors import AddressRefused
from haul.net.guard import AddressPolicy
from haul.net.transport import GuardedTransport
from haul.settings import Settings
from haul.store.models import DownloadEvent, MediaFile
from tests.conftest import App
from tests.support import media
from tests.support.folders import work_dir
from tests.support.job_runs import bench
from tests.support.live_hls import SEGMENT_SECONDS, LiveChannel
from tests.support.wait import await_for

FINAL = {"completed", "failed", "canceled"}
HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def segments(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s of video and audio in ten 2 s MPEG-TS segments."""
    folder = tmp_path_factory.mktemp("live")
    media.make_hls(folder, seconds=20)
    return folder


#: Seconds a silent stream is waited for here (30 by default).
HICCUP = 4.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"live_hiccup": HICCUP})


@pytest.fixture
def channel(segments: Path) -> Iterator[LiveChannel]:
    with LiveChannel(segments, interval=1.0) as live:
        yield live


async def submit(app: App, url: str, **extra: Any) -> dict[str, Any]:
    response = await app.post("/downloads", json={"url": url, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def item(app: App, download_id: int) -> dict[str, Any]:
    body: dict[str, Any] = (await app.get(f"/downloads/{download_id}")).json()
    return body


async def recorded(app: App, download_id: int, seconds: float) -> dict[str, Any]:
    """Wait until the download shows it is recording live, ``seconds`` of it so far."""

    async def check() -> dict[str, Any] | None:
        now = await item(app, download_id)
        assert now["status"] not in FINAL, now
        got = now["recorded_seconds"] or 0
        return now if now["live"] and now["status"] == "downloading" and got >= seconds else None

    return await await_for(check, 30, what=f"{seconds} s recorded")


async def finished(app: App, download_id: int, timeout: float = 60) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        now = await item(app, download_id)
        return now if now["status"] in FINAL else None

    return await await_for(check, timeout, what=f"download {download_id} to finish")


def decoded_seconds(path: Path) -> float:
    """Decode every frame of the file (an error raises) and return its duration."""
    with av.open(str(path)) as container:
        assert container.duration is not None
        frames = sum(1 for _ in container.decode(video=0))
        assert frames > 0
        return float(container.duration) / 1_000_000


async def test_stop_keeps_a_playable_recording_in_the_library(
    app: App, channel: LiveChannel
) -> None:
    download = await submit(app, channel.url)
    shown = await recorded(app, download["id"], 3 * SEGMENT_SECONDS)
    assert shown["progress"] is None and shown["total_bytes"] is None
    assert shown["downloaded_bytes"] > 0
    assert shown["title"] == "index"  # the stream's name, as its file is named; not live.ts
    assert shown["live_ended_by"] is None and shown["max_duration"] is None

    paused = await app.post(f"/downloads/{download['id']}/pause")
    assert paused.status_code == 409
    assert "cannot be paused" in paused.json()["detail"]

    stopped = await app.post(f"/downloads/{download['id']}/stop")
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["stop_requested"] is True
    done = await finished(app, download["id"])
    assert done["status"] == "completed", done
    served = len(channel.served)
    assert served < len(channel.segments)  # stopped before the whole stream went out

    path = app.runtime.settings.downloads_root / done["files"][0]["path"]
    assert path.suffix == ".mp4" and path.name.startswith("index (")
    assert done["title"] == "index" and done["live_ended_by"] == "user"
    seconds = decoded_seconds(path)
    assert abs(seconds - served * SEGMENT_SECONDS) <= SEGMENT_SECONDS + 0.5, (seconds, served)
    assert done["live"] is True and done["stop_requested"] is True
    assert abs(done["recorded_seconds"] - seconds) <= SEGMENT_SECONDS

    async with app.runtime.db.read() as s:
        record = await s.scalar(select(MediaFile).where(MediaFile.download_id == download["id"]))
        kinds = list(
            await s.scalars(
                select(DownloadEvent.kind).where(DownloadEvent.download_id == download["id"])
            )
        )
    assert record is not None and record.is_media and record.file_exists
    assert record.duration is not None and abs(record.duration - seconds) < 1.0
    assert record.video_codec and record.audio_codec
    assert "recording" in kinds and "stop_requested" in kinds and "recording_ended" in kinds
    assert not work_dir(app, download["id"]).exists()


async def test_a_stream_behind_a_sign_in_is_recorded_with_the_owners_cookies(
    app: App, segments: Path
) -> None:
    with LiveChannel(segments, interval=0.5, end_after=4, cookie="sid=viewer") as channel:
        refused = await finished(app, (await submit(app, channel.url))["id"])
        assert refused["status"] == "failed" and "403" in refused["error"], refused
        cookies = "127.0.0.1\tFALSE\t/live\tFALSE\t0\tsid\tviewer\n"
        assert (await app.post("/cookies", json={"cookies_txt": cookies})).status_code == 201
        done = await finished(app, (await submit(app, channel.url))["id"])
    assert done["status"] == "completed" and done["live"] is True, done
    assert channel.served == {0, 1, 2, 3}


async def test_stream_that_ends_by_itself_completes(app: App, segments: Path) -> None:
    with LiveChannel(segments, interval=0.5, end_after=4) as channel:
        download = await submit(app, channel.url)
        done = await finished(app, download["id"])
    assert done["status"] == "completed", done
    assert done["live"] is True and done["stop_requested"] is False
    assert done["live_ended_by"] == "stream_ended"
    path = app.runtime.settings.downloads_root / done["files"][0]["path"]
    assert abs(decoded_seconds(path) - 4 * SEGMENT_SECONDS) <= 1.0
    assert channel.served == {0, 1, 2, 3}


async def test_cancel_discards_the_recording(app: App, channel: LiveChannel) -> None:
    download = await submit(app, channel.url)
    await recorded(app, download["id"], 2 * SEGMENT_SECONDS)
    assert work_dir(app, download["id"]).exists()
    response = await app.post(f"/downloads/{download['id']}/cancel", json={"delete_files": True})
    assert response.status_code == 200, response.text
    done = await finished(app, download["id"])
    assert done["status"] == "canceled" and done["files"] == []
    await await_for(
        lambda: not work_dir(app, download["id"]).exists(), 10, what="the partial removed"
    )
    root = app.runtime.settings.downloads_root
    assert not [p for p in root.rglob("*") if p.is_file() and p.suffix in (".ts", ".mp4")]


async def test_stop_refused_for_a_download_that_is_not_live(app: App, segments: Path) -> None:
    with LiveChannel(segments, interval=0.2, end_after=2) as channel:
        download = await submit(app, channel.url)
        done = await finished(app, download["id"])
    response = await app.post(f"/downloads/{download['id']}/stop")
    assert response.status_code == 409
    assert "not recording a live stream" in response.json()["detail"]
    assert done["status"] == "completed"


async def test_stop_before_the_recording_starts_says_what_to_do(
    app: App, channel: LiveChannel
) -> None:
    """A download not yet known to be live (waiting for its first attempt) cannot be stopped:
    the answer says to cancel it, or to stop it once it records."""
    download = await submit(app, channel.url, paused=True)
    response = await app.post(f"/downloads/{download['id']}/stop")
    assert response.status_code == 409
    assert response.json()["detail"].startswith(
        f"Download {download['id']} has not started recording yet: cancel it instead, or stop "
        "it once it records"
    )
    assert (await item(app, download["id"]))["stop_requested"] is False


async def test_a_brief_outage_is_waited_out(app: App, channel: LiveChannel) -> None:
    download = await submit(app, channel.url)
    before = (await recorded(app, download["id"], 2 * SEGMENT_SECONDS))["recorded_seconds"]
    channel.outage(1.5)
    after = await recorded(app, download["id"], before + 3 * SEGMENT_SECONDS)
    assert after["error"] is None
    assert (await app.post(f"/downloads/{download['id']}/stop")).status_code == 200
    done = await finished(app, download["id"])
    assert done["status"] == "completed", done
    path = app.runtime.settings.downloads_root / done["files"][0]["path"]
    # Nothing lost: the segments that came out during the outage were fetched after it.
    served = len(channel.served)
    assert abs(decoded_seconds(path) - served * SEGMENT_SECONDS) <= SEGMENT_SECONDS + 0.5


async def test_a_server_that_goes_away_ends_the_recording(app: App, segments: Path) -> None:
    channel = LiveChannel(segments, interval=0.5)
    try:
        download = await submit(app, channel.url)
        await recorded(app, download["id"], 3 * SEGMENT_SECONDS)
    finally:
        channel.close()
    done = await finished(app, download["id"], timeout=HICCUP + 30)
    served = len(channel.served)
    assert done["status"] == "completed", done
    assert done["stop_requested"] is False and done["live_ended_by"] == "stream_quiet"
    path = app.runtime.settings.downloads_root / done["files"][0]["path"]
    assert abs(decoded_seconds(path) - served * SEGMENT_SECONDS) <= 0.5
    async with app.runtime.db.read() as s:
        messages = list(
            await s.scalars(
                select(DownloadEvent.message).where(
                    DownloadEvent.download_id == download["id"], DownloadEvent.kind == "recording"
                )
            )
        )
    assert any("stopped answering" in (m or "") for m in messages), messages


async def test_a_page_whose_stream_is_live_is_recorded(app: App, channel: LiveChannel) -> None:
    download = await submit(app, channel.page_url)
    shown = await recorded(app, download["id"], 2 * SEGMENT_SECONDS)
    assert shown["title"].startswith("Live channel")  # yt-dlp's name of the page's video
    assert (await app.post(f"/downloads/{download['id']}/stop")).status_code == 200
    done = await finished(app, download["id"])
    assert done["status"] == "completed", done
    path = app.runtime.settings.downloads_root / done["files"][0]["path"]
    assert re.fullmatch(
        re.escape(shown["title"]) + r" \(\d{4}-\d\d-\d\d \d\d-\d\d\)\.mp4", path.name
    )
    assert done["title"] == shown["title"]
    assert abs(decoded_seconds(path) - len(channel.served) * SEGMENT_SECONDS) <= 2.5


async def test_a_recording_ends_at_its_maximum_duration(app: App, segments: Path) -> None:
    refused = await app.post("/downloads", json={"url": "http://127.0.0.1/x", "max_duration": 0})
    assert refused.status_code == 422
    with LiveChannel(segments, interval=0.3) as channel:
        download = await submit(app, channel.url, max_duration=3 * SEGMENT_SECONDS)
        done = await finished(app, download["id"])
    assert done["status"] == "completed", done
    assert done["stop_requested"] is False
    assert done["live_ended_by"] == "max_duration" and done["max_duration"] == 3 * SEGMENT_SECONDS
    path = app.runtime.settings.downloads_root / done["files"][0]["path"]
    assert abs(decoded_seconds(path) - 3 * SEGMENT_SECONDS) <= 0.5
    async with app.runtime.db.read() as s:
        ended = list(
            await s.scalars(
                select(DownloadEvent.message).where(
                    DownloadEvent.download_id == download["id"],
                    DownloadEvent.kind == "recording_ended",
                )
            )
        )
    assert ended == ["The recording reached its maximum length."]
    page = (await app.http.get(f"/downloads/{download['id']}", headers=HTML)).text
    assert "until it reached its maximum length (6s)" in page
    assert "until the stream ended" not in page


#: What an audio-only recording is converted to: (extension, the codec probing finds).
AUDIO = {
    "mp3": ("mp3", "mp3"),
    "m4a": ("m4a", "aac"),
    "opus": ("opus", "opus"),
    "flac": ("flac", "flac"),
    "wav": ("wav", "pcm_s16le"),
    "best": ("m4a", "aac"),  # the stream's own AAC, copied
}


@pytest.mark.parametrize("audio", sorted(AUDIO))
async def test_an_audio_only_recording_keeps_the_sound_alone(
    app: App, segments: Path, audio: str
) -> None:
    quality = "96K" if audio == "mp3" else None
    with LiveChannel(segments, interval=0.3) as channel:
        download = await submit(
            app,
            channel.url,
            audio_format=audio,
            audio_quality=quality,
            max_duration=2 * SEGMENT_SECONDS,
        )
        done = await finished(app, download["id"])
    assert done["status"] == "completed", done
    assert done["audio_format"] == audio and done["title"] == "index"
    [file] = done["files"]
    path = app.runtime.settings.downloads_root / file["path"]
    extension, codec = AUDIO[audio]
    assert re.fullmatch(r"index \(\d{4}-\d\d-\d\d \d\d-\d\d\)\." + extension, path.name)
    with av.open(str(path)) as container:
        assert not container.streams.video
        [sound] = container.streams.audio
        assert sound.codec_context.name.startswith(codec)  # mp3: the "mp3float" decoder
        seconds = float(container.duration or 0) / 1_000_000
        assert sum(1 for _ in container.decode(audio=0)) > 0
        rate = sound.bit_rate
    assert abs(seconds - 2 * SEGMENT_SECONDS) <= 0.5, seconds
    if quality is not None:  # 96 kbit/s asked: LAME's constant bitrate
        assert rate is not None and abs(rate - 96_000) <= 4_000, rate
    async with app.runtime.db.read() as s:
        record = await s.scalar(select(MediaFile).where(MediaFile.download_id == download["id"]))
    assert record is not None and record.is_media
    assert record.video_codec is None and record.audio_codec == codec


async def test_the_add_page_takes_a_maximum_recording_length_in_minutes(
    app: App, segments: Path
) -> None:
    form = await app.http.get("/add", headers=HTML)
    assert 'name="max_minutes"' in form.text and "Max recording length (minutes)" in form.text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', form.text)
    assert csrf is not None
    bad = await app.http.post(
        "/add",
        data={"csrf": csrf.group(1), "urls": "http://192.0.2.1/x.m3u8", "max_minutes": "soon"},
        headers=HTML,
    )
    assert bad.status_code == 422
    assert re.search(r'id="max_minutes-error">The maximum recording length is a number', bad.text)
    with LiveChannel(segments, interval=0.3) as channel:
        response = await app.http.post(
            "/add",
            data={"csrf": csrf.group(1), "urls": channel.url, "max_minutes": "0.1"},
            headers=HTML,
        )
        assert response.status_code == 303, response.text
        [download] = (await app.get("/downloads")).json()["items"]
        assert download["max_duration"] == 6.0
        done = await finished(app, download["id"])
    assert done["status"] == "completed" and done["live_ended_by"] == "max_duration", done
    path = app.runtime.settings.downloads_root / done["files"][0]["path"]
    assert abs(decoded_seconds(path) - 6.0) <= 0.5


async def test_every_request_goes_through_the_address_guard(tmp_path: Path) -> None:
    """A live playlist whose segments lie on a link-local address (cloud metadata) records
    nothing from there: the guard refuses the connection, the recording fails with its
    sentence."""
    playlist = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nhttp://169.254.169.254/seg0.ts\n"

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.apple.mpegurl")
            self.send_header("Content-Length", str(len(playlist)))
            self.end_headers()
            self.wfile.write(playlist)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/live.m3u8"
    guarded = httpx.AsyncClient(transport=GuardedTransport(AddressPolicy(allow_private=True)))
    try:
        recorder = LiveRecorder(guarded, hiccup=2)
        assert await recorder.live_playlist(url) == url
        job = EngineJob(download_id=1, url=url, dest_dir=tmp_path / "work")
        with pytest.raises(AddressRefused, match=r"169\.254\.169\.254"):
            await recorder.run(job, lambda p: None, StopSignal())
    finally:
        await guarded.aclose()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    assert not (tmp_path / "work" / "live.ts").exists()


async def test_a_stop_asked_between_attempts_finishes_what_was_recorded(
    tmp_path: Path, channel: LiveChannel
) -> None:
    """After a crash, the stop asked meanwhile is found by the next attempt: it keeps what the
    earlier one recorded and fetches nothing more."""
    runs = await bench(tmp_path)
    async with httpx.AsyncClient() as client:
        runs.ctx.recorder = LiveRecorder(client)
        live = {"kind": "live", "url": channel.url, "playlist": channel.url, "title": "News"}
        stored = runs.store.state.add(
            "alice",
            source_url=channel.url,
            dedupe_key=channel.url,
            title="News",
            meta={"resolved": live, "stop_requested": True},
        )
        work = runs.builtin.work_dir(stored.id)
        work.mkdir(parents=True)
        with (work / "live.ts").open("wb") as out:
            for segment in channel.segments[:2]:
                out.write(segment.read_bytes())
        (work / "live.json").write_text('{"last": 1, "seconds": 4.0, "segments": 2}')
        row, job = await runs.reclaimed(stored.id)
        job.stop.set("finish")  # the reconciler may tell it before the run begins
        await runs.runner.run(row, job)
    assert runs.stored(stored.id).phase == "completed", runs.history(stored.id)
    assert channel.served == set()
    [name] = runs.root_files()
    assert name.startswith("News (") and name.endswith(").mp4")
    assert abs(decoded_seconds(runs.root / name) - 2 * SEGMENT_SECONDS) <= 0.5
    assert runs.stored(stored.id).meta["result"]["stopped"] is True
