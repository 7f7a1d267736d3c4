"""A download's own data: what deleting its files (by hand, by retention) may touch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from haul.service.files import Folders, remove_inside
from haul.store.media_files import Recorded


def write(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("layout", ["apart", "library inside", "downloads inside", "same"])
def test_library_files_are_never_a_downloads_own(tmp_path: Path, layout: str) -> None:
    downloads, library = {
        "apart": (tmp_path / "downloads", tmp_path / "library"),
        "library inside": (tmp_path / "downloads", tmp_path / "downloads" / "library"),
        "downloads inside": (tmp_path / "media" / "downloads", tmp_path / "media"),
        "same": (tmp_path / "media", tmp_path / "media"),
    }[layout]
    folders = Folders(downloads, library)
    # a torrent filed by hard link (the client seeds the original), with a sample not filed
    seeded = write(downloads / "Film.2001" / "film.mkv", b"film")
    filed = library / "Movies" / "Film (2001)" / "Film (2001).mkv"
    filed.parent.mkdir(parents=True)
    os.link(seeded, filed)
    sample = write(downloads / "Film.2001" / "sample.mkv")
    # another download's file at the same relative path, in the other folder
    namesake = downloads / "Movies" / "Film (2001)" / "Film (2001).mkv"
    if layout != "same":
        write(namesake, b"other")
    elsewhere = write(tmp_path / "elsewhere.mkv")
    entries = [
        {"path": "Movies/Film (2001)/Film (2001).mkv", "root": "library"},
        {"path": "Film.2001/sample.mkv"},
        {"path": str(elsewhere)},
    ]
    records = [
        Recorded(str(filed), "Film.2001/film.mkv", imported=True),
        Recorded("Film.2001/sample.mkv"),
    ]

    own = folders.own_data(entries, records)
    removed = remove_inside(own, (downloads,))

    assert not seeded.exists() and not sample.exists()
    assert filed.read_bytes() == b"film"
    assert elsewhere.exists()
    assert namesake.exists()  # (one folder: the library's film itself)
    assert removed.freed_bytes == 1  # the film keeps its library link: only the sample frees
