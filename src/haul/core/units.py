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
