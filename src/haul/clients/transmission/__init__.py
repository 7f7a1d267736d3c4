"""The Transmission adapter: :mod:`.wire` speaks RPC through ``transmission-rpc``,
:mod:`.mapping` translates, and :mod:`.client` is the
:class:`~haul.clients.base.DownloadClient` built from the two.
:mod:`.kind` declares it to haul's registry of client kinds."""
