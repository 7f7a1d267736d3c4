"""The processing step on the in-memory store, with a probe that reads no file: what a
finished download becomes, what its history says, and that it is filed again on request."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from haul.core import lifecycle
from haul.core.media_items import Subject
from haul.core.status import Phase
from haul.errors import NotFound
from haul.media.probe import ProbeResult
from haul.store.changes import apply, record, snapshot
from haul.store.jobs import WorkerInfo
from haul.store.memory import MemoryJobStore
from haul.store.memory_processing import MemoryProcessingStore
from haul.store.memory_state import StoredJob
from haul.worker.processing import LibraryConfig, Processor

WORKER = "worker-1"


class FakeProbe:
    """Reads every file as a video, or fails as it is told to; counts what it read."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure
        self.probed: list[Path] = []

    def __call__(self, path: Path, *, profile: str | None = None) -> ProbeResult:
        self.probed.append(path)
        if self.failure is not None:
            raise self.failure
        return ProbeResult(
            path, path.name, 3, 1.0, True, container="mkv", video_codec="h264", profile=profile
        )


class Published:
    def __init__(self) -> None:
        self.ids: list[int] = []

    async def __call__(self, ids: Sequence[int]) -> None:
        self.ids += ids


async def setup(tmp_path: Path, probe: FakeProbe) -> tuple[MemoryJobStore, Processor, Published]:
    jobs = MemoryJobStore(worker_id=WORKER)
    await jobs.register_worker(WorkerInfo(WORKER, "host", 1))
    published = Published()
    config = LibraryConfig(downloads_root=tmp_path / "downloads", library_root=tmp_path / "lib")
    processor = Processor(
        MemoryProcessingStore(jobs), config, worker_id=WORKER, published=published, probe=probe
    )
    return jobs, processor, published


def finished(jobs: MemoryJobStore, *, leased: bool = True, **fields: Any) -> StoredJob:
    fields.setdefault(
        "files", [{"path": "a/movie.mkv", "name": "movie.mkv", "size": 3, "mtime": 1.0}]
    )
    return jobs.state.add(
        "alice", phase=Phase.PROCESSING.value, lease_worker_id=WORKER if leased else None, **fields
    )


def messages(jobs: MemoryJobStore, download_id: int) -> list[tuple[str, str | None]]:
    return [(e.kind, e.message) for e in jobs.state.events if e.download_id == download_id]


async def test_a_finished_download_is_probed_and_completed_once(tmp_path: Path) -> None:
    probe = FakeProbe()
    jobs, processor, published = await setup(tmp_path, probe)
    job = finished(jobs)
    processor.enqueue(job.id)
    assert await processor.process_pending() == 1
    assert await processor.process_pending() == 0  # nothing left: not probed twice
    assert probe.probed == [tmp_path / "downloads" / "a" / "movie.mkv"]
    assert published.ids == [job.id]
    assert job.phase == Phase.COMPLETED.value and job.lease_worker_id is None
    assert messages(jobs, job.id) == [
        ("probed", "1 of 1 files are media"),
        ("completed", None),
    ]
    [(download_id, stored)] = jobs.state.media_files
    assert download_id == job.id
    assert (stored["path"], stored["video_codec"], stored["is_media"]) == (
        "a/movie.mkv",
        "h264",
        True,
    )


async def test_a_download_a_dead_worker_left_is_taken_up(tmp_path: Path) -> None:
    jobs, processor, _ = await setup(tmp_path, FakeProbe())
    job = finished(jobs, leased=False)
    assert await processor.process_pending() == 1
    assert job.phase == Phase.COMPLETED.value


async def test_a_file_gone_is_not_media_and_the_download_completes(tmp_path: Path) -> None:
    jobs, processor, _ = await setup(tmp_path, FakeProbe(NotFound("Cannot probe: gone.")))
    job = finished(jobs)
    processor.enqueue(job.id)
    assert await processor.process_pending() == 1
    assert job.phase == Phase.COMPLETED.value and job.last_error_code is None
    assert messages(jobs, job.id) == [("probed", "0 of 1 files are media"), ("completed", None)]
    assert jobs.state.media_files == []


async def test_a_probe_that_breaks_is_the_download_s_error(tmp_path: Path) -> None:
    jobs, processor, published = await setup(tmp_path, FakeProbe(RuntimeError("crashed")))
    job = finished(jobs)
    processor.enqueue(job.id)
    assert await processor.process_pending() == 1
    assert job.phase == Phase.COMPLETED.value
    assert (job.last_error_code, job.last_error_message) == (
        "processing_failed",
        "Processing failed.",
    )
    assert [kind for kind, _ in messages(jobs, job.id)] == ["completed"]
    assert job.files[0]["name"] == "movie.mkv"  # the file list as it was
    assert published.ids == [job.id]


async def test_a_canceled_download_is_not_completed(tmp_path: Path) -> None:
    jobs, processor, published = await setup(tmp_path, FakeProbe())
    job = finished(jobs)
    job.canceled_at = job.created_at
    processor.enqueue(job.id)
    assert await processor.process_pending() == 0
    assert job.phase == Phase.PROCESSING.value
    assert published.ids == []


async def test_reprocess_files_it_again(tmp_path: Path) -> None:
    probe = FakeProbe()
    jobs, processor, _ = await setup(tmp_path, probe)
    job = finished(jobs)
    processor.enqueue(job.id)
    await processor.process_pending()
    change = lifecycle.reprocess(snapshot(job), why="asked")  # what the media service writes
    apply(job, change)
    record(change, partial(jobs.state.event, job.id))
    processor.wake()
    assert await processor.process_pending() == 1
    assert len(probe.probed) == 2
    assert job.phase == Phase.COMPLETED.value
    assert [kind for kind, _ in messages(jobs, job.id)] == [
        "probed",
        "completed",
        "reprocess",
        "probed",
        "completed",
    ]
    assert [i for i, _ in jobs.state.media_files] == [job.id]  # replaced, not added


class MediaByName(FakeProbe):
    """Reads a .mp4 as a video and any other file as not media."""

    def __call__(self, path: Path, *, profile: str | None = None) -> ProbeResult:
        self.probed.append(path)
        media = path.suffix == ".mp4"
        return ProbeResult(
            path,
            path.name,
            path.stat().st_size,
            1.0,
            media,
            container="mp4" if media else None,
            video_codec="h264" if media else None,
            width=640 if media else None,
            height=360 if media else None,
        )


async def test_side_files_follow_the_main_files_numbered_name_into_the_library(
    tmp_path: Path,
) -> None:
    jobs, processor, _ = await setup(tmp_path, MediaByName())
    folder = tmp_path / "lib" / "Movies" / "Heat (1995)"
    folder.mkdir(parents=True)
    for name in ("Heat (1995).mp4", "Heat (1995) (2).mp4", "Heat (1995).nfo"):
        (folder / name).write_bytes(b"an earlier download's " + name.encode())
    downloaded = tmp_path / "downloads" / "a"
    downloaded.mkdir(parents=True)
    names = ["clip.mp4", "clip.nfo", "clip.webp", "clip.en.srt", "clip.info.json"]
    for name in names:
        (downloaded / name).write_bytes(b"new " + name.encode() * (50 if "mp4" in name else 1))
    files = [{"path": f"a/{n}", "name": n, "size": 1, "mtime": 1.0} for n in names]
    jobs.state.subjects[5] = Subject(kind="movie", title="Heat", year=1995)
    job = finished(jobs, files=files, media_id=5)
    processor.enqueue(job.id)
    assert await processor.process_pending() == 1
    assert job.last_error_code is None, job.last_error_message
    assert sorted(p.name for p in folder.iterdir()) == [
        "Heat (1995) (2).mp4",
        "Heat (1995) (3)-thumb.webp",
        "Heat (1995) (3).en.srt",
        "Heat (1995) (3).info.json",
        "Heat (1995) (3).mp4",
        "Heat (1995) (3).nfo",
        "Heat (1995).mp4",
        "Heat (1995).nfo",
    ]
    assert list(downloaded.iterdir()) == []  # nothing of it left in the download folder
    assert (folder / "Heat (1995) (3).nfo").read_bytes() == b"new clip.nfo"


async def test_beside_the_same_video_already_filed_side_files_take_the_names_there(
    tmp_path: Path,
) -> None:
    jobs, processor, _ = await setup(tmp_path, MediaByName())
    folder = tmp_path / "lib" / "Movies" / "Test Film (2020)"
    folder.mkdir(parents=True)
    video = b"the film " * 50
    (folder / "Test Film (2020).mp4").write_bytes(video)
    (folder / "Test Film (2020)-thumb.webp").write_bytes(b"the picture")
    (folder / "Test Film (2020).info.json").write_bytes(b'{"epoch": 1}')
    (folder / "Test Film (2020).nfo").write_bytes(b"<movie><title>Test Film</title></movie>")
    downloaded = tmp_path / "downloads" / "a"
    downloaded.mkdir(parents=True)
    sent = {
        "clip.mp4": video,
        "clip.webp": b"the picture",
        "clip.info.json": b'{"epoch": 2}',
        "clip.nfo": b"<movie><title>clip</title><plot>Its plot.</plot></movie>",
        "clip.en.srt": b"1\n00:00:01,000 --> 00:00:02,000\nHello\n",
    }
    for name, data in sent.items():
        (downloaded / name).write_bytes(data)
    files = [{"path": f"a/{n}", "name": n, "size": 1, "mtime": 1.0} for n in sent]
    jobs.state.subjects[5] = Subject(kind="movie", title="Test Film", year=2020)
    job = finished(jobs, files=files, media_id=5)
    processor.enqueue(job.id)
    assert await processor.process_pending() == 1
    assert job.last_error_code is None, job.last_error_message
    assert sorted(p.name for p in folder.iterdir()) == [
        "Test Film (2020)-thumb.webp",
        "Test Film (2020).en.srt",
        "Test Film (2020).info.json",
        "Test Film (2020).mp4",
        "Test Film (2020).nfo",
    ]
    assert (folder / "Test Film (2020).mp4").read_bytes() == video
    assert (folder / "Test Film (2020).info.json").read_bytes() == b'{"epoch": 2}'
    nfo = (folder / "Test Film (2020).nfo").read_text()
    assert "<title>Test Film</title>" in nfo and "Its plot." in nfo  # the new one, named
    assert list(downloaded.iterdir()) == []
    filed = {Path(f["path"]).name for f in job.files}
    assert filed == {p.name for p in folder.iterdir()}
