"""Filing finished files: the note, what a crash leaves and how it is finished; the backoff of
a refused completion (pure logic, on a temporary folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from haul.core.retry import Backoff
from haul.engine import filing
from haul.engine.filing import Move, Note


@pytest.mark.parametrize(
    ("source_exists", "final_exists", "step"),
    [
        (True, False, "move"),  # the crash came before the move
        (True, True, "move"),  # ... and the name was taken meanwhile (by another file)
        (False, True, "done"),  # the crash came after the move
        (False, False, "lost"),  # someone deleted the finished file
    ],
)
def test_the_step_after_a_crash_follows_from_what_is_on_disk(
    source_exists: bool, final_exists: bool, step: str
) -> None:
    assert filing.next_step(source_exists, final_exists) == step


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / ".haul-work" / "7").mkdir(parents=True)
    return tmp_path


def work(root: Path) -> Path:
    return root / ".haul-work" / "7"


def test_a_plan_gives_every_file_a_free_name_of_its_own(root: Path) -> None:
    (root / "clip.mp4").write_bytes(b"someone else's")
    first, second = work(root) / "clip.mp4", work(root) / "sub" / "clip.mp4"
    note = filing.plan(work(root), [first, second], root, "Clip", {"id": "x"})
    assert [m.final.name for m in note.moves] == ["clip (1).mp4", "clip (2).mp4"]
    assert (note.title, note.meta) == ("Clip", {"id": "x"})


def test_a_note_reads_back_as_written_and_a_broken_one_is_ignored(root: Path) -> None:
    note = Note((Move(work(root) / "a.bin", root / "a.bin"),), "A", {"n": 1})
    filing.write(work(root), note)
    assert filing.read(work(root)) == note
    assert not (work(root) / (filing.NOTE + ".tmp")).exists()
    (work(root) / filing.NOTE).write_text("{not json")
    assert filing.read(work(root)) is None
    assert filing.read(root / "nothing") is None


def test_recovery_moves_what_was_not_moved_and_keeps_what_was(root: Path) -> None:
    (work(root) / "a.bin").write_bytes(b"a")
    (root / "b.bin").write_bytes(b"b")  # moved before the crash
    (root / "a.bin").write_bytes(b"another download's")  # taken meanwhile
    note = Note(
        (Move(work(root) / "a.bin", root / "a.bin"), Move(work(root) / "b.bin", root / "b.bin"))
    )
    places = filing.recover(note, root / ".haul-work", root, filing.same_filesystem_mover)
    assert places == [root / "a (1).bin", root / "b.bin"]
    assert (root / "a (1).bin").read_bytes() == b"a"
    assert (root / "a.bin").read_bytes() == b"another download's"
    assert not (work(root) / "a.bin").exists()


def test_recovery_gives_up_when_a_finished_file_is_gone(root: Path) -> None:
    note = Note((Move(work(root) / "a.bin", root / "a.bin"),))
    assert filing.recover(note, root / ".haul-work", root, filing.same_filesystem_mover) is None


def test_recovery_refuses_a_note_pointing_outside_the_root(root: Path, tmp_path: Path) -> None:
    (work(root) / "a.bin").write_bytes(b"a")
    outside = tmp_path.parent / "elsewhere.bin"
    note = Note((Move(work(root) / "a.bin", outside),))
    assert filing.recover(note, root / ".haul-work", root, filing.same_filesystem_mover) is None
    assert not outside.exists()


def test_a_cancel_deletes_only_the_files_already_moved(root: Path) -> None:
    (root / "a.bin").write_bytes(b"moved")
    (work(root) / "b.bin").write_bytes(b"not moved yet")
    (root / "b.bin").write_bytes(b"another download's")
    note = Note(
        (Move(work(root) / "a.bin", root / "a.bin"), Move(work(root) / "b.bin", root / "b.bin"))
    )
    assert filing.filed_files(note, root / ".haul-work", root) == [root / "a.bin"]


def test_stale_notes_are_those_of_finished_downloads(root: Path) -> None:
    filing.write(work(root), Note(()))
    (root / ".haul-work" / "8").mkdir()
    filing.write(root / ".haul-work" / "8", Note(()))
    (root / ".haul-work" / "9").mkdir()  # a part, no note
    asked: list[list[int]] = []

    def finished(ids: object) -> set[int]:
        asked.append(list(ids))  # type: ignore[call-overload]
        return {8}

    assert filing.stale_notes(root / ".haul-work", finished) == [root / ".haul-work" / "8"]
    assert asked == [[7, 8]]
    assert filing.stale_notes(root / "missing", finished) == []


def test_a_refused_completion_is_tried_again_sooner_then_later_without_end() -> None:
    backoff = Backoff(base_delay=0.2, factor=2.0, max_delay=10.0)
    delays = [backoff.delay(attempt) for attempt in range(8)]
    assert delays == [0.0, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10.0]
    assert backoff.delay(10_000) == 10.0


def test_files_named_after_the_main_file_take_its_number_with_it(root: Path) -> None:
    (root / "clip.mp4").write_bytes(b"someone else's")
    (root / "clip (1).nfo").write_bytes(b"someone else's")
    names = ["clip.mp4", "clip.nfo", "clip.en.vtt", "clip.info.json", "clip.webp", "notes.txt"]
    for name in names:
        (work(root) / name).write_bytes(b"x" * (1000 if name == "clip.mp4" else 10))
    note = filing.plan(work(root), [work(root) / n for n in names], root, "Clip", {})
    assert [m.final.name for m in note.moves] == [
        "clip (2).mp4",
        "clip (2).nfo",
        "clip (2).en.vtt",
        "clip (2).info.json",
        "clip (2).webp",
        "notes.txt",
    ]
