"""The yt-dlp engine against real yt-dlp, ffmpeg-made media and the test origin."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import pytest

from haul.engine import ytdlp
from haul.engine.base import EngineJob, EngineResult, Profile, Progress, StopSignal
from haul.engine.ytdlp_errors import clean_message, from_message
from haul.errors import (
    DiskFull,
    PermanentTransferError,
    TransferStopped,
    TransientTransferError,
    UnsupportedSource,
)
from tests.support import media
from tests.support.disks import fill, free, small_disk
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin
from tests.support.wait import wait_for


@pytest.fixture
def site(origin: Origin, media_files: MediaFiles) -> Origin:
    """Pages with one video, two videos, none, a missing video, and an HLS stream."""
    origin.add_file("/media/a.mp4", media_files.mp4, "video/mp4")
    origin.add_file("/media/b.mp4", media_files.mp4, "video/mp4")
    origin.add_file("/media/slow.mp4", media_files.mp4, "video/mp4")
    origin.add_file("/media/clip.en.vtt", media_files.vtt, "text/vtt")
    origin.add_dir("/hls", media_files.hls.parent)
    one = media.page_with_video(
        origin.url("/media/a.mp4"), origin.url("/media/clip.en.vtt"), title="One clip"
    )
    origin.add_page("/watch/one", one)
    origin.add_page("/watch/slow", media.page_with_video(origin.url("/media/slow.mp4")))
    origin.add_page("/watch/gone", media.page_with_video(origin.url("/media/gone.mp4")))
    two = media.page_with_two_videos(origin.url("/media/a.mp4"), origin.url("/media/b.mp4"))
    origin.add_page("/watch/two", two)
    origin.add_page("/watch/none", media.page_without_media())
    return origin


class Readings:
    """A thread-safe progress callback that keeps every reading."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Progress] = []

    def __call__(self, progress: Progress) -> None:
        with self._lock:
            self._items.append(progress)

    @property
    def items(self) -> list[Progress]:
        with self._lock:
            return list(self._items)


def make_job(url: str, dest: Path, **kwargs: Any) -> EngineJob:
    return EngineJob(download_id=7, url=url, dest_dir=dest, **kwargs)


class Worker:
    """Runs :func:`ytdlp.run_download` in a thread, as the built-in client does."""

    def __init__(self, job: EngineJob, on_progress: Callable[[Progress], None]) -> None:
        self.stop = StopSignal()
        self.result: EngineResult | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(job, on_progress))
        self._thread.start()

    def _run(self, job: EngineJob, on_progress: Callable[[Progress], None]) -> None:
        try:
            self.result = ytdlp.run_download(job, on_progress, self.stop)
        except BaseException as exc:
            self.error = exc

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()


# -- extraction ------------------------------------------------------------------------------


def test_extract_page_with_one_video_is_media(site: Origin) -> None:
    found = ytdlp.extract(site.url("/watch/one"))
    assert found.kind == "media"
    assert found.title is not None and "One clip" in found.title
    assert found.entries == ()


def test_extract_follows_a_redirect_to_the_page(site: Origin) -> None:
    site.fault("/moved", "status", times=None, status=301, headers={"Location": "/watch/one"})
    found = ytdlp.extract(site.url("/moved"))
    assert found.kind == "media"
    assert found.title is not None and "One clip" in found.title


def test_extract_page_with_two_videos_is_playlist(site: Origin) -> None:
    found = ytdlp.extract(site.url("/watch/two"))
    assert found.kind == "playlist"
    assert [e.index for e in found.entries] == [1, 2]
    assert all(e.title for e in found.entries)
    assert not any(r.path.startswith("/media/") for r in site.requests)  # nothing downloaded


def test_extract_page_without_media_is_unsupported(site: Origin) -> None:
    url = site.url("/watch/none")
    with pytest.raises(UnsupportedSource) as caught:
        ytdlp.extract(url)
    assert url in caught.value.message
    assert caught.value.code == "unsupported_url"
    assert not caught.value.transient


def test_extract_missing_page_is_permanent(site: Origin) -> None:
    url = site.url("/watch/missing")
    with pytest.raises(PermanentTransferError) as caught:
        ytdlp.extract(url)
    assert caught.value.code == "http_404"
    assert caught.value.message == f"The server answered 404 Not Found for {url}."


def test_extract_server_error_is_transient(site: Origin) -> None:
    site.fault("/watch/one", "status", times=None, status=503, headers={"Retry-After": "7"})
    with pytest.raises(TransientTransferError) as caught:
        ytdlp.extract(site.url("/watch/one"))
    assert caught.value.code == "http_503"
    assert caught.value.retry_after == 7.0


def test_extract_refused_connection_is_transient(origin: Origin) -> None:
    url = origin.url("/watch/one")
    origin.close()  # nothing listens on that port any more
    with pytest.raises(TransientTransferError) as caught:
        ytdlp.extract(url, timeout=5)
    assert caught.value.code == "connection"


# -- downloads -------------------------------------------------------------------------------


def test_page_with_one_video_downloads_the_same_bytes(
    site: Origin, media_files: MediaFiles, tmp_path: Path
) -> None:
    readings = Readings()
    result = ytdlp.run_download(make_job(site.url("/watch/one"), tmp_path), readings, StopSignal())
    [video] = result.files
    assert video.parent == tmp_path and video.suffix == ".mp4"
    assert media.sha256(video) == media.sha256(media_files.mp4)
    assert result.title is not None and "One clip" in result.title
    assert result.meta["webpage_url"] == site.url("/watch/one")
    assert result.meta["ext"] == "mp4"
    assert {"extractor", "id"} <= result.meta.keys()
    assert not list(tmp_path.glob("*.part"))
    last = readings.items[-1]
    assert last.downloaded_bytes == last.total_bytes == media_files.mp4.stat().st_size
    assert last.filename == video.name


def test_subtitles_come_along_when_the_profile_asks(
    site: Origin, media_files: MediaFiles, tmp_path: Path
) -> None:
    job = make_job(site.url("/watch/one"), tmp_path, profile=Profile(subtitles=("en",)))
    result = ytdlp.run_download(job, Readings(), StopSignal())
    by_suffix = {p.suffix: p for p in result.files}
    assert set(by_suffix) == {".mp4", ".vtt"}
    assert by_suffix[".vtt"].name.endswith(".en.vtt")
    assert by_suffix[".vtt"].read_bytes() == media_files.vtt.read_bytes()
    assert media.sha256(by_suffix[".mp4"]) == media.sha256(media_files.mp4)


@pytest.mark.parametrize(
    ("index", "wanted", "other"),
    [(1, "/media/a.mp4", "/media/b.mp4"), (2, "/media/b.mp4", "/media/a.mp4")],
)
def test_each_playlist_entry_downloads_on_its_own(
    site: Origin, media_files: MediaFiles, tmp_path: Path, index: int, wanted: str, other: str
) -> None:
    job = make_job(site.url("/watch/two"), tmp_path, playlist_index=index)
    result = ytdlp.run_download(job, Readings(), StopSignal())
    [video] = result.files
    assert media.sha256(video) == media.sha256(media_files.mp4)
    assert result.title is not None and f"({index})" in result.title
    assert [r.method for r in site.requests_for(wanted)] == ["GET"]
    assert site.requests_for(other) == []


def test_an_entry_taken_by_index_that_is_another_now_is_not_downloaded(
    site: Origin, media_files: MediaFiles, tmp_path: Path
) -> None:
    listed = ytdlp.extract(site.url("/watch/two"), timeout=30)
    first, second = listed.entries
    assert first.id and second.id and first.id != second.id
    same = make_job(site.url("/watch/two"), tmp_path / "same", playlist_index=2)
    same = dataclasses.replace(same, playlist_entry_id=second.id)
    [video] = ytdlp.run_download(same, Readings(), StopSignal()).files
    assert media.sha256(video) == media.sha256(media_files.mp4)
    # The page changed since it was listed: entry 2 is now what was entry 1.
    moved = make_job(site.url("/watch/two"), tmp_path / "moved", playlist_index=2)
    moved = dataclasses.replace(moved, playlist_entry_id=first.id)
    requests = len(site.requests_for("/media/b.mp4"))
    with pytest.raises(PermanentTransferError) as caught:
        ytdlp.run_download(moved, Readings(), StopSignal())
    assert caught.value.code == "entry_changed" and "no longer the video" in caught.value.message
    assert len(site.requests_for("/media/b.mp4")) == requests  # nothing of it fetched
    assert not any(p.is_file() for p in (tmp_path / "moved").rglob("*"))


def test_entry_beyond_the_playlist_is_permanent(site: Origin, tmp_path: Path) -> None:
    job = make_job(site.url("/watch/two"), tmp_path, playlist_index=5)
    with pytest.raises(PermanentTransferError) as caught:
        ytdlp.run_download(job, Readings(), StopSignal())
    assert caught.value.code == "entry_missing"


def test_hls_stream_becomes_one_ten_second_file(site: Origin, tmp_path: Path) -> None:
    readings = Readings()
    result = ytdlp.run_download(
        make_job(site.url("/hls/index.m3u8"), tmp_path), readings, StopSignal()
    )
    [video] = result.files
    assert video.suffix == ".mp4"
    with av.open(str(video)) as container:
        assert container.duration is not None
        assert container.duration / av.time_base == pytest.approx(10.0, abs=0.5)
        kinds = sorted(s.type for s in container.streams)
    assert kinds == ["audio", "video"]
    assert len([r for r in site.requests if r.path.endswith(".ts")]) == 5
    assert any(p.fragment_count == 5 for p in readings.items)
    assert result.meta["duration"] == pytest.approx(10, abs=0.5)


def test_progress_grows_while_a_throttled_download_runs(
    site: Origin, media_files: MediaFiles, tmp_path: Path
) -> None:
    size = media_files.mp4.stat().st_size
    site.throttle("/media/slow.mp4", size)  # about one second
    readings = Readings()
    ytdlp.run_download(make_job(site.url("/watch/slow"), tmp_path), readings, StopSignal())
    done = [p.downloaded_bytes for p in readings.items]
    assert len(done) >= 3
    assert done == sorted(done)
    assert done[0] < size and done[-1] == size
    assert all(p.total_bytes == size for p in readings.items)
    times = [p.speed for p in readings.items[1:-1]]
    assert all(s is not None and s > 0 for s in times)


def test_stop_leaves_a_part_file_that_the_next_run_resumes(
    site: Origin, media_files: MediaFiles, tmp_path: Path
) -> None:
    size = media_files.mp4.stat().st_size
    site.throttle("/media/slow.mp4", 40_000)
    readings = Readings()
    worker = Worker(make_job(site.url("/watch/slow"), tmp_path), readings)
    wait_for(lambda: any(p.downloaded_bytes > 20_000 for p in readings.items), timeout=10)

    worker.stop.set("pause")
    asked = time.monotonic()
    assert worker.join(timeout=1.0), "the engine did not stop within 1 s"
    assert time.monotonic() - asked < 1.0
    assert isinstance(worker.error, TransferStopped)
    [part] = tmp_path.glob("*.mp4.part")
    kept = part.stat().st_size
    assert 20_000 <= kept < size

    site.throttle("/media/slow.mp4", None)
    result = ytdlp.run_download(
        make_job(site.url("/watch/slow"), tmp_path), Readings(), StopSignal()
    )
    [video] = result.files
    assert media.sha256(video) == media.sha256(media_files.mp4)
    assert not part.exists()
    resumed = site.requests_for("/media/slow.mp4")[-1]
    assert resumed.range_header == f"bytes={kept}-"
    assert resumed.status == 206
    assert resumed.bytes_sent == size - kept


def test_a_full_disk_keeps_the_part_and_the_next_run_resumes(
    site: Origin, media_files: MediaFiles, tmp_path: Path
) -> None:
    size = media_files.mp4.stat().st_size
    with small_disk(tmp_path / "disk", 4) as disk:
        ballast = fill(disk / "ballast", free(disk) - size // 2)  # room for half the video
        dest = disk / "job"
        with pytest.raises(DiskFull) as full:
            ytdlp.run_download(make_job(site.url("/watch/slow"), dest), Readings(), StopSignal())
        assert full.value.code == "disk_full" and full.value.transient
        [part] = dest.glob("*.mp4.part")
        kept = part.stat().st_size
        assert 0 < kept < size

        ballast.unlink()
        result = ytdlp.run_download(
            make_job(site.url("/watch/slow"), dest), Readings(), StopSignal()
        )
        [video] = result.files
        assert media.sha256(video) == media.sha256(media_files.mp4)
        assert site.requests_for("/media/slow.mp4")[-1].range_header == f"bytes={kept}-"


def test_stopped_hls_download_resumes_at_the_fragment_it_reached(
    site: Origin, tmp_path: Path
) -> None:
    site.throttle("/hls/seg2.ts", 30_000)
    readings = Readings()
    worker = Worker(make_job(site.url("/hls/index.m3u8"), tmp_path), readings)
    wait_for(lambda: site.bytes_served("/hls/seg2.ts") > 10_000, timeout=10)

    worker.stop.set("pause")
    assert worker.join(timeout=1.0), "the engine did not stop within 1 s"
    assert isinstance(worker.error, TransferStopped)
    assert list(tmp_path.glob("*.mp4.part")) and list(tmp_path.glob("*.ytdl"))

    site.throttle("/hls/seg2.ts", None)
    [video] = ytdlp.run_download(
        make_job(site.url("/hls/index.m3u8"), tmp_path), Readings(), StopSignal()
    ).files
    with av.open(str(video)) as container:
        assert container.duration is not None
        assert container.duration / av.time_base == pytest.approx(10.0, abs=0.5)
    for done_before_stop in ("/hls/seg0.ts", "/hls/seg1.ts"):
        assert len(site.requests_for(done_before_stop)) == 1
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob("*.ytdl"))


def test_stop_before_start_touches_nothing(site: Origin, tmp_path: Path) -> None:
    stop = StopSignal()
    stop.set("cancel")
    with pytest.raises(TransferStopped):
        ytdlp.run_download(make_job(site.url("/watch/one"), tmp_path), Readings(), stop)
    assert site.requests == []


def test_missing_video_behind_a_page_is_permanent(site: Origin, tmp_path: Path) -> None:
    with pytest.raises(PermanentTransferError) as caught:
        ytdlp.run_download(make_job(site.url("/watch/gone"), tmp_path), Readings(), StopSignal())
    assert caught.value.code == "http_404"
    assert site.url("/media/gone.mp4") in caught.value.message


def test_connection_reset_mid_body_is_transient(site: Origin, tmp_path: Path) -> None:
    site.fault("/media/a.mp4", "reset", times=None, after_bytes=50_000)
    with pytest.raises(TransientTransferError):
        ytdlp.run_download(make_job(site.url("/watch/one"), tmp_path), Readings(), StopSignal())


def test_server_error_for_the_video_is_transient(site: Origin, tmp_path: Path) -> None:
    site.fault("/media/a.mp4", "status", times=None, status=503)
    with pytest.raises(TransientTransferError) as caught:
        ytdlp.run_download(make_job(site.url("/watch/one"), tmp_path), Readings(), StopSignal())
    assert caught.value.code == "http_503"


@pytest.mark.parametrize(
    "template",
    [
        "../%(title)s.%(ext)s",
        "/tmp/%(title)s.%(ext)s",
        "a/../../b.%(ext)s",
        "C:\\x.%(ext)s",
        "",
        "-",
    ],
)
def test_templates_that_leave_the_folder_are_refused(
    site: Origin, tmp_path: Path, template: str
) -> None:
    job = make_job(site.url("/watch/one"), tmp_path, profile=Profile(output_template=template))
    with pytest.raises(PermanentTransferError) as caught:
        ytdlp.run_download(job, Readings(), StopSignal())
    assert caught.value.code == "bad_template"
    assert site.requests == []


def test_template_with_a_subfolder_stays_inside(site: Origin, tmp_path: Path) -> None:
    profile = Profile(output_template="%(extractor)s/%(id)s.%(ext)s")
    job = make_job(site.url("/watch/one"), tmp_path, profile=profile)
    [video] = ytdlp.run_download(job, Readings(), StopSignal()).files
    assert video.parent.parent == tmp_path


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x1b[0;31mERROR:\x1b[0m [generic] x: Unable to download", "Unable to download"),
        ("ERROR: Requested format is not available", "Requested format is not available"),
        ("plain words\nsecond line", "plain words"),
    ],
)
def test_clean_message(raw: str, clean: str) -> None:
    assert clean_message(raw) == clean


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (
            "Got error: [Errno 104] Connection reset by peer. Giving up after 1 retries",
            "connection",
        ),
        ("Got error: HTTP Error 503: Service Unavailable. Giving up after 1 retries", "http_503"),
        ("Got error: HTTP Error 429: Too Many Requests", "http_429"),
        ("Got error: HTTP Error 404: Not Found", "http_404"),
        ("Got error: The read operation timed out. Giving up after 1 retries", "timeout"),
        ("[Errno -3] Temporary failure in name resolution", "connection"),
        ("Requested format is not available", None),
        ("Postprocessing: Error writing trailer: No space left on device", "disk_full"),
        ("unable to write data: [Errno 28] No space left on device", "disk_full"),
    ],
)
def test_errors_known_only_by_their_text(message: str, code: str | None) -> None:
    error = from_message(message, "http://example.test/v")
    assert (error.code if error else None) == code
    if error is not None:
        assert error.transient is (code != "http_404")


def test_paged_playlists_are_listed_only_up_to_the_limit() -> None:
    from yt_dlp.utils import OnDemandPagedList

    asked: list[int] = []

    def page(number: int) -> list[dict[str, Any]]:
        asked.append(number)
        return [{"_type": "url", "url": f"https://x.test/{number}/{i}"} for i in range(10)]

    entries = list(ytdlp._entries(OnDemandPagedList(page, 10), 25))
    assert [e.index for e in entries] == list(range(1, 26))
    assert entries[24].url == "https://x.test/2/4"
    assert asked == [0, 1, 2]
