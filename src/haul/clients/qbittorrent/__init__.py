"""The qBittorrent adapter (Web API v2, qBittorrent 4.1 to 5.x): :mod:`.wire` speaks the Web
API through qbittorrent-api, :mod:`.mapping` translates, and :mod:`.client` is the
:class:`~haul.clients.base.DownloadClient` built from the two."""

from haul.clients.qbittorrent.client import QBittorrentClient
from haul.clients.qbittorrent.mapping import STATES, map_state, to_item
from haul.clients.qbittorrent.wire import QbitWire

__all__ = ["STATES", "QBittorrentClient", "QbitWire", "map_state", "to_item"]
