"""qBittorrent as a kind of client: torrents, marked by a category."""

from __future__ import annotations

from haul.clients.base import DownloadClient
from haul.clients.kinds import ClientKind
from haul.core.client_specs import ClientSpec


def build(spec: ClientSpec) -> DownloadClient:
    from haul.clients.qbittorrent.client import QBittorrentClient

    return QBittorrentClient(
        spec.url,
        spec.username,
        spec.secret,
        name=spec.name,
        category=spec.category,
        timeout=spec.timeout,
    )


KIND = ClientKind(
    name="qbittorrent",
    label="qBittorrent",
    example_url="http://127.0.0.1:8080",
    takes=frozenset({"torrent"}),
    build=build,
    capabilities=frozenset({"closable", "lists_files", "limits_speed", "limits_item_speed"}),
    marker="category",
)
