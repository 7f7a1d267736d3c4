"""A test IPTV panel speaking the Xtream Codes API, with real media files behind its streams.

It is an :class:`~tests.support.origin.Origin` (so streams get HTTP Range, throttling, the
request log and the origin's faults) that also answers ``/player_api.php``: the account,
VOD categories, streams and details, series categories, series and their details, over a small
catalogue written the way real panels write it (ids as strings or ints, numbers as strings,
``""`` for missing values, ``episodes`` keyed by season string or as a list, ``info: []``,
years inside names, ``tmdb`` or ``tmdb_id``). Wrong credentials get ``{"user_info":
{"auth": 0}}`` from the API and 401 from a stream, like real panels.

Streams are served at ``/movie/{user}/{pass}/{id}.{ext}`` and ``/series/{user}/{pass}/{id}.{ext}``
from clips made with ffmpeg on first request (1 s, a few dozen kB, bit-exact so checksums are
stable), one file per stream and container.

    with XtreamServer(media) as panel:
        panel.base_url                               # the panel's address for haul
        panel.set_password("new")                    # old stream URLs now get 401
        panel.set_extension("movie", 101, "mp4")     # the old .mkv URL now gets 404
        panel.fail_stream("episode", 2001, times=2)  # the next two requests get 503
        panel.fail_api(times=1, status=503)          # the next player_api.php call gets 503
        panel.add_films(50_000)                      # a big provider's catalogue
        panel.api_calls("get_vod_streams")           # how often the catalogue was fetched
        panel.stream_requests("movie", 101)          # requests for that film, any URL
        panel.file_for("movie", 101)                 # the file its current URL serves
"""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest

from tests.support import media
from tests.support.origin import Origin, RequestRecord, _Handler, _Resource

USERNAME = "haul-user"
#: Characters that must be encoded in a query string and in a path, so a client that does not
#: encode them fails; long enough that finding it in a log is never a coincidence.
PASSWORD = "s3cret pa55&w0rd=x/y"
ACCOUNT_EXPIRES = 4102444800  # 2100-01-01

VOD_CATEGORIES: list[dict[str, Any]] = [
    {"category_id": "10", "category_name": "Films", "parent_id": 0},
    {"category_id": 11, "category_name": "Documentaires", "parent_id": "0"},
]

#: Films as the panel lists them; ``container_extension`` is filled in from the server's state.
FILMS: list[dict[str, Any]] = [
    {
        "num": 1,
        "name": "The Matrix (1999)",
        "stream_type": "movie",
        "stream_id": 101,
        "stream_icon": "http://img.example/matrix.jpg",
        "rating": "8.7",
        "rating_5based": 4.35,
        "added": "1600000000",
        "category_id": "10",
        "custom_sid": "",
        "direct_source": "",
        "tmdb": "603",
    },
    {
        "num": 2,
        "name": "Amélie (2001)",
        "stream_type": "movie",
        "stream_id": "102",
        "stream_icon": "",
        "rating": "",
        "added": 1600000100,
        "category_id": 10,
        "year": "2001",
        "tmdb_id": 194,
    },
    {
        "num": 3,
        "name": "Spider-Man: Into the Spider-Verse",
        "stream_type": "movie",
        "stream_id": 103,
        "rating": 8.4,
        "added": "",
        "category_id": "10",
        "category_ids": [10, 11],
        "year": "2018",
        "tmdb": "",
    },
    {
        "num": 4,
        "name": "Planète Océan [2012]",
        "stream_type": "movie",
        "stream_id": 104,
        "rating": "0",
        "added": "1600000300",
        "category_id": "11",
        "tmdb": "0",
    },
    {
        "num": 5,
        "name": "Le Fabuleux Destin d'Amélie Poulain - 2001",
        "stream_type": "movie",
        "stream_id": 105,
        "rating": "7.9",
        "added": "1600000400",
        "category_id": "10",
    },
]
FILM_EXTENSIONS = {101: "mkv", 102: "mp4", 103: "mkv", 104: "mp4", 105: "mkv"}
FILM_DETAILS: dict[int, dict[str, Any]] = {
    101: {
        "tmdb_id": "603",
        "name": "The Matrix",
        "o_name": "The Matrix",
        "releasedate": "1999-03-30",
        "youtube_trailer": "vKQi3bBA1y8",
        "director": "Lana Wachowski, Lilly Wachowski",
        "plot": "A hacker learns what the world really is.",
        "duration_secs": 8160,
        "duration": "02:16:00",
        "rating": "8.7",
        "backdrop_path": ["http://img.example/matrix-wide.jpg"],
    },
}

SERIES_CATEGORIES: list[dict[str, Any]] = [
    {"category_id": "20", "category_name": "Drame", "parent_id": 0},
    {"category_id": "21", "category_name": "Comédie", "parent_id": 0},
]

SERIES: list[dict[str, Any]] = [
    {
        "num": 1,
        "name": "Dark (2017)",
        "series_id": 201,
        "cover": "http://img.example/dark.jpg",
        "plot": "Children go missing in a German town.",
        "genre": "Drama, Mystery",
        "releaseDate": "2017-12-01",
        "last_modified": "1600000000",
        "rating": "8.8",
        "category_id": "20",
        "tmdb": "70523",
    },
    {
        "num": 2,
        "name": "Élite",
        "series_id": "202",
        "cover": "",
        "release_date": "2018-10-05",
        "rating": 7,
        "category_id": 20,
        "category_ids": [20],
        "tmdb_id": 76669,
    },
    {
        "num": 3,
        "name": "Kaamelott (2005)",
        "series_id": 203,
        "rating": "",
        "last_modified": "",
        "category_id": "21",
    },
]


@dataclass
class _Episode:
    id: int
    season: int
    num: int
    title: str
    extension: str
    duration: int = 60


#: Episodes per series. 201: ``episodes`` keyed by season string, season 2 missing from
#: ``seasons``; 202: ``episodes`` as one flat list; 203: ``info`` is ``[]``, ids as strings.
EPISODES: dict[int, list[_Episode]] = {
    201: [
        _Episode(2001, 1, 1, "Dark - S01E01 - Secrets", "mkv", 2853),
        _Episode(2002, 1, 2, "Dark - S01E02 - Lies", "mkv", 2670),
        _Episode(2011, 2, 1, "Dark - S02E01 - Beginnings and Endings", "mp4", 3060),
    ],
    202: [
        _Episode(2101, 1, 1, "Bienvenidos", "mp4", 3000),
        _Episode(2102, 1, 2, "Élite S01E02", "mp4", 3000),
    ],
    203: [
        _Episode(2201, 1, 1, "Heat", "mkv", 210),
        _Episode(2202, 1, 2, "Les Tartes aux myrtilles", "mkv", 205),
    ],
}


class XtreamMedia:
    """Clips behind the streams, made on first request and kept for the session."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    def file(self, kind: str, ref: int, extension: str, title: str) -> Path:
        path = self.root / f"{kind}-{ref}.{extension}"
        with self._lock:
            if not path.exists():
                make = media.make_mkv if extension == "mkv" else media.make_mp4
                make(path, 1, subtitles=False, youtube_id=None, title=title)
        return path


@dataclass
class _StreamFault:
    remaining: int
    status: int


@dataclass
class _State:
    username: str = USERNAME
    password: str = PASSWORD
    extensions: dict[tuple[str, int], str] = field(default_factory=dict)
    stream_faults: dict[tuple[str, int], _StreamFault] = field(default_factory=dict)
    garbage: int = 0
    api_calls: Counter[str] = field(default_factory=Counter)
    api_queries: list[dict[str, str]] = field(default_factory=list)


class XtreamServer(Origin):
    """An Xtream Codes panel on 127.0.0.1 (see the module's docstring)."""

    def __init__(
        self, files: XtreamMedia, *, username: str = USERNAME, password: str = PASSWORD
    ) -> None:
        self.files = files
        self.films = copy.deepcopy(FILMS)
        self.series = copy.deepcopy(SERIES)
        self.episodes = copy.deepcopy(EPISODES)
        self.state = _State(username=username, password=password)
        self.state.extensions.update({("movie", k): v for k, v in FILM_EXTENSIONS.items()})
        for episodes in self.episodes.values():
            for e in episodes:
                self.state.extensions[("episode", e.id)] = e.extension
        super().__init__()

    # -- knobs -----------------------------------------------------------------------------

    @property
    def username(self) -> str:
        return self.state.username

    @property
    def password(self) -> str:
        return self.state.password

    def set_password(self, password: str) -> None:
        """From now on only this password works (API: auth 0; streams: 401)."""
        with self._lock:
            self.state.password = password

    def set_extension(self, kind: str, ref: int, extension: str) -> None:
        """The stream's container changes: the API says so and only that URL serves it."""
        with self._lock:
            self.state.extensions[(kind, ref)] = extension

    def extension(self, kind: str, ref: int) -> str:
        with self._lock:
            return self.state.extensions[(kind, ref)]

    def add_films(self, count: int, *, first_id: int = 100_000) -> None:
        """``count`` more films (a big provider's catalogue), named ``Film N (year)``, with
        every tenth one's name accented (``Fîlm N``)."""
        with self._lock:
            for n in range(count):
                sid = first_id + n
                name = f"{'Fîlm' if n % 10 == 0 else 'Film'} {n} ({1950 + n % 70})"
                self.films.append(
                    {"stream_id": sid, "name": name, "category_id": "10", "rating": "6.1"}
                )
                self.state.extensions[("movie", sid)] = "mkv"

    def fail_stream(self, kind: str, ref: int, times: int = 1, status: int = 503) -> None:
        """The next ``times`` requests for that stream (any URL of it) get ``status``."""
        with self._lock:
            self.state.stream_faults[(kind, ref)] = _StreamFault(times, status)

    def fail_api(self, times: int | None = 1, status: int = 503) -> None:
        """The next ``times`` calls of ``player_api.php`` get ``status`` (None: forever)."""
        self.fault("/player_api.php", "status", times=times, status=status)

    def answer_garbage(self, times: int = 1) -> None:
        """The next ``times`` API calls get an HTML page with status 200."""
        with self._lock:
            self.state.garbage = times

    def api_calls(self, action: str | None = None) -> int:
        """API calls answered (with valid credentials or not) for ``action`` (None: the
        account, without ``action``); ``"*"`` counts all."""
        with self._lock:
            if action == "*":
                return sum(self.state.api_calls.values())
            return self.state.api_calls[action or ""]

    def stream_requests(self, kind: str, ref: int) -> list[RequestRecord]:
        """Requests for a stream under any credentials and extension."""
        wanted = (_path_kind(kind), ref)
        return [r for r in self.requests if (_stream_key(r.path) or ())[:2] == wanted]

    def stream_path(self, kind: str, ref: int) -> str:
        """The path of the stream's current URL."""
        user, secret = quote(self.username, safe=""), quote(self.password, safe="")
        return f"/{_path_kind(kind)}/{user}/{secret}/{ref}.{self.extension(kind, ref)}"

    def file_for(self, kind: str, ref: int) -> Path:
        """The file the stream's current URL serves (made now if need be)."""
        return self.files.file(kind, ref, self.extension(kind, ref), self._title(kind, ref))

    # -- the API ---------------------------------------------------------------------------

    def answer(self, query: dict[str, str]) -> tuple[int, Any]:
        """The status and JSON of one ``player_api.php`` call."""
        with self._lock:
            self.state.api_calls[query.get("action", "")] += 1
            self.state.api_queries.append(dict(query))
            ok = (query.get("username"), query.get("password")) == (
                self.state.username,
                self.state.password,
            )
        if not ok:
            return 200, {"user_info": {"auth": 0}}
        action = query.get("action")
        category = query.get("category_id")
        if action is None:
            return 200, self._account()
        if action == "get_vod_categories":
            return 200, VOD_CATEGORIES
        if action == "get_series_categories":
            return 200, SERIES_CATEGORIES
        if action == "get_vod_streams":
            return 200, [self._film(f) for f in self.films if _in(f, category)]
        if action == "get_series":
            return 200, [s for s in self.series if _in(s, category)]
        if action == "get_vod_info":
            return 200, self._vod_info(query.get("vod_id", ""))
        if action == "get_series_info":
            return 200, self._series_info(query.get("series_id", ""))
        return 200, []

    def _account(self) -> dict[str, Any]:
        return {
            "user_info": {
                "username": self.state.username,
                "password": self.state.password,
                "message": "Welcome to the haul test panel",
                "auth": 1,
                "status": "Active",
                "exp_date": str(ACCOUNT_EXPIRES),
                "is_trial": "0",
                "active_cons": "0",
                "created_at": "1600000000",
                "max_connections": "2",
                "allowed_output_formats": ["m3u8", "ts"],
            },
            "server_info": {
                "url": "127.0.0.1",
                "port": str(self.port),
                "https_port": "",
                "server_protocol": "http",
                "timezone": "Europe/Paris",
                "timestamp_now": int(time.time()),
            },
        }

    def _film(self, film: dict[str, Any]) -> dict[str, Any]:
        sid = int(film["stream_id"])
        return {**film, "container_extension": self.extension("movie", sid)}

    def _vod_info(self, vod_id: str) -> Any:
        film = next((f for f in self.films if str(f["stream_id"]) == vod_id), None)
        if film is None:
            return {"info": [], "movie_data": []}
        current = self._film(film)
        movie_data = {
            key: current.get(key)
            for key in ("stream_id", "name", "added", "category_id", "container_extension")
        }
        return {
            "info": FILM_DETAILS.get(int(film["stream_id"]), []),
            "movie_data": {**movie_data, "custom_sid": "", "direct_source": ""},
        }

    def _episode_json(self, e: _Episode, series_id: int) -> dict[str, Any]:
        return {
            "id": str(e.id) if series_id == 203 else e.id,
            "episode_num": e.num if series_id != 202 else str(e.num),
            "title": e.title,
            "container_extension": self.extension("episode", e.id),
            "info": {"duration_secs": e.duration, "duration": _hms(e.duration)}
            if series_id != 203
            else [],
            "custom_sid": "",
            "added": "1600000000",
            "season": e.season,
            "direct_source": "",
        }

    def _series_info(self, series_id: str) -> Any:
        found = next((s for s in self.series if str(s["series_id"]) == series_id), None)
        if found is None:
            return {"seasons": [], "info": [], "episodes": []}
        sid = int(found["series_id"])
        episodes = [self._episode_json(e, sid) for e in self.episodes.get(sid, [])]
        info: Any = {k: v for k, v in found.items() if k not in ("num", "series_id")}
        seasons: list[dict[str, Any]] = []
        grouped: Any
        if sid == 201:
            seasons = [{"season_number": 1, "name": "Staffel 1", "episode_count": "2"}]
            grouped = {}
            for e in episodes:
                grouped.setdefault(str(e["season"]), []).append(e)
        elif sid == 202:
            grouped = episodes
        else:
            info = []
            grouped = {"1": episodes}
        return {"seasons": seasons, "info": info, "episodes": grouped}

    # -- streams ---------------------------------------------------------------------------

    def _title(self, kind: str, ref: int) -> str:
        if kind == "movie":
            film = next(f for f in self.films if int(f["stream_id"]) == ref)
            return str(film["name"])
        for episodes in self.episodes.values():
            for e in episodes:
                if e.id == ref:
                    return e.title
        raise KeyError(ref)

    def stream_status(self, path: str) -> int | None:
        """An error status for a stream request, or None to serve it."""
        key = _stream_key(path)
        if key is None:
            return None
        path_kind, ref, user, secret, ext = key
        kind = "movie" if path_kind == "movie" else "episode"
        with self._lock:
            fault = self.state.stream_faults.get((kind, ref))
            if fault is not None and fault.remaining > 0:
                fault.remaining -= 1
                return fault.status
            if (user, secret) != (self.state.username, self.state.password):
                return 401
            if self.state.extensions.get((kind, ref)) != ext:
                return 404
        return None

    def _lookup(self, path: str) -> _Resource | None:
        key = _stream_key(path)
        if key is None:
            return super()._lookup(path)
        kind = "movie" if key[0] == "movie" else "episode"
        try:
            file = self.file_for(kind, key[1])
        except (KeyError, StopIteration):
            return None
        content_type = "video/x-matroska" if file.suffix == ".mkv" else "video/mp4"
        return _Resource(content_type, file=file)

    def _garbage(self) -> bool:
        with self._lock:
            if self.state.garbage > 0:
                self.state.garbage -= 1
                return True
        return False

    def _serve_connection(self, conn: socket.socket, address: tuple[str, int]) -> None:
        try:
            _XtreamHandler(conn, address, self)  # type: ignore[arg-type]
        except OSError:
            pass
        finally:
            with self._lock:
                self._connections.pop(conn, None)
                conn.close()


class _XtreamHandler(_Handler):
    server: XtreamServer  # type: ignore[assignment]

    def _respond(self, record: RequestRecord, *, head: bool) -> None:
        panel = self.server
        if record.path == "/player_api.php":
            fault = panel._take_fault(record.path, record.method)
            if fault is not None and fault.kind == "status":
                self._send_status(record, int(fault.opts.get("status", 503)), fault.opts, head=head)
                return
            delay = float(fault.opts.get("delay", 1.0)) if fault is not None else 0.0
            if fault is not None and fault.kind == "slow_headers" and panel._closing.wait(delay):
                self.close_connection = True
                return
            if panel._garbage():
                self._send(record, 200, b"<html><body>Cloudflare says hello</body></html>", head)
                return
            query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
            status, data = panel.answer(query)
            self._send(record, status, json.dumps(data).encode(), head, "application/json")
            return
        status = panel.stream_status(record.path)
        if status is not None:
            self._send_status(record, status, {}, head=head)
            return
        super()._respond(record, head=head)

    def _send(
        self,
        record: RequestRecord,
        status: int,
        body: bytes,
        head: bool,
        content_type: str = "text/html; charset=utf-8",
    ) -> None:
        record.status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)
            record.bytes_sent = len(body)


def _path_kind(kind: str) -> str:
    return "movie" if kind == "movie" else "series"


def _stream_key(path: str) -> tuple[str, int, str, str, str] | None:
    """(``movie``/``series``, id, user, password, extension) of a stream path, or None."""
    parts = path.split("/")
    if len(parts) != 5 or parts[0] != "" or parts[1] not in ("movie", "series"):
        return None
    stem, dot, ext = parts[4].partition(".")
    if not dot or not stem.isdigit():
        return None
    return parts[1], int(stem), unquote(parts[2]), unquote(parts[3]), ext


def _in(entry: dict[str, Any], category: str | None) -> bool:
    return category is None or str(entry.get("category_id")) == category


def _hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@pytest.fixture(scope="session")
def xtream_media(tmp_path_factory: pytest.TempPathFactory) -> XtreamMedia:
    """The clips behind the test panel's streams, shared by the session (read-only)."""
    return XtreamMedia(tmp_path_factory.mktemp("xtream"))


@pytest.fixture
def xtream(xtream_media: XtreamMedia) -> Iterator[XtreamServer]:
    """A fresh test IPTV panel on 127.0.0.1 (credentials ``xtream.username`` and
    ``xtream.password``), closed afterwards."""
    with XtreamServer(xtream_media) as panel:
        yield panel
