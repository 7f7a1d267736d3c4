"""yt-dlp extractor arguments of a profile (pure): parsed from yt-dlp's command-line text or
from JSON, and checked.

yt-dlp takes them as ``extractor -> argument -> [values]``
(``{"youtube": {"player_client": ["web", "default"]}}``). The text form is the one of
``--extractor-args``: ``youtube:player_client=web,default;po_token=web+XYZ``, one extractor a
line; a comma inside a value is written ``\\,``. Names are kept in lower case with ``-`` in an
argument name read as ``_``, as yt-dlp reads them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

EXAMPLE = "youtube:player_client=web,default;po_token=web+TOKEN"
MAX_TEXT = 20_000
MAX_VALUE = 4000
_EXTRACTOR = re.compile(r"[a-z0-9_][a-z0-9_.-]{0,99}")
_ARGUMENT = re.compile(r"[a-z0-9_]{1,100}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

ExtractorArgs = dict[str, dict[str, list[str]]]


def check_extractor_args(value: object) -> ExtractorArgs:
    """Clean extractor arguments from a mapping, a JSON text or yt-dlp's text form (empty:
    none); ValueError with a sentence naming what is wrong."""
    if value is None:
        return {}
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return {}
        if len(text) > MAX_TEXT:
            raise ValueError(f"extractor_args can be at most {MAX_TEXT} characters long.")
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except ValueError:
                raise ValueError(
                    "extractor_args is not valid JSON; give an object such as "
                    '{"youtube": {"player_client": ["web"]}}, or the text form ' + EXAMPLE + "."
                ) from None
        else:
            value = _from_text(text)
    if not isinstance(value, Mapping):
        raise ValueError(f"extractor_args must be an object, or text such as {EXAMPLE}.")
    clean: ExtractorArgs = {}
    for raw_name, args in value.items():
        name = _extractor(raw_name)
        if not isinstance(args, Mapping) or not args:
            raise ValueError(
                f"extractor_args of {name} must map argument names to lists of values, "
                'such as {"player_client": ["web"]}.'
            )
        into = clean.setdefault(name, {})
        for raw_arg, values in args.items():
            into[_argument(name, raw_arg)] = _values(name, str(raw_arg), values)
    if len(json.dumps(clean)) > MAX_TEXT:
        raise ValueError(f"extractor_args can be at most {MAX_TEXT} characters long.")
    return clean


def _from_text(text: str) -> dict[str, dict[str, list[str]]]:
    found: dict[str, dict[str, list[str]]] = {}
    for line in (part.strip() for part in text.splitlines()):
        if not line:
            continue
        name, colon, rest = line.partition(":")
        if not colon or not rest.strip():
            raise ValueError(
                f"{line[:60]!r} is not an extractor's arguments; write them as {EXAMPLE} "
                "(one extractor a line)."
            )
        args = found.setdefault(name, {})
        for item in rest.split(";"):
            if not item.strip():
                continue
            key, _, values = item.partition("=")
            split = re.split(r"(?<!\\),", values)
            args[key] = [v.replace("\\,", ",").strip() for v in split]
    return found


def _extractor(raw: object) -> str:
    name = str(raw).strip().lower()
    if not _EXTRACTOR.fullmatch(name):
        raise ValueError(
            f"{str(raw)[:60]!r} is not an extractor name; extractor_args names yt-dlp's "
            "extractors, such as youtube or generic (letters, digits, '_', '-' and '.')."
        )
    return name


def _argument(extractor: str, raw: object) -> str:
    name = str(raw).strip().lower().replace("-", "_")
    if not _ARGUMENT.fullmatch(name):
        raise ValueError(
            f"{str(raw)[:60]!r} is not an argument name of {extractor} in extractor_args "
            "(letters, digits and '_', such as player_client)."
        )
    return name


def _values(extractor: str, argument: str, raw: Any) -> list[str]:
    if isinstance(raw, str | int | float) and not isinstance(raw, bool):
        raw = [raw]
    if not isinstance(raw, list) or not all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in raw
    ):
        raise ValueError(
            f"extractor_args {extractor}:{argument} must be a list of texts, such as "
            '["web", "default"].'
        )
    values = [str(v).strip() for v in raw]
    for v in values:
        if _CONTROL.search(v) or len(v) > MAX_VALUE:
            raise ValueError(
                f"A value of extractor_args {extractor}:{argument} holds a control character "
                f"or is longer than {MAX_VALUE} characters."
            )
    return values


def as_text(args: Mapping[str, Mapping[str, list[str]]]) -> str:
    """The text form of extractor arguments (one extractor a line)."""
    lines = []
    for name, items in args.items():
        parts = [
            f"{key}={','.join(v.replace(',', chr(92) + ',') for v in values)}"
            for key, values in items.items()
        ]
        lines.append(f"{name}:{';'.join(parts)}")
    return "\n".join(lines)
