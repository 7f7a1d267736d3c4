"""Side files a profile wrote (NFO, info JSON, thumbnail) are filed beside the main file under
its name; other files stay where the download left them."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from haul.core.media_items import Subject
from haul.media.library import Found, plan
from haul.media.naming import Templates


def found(name: str, *, media: bool = False, video: bool = False, size: int = 10) -> Found:
    return Found(Path("/d") / name, size, media, video)


def test_side_files_of_the_main_file_go_beside_it() -> None:
    files = [
        found("Clip [x1].mp4", media=True, video=True, size=1000),
        found("Clip [x1].nfo"),
        found("Clip [x1].info.json"),
        found("Clip [x1].webp"),
        found("Clip [x1].en.vtt"),
        found("release.nfo"),
        found("cover.jpg"),
    ]
    made = plan(Subject(kind="movie", title="Heat", year=1995), files, Templates())
    assert {(p.source.name, str(p.target), p.role) for p in made.files} == {
        ("Clip [x1].mp4", "Movies/Heat (1995)/Heat (1995).mp4", "main"),
        ("Clip [x1].en.vtt", "Movies/Heat (1995)/Heat (1995).en.vtt", "subtitle"),
        ("Clip [x1].nfo", "Movies/Heat (1995)/Heat (1995).nfo", "side"),
        ("Clip [x1].info.json", "Movies/Heat (1995)/Heat (1995).info.json", "side"),
        ("Clip [x1].webp", "Movies/Heat (1995)/Heat (1995)-thumb.webp", "side"),
    }
    assert made.notes == ["left in the download folder: cover.jpg, release.nfo"]
    assert all(isinstance(p.target, PurePosixPath) for p in made.files)
