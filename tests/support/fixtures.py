"""Pytest fixtures for test media and the origin server.

The lead's ``tests/conftest.py`` loads this module with
``pytest_plugins = ["tests.support.fixtures"]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import media
from tests.support.origin import Origin


@dataclass(frozen=True)
class MediaFiles:
    """The files in :func:`media_dir`, made once per session."""

    dir: Path
    mp4: Path  # 10 s H.264/AAC + mov_text subtitle, language and YouTube comment tags
    mkv: Path  # the same clip in Matroska with an SRT subtitle
    hls: Path  # index.m3u8 of 5 x 2 s MPEG-TS segments, in its own folder
    broken: Path  # garbage named .mp4
    vtt: Path  # a WebVTT subtitle for a page's <track>


@pytest.fixture(scope="session")
def media_files(tmp_path_factory: pytest.TempPathFactory) -> MediaFiles:
    """Test media made with ffmpeg once per session (about 1 s in all). Treat as read-only."""
    root = tmp_path_factory.mktemp("media")
    return MediaFiles(
        dir=root,
        mp4=media.make_mp4(root / "clip.mp4"),
        mkv=media.make_mkv(root / "clip.mkv"),
        hls=media.make_hls(root / "hls"),
        broken=media.make_broken(root / "broken.mp4"),
        vtt=media.make_vtt(root / "clip.en.vtt"),
    )


@pytest.fixture(scope="session")
def media_dir(media_files: MediaFiles) -> Path:
    """The folder holding ``clip.mp4``, ``clip.mkv``, ``hls/index.m3u8``, ``broken.mp4`` and
    ``clip.en.vtt``. Treat as read-only: it is shared by the whole session."""
    return media_files.dir


@pytest.fixture
def origin() -> Iterator[Origin]:
    """An origin server on 127.0.0.1 serving nothing yet; closed (threads joined) afterwards."""
    with Origin() as server:
        yield server
