"""Transmission as a kind of client: torrents, marked by a label."""

from __future__ import annotations

from haul.clients.base import DownloadClient
from haul.clients.kinds import ClientKind
from haul.core.client_specs import ClientSpec


def build(spec: ClientSpec) -> DownloadClient:
    from haul.clients.transmission.client import TransmissionClient

    return TransmissionClient(
        spec.url,
        spec.username,
        spec.secret,
        name=spec.name,
        label=spec.category,
        timeout=spec.timeout,
    )


KIND = ClientKind(
    name="transmission",
    label="Transmission",
    example_url="http://127.0.0.1:9091/transmission/rpc",
    takes=frozenset({"torrent"}),
    build=build,
    capabilities=frozenset({"closable", "lists_files", "limits_speed", "limits_item_speed"}),
    marker="label",
)
