"""A playlist page becomes a parent download whose entries are queued as its children."""

from __future__ import annotations

from haul.core.sources import _digest
from haul.engine.resolve import Resolution
from haul.store.jobs import PlaylistEntry
from haul.store.models import Download
from haul.worker.context import JobContext


async def expand(ctx: JobContext, row: Download, resolution: Resolution) -> None:
    entries = []
    for entry in resolution.entries:
        own_url = entry.url if entry.url and entry.url.startswith(("http://", "https://")) else None
        entries.append(
            PlaylistEntry(
                source_url=own_url or row.source_url,
                dedupe_key=_digest(f"{row.source_url}#{entry.index}"),
                title=entry.title,
                playlist_index=None if own_url else entry.index,
            )
        )
    parent = await ctx.jobs.expand(row.id, resolution.title, entries)
    await ctx.publish(parent)
