"""HAUL_YTDLP_PLUGIN_DIRS: a folder holding a small yt-dlp extractor plug-in, written at test
time, is loaded when haul starts (and logged); real yt-dlp then uses it for the made-up site it
claims, with the extractor arguments of the download's profile."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from haul.settings import Settings
from tests.conftest import App
from tests.integration.test_api_downloads import finished, submit
from tests.integration.test_library import files_of
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin

PLUGIN = """
from yt_dlp.extractor.common import InfoExtractor


class HaulTestPluginIE(InfoExtractor):
    _VALID_URL = r"https?://127\\.0\\.0\\.1:\\d+/plugin-video/(?P<id>[a-z0-9]+)"

    def _real_extract(self, url):
        video_id = self._match_id(url)
        greeting = self._configuration_arg("greeting", ["Plain"], casesense=True)[0]
        return {
            "id": video_id,
            "title": f"{greeting} from the plug-in",
            "url": url.split("/plugin-video/")[0] + "/media/clip.mp4",
            "ext": "mp4",
        }
"""


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "plugins"  # a folder of plug-in packages, as yt-dlp's own are
    extractors = folder / "haul-test-plugin" / "yt_dlp_plugins" / "extractor"
    extractors.mkdir(parents=True)
    (extractors / "haul_test_plugin.py").write_text(PLUGIN)
    return folder


@pytest.fixture
def ytdlp_state() -> Iterator[None]:
    """yt-dlp keeps its plug-ins in module globals: put them back as they were afterwards, so
    no other test sees the plug-in (or a plug-in folder that is gone)."""
    from yt_dlp import globals as g

    kept = {
        name: getattr(g, name).value
        for name in ("plugin_dirs", "plugin_ies", "plugin_pps", "extractors", "postprocessors")
    }
    loaded = g.all_plugins_loaded.value
    yield
    for name, value in kept.items():
        getattr(g, name).value = value
    g.all_plugins_loaded.value = loaded


@pytest.fixture
async def plugin_app(settings: Settings, plugin_dir: Path, ytdlp_state: None) -> AsyncIterator[App]:
    from haul.web.app import create_app

    application = create_app(settings.model_copy(update={"ytdlp_plugin_dirs": str(plugin_dir)}))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            yield App(http, application.state.runtime)


async def test_a_plugin_extractor_serves_its_site_with_the_profiles_arguments(
    plugin_app: App, origin: Origin, media_files: MediaFiles, caplog: pytest.LogCaptureFixture
) -> None:
    app = plugin_app
    origin.add_file("/media/clip.mp4", media_files.mp4, "video/mp4")
    origin.add_page("/plugin-video/abc", "<html><body>no video tag here</body></html>")
    body: dict[str, Any] = {
        "name": "greeted",
        "extractor_args": "haultestplugin:greeting=Hello",
    }
    assert (await app.post("/profiles", json=body)).status_code == 201

    item = await submit(app, origin.url("/plugin-video/abc"), profile="greeted")
    done = await finished(app, item["id"])
    assert done["status"] == "completed", done
    [made] = await files_of(app, item["id"])
    assert made["file_name"] == "Hello from the plug-in [abc].mp4"
    assert origin.requests_for("/media/clip.mp4")


def test_loading_logs_what_was_found(
    plugin_dir: Path, ytdlp_state: None, caplog: pytest.LogCaptureFixture
) -> None:
    from haul.engine import ytdlp_plugins

    with caplog.at_level(logging.INFO, logger="haul.engine.ytdlp_plugins"):
        found = ytdlp_plugins.load([plugin_dir])
    assert found.extractors == ("HaulTestPluginIE",)
    assert str(plugin_dir / "haul-test-plugin" / "yt_dlp_plugins") in found.folders
    assert "extractors: HaulTestPluginIE" in caplog.text


def test_a_folder_that_does_not_exist_is_refused_at_start(tmp_path: Path) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="is not a folder"):
        Settings(data_dir=tmp_path, ytdlp_plugin_dirs=str(tmp_path / "missing"))
