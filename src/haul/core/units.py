"""Sizes as people read them, one way everywhere (pages, their script, the CLI): decimal
units, as HTTP servers, browsers and disk makers count (5 MB = 5,000,000 bytes)."""

from __future__ import annotations

UNITS = ("B", "KB", "MB", "GB", "TB")


def size_text(n: float) -> str:
    """``n`` bytes as ``"512 B"``, ``"4.8 MB"``, ``"1.2 TB"``."""
    for unit in UNITS:
        if abs(n) < 1000 or unit == UNITS[-1]:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable: the last unit returns")


def number_text(n: float) -> str:
    """``n`` written plainly: ``"2678400"``, ``"0.5"``, never ``"2.6784e+06"``."""
    if float(n).is_integer():
        return str(int(n))
    return f"{n:.6f}".rstrip("0").rstrip(".")


_DURATION_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60))


def duration_text(seconds: float) -> str:
    """A span of time as a person says it: ``"31 days"``, ``"12 hours"``, ``"90 seconds"``.

    The largest unit that holds it whole (``"36 hours"``, not ``"1.5 days"``), else seconds
    (``"700 seconds"``, at most two decimals).
    """
    for unit, size in _DURATION_UNITS:
        if seconds >= size and seconds % size == 0:
            return _counted(seconds // size, unit)
    return _counted(round(seconds, 2), "second")


def _counted(amount: float, unit: str) -> str:
    return f"{number_text(amount)} {unit}" + ("" if amount == 1 else "s")
