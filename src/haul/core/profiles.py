"""What a download profile may hold (pure): each field checked, with a sentence when it is wrong.

A profile is a named preset for yt-dlp: a format selector, a container to merge or remux
into (or an audio format to convert to, for audio only), subtitle languages, an output
template, a folder under the download root, what to embed into the file and which side files
to write beside it, the SponsorBlock segments to remove or mark, a proxy
(:mod:`haul.core.proxies`) and yt-dlp extractor arguments (:mod:`haul.core.extractor_args`).
Neither the template nor the folder may ever lead out of the download root: both must be
relative paths without ``..`` (a folder's real path is checked again against the disk by the
service).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from haul.core.extractor_args import check_extractor_args
from haul.core.numbers import whole_in
from haul.core.paths import stays_inside, template_stays_inside
from haul.core.proxies import check_proxy
from haul.errors import InvalidChoice, InvalidProfile

#: Yes/no choices: what is embedded into the file, and which side files are written beside it.
FLAGS = (
    "embed_metadata",
    "embed_thumbnail",
    "embed_chapters",
    "embed_subtitles",
    "write_thumbnail",
    "write_info_json",
    "write_nfo",
)
FIELDS = (
    "name",
    "format",
    "container",
    "subtitles",
    "output_template",
    "target_dir",
    "is_default",
    "audio_format",
    "audio_quality",
    *FLAGS,
    "sponsorblock_remove",
    "sponsorblock_mark",
    "proxy",
    "extractor_args",
    "concurrent_fragments",
)
#: How many fragments of an HLS or DASH stream yt-dlp fetches at once (the default, the most).
FRAGMENTS_DEFAULT = 4
FRAGMENTS_MAX = 16
#: Containers yt-dlp can both merge into and remux into.
CONTAINERS = ("avi", "flv", "mkv", "mov", "mp4", "webm")
#: What an audio-only profile converts to (yt-dlp's FFmpegExtractAudio; ``best``: the best
#: audio as it comes, converted only when its container cannot hold it alone).
AUDIO_FORMATS = ("mp3", "m4a", "opus", "flac", "wav", "best")
#: SponsorBlock's segment categories, as yt-dlp names them. ``poi_highlight`` and ``chapter``
#: can only be marked (they are a moment and a title, not a part to cut).
SPONSORBLOCK_CATEGORIES = (
    "sponsor",
    "intro",
    "outro",
    "selfpromo",
    "preview",
    "filler",
    "interaction",
    "music_offtopic",
    "poi_highlight",
    "chapter",
)
UNREMOVABLE = ("poi_highlight", "chapter")
#: The SponsorBlock server asked for segments unless HAUL_SPONSORBLOCK_API names another.
SPONSORBLOCK_API = "https://sponsor.ajay.app"
#: Bitrates an audio quality may name, in kbit/s (``192K``). yt-dlp reads a number up to 10
#: as a VBR level, so a bitrate starts above it.
BITRATES = (16, 1536)
MAX_SUBTITLES = 20
TEMPLATE_EXAMPLE = "%(title)s [%(id)s].%(ext)s"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_profile(given: Mapping[str, Any]) -> dict[str, Any]:
    """Clean the given fields of a profile (any of :data:`FIELDS`); raise
    :class:`InvalidProfile` naming every bad one. Empty text becomes None (not set)."""
    problems: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for field, value in given.items():
        if field not in FIELDS:
            known = ", ".join(FIELDS)
            problems[field] = f"A profile has no field {field!r}; its fields are: {known}."
            continue
        try:
            clean[field] = _CHECKS[field](value)
        except ValueError as exc:
            problems[field] = str(exc)
    if problems:
        raise InvalidProfile(problems)
    return clean


def check_name(value: Any) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value.strip()):
        raise ValueError(
            "A profile name is 1 to 100 letters, digits, '.', '-' or '_', starting with a "
            "letter or digit (e.g. 720p or best-mp4)."
        )
    return value.strip()


def _text(value: Any, field: str, limit: int = 500) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{field} must be text.")
    value = value.strip()
    if _CONTROL.search(value):
        raise ValueError(f"{field} cannot hold control characters.")
    if len(value) > limit:
        raise ValueError(f"{field} can be at most {limit} characters long.")
    return value or None


def check_format(value: Any) -> str | None:
    """A yt-dlp format selector (yt-dlp itself judges its grammar when it runs)."""
    return _text(value, "format", FORMAT_MAX)


def check_container(value: Any) -> str | None:
    text = _text(value, "container", 16)
    if text is None:
        return None
    if text.lower().lstrip(".") not in CONTAINERS:
        raise ValueError(f"container must be one of: {', '.join(CONTAINERS)} (or empty).")
    return text.lower().lstrip(".")


def check_subtitles(value: Any) -> list[str]:
    """Subtitle language codes (``en``, ``eng``, ``pt-BR``), or ``all``; a comma-separated
    text is taken too. Order is kept, repeats go."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise ValueError("subtitles must be a list of language codes such as en, eng or pt-BR.")
    codes: list[str] = []
    for raw in value:
        code = raw.strip()
        if not code:
            continue
        if code != "all" and not _LANGUAGE.fullmatch(code):
            raise ValueError(
                f"{code!r} is not a language code; subtitles takes codes such as en, eng or "
                "pt-BR, or all."
            )
        if code not in codes:
            codes.append(code)
    if len(codes) > MAX_SUBTITLES:
        raise ValueError(f"subtitles can name at most {MAX_SUBTITLES} languages.")
    return codes


def check_output_template(value: Any) -> str | None:
    """A yt-dlp output template that stays inside the download folder (the service also has
    yt-dlp check its grammar)."""
    text = _text(value, "output_template")
    if text is None:
        return None
    if text == "-" or not template_stays_inside(text):
        raise ValueError(
            "output_template must be a relative path that stays inside the download folder, "
            f"such as {TEMPLATE_EXAMPLE!r} (no '..', no absolute path, no $VARIABLE)."
        )
    return text


def check_target_dir(value: Any) -> str | None:
    """A folder under the download root, kept as a clean relative POSIX path (None: the root
    itself)."""
    text = _text(value, "target_dir")
    if text is None:
        return None
    text = text.replace("\\", "/")
    parts = [part for part in PurePosixPath(text).parts if part != "."]
    if not stays_inside(text) or any(part.startswith(".") for part in parts):
        raise ValueError(
            "target_dir must be a folder inside the download folder, such as 'videos/music' "
            "(no '..', no absolute path, no hidden folder)."
        )
    return "/".join(parts) or None


def check_is_default(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("is_default must be true or false.")
    return value


def check_audio_format(value: Any) -> str | None:
    """An audio format to convert to (None: not an audio-only profile)."""
    text = _text(value, "audio_format", 16)
    if text is None:
        return None
    if text.lower().lstrip(".") not in AUDIO_FORMATS:
        raise ValueError(f"audio_format must be one of: {', '.join(AUDIO_FORMATS)} (or empty).")
    return text.lower().lstrip(".")


_VBR = re.compile(r"(?:10|[0-9])")
_BITRATE = re.compile(r"([0-9]{1,4})[kK]")


def check_audio_quality(value: Any) -> str | None:
    """yt-dlp's audio quality: a VBR level from 0 (best) to 10 (smallest), or a bitrate such
    as ``192K`` (kbit/s). Kept as ``5`` or ``192K``."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    text = _text(value, "audio_quality", 16)
    if text is None:
        return None
    low, high = BITRATES
    if _VBR.fullmatch(text):
        return text
    if text.isascii() and text.isdigit():
        raise ValueError(
            "A quality level is 0 (best) to 10; a bitrate ends in K, like 192K "
            f"(from {low}K to {high}K)."
        )
    found = _BITRATE.fullmatch(text)
    if found is not None and low <= int(found.group(1)) <= high:
        return f"{int(found.group(1))}K"
    raise ValueError(
        "audio_quality is a VBR level from 0 (best) to 10, or a bitrate from "
        f"{low}K to {high}K such as 192K."
    )


def check_concurrent_fragments(value: Any) -> int:
    """How many fragments of an HLS or DASH stream are fetched at once: 1 to 16 (empty: the
    default, 4)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return FRAGMENTS_DEFAULT
    number = whole_in(value, 1, FRAGMENTS_MAX)
    if number is None:
        raise ValueError(
            f"concurrent_fragments is a whole number from 1 to {FRAGMENTS_MAX}: how many "
            "fragments of an HLS or DASH stream are fetched at once."
        )
    return number


def _flag(field: str) -> Any:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"{field} must be true or false.")
        return value

    return check


def _categories(field: str, allowed: tuple[str, ...]) -> Any:
    def check(value: Any) -> list[str]:
        """SponsorBlock categories (a list, or a comma-separated text); order is kept,
        repeats go."""
        if value is None:
            return []
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{field} must be a list of SponsorBlock categories.")
        chosen: list[str] = []
        for raw in value:
            name = raw.strip().lower()
            if not name:
                continue
            if name not in allowed:
                raise ValueError(
                    f"{raw.strip()[:40]!r} is not a SponsorBlock category {field} takes; "
                    f"choose from: {', '.join(allowed)}."
                )
            if name not in chosen:
                chosen.append(name)
        return chosen

    return check


REMOVABLE = tuple(c for c in SPONSORBLOCK_CATEGORIES if c not in UNREMOVABLE)
check_sponsorblock_remove = _categories("sponsorblock_remove", REMOVABLE)
check_sponsorblock_mark = _categories("sponsorblock_mark", SPONSORBLOCK_CATEGORIES)


#: What :func:`combination_problems` says of a container, or a quality, beside audio only.
CONTAINER_WITH_AUDIO = (
    "container is for video; an audio-only profile (audio_format) leaves it empty."
)
QUALITY_WITHOUT_AUDIO = "audio_quality needs an audio_format (audio only)."
#: Audio formats without a quality to choose: their conversion keeps every sample.
LOSSLESS = frozenset({"flac", "wav"})


def quality_problem(audio_format: str | None, audio_quality: str | None) -> str | None:
    """What is wrong with ``audio_quality`` beside ``audio_format`` (both clean), if anything."""
    if not audio_quality:
        return None
    if not audio_format:
        return QUALITY_WITHOUT_AUDIO
    if audio_format in LOSSLESS:
        return f"audio_quality is for lossy formats; {audio_format} is lossless: leave it empty."
    return None


def combination_problems(profile: Mapping[str, Any]) -> dict[str, str]:
    """What is wrong with a whole profile's fields together (each one already clean)."""
    problems: dict[str, str] = {}
    audio = profile.get("audio_format")
    if audio and profile.get("container"):
        problems["container"] = CONTAINER_WITH_AUDIO
    if found := quality_problem(audio, profile.get("audio_quality")):
        problems["audio_quality"] = found
    return problems


#: The longest format selector a profile or a download may hold.
FORMAT_MAX = 500


def check_choice(
    format: Any = None, audio_format: Any = None, audio_quality: Any = None
) -> tuple[str | None, str | None, str | None]:
    """The format, audio format and audio quality one download asks for instead of its
    profile's, cleaned by the profile's rules (empty text: not chosen); raise
    :class:`InvalidChoice` naming every bad one. The selector's grammar is yt-dlp's to judge
    (:func:`haul.engine.ytdlp_formats.selector_problem`)."""
    problems: dict[str, str] = {}
    clean: dict[str, str | None] = {}
    for field, check, value in (
        ("format", check_format, format),
        ("audio_format", check_audio_format, audio_format),
        ("audio_quality", check_audio_quality, audio_quality),
    ):
        try:
            clean[field] = check(value)
        except ValueError as exc:
            problems[field] = str(exc)
    if not problems and (found := quality_problem(clean["audio_format"], clean["audio_quality"])):
        problems["audio_quality"] = found
    if problems:
        raise InvalidChoice(problems)
    return clean["format"], clean["audio_format"], clean["audio_quality"]


_CHECKS: dict[str, Any] = {
    "name": check_name,
    "format": check_format,
    "container": check_container,
    "subtitles": check_subtitles,
    "output_template": check_output_template,
    "target_dir": check_target_dir,
    "is_default": check_is_default,
    "audio_format": check_audio_format,
    "audio_quality": check_audio_quality,
    **{flag: _flag(flag) for flag in FLAGS},
    "sponsorblock_remove": check_sponsorblock_remove,
    "sponsorblock_mark": check_sponsorblock_mark,
    "proxy": check_proxy,
    "extractor_args": check_extractor_args,
    "concurrent_fragments": check_concurrent_fragments,
}
