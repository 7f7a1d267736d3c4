"""What the pages' forms share: the notes a form gathers about what was typed, each beside its
field (``"form"`` for the form as a whole), whole numbers read from text fields, and a service
call whose refusal becomes a note instead of an error page."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from haul.errors import HaulError

T = TypeVar("T")


@dataclass
class PageForm:
    """A form as the person filled it in (the subclass's fields), with the problems found."""

    errors: dict[str, list[str]] = field(default_factory=dict, kw_only=True)

    def error(self, where: str, message: str) -> None:
        """Note a problem beside the field ``where`` (a sentence already there is not repeated)."""
        known = self.errors.setdefault(where, [])
        if message not in known:
            known.append(message)


def whole_number(form: PageForm, name: str, what: str, low: int, high: int) -> int | None:
    """The number typed in the field ``name``: None when it is blank, or when it is not a whole
    number from ``low`` to ``high`` (then noted beside the field)."""
    text = str(getattr(form, name)).strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        form.error(name, f"{what} is a whole number from {low} to {high}; not {text!r}.")
        return None
    return int(text)


def same_site_path(target: str, default: str = "/") -> str:
    """Where a form goes on to: ``target`` when it is a path of this site, else ``default``.
    Never another site: not ``//host``, nor ``/\\host`` or a path with a tab or a line break,
    which browsers also read as ``//host``."""
    if not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return default
    return target


async def attempt(form: PageForm, call: Awaitable[T]) -> T | None:
    """What ``call`` answers; or None when haul refuses it, with the reason noted at the top of
    the form (the page is then drawn again with what was typed)."""
    try:
        return await call
    except HaulError as exc:
        form.error("form", exc.message)
        return None
