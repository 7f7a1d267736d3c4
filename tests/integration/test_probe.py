"""The media probe against real files made with ffmpeg: PyAV first, ffprobe as the fallback."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import av
import pytest

from haul.errors import NotFound
from haul.media import probe as probe_module
from haul.media.probe import (
    ProbeResult,
    build_result,
    probe_file,
    read_with_ffprobe,
    read_with_pyav,
)
from tests.support import probe_media as pm
from tests.support.daemons import require

MP4_FAMILY = "mov,mp4,m4a,3gp,3g2,mj2"


@dataclass(frozen=True)
class Files:
    mp4: Path
    mkv: Path
    video_only: Path
    m4a: Path
    mka: Path
    cover: Path
    text: Path
    truncated: Path
    garbled: Path

    def media(self) -> list[Path]:
        return [self.mp4, self.mkv, self.video_only, self.m4a, self.mka, self.cover]

    def all(self) -> list[Path]:
        return [*self.media(), self.text, self.truncated, self.garbled]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    """Every test file, made once for this module (about 1 s). Treat as read-only."""
    require("ffmpeg", "ffmpeg")
    root = tmp_path_factory.mktemp("probe")
    mp4 = pm.make_tagged_mp4(root / "tagged.mp4")
    return Files(
        mp4=mp4,
        mkv=pm.make_surround_mkv(root / "surround.mkv"),
        video_only=pm.make_video_only_mp4(root / "silent.mp4"),
        m4a=pm.make_audio_only(root / "tone.m4a"),
        mka=pm.make_audio_only(root / "tone.mka"),
        cover=pm.make_audio_with_cover(root / "cover.m4a"),
        text=pm.make_text(root / "notes.txt"),
        truncated=pm.make_truncated(mp4, root / "truncated.mp4"),
        garbled=pm.make_garbled(mp4, root / "garbled.mp4"),
    )


def assert_stat(result: ProbeResult, path: Path) -> None:
    info = os.stat(path)
    assert result.path == path
    assert result.file_name == path.name
    assert result.size == info.st_size
    assert result.mtime == info.st_mtime


def test_mp4_with_youtube_comment(files: Files) -> None:
    result = probe_file(files.mp4, profile="video-best")

    assert result.is_media and result.error is None
    assert (result.container, result.format_name) == ("mp4", MP4_FAMILY)
    assert result.duration == pytest.approx(pm.SECONDS, abs=0.1)
    assert (result.video_codec, result.width, result.height) == ("h264", pm.WIDTH, pm.HEIGHT)
    assert (result.audio_codec, result.channels) == ("aac", 2)
    assert result.subtitle_languages == ()
    assert result.youtube_id == pm.YOUTUBE_ID
    assert result.profile == "video-best"
    assert_stat(result, files.mp4)


def test_mkv_with_surround_audio_and_two_subtitles(files: Files) -> None:
    result = probe_file(files.mkv)

    assert result.is_media and result.error is None
    assert (result.container, result.format_name) == ("mkv", "matroska,webm")
    assert result.duration == pytest.approx(pm.SECONDS, abs=0.1)
    assert (result.video_codec, result.width, result.height) == ("h264", pm.WIDTH, pm.HEIGHT)
    assert (result.audio_codec, result.channels) == ("aac", 6)
    assert result.subtitle_languages == ("eng", "fre")
    assert result.youtube_id == pm.YOUTUBE_ID  # from the upper-case PURL tag, a youtu.be link
    assert result.profile is None
    assert_stat(result, files.mkv)


def test_video_without_audio(files: Files) -> None:
    result = probe_file(files.video_only)

    assert result.is_media
    assert result.container == "mp4"
    assert result.duration == pytest.approx(pm.SECONDS, abs=0.1)
    assert (result.video_codec, result.width, result.height) == ("h264", pm.WIDTH, pm.HEIGHT)
    assert (result.audio_codec, result.channels) == (None, None)
    assert result.youtube_id is None
    assert_stat(result, files.video_only)


@pytest.mark.parametrize(
    ("name", "container", "codec", "youtube_id"),
    [("m4a", "m4a", "aac", None), ("mka", "mka", "opus", pm.YOUTUBE_ID)],
)
def test_audio_only(
    files: Files, name: str, container: str, codec: str, youtube_id: str | None
) -> None:
    path: Path = getattr(files, name)
    result = probe_file(path)

    assert result.is_media
    assert result.container == container
    assert result.duration == pytest.approx(pm.SECONDS, abs=0.1)
    assert (result.video_codec, result.width, result.height) == (None, None, None)
    assert (result.audio_codec, result.channels) == (codec, 1)
    assert result.youtube_id == youtube_id  # the bare youtube_id tag survives only in Matroska
    assert_stat(result, path)


def test_cover_art_is_not_the_video(files: Files) -> None:
    result = probe_file(files.cover)

    assert result.is_media
    assert (result.container, result.audio_codec, result.channels) == ("m4a", "aac", 1)
    assert (result.video_codec, result.width, result.height) == (None, None, None)


def test_text_file_is_not_media(files: Files) -> None:
    result = probe_file(files.text, profile="video-best")

    assert not result.is_media
    assert result.error == "not a media file: invalid data found when processing input"
    assert (result.container, result.duration, result.video_codec) == (None, None, None)
    assert result.profile == "video-best"
    assert_stat(result, files.text)


@pytest.mark.parametrize("name", ["truncated", "garbled"])
def test_broken_mp4_is_not_media(files: Files, name: str) -> None:
    path: Path = getattr(files, name)
    result = probe_file(path)

    assert not result.is_media
    assert (
        result.error == "damaged or incomplete .mp4 file: invalid data found when processing input"
    )
    assert result.container is None
    assert_stat(result, path)


def test_every_file_records_its_stat(files: Files) -> None:
    for path in files.all():
        assert_stat(probe_file(path), path)


def test_a_folder_is_not_media(tmp_path: Path) -> None:
    folder = tmp_path / "looks-like.mp4"
    folder.mkdir()

    result = probe_file(folder)

    assert not result.is_media
    assert result.error == "not a media file: it is not a regular file"


def test_a_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file or directory"):
        probe_file(tmp_path / "gone.mp4")


def test_ffprobe_reads_what_pyav_reads(files: Files) -> None:
    require("ffprobe", "ffmpeg")
    for path in files.media():
        base = probe_file(path)
        via_ffprobe = read_with_ffprobe(path)
        assert via_ffprobe is not None, path
        assert build_result(via_ffprobe, base) == build_result(read_with_pyav(path), base)


def test_ffprobe_cannot_read_broken_files_either(files: Files) -> None:
    require("ffprobe", "ffmpeg")
    for path in (files.text, files.truncated, files.garbled):
        assert read_with_ffprobe(path) is None, path


def test_ffprobe_answers_when_pyav_cannot(files: Files, monkeypatch: pytest.MonkeyPatch) -> None:
    require("ffprobe", "ffmpeg")
    expected = probe_file(files.mkv)

    def refuse(path: Path, *, quick: bool = False) -> probe_module.Reading:
        raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")

    monkeypatch.setattr(probe_module, "read_with_pyav", refuse)

    assert probe_file(files.mkv) == expected
    refused = probe_file(files.mkv, fallback=False)
    assert refused == ProbeResult(
        files.mkv,
        files.mkv.name,
        expected.size,
        expected.mtime,
        is_media=False,
        error="damaged or incomplete .mkv file: invalid data found when processing input",
    )


def test_without_ffprobe_the_reason_is_pyavs(files: Files, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe_module.shutil, "which", lambda name: None)

    assert read_with_ffprobe(files.mkv) is None
    assert probe_file(files.text).error == (
        "not a media file: invalid data found when processing input"
    )
