"""How a page's formats are told: codecs yt-dlp says are absent ("none") apart from unknown
ones (null), an HLS variant's estimated size, and a format the page does not offer."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from yt_dlp.utils import DownloadError

from haul.cli.render import formats_table
from haul.core.formats import estimated_size
from haul.engine.ytdlp_errors import translate
from haul.engine.ytdlp_formats import _format
from haul.errors import PermanentTransferError

URL = "https://videos.example/watch/1"


def test_none_is_kept_apart_from_unknown() -> None:
    audio = _format({"format_id": "a", "vcodec": "none", "acodec": "mp4a.40.2"}, None)
    unknown = _format({"format_id": "u", "ext": "mp4"}, None)
    assert (audio.vcodec, audio.acodec, audio.kind) == ("none", "mp4a.40.2", "audio")
    assert (unknown.vcodec, unknown.acodec, unknown.kind) == (None, None, "unknown")


def test_an_hls_variants_size_is_estimated_from_its_bitrate_and_the_duration() -> None:
    variant = _format({"format_id": "300", "tbr": 300.0, "protocol": "m3u8_native"}, 4.0)
    assert variant.filesize is None
    assert variant.filesize_approx == 150_000 == estimated_size(300, 4)
    said = _format({"format_id": "s", "tbr": 300.0, "filesize_approx": 42}, 4.0)
    assert said.filesize_approx == 42  # yt-dlp's own estimate wins
    assert _format({"format_id": "x", "tbr": 300.0}, None).filesize_approx is None
    assert estimated_size(None, 4) is None and estimated_size(300, 0) is None


def test_a_formats_title_and_note_lose_their_control_characters() -> None:
    f = _format({"format_id": "1", "format_note": "HD\x1b[31m red\x07"}, None)
    assert f.format_note == "HD red"


def listed(**fields: Any) -> str:
    page = {
        "url": URL,
        "title": "A page",
        "duration": 4.0,
        "formats": [{"id": "1", "ext": "mp4", "kind": "unknown", **fields}],
    }
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(formats_table(page))
    [row] = [
        line for line in console.export_text().splitlines() if line.split()[:2] == ["1", "mp4"]
    ]
    return row


def test_the_cli_prints_a_dash_for_an_unknown_codec_and_none_where_yt_dlp_said_none() -> None:
    assert listed(vcodec=None, acodec=None).split()[5:7] == ["-", "-"]
    assert listed(vcodec="none", acodec="opus").split()[5:7] == ["none", "opus"]


def test_the_cli_shows_an_estimated_size() -> None:
    assert "~150.0 KB" in listed(filesize_approx=150_000, tbr=300.0)


def test_a_format_the_page_does_not_offer_is_said_in_haul_words() -> None:
    raw = DownloadError(
        "ERROR: [generic] 1: Requested format is not available. Use --list-formats for a "
        "list of available formats"
    )
    found = translate(raw, URL, format_asked="955")
    assert found.code == "format_unavailable"
    assert isinstance(found, PermanentTransferError)  # never retried
    assert found.message == (
        f"The format '955' is not offered by this page: `haul formats {URL}` (or List formats "
        "on the add page) shows what is."
    )
