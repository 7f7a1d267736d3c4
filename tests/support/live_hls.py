"""A live HLS channel on 127.0.0.1 for tests: a media playlist without ``#EXT-X-ENDLIST``
that reveals one more segment every ``interval`` seconds.

The segments are real MPEG-TS made by ffmpeg at test time (:func:`tests.support.media.make_hls`,
2 s each). :meth:`LiveChannel.end` adds ``#EXT-X-ENDLIST`` (the broadcast ends); ``end_after``
does so by itself once that many segments are out. :attr:`LiveChannel.served` counts the
segments each sent whole, so a test knows how much media went out.
"""

from __future__ import annotations

import http.server
import re
import threading
import time
from pathlib import Path
from typing import Any

from tests.support.media import page_with_video

SEGMENT_SECONDS = 2.0
HLS_TYPE = "application/vnd.apple.mpegurl"


class LiveChannel:
    def __init__(
        self,
        folder: Path,
        *,
        interval: float = 1.0,
        end_after: int | None = None,
        cookie: str | None = None,
    ):
        self.segments = sorted(folder.glob("seg*.ts"), key=lambda p: int(re.sub(r"\D", "", p.stem)))
        assert self.segments, f"no segments in {folder}"
        self.interval = interval
        self.end_after = end_after
        #: A ``Cookie`` header the stream's playlist and segments need (403 without it).
        self.cookie = cookie
        self.started = time.monotonic()
        self._ended = False
        self._down_until = 0.0
        self._closed = False
        self._lock = threading.Lock()
        self.served: set[int] = set()
        self.playlist_reads = 0
        channel = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                channel._serve(self)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/live/index.m3u8"

    @property
    def page_url(self) -> str:
        """A web page whose ``<video>`` plays the channel (yt-dlp finds the stream)."""
        return f"http://127.0.0.1:{self.port}/watch"

    def revealed(self) -> int:
        count = 1 + int((time.monotonic() - self.started) / self.interval)
        count = min(count, len(self.segments))
        if self.end_after is not None:
            count = min(count, self.end_after)
        return count

    def ended(self) -> bool:
        return self._ended or (self.end_after is not None and self.revealed() >= self.end_after)

    def outage(self, seconds: float) -> None:
        """Answer every request with 503 for ``seconds`` (a hiccup of the server)."""
        with self._lock:
            self._down_until = time.monotonic() + seconds

    def end(self) -> None:
        with self._lock:
            self._ended = True

    def playlist(self) -> str:
        count = self.revealed()
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{int(SEGMENT_SECONDS)}",
            "#EXT-X-MEDIA-SEQUENCE:0",
        ]
        for index in range(count):
            lines += [f"#EXTINF:{SEGMENT_SECONDS:.3f},", f"seg{index}.ts"]
        if self.ended():
            lines.append("#EXT-X-ENDLIST")
        return "\n".join(lines) + "\n"

    def _serve(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        if self._closed:  # gone: a kept-alive connection is hung up on, unanswered
            handler.close_connection = True
            return
        if time.monotonic() < self._down_until:
            handler.send_response(503)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if self.cookie is not None and handler.headers.get("Cookie") != self.cookie:
            handler.send_response(403)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if path == "/watch":
            body = page_with_video(self.url, title="Live channel", content_type=HLS_TYPE).encode()
            kind = "text/html; charset=utf-8"
        elif path == "/live/index.m3u8":
            with self._lock:
                self.playlist_reads += 1
            body = self.playlist().encode()
            kind = HLS_TYPE
        else:
            match = re.fullmatch(r"/live/seg(\d+)\.ts", path)
            index = int(match.group(1)) if match else -1
            if not 0 <= index < self.revealed():
                handler.send_response(404)
                handler.send_header("Content-Length", "0")
                handler.end_headers()
                return
            body = self.segments[index].read_bytes()
            kind = "video/mp2t"
        handler.send_response(200)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Cache-Control", "no-cache")
        handler.end_headers()
        handler.wfile.write(body)
        if kind == "video/mp2t":
            with self._lock:
                self.served.add(index)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> LiveChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
