"""Named queries of media file records read when a download's data is deleted."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from haul.store.models import MediaFile


@dataclass(frozen=True, slots=True)
class Recorded:
    """A download's media file record: where the file is (relative to the downloads folder,
    or absolute), where it was before an import, and whether it was filed into the library."""

    path: str
    original_path: str | None = None
    imported: bool = False


async def recorded_files(s: AsyncSession, ids: Collection[int]) -> dict[int, list[Recorded]]:
    """download id -> its media file records."""
    found: dict[int, list[Recorded]] = defaultdict(list)
    if ids:
        rows = await s.execute(
            select(
                MediaFile.download_id,
                MediaFile.path,
                MediaFile.original_path,
                MediaFile.import_mode,
            ).where(MediaFile.download_id.in_(list(ids)))
        )
        for download_id, path, original, mode in rows.all():
            if download_id is not None:
                found[download_id].append(Recorded(path, original, mode is not None))
    return found
