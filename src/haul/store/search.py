"""Looking for words in text columns, the same way in every list (downloads, logs)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, or_


def escape_like(word: str) -> str:
    """A word to look for inside a column with LIKE, its wildcards taken literally."""
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_all(
    columns: Sequence[Any], words: Sequence[str], *, sqlite: bool
) -> list[ColumnElement[bool]]:
    """Each word inside one of ``columns``, ignoring case, wildcards taken literally. SQLite's
    LIKE already ignores case (of ASCII letters, like its ``lower()``), and is three times
    faster than the ``lower(...) LIKE`` that ILIKE becomes there."""
    found = []
    for word in words:
        pattern = f"%{escape_like(word)}%"
        found.append(
            or_(
                *(
                    column.like(pattern, escape="\\")
                    if sqlite
                    else column.ilike(pattern, escape="\\")
                    for column in columns
                )
            )
        )
    return found
