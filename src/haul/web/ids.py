"""Ids as the API takes them (path, query and body alike): whole numbers from 1 to 2^31 - 1.

Ids are 32-bit on PostgreSQL, and SQLite cannot even bind a number past 2^63: an id outside
the range would fail deep in a query (HTTP 500) or be written where it does not fit. Refused
at the edge instead, as a 422 naming the parameter, and the OpenAPI schema says the range.
The pages take the same type in their paths, and a page whose path names no possible id is not
found (404, see :mod:`haul.web.errors`); an id a page reads from its query or a form goes
through :func:`id_or_none`.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le

from haul.service.listing import MAX_ID

#: The id of a row haul keeps (a download, a media item, a notification target, ...).
Id = Annotated[int, Ge(1), Le(MAX_ID)]


def id_or_none(text: str) -> int | None:
    """The id ``text`` names (ASCII digits, 1 to 2^31 - 1), or ``None``."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None
