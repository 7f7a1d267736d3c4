"""Faults while a finished download is filed, in-process (SQLite and PostgreSQL): a database
that fails a read the filing needs, a full folder at the move a restarted job still owes, a
noted file deleted meanwhile. None of them may fail the download for good, fetch it twice or
leave a file in the download root that no download records."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from haul.core.retry import Backoff
from haul.core.status import Phase
from haul.engine import filing
from haul.errors import StorageError
from haul.runtime.seams import JobSeams
from haul.settings import Settings
from haul.store.models import Download
from haul.worker.context import JobContext
from tests.conftest import App
from tests.integration.test_api_downloads import finished, submit
from tests.integration.test_disk_full import quick_space_recheck, waits_for_space
from tests.support.disks import small_disk
from tests.support.folders import work_dir
from tests.support.origin import Origin
from tests.support.seams import app_with
from tests.support.wait import await_for

DATA = os.urandom(256 * 1024 + 3)
P = ParamSpec("P")
R = TypeVar("R")


def refusing(
    call: Callable[P, Awaitable[R]], times: int, when: Callable[P, bool] | None = None
) -> Callable[P, Awaitable[R]]:
    """``call``, refused by the database its first ``times`` calls ``when`` says so (as during
    a restart)."""
    left = [times]

    async def refused(*args: P.args, **kwargs: P.kwargs) -> R:
        if left[0] > 0 and (when is None or when(*args, **kwargs)):
            left[0] -= 1
            raise StorageError("The database failed: server closed the connection unexpectedly")
        return await call(*args, **kwargs)

    return refused


def refused_folder_reads(ctx: JobContext) -> JobContext:
    assert ctx.owner_folder is not None
    return replace(
        ctx,
        storage_backoff=Backoff(base_delay=0.05, max_delay=0.1),
        owner_folder=refusing(ctx.owner_folder, 3),
    )


async def test_a_refused_read_of_the_owners_folder_delays_the_completion_not_fails_it(
    settings: Settings, origin: Origin
) -> None:
    async with app_with(settings, JobSeams(context=refused_folder_reads)) as app:
        await a_refused_read_of_the_owners_folder(app, origin)


async def a_refused_read_of_the_owners_folder(app: App, origin: Origin) -> None:
    origin.add_file("/clip.bin", DATA)
    item = await finished(app, (await submit(app, origin.url("/clip.bin")))["id"])
    assert item["status"] == "completed", item
    assert [f["path"] for f in item["files"]] == ["clip.bin"]
    assert (app.runtime.settings.downloads_root / "clip.bin").read_bytes() == DATA
    gets = [r for r in origin.requests_for("/clip.bin") if r.method == "GET"]
    assert len(gets) == 1


def completed(row: Download) -> bool:
    return row.phase == Phase.COMPLETED


def unannounced_completion(ctx: JobContext) -> JobContext:
    return replace(ctx, publish=refusing(ctx.publish, 1, completed))


async def test_a_completion_recorded_but_not_announced_stays_completed(
    settings: Settings, origin: Origin
) -> None:
    async with app_with(settings, JobSeams(context=unannounced_completion)) as app:
        await a_completion_recorded_but_not_announced(app, origin)


async def a_completion_recorded_but_not_announced(app: App, origin: Origin) -> None:
    origin.add_file("/clip.bin", DATA)
    download_id = (await submit(app, origin.url("/clip.bin")))["id"]
    assert (await finished(app, download_id))["status"] == "completed"
    kinds = [e["kind"] for e in (await app.get(f"/downloads/{download_id}/events")).json()]
    assert "failed" not in kinds and kinds.count("completed") == 1, kinds


async def nobody_takes_it(row: Download, resolved: dict[str, Any]) -> bool:
    return False  # no external client here


async def test_a_database_failure_in_a_job_gives_it_back_to_be_run_again(
    settings: Settings, origin: Origin
) -> None:
    seams = JobSeams(handoff=lambda _made: refusing(nobody_takes_it, 1))
    async with app_with(settings, seams) as app:
        await a_database_failure_in_a_job(app, origin)


async def a_database_failure_in_a_job(app: App, origin: Origin) -> None:
    origin.add_file("/clip.bin", DATA)
    item = await finished(app, (await submit(app, origin.url("/clip.bin")))["id"])
    assert item["status"] == "completed", item
    assert (app.runtime.settings.downloads_root / "clip.bin").read_bytes() == DATA


async def noted(app: App, url: str, files: dict[str, tuple[bytes, Path, bool | None]]) -> int:
    """A paused download whose earlier attempt finished ``files`` (name: data, final place,
    whether it was moved there already; None: gone from both places since) and died before
    recording them: its work folder holds the note of step 1 (see haul.engine.filing).
    Resumed, it is taken up from that note."""
    download_id: int = (await submit(app, url, paused=True))["id"]
    work = work_dir(app, download_id)
    work.mkdir(parents=True)
    moves = []
    for name, (data, final, moved) in files.items():
        final.parent.mkdir(parents=True, exist_ok=True)
        if moved is not None:
            (final if moved else work / name).write_bytes(data)
        moves.append(filing.Move(work / name, final))
    filing.write(work, filing.Note(tuple(moves), "clip", {}))
    resumed = await app.post(f"/downloads/{download_id}/resume")
    assert resumed.status_code == 200, resumed.text
    return download_id


async def test_a_full_target_folder_at_the_move_owed_after_a_crash_waits_for_space(
    settings: Settings, origin: Origin
) -> None:
    async with app_with(settings, JobSeams(context=quick_space_recheck)) as app:
        await a_full_target_folder_at_the_move_owed(app, origin)


async def a_full_target_folder_at_the_move_owed(app: App, origin: Origin) -> None:
    # The profile's folder is another disk mounted inside the download root, too small for
    # the file the earlier attempt finished: the copy it still owes finds that disk full.
    root = app.runtime.settings.downloads_root
    blob = os.urandom(6 * 1024 * 1024)
    origin.add_file("/film.bin", blob)
    with small_disk(root / "films", 4) as films:
        final = films / "film.bin"
        download_id = await noted(app, origin.url("/film.bin"), {"film.bin": (blob, final, False)})

        await waits_for_space(app, download_id, films)

        subprocess.run(["mount", "-o", "remount,size=16m", str(films)], check=True)  # room
        item = await finished(app, download_id)
        assert item["status"] == "completed", item
        assert [f["path"] for f in item["files"]] == ["films/film.bin"]
        assert final.read_bytes() == blob
        assert origin.requests_for("/film.bin") == [], "recorded from the note, not fetched"


async def test_a_job_fetched_again_for_a_lost_file_takes_back_the_files_it_had_moved(
    app: App, origin: Origin
) -> None:
    # The earlier attempt moved the video into the root; its subtitles were deleted since.
    # The job is fetched again, and its video must not be left beside the new one.
    root = app.runtime.settings.downloads_root
    origin.add_file("/clip.bin", DATA)
    files = {"clip.bin": (DATA, root / "clip.bin", True), "clip.en.vtt": (b"", root / "x", None)}
    download_id = await noted(app, origin.url("/clip.bin"), files)
    item = await finished(app, download_id)
    assert item["status"] == "completed", item
    assert [f["path"] for f in item["files"]] == ["clip.bin"]

    def on_disk() -> list[str]:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    # the work folder goes just after the completion is recorded: wait for it, not for less
    await await_for(lambda: ".haul-work" not in str(on_disk()), 10, what="the work folder to go")
    assert on_disk() == ["clip.bin"], "no 'clip (1).bin' beside it, no work folder"
    assert (root / "clip.bin").read_bytes() == DATA
