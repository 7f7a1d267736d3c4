"""A playlist page becomes a parent download whose entries are queued as its children."""

from __future__ import annotations

from sqlalchemy import select

from haul.core.sources import _digest
from haul.core.status import Phase
from haul.engine.context import JobContext
from haul.engine.resolve import Resolution
from haul.store import downloads as q
from haul.store.models import Download


async def expand(ctx: JobContext, row: Download, resolution: Resolution) -> None:
    async with ctx.db.write() as s:
        parent = await s.get(Download, row.id)
        assert parent is not None
        parent.phase = Phase.PARENT.value
        parent.title = parent.title or resolution.title
        parent.lease_worker_id = None
        parent.meta = {
            **parent.meta,
            "resolved": {"kind": "playlist", "count": len(resolution.entries)},
        }
        for entry in resolution.entries:
            own_url = (
                entry.url if entry.url and entry.url.startswith(("http://", "https://")) else None
            )
            child_url = own_url or row.source_url
            s.add(
                Download(
                    owner_key=row.owner_key,
                    user_id=row.user_id,
                    session_id=row.session_id,
                    ip=row.ip,
                    source_url=child_url,
                    dedupe_key=_digest(f"{row.source_url}#{entry.index}"),
                    title=entry.title,
                    profile_id=row.profile_id,
                    parent_id=row.id,
                    playlist_index=None if own_url else entry.index,
                    queue_rank=await q.queue_rank_for(s, row.owner_key),
                    phase=Phase.QUEUED.value,
                    meta={"source_kind": "url"},
                    files=[],
                )
            )
            await s.flush()
        for child in (
            await s.scalars(select(Download.id).where(Download.parent_id == row.id))
        ).all():
            q.add_event(s, child, "created", parent=row.id)
        q.add_event(s, row.id, "expanded", f"Playlist with {len(resolution.entries)} entries")
    await ctx.publish(parent)
