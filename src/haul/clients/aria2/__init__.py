"""The aria2 adapter: :mod:`.wire` speaks JSON-RPC, :mod:`.mapping` translates, and
:mod:`.client` is the :class:`~haul.clients.base.DownloadClient` built from the two."""

from haul.clients.aria2.client import Aria2Client, gid_for
from haul.clients.aria2.mapping import RETRYABLE_ERROR_CODES, STATUS_TABLE, is_retryable, to_item
from haul.clients.aria2.wire import Aria2RpcError, Aria2Wire

__all__ = [
    "RETRYABLE_ERROR_CODES",
    "STATUS_TABLE",
    "Aria2Client",
    "Aria2RpcError",
    "Aria2Wire",
    "gid_for",
    "is_retryable",
    "to_item",
]
