"""Logging set-up: every line names the download it is about, as text or as JSON lines.

The download id travels in a context variable set by the job runner, so lines logged deep in
an engine (or in yt-dlp's thread) carry it without being passed around.

Every handler haul writes through (its own, and uvicorn's once :func:`guard_handlers` ran)
writes control characters visibly (``\x1b``, see :func:`haul.core.text.escaped`): a page's
title in yt-dlp's log text, a domain in an uploaded file or a URL cannot move a terminal's
cursor, recolour the log or start a line that looks like one haul wrote.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from haul.core.text import escaped, has_controls

current_download: ContextVar[int | None] = ContextVar("current_download", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(download)s: %(message)s"
#: Libraries logged at WARNING and above only. Their info and debug lines quote whole URLs, and
#: webhook and Apprise URLs carry tokens; the database drivers' debug lines quote statement
#: parameters (client secrets, provider passwords). Even at --log-level debug, none of that is
#: printed. Alembic's plugin set-up says nothing to someone reading haul's log at its first start.
QUIET_LIBRARIES = (
    "httpx",
    "httpcore",
    "apprise",
    "aiosqlite",
    "sqlalchemy.engine",
    "psycopg",
    "alembic.runtime.plugins",
)


class DownloadContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        download_id = current_download.get()
        record.download_id = download_id
        record.download = f" [download {download_id}]" if download_id is not None else ""
        return True


def _safe(value: Any) -> Any:
    return escaped(value) if isinstance(value, str) and has_controls(value) else value


class ControlCharacters(logging.Filter):
    """Writes control characters of a record's message visibly. The arguments are escaped
    one by one (a formatter that reads them, as uvicorn's access log does, still finds them);
    a message still holding one after that (an argument whose ``str`` does) is replaced by
    its escaped text."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _safe(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_safe(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _safe(v) for k, v in record.args.items()}
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        if has_controls(message):
            record.msg, record.args = escaped(message), None
        return True


class SafeFormatter(logging.Formatter):
    """A formatter whose tracebacks keep their line feeds but show other control characters
    visibly (an exception's message can quote a page)."""

    def formatException(self, ei: Any) -> str:
        return "\n".join(escaped(line) for line in super().formatException(ei).split("\n"))


class JsonLines(SafeFormatter):
    """One JSON object per line; no library needed for a dozen fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        download_id = getattr(record, "download_id", None)
        if download_id is not None:
            entry["download_id"] = download_id
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup_logging(level: str = "info", fmt: str = "text") -> None:
    from haul.iptv.redact import RedactCredentials

    handler = logging.StreamHandler()
    handler.addFilter(DownloadContext())
    handler.addFilter(RedactCredentials())  # a stream URL quoted by any library
    handler.addFilter(ControlCharacters())
    handler.setFormatter(JsonLines() if fmt == "json" else SafeFormatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for library in QUIET_LIBRARIES:
        logging.getLogger(library).setLevel(logging.WARNING)


def guard_handlers() -> None:
    """Give every handler of every logger (a library's own, such as uvicorn's, set up after
    :func:`setup_logging`) the filter that writes control characters visibly (idempotent)."""
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, ControlCharacters) for f in handler.filters):
                handler.addFilter(ControlCharacters())
