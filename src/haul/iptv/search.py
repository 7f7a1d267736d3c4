"""Searching a catalogue (pure): case-insensitive, accent-folded, word by word.

"amelie" finds "Amélie (2001)", "spider verse" finds "Spider-Man: Into the Spider-Verse":
names and queries are folded the same way (accents dropped, case folded, punctuation made
spaces) and every word of the query must appear in the name. Names that start with the query
come first; otherwise the provider's order is kept.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

_NOT_WORD = re.compile(r"[^\w]+|_")


def fold(text: str) -> str:
    """Lower case, no accents, words separated by one space: ``"Amélie-Poulain!"`` ->
    ``"amelie poulain"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = plain.casefold().replace("ß", "ss").replace("æ", "ae").replace("œ", "oe")
    plain = plain.replace("ø", "o").replace("đ", "d").replace("ł", "l")
    return " ".join(_NOT_WORD.sub(" ", plain).split())


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class SearchIndex(Generic[T]):
    """A catalogue list with its folded names, made once per fetch and searched per page."""

    def __init__(
        self,
        items: Sequence[T],
        name: Callable[[T], str],
        categories: Callable[[T], Sequence[str]],
    ) -> None:
        self.items = list(items)
        self._keys = [fold(name(item)) for item in self.items]
        self._categories = [tuple(categories(item)) for item in self.items]  # one or two

    def __len__(self) -> int:
        return len(self.items)

    def search(self, query: str | None = None, category: str | None = None) -> list[T]:
        """The matching items, best first (the list may be shared: do not change it)."""
        words = fold(query or "").split()
        if not words and category is None:
            return self.items
        start: list[T] = []
        inside: list[T] = []
        prefix = " ".join(words)
        for item, key, cats in zip(self.items, self._keys, self._categories, strict=True):
            if category is not None and category not in cats:
                continue
            if not all(word in key for word in words):
                continue
            if prefix and not key.startswith(prefix):
                inside.append(item)
            else:
                start.append(item)
        return start + inside

    def page(
        self,
        query: str | None = None,
        category: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[T]:
        found = self.search(query, category)
        return Page(found[offset : offset + limit], len(found), limit, offset)
