"""Logging set-up: every line names the download it is about, as text or as JSON lines.

The download id travels in a context variable set by the job runner, so lines logged deep in
an engine (or in yt-dlp's thread) carry it without being passed around.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

current_download: ContextVar[int | None] = ContextVar("current_download", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(download)s: %(message)s"
#: Libraries logged at WARNING and above only. Their info and debug lines quote whole URLs, and
#: webhook and Apprise URLs carry tokens; the database drivers' debug lines quote statement
#: parameters (client secrets, provider passwords). Even at --log-level debug, none of that is
#: printed.
QUIET_LIBRARIES = ("httpx", "httpcore", "apprise", "aiosqlite", "sqlalchemy.engine", "psycopg")


class DownloadContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        download_id = current_download.get()
        record.download_id = download_id
        record.download = f" [download {download_id}]" if download_id is not None else ""
        return True


class JsonLines(logging.Formatter):
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
    handler.setFormatter(JsonLines() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for library in QUIET_LIBRARIES:
        logging.getLogger(library).setLevel(logging.WARNING)
