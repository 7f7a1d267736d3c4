"""A quiet, tidy ``YoutubeDL``: the session both yt-dlp entry points of haul open.

:func:`open_session` gives a ``YoutubeDL`` that reads no config file, prints nothing (its lines
go to the ``haul.engine.ytdlp.yt_dlp`` logger, tagged with the job), retries little (haul's
retry policy decides) and, when it closes, closes every HTTP response and file yt-dlp left
open while unwinding from an error or a stop. The metadata it writes (an ``.info.json``)
holds no secret: no cookie, no credential header, no proxy password (:func:`without_secrets`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from yt_dlp import YoutubeDL
from yt_dlp.downloader.common import FileDownloader
from yt_dlp.networking.exceptions import HTTPError

from haul.core.proxies import scrub

log = logging.getLogger(__name__)
#: yt-dlp's own lines (extraction steps, warnings, errors) go here.
ytdlp_log = logging.getLogger("haul.engine.ytdlp.yt_dlp")

#: Attempts yt-dlp makes by itself before giving the error to haul's retry policy.
LIBRARY_RETRIES = 1


def open_session(tag: str, *, socket_timeout: float, **params: Any) -> YoutubeDL:
    """A ``YoutubeDL`` for one extraction or download; use it as a context manager.

    ``tag`` prefixes every log line (``[download 12]``); ``params`` add to or override the
    defaults.
    """
    defaults: dict[str, Any] = {
        "ignoreconfig": True,
        "logger": Logger(tag),
        "color": "no_color",
        "noprogress": True,
        "socket_timeout": socket_timeout,
        "retries": LIBRARY_RETRIES,
        "fragment_retries": LIBRARY_RETRIES,
        "extractor_retries": LIBRARY_RETRIES,
        "file_access_retries": LIBRARY_RETRIES,
    }
    return Session({**defaults, **params})


class Session(YoutubeDL):  # type: ignore[misc]
    """YoutubeDL that closes every HTTP response and file it opened when it closes.

    yt-dlp drops some unclosed when a download unwinds: the response when a read fails, a hook
    raises (our stop) or the server answers an error it retries (5xx); the fragment
    downloader's output file when a hook raises. Each would linger until garbage collection
    and warn then. yt-dlp flushes what it wrote, so closing late loses nothing.
    """

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self._handles: list[Any] = []
        self._handles_lock = threading.Lock()

    def urlopen(self, req: Any) -> Any:
        try:
            response = super().urlopen(req)
        except HTTPError as exc:  # its response holds the connection too
            self.track(exc.response)
            raise
        self.track(response)
        return response

    def sanitize_info(self, info_dict: Any, remove_private_keys: bool = False) -> Any:
        """yt-dlp's copy of an info dict for JSON, without secrets: yt-dlp writes each
        ``.info.json`` (and the one embedded in a file) from this copy."""
        clean = super().sanitize_info(info_dict, remove_private_keys)
        return without_secrets(clean, self.params.get("proxy"))

    def track(self, handle: Any) -> None:
        """Close ``handle`` (a response or a file) at the latest when this instance closes."""
        if handle is None:
            return
        with self._handles_lock:
            self._handles = [h for h in self._handles if not h.closed]
            self._handles.append(handle)

    def close(self) -> None:
        with self._handles_lock:
            handles, self._handles = self._handles, []
        for handle in handles:
            try:
                handle.close()
            except Exception:  # a broken connection may fail to close; it is gone either way
                log.debug("closing a yt-dlp handle failed", exc_info=True)
        super().close()


#: Request headers that carry a credential, lower case.
SECRET_HEADERS = frozenset({"cookie", "authorization", "proxy-authorization"})


def without_secrets(value: Any, proxy: str | None = None) -> Any:
    """``value`` (an info dict as yt-dlp writes it to JSON) without what would let someone
    act as the user: every ``cookies`` field (yt-dlp puts the site's cookies into each
    format), every credential header in an ``http_headers``, the ``proxy``'s user name and
    password in any text; at any depth (formats, requested formats, thumbnails, entries).
    """
    if isinstance(value, dict):
        clean: dict[Any, Any] = {}
        for key, item in value.items():
            if key == "cookies":
                continue
            if key == "http_headers" and isinstance(item, dict):
                item = {k: v for k, v in item.items() if str(k).lower() not in SECRET_HEADERS}
            clean[key] = without_secrets(item, proxy)
        return clean
    if isinstance(value, list | tuple):
        return [without_secrets(item, proxy) for item in value]
    if isinstance(value, str):
        return scrub(value, proxy)
    return value


def _track_downloader_files() -> None:
    """Let each downloader report the files it opens to the :class:`Session` that owns it."""
    original = FileDownloader.sanitize_open
    if getattr(original, "haul_tracked", False):
        return

    def sanitize_open(fd: Any, filename: str, open_mode: str) -> Any:
        stream, name = original(fd, filename, open_mode)
        owner = getattr(fd, "ydl", None)
        if isinstance(owner, Session) and filename != "-":
            owner.track(stream)
        return stream, name

    sanitize_open.haul_tracked = True  # type: ignore[attr-defined]
    FileDownloader.sanitize_open = sanitize_open


_track_downloader_files()


class Logger:
    """yt-dlp's logger protocol, routed to Python logging and tagged with the download id."""

    def __init__(self, tag: str) -> None:
        self._log = ytdlp_log
        self._tag = tag

    def debug(self, msg: str) -> None:
        # yt-dlp sends both its debug lines ("[debug] ...") and its screen lines here.
        level = logging.DEBUG if msg.startswith("[debug] ") else logging.INFO
        self._log.log(level, "%s %s", self._tag, msg)

    def info(self, msg: str) -> None:
        self._log.info("%s %s", self._tag, msg)

    def warning(self, msg: str) -> None:
        # Every plain web page goes through the generic extractor; for haul that is routine.
        routine = "Falling back on generic information extractor" in msg
        self._log.log(logging.INFO if routine else logging.WARNING, "%s %s", self._tag, msg)

    def error(self, msg: str) -> None:
        self._log.error("%s %s", self._tag, msg)
