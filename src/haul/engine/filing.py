"""Filing finished files so that a crash at any moment neither loses nor duplicates them.

A built-in job's files gather in its work folder (``.haul-work/<id>``). When the transfer is
done they are moved into the download root, and the download is recorded as finished. A
process can die between any two of those steps, and the database write itself may fail for a
while. So the step runs in this order, each part safe to do again:

1. the **note** ``.haul-work/<id>/filed.json`` is written (atomically: a temporary file, then
   a rename), naming every file's final place and what the engine found (title, metadata);
2. the files are moved to those places;
3. the download is recorded (retried until the database takes it);
4. the work folder, note included, is deleted.

A job whose work folder holds a note (its worker died after step 1, or gave up on step 3) is
not fetched again when a worker takes it: :func:`recover` finishes step 2 from the note and the
job goes on with step 3. A note left by a process that died after step 3 is swept when a worker
starts (:func:`stale_notes`). Nothing here is flushed to the disk with ``fsync``: the steps are
ordered for a process that dies, not for a machine that loses power.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from haul.core.paths import free_name, free_names, inside

log = logging.getLogger(__name__)

NOTE = "filed.json"


@dataclass(frozen=True, slots=True)
class Move:
    """One finished file: where the engine left it and where it goes (absolute paths)."""

    source: Path
    final: Path


@dataclass(frozen=True, slots=True)
class Note:
    """What step 1 writes: the moves, and what the engine said of the result."""

    moves: tuple[Move, ...]
    title: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


#: What to do with one move of a note found after a crash (see :func:`next_step`).
Step = Literal["move", "done", "lost"]


def next_step(source_exists: bool, final_exists: bool) -> Step:
    """The state of one move after a crash, from what is on disk (pure).

    The file still in the work folder was not moved yet: move it. Gone from there and present
    at its final place: it was moved. Gone from both: someone deleted it (the download must be
    fetched again)."""
    if source_exists:
        return "move"
    return "done" if final_exists else "lost"


def plan(
    work: Path, files: Iterable[Path], dest: Path, title: str | None, meta: dict[str, Any]
) -> Note:
    """Final places for ``files`` of the work folder ``work``: free names in ``dest``.

    The files named after the largest one (its NFO, information, thumbnail and subtitles:
    ``clip.nfo`` beside ``clip.mp4``) keep its name: when its name is taken they all take
    the same number (``clip (1).mp4``, ``clip (1).nfo``), so the library still finds them
    together. Names taken by an earlier file of the same plan count as taken."""
    files = list(files)
    finals: dict[Path, Path] = {}
    taken: set[Path] = set()
    group = _named_after_largest(files)
    if group:
        stem, members = group
        for source, final in zip(
            members, free_names(dest, stem, [m.name for m in members]), strict=True
        ):
            finals[source] = final
            taken.add(final)
    for source in files:
        if source not in finals:
            finals[source] = free_name(dest, source.name, taken=taken)
            taken.add(finals[source])
    return Note(tuple(Move(source, finals[source]) for source in files), title, meta)


def _named_after_largest(files: Sequence[Path]) -> tuple[str, list[Path]] | None:
    """The stem of the largest of ``files`` and the files of its folder named after it (it
    first); None when there are fewer than two such files."""
    sizes = {}
    for path in files:
        try:
            sizes[path] = path.stat().st_size
        except OSError:
            continue
    if not sizes:
        return None
    largest = max(sizes, key=lambda path: sizes[path])
    stem, dot, _ = largest.name.rpartition(".")
    if not dot or not stem:
        return None
    members = [largest] + [
        p
        for p in files
        if p != largest and p.parent == largest.parent and p.name.startswith(stem + ".")
    ]
    return (stem, members) if len(members) > 1 else None


def write(work: Path, note: Note) -> None:
    """Step 1: keep ``note`` in the work folder (replacing one there, all or nothing)."""
    body = {
        "files": [{"source": str(m.source), "final": str(m.final)} for m in note.moves],
        "title": note.title,
        "meta": note.meta,
    }
    temporary = work / (NOTE + ".tmp")
    temporary.write_text(json.dumps(body), encoding="utf-8")
    temporary.replace(work / NOTE)


def read(work: Path) -> Note | None:
    """The note in ``work``, if a complete one lies there."""
    try:
        body = json.loads((work / NOTE).read_text(encoding="utf-8"))
        moves = tuple(Move(Path(f["source"]), Path(f["final"])) for f in body["files"])
        return Note(moves, body.get("title"), dict(body.get("meta") or {}))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring an unreadable note in %s: %s", work, exc)
        return None


def move(item: Move, mover: Callable[[Path, Path], None]) -> Path:
    """Step 2 for one file; returns where it now is. A final place taken meanwhile by another
    file (not this one: the note says it was not moved yet) gives way to a free name."""
    final = item.final
    if final.exists():
        final = free_name(final.parent, final.name)
    mover(item.source, final)
    return final


def recover(
    note: Note, work_root: Path, root: Path, mover: Callable[[Path, Path], None]
) -> list[Path] | None:
    """Finish step 2 of a note found after a crash; the files' places, or None when a file is
    gone (then nothing of the note is kept: the download is fetched again)."""
    steps = []
    for item in note.moves:
        if not inside(item.source, work_root) or not inside(item.final, root):
            log.warning("ignoring a note that points outside the download root: %s", item)
            return None
        steps.append(next_step(item.source.exists(), item.final.exists()))
    if "lost" in steps:
        return None
    return [
        move(item, mover) if step == "move" else item.final
        for item, step in zip(note.moves, steps, strict=True)
    ]


def filed_files(note: Note, work_root: Path, root: Path) -> list[Path]:
    """The files of a note already moved to their final places inside the root (what a
    cancel that asks for the data to go deletes besides the work folder). A file not moved
    yet is not counted: its final name may be another download's by now."""
    return [
        m.final
        for m in note.moves
        if inside(m.source, work_root)
        and next_step(m.source.exists(), m.final.exists()) == "done"
        and inside(m.final, root)
    ]


def forget(work: Path, note: Note, work_root: Path, root: Path) -> None:
    """Drop the note of a job whose finished files are not all there any more (it is fetched
    again): first the files of the note already moved into the root (never recorded, so no
    download has them: fetched again, they would come back beside themselves as ``name
    (1)``), then the note."""
    for path in filed_files(note, work_root, root):
        path.unlink(missing_ok=True)
    (work / NOTE).unlink(missing_ok=True)


def noted_folders(work_root: Path) -> dict[int, Path]:
    """The work folders holding a note, by download id."""
    try:
        folders = {int(p.name): p for p in work_root.iterdir() if p.name.isdigit()}
    except OSError:  # no work folder yet
        return {}
    return {i: p for i, p in folders.items() if (p / NOTE).is_file()}


def stale_notes(work_root: Path, finished: Callable[[Sequence[int]], set[int]]) -> list[Path]:
    """Work folders holding a note of a download already recorded (``finished`` says which of
    the ids are): their process died between steps 3 and 4."""
    noted = noted_folders(work_root)
    if not noted:
        return []
    done = finished(sorted(noted))
    return [noted[i] for i in sorted(done)]


def remove_folder(folder: Path, work_root: Path) -> None:
    """Step 4: delete a work folder (only ever one inside ``work_root``). The common case is a
    folder holding only the note: two calls, no walk of the tree."""
    if not inside(folder, work_root):
        return
    try:
        (folder / NOTE).unlink(missing_ok=True)
        folder.rmdir()
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)


def same_filesystem_mover(source: Path, final: Path) -> None:
    """A rename (the work folder lies inside the root), else a move across filesystems
    (:func:`move_across`)."""
    try:
        source.replace(final)
    except OSError:
        move_across(source, final)


def move_across(source: Path, final: Path) -> None:
    """A copy to another filesystem (a folder mounted inside the root), then the source goes.
    A copy that fails (that disk full) leaves no half file at ``final``: the error is raised
    with the source still in the work folder, to be moved again."""
    try:
        shutil.move(source, final)
    except OSError:
        if source.exists():
            final.unlink(missing_ok=True)
        raise
