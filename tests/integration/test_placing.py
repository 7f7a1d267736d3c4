"""Placing files into the library on the same and on another filesystem, for real."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from haul.errors import OutsideLibrary
from haul.media.placing import place
from tests.support.daemons import IN_CI

SHM = Path("/dev/shm")


@pytest.fixture
def other_fs(tmp_path: Path) -> Iterator[Path]:
    """A folder on another filesystem than ``tmp_path`` (tmpfs at /dev/shm)."""
    if not SHM.is_dir() or SHM.stat().st_dev == tmp_path.stat().st_dev:
        if IN_CI:
            pytest.fail("a second filesystem (tmpfs at /dev/shm) is needed in CI")
        pytest.skip("no second filesystem here")
    folder = SHM / f"haul-test-{os.getpid()}-{tmp_path.name}"
    folder.mkdir()
    try:
        yield folder
    finally:
        for path in sorted(folder.rglob("*"), reverse=True):
            path.unlink() if not path.is_dir() else path.rmdir()
        folder.rmdir()


def make(path: Path, data: bytes = b"film " * 1000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_seeding_file_is_hardlinked_on_one_filesystem(tmp_path: Path) -> None:
    source = make(tmp_path / "downloads" / "film.mkv")
    library = tmp_path / "library"
    placed = place(source, library / "Movies/F/F.mkv", root=library, keep_source=True)
    assert placed.mode == "hardlink"
    assert source.is_file() and placed.target.samefile(source)
    assert source.stat().st_nlink == 2


def test_finished_file_moves_on_one_filesystem(tmp_path: Path) -> None:
    source = make(tmp_path / "downloads" / "film.mkv")
    library = tmp_path / "library"
    placed = place(source, library / "Movies/F/F.mkv", root=library, keep_source=False)
    assert placed.mode == "move"
    assert not source.exists() and placed.target.read_bytes() == b"film " * 1000
    assert placed.target.stat().st_nlink == 1


def test_seeding_file_is_copied_to_another_filesystem(tmp_path: Path, other_fs: Path) -> None:
    source = make(tmp_path / "film.mkv")
    placed = place(source, other_fs / "Movies/F/F.mkv", root=other_fs, keep_source=True)
    assert placed.mode == "copy"
    assert source.is_file() and placed.target.read_bytes() == source.read_bytes()
    assert placed.target.stat().st_dev != source.stat().st_dev
    assert [p.name for p in placed.target.parent.iterdir()] == ["F.mkv"]  # no temp left


def test_finished_file_moves_to_another_filesystem(tmp_path: Path, other_fs: Path) -> None:
    source = make(tmp_path / "film.mkv")
    placed = place(source, other_fs / "F.mkv", root=other_fs, keep_source=False)
    assert placed.mode == "move"
    assert not source.exists() and placed.target.is_file()


def test_a_taken_name_gets_a_number_and_the_same_file_is_recognised(tmp_path: Path) -> None:
    library = tmp_path / "library"
    make(library / "Movies/F/F.mkv", b"another film")
    first = make(tmp_path / "a" / "film.mkv")
    placed = place(first, library / "Movies/F/F.mkv", root=library, keep_source=True)
    assert placed.target.name == "F (2).mkv"
    assert (library / "Movies/F/F.mkv").read_bytes() == b"another film"  # never clobbered
    twin = make(tmp_path / "b" / "film.mkv")  # same bytes as the one filed as F (2)
    again = place(twin, library / "Movies/F/F.mkv", root=library, keep_source=False)
    assert again.mode == "existing" and again.target.name == "F (2).mkv"
    assert not twin.exists()


def test_an_import_cut_off_after_the_move_is_recognised(tmp_path: Path) -> None:
    library = tmp_path / "library"
    target = make(library / "F.mkv")
    gone = tmp_path / "downloads" / "film.mkv"  # moved already by the first run
    assert place(gone, target, root=library, keep_source=False).mode == "existing"


def test_nothing_leaves_the_library(tmp_path: Path) -> None:
    library = tmp_path / "library"
    source = make(tmp_path / "film.mkv")
    with pytest.raises(OutsideLibrary):
        place(source, library / ".." / "escape.mkv", root=library, keep_source=True)
    (library / "Movies").mkdir(parents=True)
    (library / "Movies" / "link").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(OutsideLibrary):
        place(source, library / "Movies/link/x.mkv", root=library, keep_source=True)
    assert not (tmp_path / "escape.mkv").exists()
    assert list((tmp_path / "elsewhere").iterdir()) == []


@pytest.mark.parametrize("keep_source", [True, False])
def test_a_side_file_told_to_replace_takes_the_name_of_the_one_there(
    tmp_path: Path, other_fs: Path, keep_source: bool
) -> None:
    for folder in (tmp_path / "lib", other_fs):
        target = make(folder / "Film (2020).info.json", b'{"epoch": 1}')
        source = make(tmp_path / "dl" / f"clip-{folder.name}.info.json", b'{"epoch": 2}')
        placed = place(source, target, root=folder, keep_source=keep_source, replace=True)
        assert placed.target == target and target.read_bytes() == b'{"epoch": 2}'
        assert source.exists() is keep_source
        assert sorted(p.name for p in folder.iterdir()) == ["Film (2020).info.json"]
        again = make(source, b'{"epoch": 2}')
        assert place(again, target, root=folder, keep_source=True, replace=True).mode == "existing"
