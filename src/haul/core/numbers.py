"""Numbers from loosely typed answers (pure): ids and counts that arrive as ints, integral
floats or strings of digits, as JSON from IPTV panels and stored external ids do."""

from __future__ import annotations

from typing import Any


def as_int(value: Any) -> int | None:
    """An int from an int, an integral float or a string of digits; None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("+", "-"):
            sign, digits = text[0], text[1:]
        else:
            sign, digits = "", text
        if digits.isdigit() and digits.isascii():
            return int(sign + digits)
        try:
            number = float(text)
        except ValueError:
            return None
        return int(number) if number.is_integer() else None
    return None


def whole_in(value: Any, low: int, high: int) -> int | None:
    """A whole number from ``low`` to ``high`` as a person or a form gives one: an int or a
    string of ASCII digits (spaces around it allowed); None for anything else (a bool, a
    fraction, a number outside the range)."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def as_id(value: Any) -> int | None:
    """A non-negative id, as :func:`as_int` reads it; None for anything else."""
    number = as_int(value)
    return number if number is not None and number >= 0 else None
