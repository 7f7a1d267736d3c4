"""What a profile asks of yt-dlp beyond the job's own folder and names: the format, audio
only, containers, subtitles, what is embedded and written beside the file, SponsorBlock.

Everything is done by yt-dlp's own post-processors, listed in the order its command line
puts them (SponsorBlock segments are fetched before the download; audio is extracted, the
video remuxed, subtitles embedded, segments cut, then tags and chapters written and the
thumbnail embedded last, so no later step drops them). The NFO is haul's own: :class:`WriteNfo`
runs after them all, beside the final file.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

from yt_dlp.postprocessor.common import PostProcessor
from yt_dlp.postprocessor.modify_chapters import DEFAULT_SPONSORBLOCK_CHAPTER_TITLE

from haul.core.paths import inside
from haul.core.profiles import SPONSORBLOCK_API
from haul.engine.base import Profile
from haul.engine.nfo import nfo_xml
from haul.engine.ytdlp_network import network_params

log = logging.getLogger(__name__)

#: Audio formats whose cover picture yt-dlp can only embed with the ``mutagen`` package
#: (``best`` may turn out to be one of them).
_COVER_NEEDS_MUTAGEN = ("opus", "flac", "best")


def profile_params(profile: Profile, *, sponsorblock_api: str = SPONSORBLOCK_API) -> dict[str, Any]:
    """The yt-dlp params (``format``, ``postprocessors``, ...) ``profile`` asks for; a profile
    that asks for nothing gives what yt-dlp does by default."""
    params: dict[str, Any] = network_params(profile)
    pps: list[dict[str, Any]] = []
    if profile.format:
        params["format"] = profile.format
    elif profile.audio_format:
        params["format"] = "bestaudio/best"  # no video fetched only to be thrown away
    sponsor = list(dict.fromkeys((*profile.sponsorblock_remove, *profile.sponsorblock_mark)))
    if sponsor:
        pps.append(
            {"key": "SponsorBlock", "categories": sponsor, "api": sponsorblock_api}
            | {"when": "after_filter"}
        )
    if profile.audio_format:
        codec = None if profile.audio_format == "best" else profile.audio_format
        pps.append(
            {
                "key": "FFmpegExtractAudio",
                "preferredcodec": codec,
                "preferredquality": _preferred_quality(profile.audio_quality),
                "nopostoverwrites": False,
            }
        )
        if codec is not None:
            params["final_ext"] = codec
    elif profile.container:
        params["merge_output_format"] = profile.container
        pps.append({"key": "FFmpegVideoRemuxer", "preferedformat": profile.container})
    if profile.subtitles or profile.embed_subtitles:
        params["writesubtitles"] = True
        if profile.subtitles:
            params["subtitleslangs"] = list(profile.subtitles)
    if profile.embed_subtitles:
        # subtitles the profile names stay beside the file as well (as without embedding)
        pps.append({"key": "FFmpegEmbedSubtitle", "already_have_subtitle": bool(profile.subtitles)})
    if sponsor:
        pps.append(
            {
                "key": "ModifyChapters",
                "remove_sponsor_segments": list(profile.sponsorblock_remove),
                "sponsorblock_chapter_title": DEFAULT_SPONSORBLOCK_CHAPTER_TITLE,
                "force_keyframes": False,
            }
        )
    chapters = profile.embed_chapters or bool(profile.sponsorblock_mark)
    if profile.embed_metadata or chapters:
        pps.append(
            {
                "key": "FFmpegMetadata",
                "add_metadata": profile.embed_metadata,
                "add_chapters": chapters,
                "add_infojson": False,
            }
        )
    if profile.write_thumbnail or profile.embed_thumbnail:
        params["writethumbnail"] = True
    if profile.embed_thumbnail and _can_embed_cover(profile):
        pps.append({"key": "EmbedThumbnail", "already_have_thumbnail": profile.write_thumbnail})
    if profile.write_info_json:
        params["writeinfojson"] = True
    if pps:
        params["postprocessors"] = pps
    if params.get("writethumbnail") or params.get("writeinfojson"):
        # a playlist's own thumbnail and info would land beside the entry, never filed
        params["allow_playlist_files"] = False
    return params


def _preferred_quality(quality: str | None) -> str | None:
    """An audio quality as yt-dlp's FFmpegExtractAudio reads it: a bare number, taken as a
    VBR level up to 10 and as a bitrate in kbit/s above (``192K`` is passed as ``192``)."""
    if quality is None:
        return None
    return quality.removesuffix("K").removesuffix("k")


def _can_embed_cover(profile: Profile) -> bool:
    if profile.audio_format not in _COVER_NEEDS_MUTAGEN:
        return True
    if importlib.util.find_spec("mutagen") is not None:
        return True
    log.warning(
        "profile %s: no cover picture is embedded into %s audio: yt-dlp needs the Python "
        "package mutagen for it (pip install mutagen)",
        profile.name,
        profile.audio_format,
    )
    return False


def file_kinds(params: dict[str, Any]) -> list[str]:
    """The kinds of name (yt-dlp's ``outtmpl`` keys) a run with ``params`` writes."""
    kinds = ["", "temp"]
    if params.get("writesubtitles"):
        kinds.append("subtitle")
    if params.get("writethumbnail"):
        kinds.append("thumbnail")
    if params.get("writeinfojson"):
        kinds.append("infojson")
    return kinds


def nfo_path(media: Path) -> Path:
    """Where the NFO of ``media`` goes: beside it, under its name."""
    return media.with_suffix(".nfo")


def side_files(item: dict[str, Any], *, nfo: bool) -> list[Path]:
    """The side files yt-dlp says it wrote for one downloaded item, and its NFO when ``nfo``
    (some may be gone since, such as a thumbnail once embedded)."""
    found: list[Path] = []
    for download in (item, *(item.get("requested_downloads") or ())):
        if download.get("infojson_filename"):
            found.append(Path(download["infojson_filename"]))
        for thumb in download.get("thumbnails") or ():
            if isinstance(thumb, dict) and thumb.get("filepath"):
                found.append(Path(thumb["filepath"]))
        if nfo and download.get("filepath"):
            found.append(nfo_path(Path(download["filepath"])))
    return found


class WriteNfo(PostProcessor):  # type: ignore[misc]
    """Writes ``<name>.nfo`` beside the finished file (after every other post-processor, so
    it names the final file), never outside ``dest``."""

    def __init__(self, ydl: Any, dest: Path) -> None:
        super().__init__(ydl)
        self._dest = dest

    def run(self, info: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
        media = info.get("filepath")
        if not media:
            return [], info
        target = nfo_path(Path(media))
        if not inside(target, self._dest):
            log.warning("not writing an NFO outside the download folder: %s", target)
            return [], info
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_bytes(nfo_xml(info))
        temporary.replace(target)
        self.to_screen(f"Wrote {target.name}")
        return [], info
