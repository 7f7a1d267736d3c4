"""Control characters never reach the log raw: yt-dlp's text (a page's title in it), an
argument, a traceback, a library's own handler: each is written visibly (``\\x1b``)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from haul.core.text import escaped, printable
from haul.engine.ytdlp_session import Logger
from haul.logsetup import ControlCharacters, guard_handlers, setup_logging

HOSTILE = "ansi\x1b[2J\x1b[31mRED\x1b[0m\r\nFAKE line \x9b1m\x07\x00end"


@pytest.fixture
def root_handlers() -> Iterator[None]:
    root = logging.getLogger()
    kept, level = root.handlers[:], root.level
    yield
    root.handlers[:] = kept
    root.setLevel(level)


def written(fmt: str) -> str:
    """What haul's log handler writes (set up as ``haul serve`` does) for hostile lines."""
    setup_logging("debug", fmt)
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    Logger("[formats]").debug(f"[generic] {HOSTILE}: Downloading webpage")
    logging.getLogger("haul.service.cookies").info("cookies: uploaded for %s", HOSTILE)
    logging.getLogger("haul.test").info({"dict": HOSTILE})
    try:
        raise ValueError(HOSTILE)
    except ValueError:
        logging.getLogger("haul.test").exception("failed: %s", "x")
    return stream.getvalue()


def no_raw_controls(text: str) -> None:
    assert not [c for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F]


@pytest.mark.usefixtures("root_handlers")
def test_text_lines_show_control_characters_visibly() -> None:
    out = written("text")
    no_raw_controls(out)
    assert "[formats] [generic] ansi\\x1b[2J\\x1b[31mRED\\x1b[0m\\x0d\\x0aFAKE line" in out
    assert "\\x9b1m\\x07\\x00end" in out
    # A message is one line: what it quotes cannot start a line of its own (a traceback
    # keeps its line feeds, those of the exception's text included).
    messages = out.split("Traceback (most recent call last):")[0]
    assert not any(line.startswith("FAKE") for line in messages.splitlines())
    assert "cookies: uploaded for ansi\\x1b[2J" in out
    # The traceback keeps its lines; the page's text in it is escaped.
    assert "Traceback (most recent call last):" in out
    assert "ValueError: ansi\\x1b[2J" in out


@pytest.mark.usefixtures("root_handlers")
def test_json_lines_hold_the_escaped_text() -> None:
    out = written("json")
    no_raw_controls(out)
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0]["message"].startswith("[formats] [generic] ansi\\x1b[2J")
    assert "\x1b" not in json.dumps(lines, ensure_ascii=False)


def test_a_librarys_own_handler_is_guarded_and_its_arguments_stay_apart() -> None:
    """uvicorn's access log formats from the record's arguments: they stay a tuple."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s|%(args)s"))
    logger = logging.getLogger("haul.test.library")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        guard_handlers()
        guard_handlers()  # twice: one filter
        assert sum(isinstance(f, ControlCharacters) for f in handler.filters) == 1
        logger.info('%s - "%s %s"', "127.0.0.1", "GET", "/a\x1b[31mb")
        out = stream.getvalue()
        no_raw_controls(out)
        assert 'GET /a\\x1b[31mb"' in out
        assert "('127.0.0.1', 'GET', '/a\\\\x1b[31mb')" in out
    finally:
        logger.handlers[:] = []


def test_escaped_and_printable() -> None:
    assert escaped("a\tb\x1bc\x7f\x85") == "a\tb\\x1bc\\x7f\\x85"
    assert escaped("plain ünïcode ✓") == "plain ünïcode ✓"
    assert printable("ansi\x1b[2J\x1b[31mRED\x1b[0m") == "ansiRED"
    assert printable("two\nlines\tand\x00nul") == "two lines and nul"
    assert printable("  Song  \x1b[31mred ") == "Song red"
