"""A haul with something in every state, filled through its API: what the screenshots show and
what a page test can start from.

    server = start_haul_web(tmp / "web", **SHOWCASE_ENV)
    with Origin() as origin:
        shown = fill(server, origin, tmp / "files")
        page.goto(f"/downloads/{shown.downloading}")

Two downloads, a third or more done, crawl from the throttled origin for minutes (so their
bars move while pages are looked at), one is paused part-way, one failed on a 404, one waits
for a slot, and a film is finished and filed into the library with its MP4 made by ffmpeg.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import media
from tests.support.origin import Origin
from tests.support.server import HaulServer
from tests.support.wait import wait_for

#: Two transfers at once, so the fifth download waits in the queue; a 404 fails at once.
SHOWCASE_ENV = {"HAUL_LIMIT_GLOBAL": "2", "HAUL_RETRY_MAX_ATTEMPTS": "0"}

#: The size of the big files, and the speed at which they are brought part-way: a resumed one
#: at 250 kB/s still runs three minutes later.
_SIZE = 120 << 20
_FAST = 48 << 20


@dataclass(frozen=True)
class Showcase:
    """The ids of what :func:`fill` made."""

    completed: int  # the film's download, finished and imported
    downloading: tuple[int, ...]  # two, slow, with progress
    paused: int  # stopped at about 40 %
    failed: int  # 404
    queued: int  # waiting for one of the two slots
    media: int  # the film (media item) with its file
    client: str | None  # the name of the configured external client, if any


def fill(
    server: HaulServer,
    origin: Origin,
    workdir: Path,
    *,
    client: dict[str, Any] | None = None,
    timeout: float = 60.0,
) -> Showcase:
    """Fill ``server`` (started with :data:`SHOWCASE_ENV`) with files served by ``origin``;
    ``workdir`` receives the made files. ``client``: a body for ``POST /clients``."""
    workdir.mkdir(parents=True, exist_ok=True)
    film = _post(server, "/media", {"kind": "movie", "title": "Haul Test Clip", "year": 2024})

    clip = media.make_mp4(workdir / "haul-test-clip.mp4")
    origin.add_file("/videos/haul-test-clip.mp4", clip, content_type="video/mp4")
    poster = media.make_jpeg(workdir / "haul-test-clip.jpg")
    origin.add_file("/videos/haul-test-clip.jpg", poster, content_type="image/jpeg")
    watch = media.page_with_video(
        origin.url("/videos/haul-test-clip.mp4"),
        poster_url=origin.url("/videos/haul-test-clip.jpg"),
    )
    origin.add_page("/watch/haul-test-clip", watch)
    completed = _add(server, origin.url("/watch/haul-test-clip"), media_id=film["id"])
    _wait_status(server, completed, "completed", timeout)
    wait_for(lambda: _get(server, f"/media/{film['id']}")["files"], timeout, what="film's file")

    origin.add_file("/releases/Night.Shift.S01E03.1080p.mkv", b"")
    origin.fault("/releases/Night.Shift.S01E03.1080p.mkv", "404")
    failed = _add(server, origin.url("/releases/Night.Shift.S01E03.1080p.mkv"))
    _wait_status(server, failed, "failed", timeout)

    paused = _partway(
        server, origin, workdir, "/iso/debian-12.7.0-amd64-netinst.iso", 0.4, None, timeout
    )
    downloading = (
        _partway(
            server, origin, workdir, "/films/Big.Buck.Bunny.2008.2160p.mkv", 0.3, 900_000, timeout
        ),
        _partway(
            server, origin, workdir, "/podcasts/episode-112-final-cut.mp3", 0.6, 250_000, timeout
        ),
    )
    queued = _add(server, _serve(origin, workdir, "/films/Sintel.2010.1080p.mkv", _SIZE))
    _wait_status(server, queued, "queued", timeout)

    name = None
    if client is not None:
        name = _post(server, "/clients", client)["name"]
    return Showcase(completed, downloading, paused, failed, queued, film["id"], name)


def _partway(
    server: HaulServer,
    origin: Origin,
    workdir: Path,
    path: str,
    fraction: float,
    rate: int | None,
    timeout: float,
) -> int:
    """A download brought quickly to ``fraction`` of its size and paused; resumed (it asks
    for the rest with a Range request) at ``rate`` bytes per second unless ``rate`` is None."""
    url = _serve(origin, workdir, path, _SIZE)
    origin.throttle(path, _FAST)
    download_id = _add(server, url)
    wait_for(lambda: _fraction(server, download_id) >= fraction, timeout, what=f"{path} part-way")
    _post(server, f"/downloads/{download_id}/pause", None)
    _wait_status(server, download_id, "paused", timeout)
    if rate is not None:
        origin.throttle(path, rate)
        _post(server, f"/downloads/{download_id}/resume", None)
        _wait_status(server, download_id, "downloading", timeout)
    return download_id


def _serve(origin: Origin, workdir: Path, path: str, size: int) -> str:
    """Serve ``size`` zero bytes from a sparse file."""
    file = workdir / path.rsplit("/", 1)[1]
    with file.open("wb") as handle:
        handle.truncate(size)
    origin.add_file(path, file)
    return origin.url(path)


def _add(server: HaulServer, url: str, **extra: Any) -> int:
    created: int = _post(server, "/downloads", {"url": url, **extra})["id"]
    return created


def _fraction(server: HaulServer, download_id: int) -> float:
    item = _get(server, f"/downloads/{download_id}")
    done, total = item["downloaded_bytes"] or 0, item["total_bytes"] or 0
    return done / total if total else 0.0


def _wait_status(server: HaulServer, download_id: int, status: str, timeout: float) -> None:
    def reached() -> bool:
        item = _get(server, f"/downloads/{download_id}")
        if item["status"] == "failed" and status != "failed":
            raise RuntimeError(f"download {download_id} failed: {item['error']}")
        return bool(item["status"] == status)

    wait_for(reached, timeout, what=f"download {download_id} to be {status}")


def _get(server: HaulServer, path: str) -> Any:
    response = server.api("GET", path)
    response.raise_for_status()
    return response.json()


def _post(server: HaulServer, path: str, body: dict[str, Any] | None) -> Any:
    response = server.api("POST", path, json=body)
    if response.status_code >= 400:
        raise RuntimeError(f"POST {path} answered {response.status_code}: {response.text}")
    return response.json()
