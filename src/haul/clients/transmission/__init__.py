"""The Transmission adapter: :mod:`.wire` speaks RPC through ``transmission-rpc``,
:mod:`.mapping` translates, and :mod:`.client` is the
:class:`~haul.clients.base.DownloadClient` built from the two."""

from haul.clients.transmission.client import TransmissionClient
from haul.clients.transmission.mapping import ITEM_FIELDS, STATUS, map_status, to_item
from haul.clients.transmission.wire import MIN_RPC_VERSION, TransmissionWire

__all__ = [
    "ITEM_FIELDS",
    "MIN_RPC_VERSION",
    "STATUS",
    "TransmissionClient",
    "TransmissionWire",
    "map_status",
    "to_item",
]
