"""Where a finished file goes in the library: naming templates and safe names (pure).

A template is a relative path with ``{fields}``: ``title``, ``year``, ``season``, ``episode``
(format specs work: ``{season:02d}``), ``episode_title``, ``series`` (the series' title for an
episode), ``ext`` (with its dot). A field with no value takes the text around it with it when
that text is a bracket or separator of its own, so ``Title ({year})`` without a year becomes
``Title``. Every value is made safe before it is placed: names from a remote server or a
person cannot add a folder, climb out of the library, or be a name that Windows or a media
server refuses.

The defaults are the layouts Plex, Jellyfin and Kodi read without help.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from haul.errors import InvalidTemplate

MOVIE_TEMPLATE = "Movies/{title} ({year})/{title} ({year}){ext}"
EPISODE_TEMPLATE = "Series/{series}/Season {season:02d}/{series} - S{season:02d}E{episode:02d}{ext}"
#: A trailer sits beside its film (or in its series' folder) with the ``-trailer`` suffix.
MOVIE_TRAILER_TEMPLATE = "Movies/{title} ({year})/{title} ({year})-trailer{ext}"
SERIES_TRAILER_TEMPLATE = "Series/{title}/{title}-trailer{ext}"

#: Longest name of one path segment in bytes (most filesystems allow 255; room for " (99)").
MAX_SEGMENT_BYTES = 240
_WINDOWS_RESERVED = frozenset(
    {
        "CON",
        "PRN",
        "AUX",
        "NUL",
        *(f"COM{i}" for i in range(1, 10)),
        *(f"LPT{i}" for i in range(10)),
    }
)
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_SPACES = re.compile(r"\s+")
_FIELD_NAMES = frozenset({"title", "year", "season", "episode", "episode_title", "series", "ext"})


@dataclass(frozen=True, slots=True)
class Templates:
    movie: str = MOVIE_TEMPLATE
    episode: str = EPISODE_TEMPLATE
    movie_trailer: str = MOVIE_TRAILER_TEMPLATE
    series_trailer: str = SERIES_TRAILER_TEMPLATE

    def check(self) -> Templates:
        for template in (self.movie, self.episode, self.movie_trailer, self.series_trailer):
            check_template(template)
        return self


def safe_segment(value: str, *, fallback: str = "_") -> str:
    """One path segment from any text: no separators, control characters or characters that
    Windows forbids; no leading dots (hidden, ``..``) or trailing dots and spaces; not a
    reserved device name; at most :data:`MAX_SEGMENT_BYTES` bytes of UTF-8."""
    text = unicodedata.normalize("NFC", value)
    text = _UNSAFE.sub(" ", text)
    text = _SPACES.sub(" ", text).strip().lstrip(".").rstrip(". ")
    text = _truncate(text, MAX_SEGMENT_BYTES).rstrip(". ")
    if not text:
        return fallback
    if text.split(".")[0].upper() in _WINDOWS_RESERVED:
        text = f"_{text}"
    return text


def safe_extension(value: str) -> str:
    """A file extension with its dot, lower-cased, letters and digits only (``""`` if none)."""
    ext = value.lower().lstrip(".")
    ext = "".join(ch for ch in ext if ch.isascii() and ch.isalnum())[:10]
    return f".{ext}" if ext else ""


def _truncate(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[:limit].decode(errors="ignore")


def check_template(template: str) -> str:
    """Refuse a template that is not a relative path of known fields; returns it."""
    if not template.strip():
        raise InvalidTemplate("A naming template cannot be empty.")
    if template.startswith("/") or "\\" in template or "\x00" in template:
        raise InvalidTemplate("A naming template is a relative path with '/' between folders.")
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InvalidTemplate(f"The naming template is malformed: {exc}.") from exc
    for literal, field, _spec, _conv in parsed:
        if ".." in literal.split("/"):
            raise InvalidTemplate("A naming template cannot climb out of the library with '..'.")
        if field is not None and field not in _FIELD_NAMES:
            known = ", ".join(sorted(_FIELD_NAMES))
            raise InvalidTemplate(f"The naming template uses {{{field}}}; known fields: {known}.")
    if not template.rstrip().endswith("{ext}"):
        raise InvalidTemplate("A naming template must end with {ext}, the file's extension.")
    return template


def render(template: str, fields: Mapping[str, object]) -> PurePosixPath:
    """The relative library path ``template`` gives for ``fields`` (values are made safe, a
    missing value drops its brackets)."""
    check_template(template)
    out: list[str] = []
    for literal, field, spec, conv in string.Formatter().parse(template):
        out.append(literal)
        if field is None:
            continue
        value = fields.get(field)
        if value is None or value == "":
            _drop_wrapping(out)
            out.append("\x00")  # marks an empty field: its closing bracket goes too
            continue
        if conv == "r":
            value = repr(value)
        elif conv == "s" or conv == "a":
            value = str(value)
        try:
            text = format(value, spec or "")
        except (ValueError, TypeError) as exc:
            raise InvalidTemplate(f"{{{field}:{spec}}} does not fit the value {value!r}.") from exc
        if field == "ext":
            out.append(safe_extension(text))
        else:
            out.append(_SAFE_IN_TEMPLATE.sub("-", text))
    joined = re.sub(r"\x00\s*[)\]}]", "", "".join(out)).replace("\x00", "")
    ext = safe_extension(str(fields.get("ext") or ""))
    segments = [s for s in joined.split("/") if s.strip()]
    if not segments:
        raise InvalidTemplate("The naming template gives an empty path.")
    *folders, name = segments
    stem = name[: -len(ext)] if ext and name.endswith(ext) else name
    safe = [safe_segment(f) for f in folders]
    safe.append(safe_segment(stem, fallback="file") + ext)
    return PurePosixPath(*safe)


#: Characters in a value that would make a new folder, escaped before the template is split.
_SAFE_IN_TEMPLATE = re.compile(r"[/\\\x00]")


def _drop_wrapping(out: list[str]) -> None:
    """Take an opening bracket (and the space before it) off the text before an empty field."""
    if not out:
        return
    out[-1] = re.sub(r"\s*[(\[{]\s*$", "", out[-1])


def with_suffix_number(name: str, n: int) -> str:
    """``Title (Year).mkv`` -> ``Title (Year) (2).mkv``: a free name when one is taken."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return f"{name} ({n})"
    return f"{stem} ({n}).{ext}"
