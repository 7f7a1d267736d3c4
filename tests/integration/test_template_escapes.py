"""Output templates and page metadata that would lead yt-dlp out of the download folder:
real yt-dlp, real pages on the test origin. Nothing may be written outside; the download
either lands inside or fails with a sentence saying why, before a byte is fetched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from haul.engine import ytdlp
from haul.engine.base import EngineJob, Profile, StopSignal
from haul.errors import PermanentTransferError
from tests.conftest import App
from tests.support import media
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin

HOSTILE_NAMES = ["..", ".", "../../x", "/etc", "../..", " .. "]


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    """(everything the test may see, the download folder inside it); the process works, and
    has its home, in a folder of its own, so a ``$PWD`` or ``$HOME`` that escaped would land
    where the test looks."""
    outer = tmp_path / "outer"
    dest = outer / "a" / "b" / "work"
    dest.mkdir(parents=True)
    monkeypatch.chdir(outer / "a")
    monkeypatch.setenv("PWD", str(outer / "a"))
    monkeypatch.setenv("HOME", str(outer / "a"))
    yield outer, dest


@pytest.fixture
def watch(origin: Origin, media_files: MediaFiles) -> str:
    """A page with one video (the ``<video>`` tag kind: a title, no uploader)."""
    origin.add_file("/v.mp4", media_files.mp4, "video/mp4")
    origin.add_page("/watch", media.page_with_video(origin.url("/v.mp4")))
    return origin.url("/watch")


def written(outer: Path) -> set[str]:
    return {str(p.relative_to(outer)) for p in outer.rglob("*") if p.is_file()}


def download(url: str, dest: Path, template: str) -> list[Path]:
    job = EngineJob(
        download_id=9, url=url, dest_dir=dest, profile=Profile(output_template=template)
    )
    return list(ytdlp.run_download(job, lambda _: None, StopSignal()).files)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_title_or_uploader_lands_inside(
    origin: Origin, media_files: MediaFiles, folders: tuple[Path, Path], name: str
) -> None:
    outer, dest = folders
    origin.add_file("/v.mp4", media_files.mp4, "video/mp4")
    origin.add_page(
        "/watch", media.page_with_metadata(origin.url("/v.mp4"), title=name, uploader=name)
    )
    for template in ("%(uploader)s/%(title)s.%(ext)s", "%(title)s/%(uploader)s/%(id)s.%(ext)s"):
        [video] = download(origin.url("/watch"), dest, template)
        assert video.resolve().is_relative_to(dest.resolve()), video
        assert media.sha256(video) == media.sha256(media_files.mp4)
        assert all(p.startswith("a/b/work/") for p in written(outer)), written(outer)


@pytest.mark.parametrize(
    "template",
    [
        "%(title&..|)s/%(id)s.%(ext)s",  # the replacement text is no field
        "%(id&..|)s/%(title)s.%(ext)s",
        "%(uploader|..)s/%(id)s.%(ext)s",  # the page has no uploader: the default is used
        "$PWD/%(title)s.%(ext)s",  # yt-dlp expands environment variables
        "${PWD}/%(id)s.%(ext)s",
        "x/$HOME/%(id)s.%(ext)s",
    ],
)
def test_a_template_that_leaves_is_refused_before_the_file(
    origin: Origin, watch: str, folders: tuple[Path, Path], template: str
) -> None:
    outer, dest = folders
    with pytest.raises(PermanentTransferError) as caught:
        download(watch, dest, template)
    assert caught.value.code == "bad_template"
    assert "download folder" in caught.value.message
    assert origin.requests_for("/v.mp4") == []  # refused before any byte
    assert written(outer) == set() and list(dest.iterdir()) == []


async def test_saving_a_profile_refuses_templates_that_leave(app: App) -> None:
    for template, said in [
        ("$PWD/%(title)s.%(ext)s", "no $VARIABLE"),
        ("%(title&..|)s/%(id)s.%(ext)s", "'../id.mp4'"),
        ("%(title|..)s/%(id)s.%(ext)s", "'../id.mp4'"),
    ]:
        answer = await app.post("/profiles", json={"name": "p", "output_template": template})
        assert answer.status_code == 422, answer.text
        assert said in str(answer.json()), answer.json()
    fine = {"name": "ok", "output_template": "%(uploader)s/%(title)s [%(id)s].%(ext)s"}
    assert (await app.post("/profiles", json=fine)).status_code == 201
