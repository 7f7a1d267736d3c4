"""One way to write a size, in the pages, their script and the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import haul.web.ui
from haul.cli.render import size
from haul.core.units import duration_text, number_text, size_text
from haul.web.ui.render import human_size


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.0 KB"),
        (5_000_000, "5.0 MB"),
        (4_812_345, "4.8 MB"),
        (1_073_741_824, "1.1 GB"),
        (3.5e15, "3500.0 TB"),
    ],
)
def test_sizes_are_decimal(n: float, text: str) -> None:
    assert size_text(n) == text
    assert size(n) == text == human_size(n)  # the CLI and the pages say the same


def test_the_pages_script_counts_the_same_way() -> None:
    script = (Path(haul.web.ui.__file__).parent / "static" / "haul.js").read_text()
    assert re.search(r'\["B", "KB", "MB", "GB", "TB"\]', script)
    assert "n /= 1000" in script and "1024" not in script


def test_nothing_is_written_for_no_size() -> None:
    assert size(None) == "-" and human_size(None) == ""


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (31 * 86400, "31 days"),
        (86400, "1 day"),
        (36 * 3600, "36 hours"),
        (600, "10 minutes"),
        (90, "90 seconds"),
        (8.64, "8.64 seconds"),
        (1, "1 second"),
        (36500 * 86400, "36500 days"),
    ],
)
def test_durations_are_said_in_words_never_in_exponents(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_numbers_are_plain() -> None:
    assert [number_text(n) for n in (2678400.0, 0.5, 3, 1e-4)] == ["2678400", "0.5", "3", "0.0001"]
