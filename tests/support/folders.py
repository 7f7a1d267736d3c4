"""Where an in-process app keeps a download's partial data: the work folder under the download
root (``.haul-work/<id>``), which a resume continues from and a cancel with its files removes."""

from __future__ import annotations

from pathlib import Path

from haul.clients.builtin.client import WORK_FOLDER
from tests.conftest import App


def work_root(app: App) -> Path:
    """The folder holding every download's partial data."""
    root: Path = app.runtime.settings.downloads_root
    return root / WORK_FOLDER


def work_dir(app: App, download_id: int) -> Path:
    """The partial data of one download."""
    return work_root(app) / str(download_id)
