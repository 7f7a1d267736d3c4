"""Which finished downloads expire (pure), and deleting files only inside haul's folders."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from haul.core.owners import is_anonymous
from haul.core.retention import Finished, RetentionAges, expired, finished_at, held_by_client
from haul.core.status import Status
from haul.service.files import remove_inside

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def row(phase: str = "completed", age: timedelta = 10 * DAY, **fields: object) -> Finished:
    when = NOW - age
    values: dict[str, object] = {
        "id": 1,
        "owner_key": "local",
        "phase": phase,
        "created_at": when - DAY,
        "completed_at": when if phase == "completed" else None,
        "failed_at": when if phase == "failed" else None,
        "canceled_at": when if phase == "canceled" else None,
    }
    values.update(fields)
    return Finished(**values)  # type: ignore[arg-type]


KEEP_A_WEEK = RetentionAges(days=7, anonymous_days=1)


def test_anonymous_owners_are_browser_sessions() -> None:
    assert is_anonymous("session:0b6c1f1e-4c1d-4d5e-9a55-1f0f2b3c4d5e")
    assert not is_anonymous("local") and not is_anonymous("user:3")
    assert KEEP_A_WEEK.for_owner("session:x") == 1 and KEEP_A_WEEK.for_owner("user:3") == 7


@pytest.mark.parametrize("phase", ["completed", "failed", "canceled"])
def test_finished_downloads_older_than_their_age_expire(phase: str) -> None:
    assert expired(row(phase, age=8 * DAY), KEEP_A_WEEK, NOW)
    assert not expired(row(phase, age=6 * DAY), KEEP_A_WEEK, NOW)


@pytest.mark.parametrize("phase", ["queued", "admitted", "active", "processing"])
def test_unfinished_downloads_never_expire(phase: str) -> None:
    assert not expired(row(phase, age=400 * DAY), KEEP_A_WEEK, NOW)


def test_work_in_progress_keeps_a_finished_download() -> None:
    assert not expired(row(lease_worker_id="w1"), KEEP_A_WEEK, NOW)
    released = row(client="qbit", client_ref="abcd", client_released_at=NOW - 9 * DAY)
    assert not held_by_client(released) and expired(released, KEEP_A_WEEK, NOW)
    assert expired(row(client="builtin", client_ref="1"), KEEP_A_WEEK, NOW)


@pytest.mark.parametrize("phase", ["completed", "failed", "canceled"])
def test_an_item_a_client_holds_goes_only_once_it_is_idle(phase: str) -> None:
    held = row(phase, client="qbit", client_ref="abcd")
    assert held_by_client(held)
    for busy in (None, Status.SEEDING, Status.CHECKING, Status.DOWNLOADING, Status.UNKNOWN):
        assert not expired(held, KEEP_A_WEEK, NOW, live=busy), busy
    idle = (Status.COMPLETED, Status.PAUSED, Status.FAILED, Status.CANCELED, Status.MISSING)
    for state in idle:
        assert expired(held, KEEP_A_WEEK, NOW, live=state), state
    assert not expired(row(phase, age=DAY, client="qbit", client_ref="a"), KEEP_A_WEEK, NOW)


def test_a_playlist_expires_once_its_children_are_gone() -> None:
    parent = row("parent", age=30 * DAY, completed_at=None)
    assert finished_at(parent) == parent.created_at
    assert expired(parent, KEEP_A_WEEK, NOW)
    assert not expired(row("parent", has_children=True), KEEP_A_WEEK, NOW)


def test_each_kind_of_owner_has_its_own_age() -> None:
    forever_but_anonymous = RetentionAges(days=None, anonymous_days=1)
    assert not expired(row(age=3000 * DAY), forever_but_anonymous, NOW)
    assert expired(row(age=2 * DAY, owner_key="session:a"), forever_but_anonymous, NOW)
    assert not expired(row(age=DAY / 2, owner_key="session:a"), forever_but_anonymous, NOW)
    keep_all = RetentionAges(days=None, anonymous_days=None)
    assert not expired(row(age=3000 * DAY, owner_key="session:a"), keep_all, NOW)


def test_finished_at_is_the_final_phase_moment() -> None:
    retried_then_failed = row("failed", completed_at=NOW - 100 * DAY, failed_at=NOW - DAY)
    assert finished_at(retried_then_failed) == NOW - DAY
    unrecorded = row("canceled", canceled_at=None)
    assert finished_at(unrecorded) == unrecorded.created_at


def test_files_are_deleted_only_inside_the_roots(tmp_path: Path) -> None:
    root, outside = tmp_path / "downloads", tmp_path / "elsewhere"
    (root / "show" / "season 1").mkdir(parents=True)
    outside.mkdir()
    inner = root / "show" / "season 1" / "e1.mkv"
    inner.write_bytes(b"x" * 1000)
    stranger = outside / "mine.mkv"
    stranger.write_bytes(b"y" * 500)
    (root / "escape.mkv").symlink_to(stranger)

    paths = [inner, stranger, root / "escape.mkv", root / ".." / "elsewhere" / "mine.mkv"]
    dry = remove_inside(paths, (root,), dry_run=True)
    assert (dry.files, dry.freed_bytes) == (1, 1000) and inner.exists()

    done = remove_inside([*paths, root / "never-there.mkv"], (root,))
    assert (done.files, done.freed_bytes) == (1, 1000)
    assert not inner.exists() and stranger.read_bytes() == b"y" * 500
    assert not (root / "show").exists() and root.is_dir()  # emptied folders went, the root stays


def test_hard_links_free_space_once_all_of_them_go(tmp_path: Path) -> None:
    downloads, library = tmp_path / "downloads", tmp_path / "library"
    downloads.mkdir()
    (library / "Movie (2020)").mkdir(parents=True)
    original = downloads / "movie.mkv"
    original.write_bytes(os.urandom(4096))
    linked = library / "Movie (2020)" / "Movie (2020).mkv"
    os.link(original, linked)
    kept = downloads / "kept.bin"
    os.link(original, kept)  # a third link nobody deletes

    both = remove_inside([original, linked], (downloads, library), dry_run=True)
    assert (both.files, both.freed_bytes) == (2, 0)
    assert remove_inside([kept], (downloads,), dry_run=True).freed_bytes == 0
    kept.unlink()
    assert remove_inside([original, linked], (downloads, library), dry_run=True).freed_bytes == 4096
    done = remove_inside([original, linked], (downloads, library), keep_dirs=(library,))
    assert (done.files, done.freed_bytes) == (2, 4096)
    assert not (library / "Movie (2020)").exists() and library.is_dir()
