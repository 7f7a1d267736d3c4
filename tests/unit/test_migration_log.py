"""A first start's log, where haul brings a new database up to date: one line per migration,
each saying what it brings in words, with no ``\\x0a`` where a summary spans source lines, and
no lines about Alembic's own plugins."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from haul.logsetup import setup_logging
from haul.store.migrate import MIGRATIONS_DIR, upgrade


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    kept, level = root.handlers[:], root.level
    setup_logging("info", "text")  # as `haul serve` does
    stream = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    try:
        yield stream
    finally:
        root.handlers[:] = kept
        root.setLevel(level)


def test_each_migration_is_one_readable_line(tmp_path: Path, log: io.StringIO) -> None:
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'haul.db'}")
    lines = log.getvalue().splitlines()
    steps = [line for line in lines if "Running upgrade" in line]
    assert len(steps) == len(list((MIGRATIONS_DIR / "versions").glob("0*.py")))
    assert "users the time of their last login" in log.getvalue()
    assert not [line for line in lines if "\\x0a" in line or "setup plugin" in line]
