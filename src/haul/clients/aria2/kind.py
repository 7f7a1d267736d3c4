"""aria2 as a kind of client: direct files and torrents, after a dedicated torrent client."""

from __future__ import annotations

from haul.clients.base import DownloadClient
from haul.clients.kinds import ClientKind
from haul.core.client_specs import ClientSpec


def build(spec: ClientSpec) -> DownloadClient:
    from haul.clients.aria2.client import Aria2Client

    return Aria2Client(spec.url, spec.secret, name=spec.name, timeout=spec.timeout)


KIND = ClientKind(
    name="aria2",
    label="aria2",
    example_url="http://127.0.0.1:6800/jsonrpc",
    takes=frozenset({"file", "torrent"}),
    build=build,
    capabilities=frozenset({"closable", "judges_failures", "limits_speed", "limits_item_speed"}),
    rank=1,
    preferable_for_files=True,
    username=False,
    auth_option="--rpc-secret",
)
