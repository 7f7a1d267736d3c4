"""The qBittorrent adapter (Web API v2, qBittorrent 4.1 to 5.x): :mod:`.wire` speaks the Web
API through qbittorrent-api, :mod:`.mapping` translates, and :mod:`.client` is the
:class:`~haul.clients.base.DownloadClient` built from the two.
:mod:`.kind` declares it to haul's registry of client kinds."""
