"""Named queries on the library's media items, the downloads for them and their files."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from haul.core.status import Phase
from haul.store.models import Download, MediaFile, MediaItem


async def of_kind(
    s: AsyncSession, kind: str, owner_key: str, parent_id: int | None
) -> Sequence[MediaItem]:
    """The owner's items of ``kind`` (under ``parent_id`` when given)."""
    query = select(MediaItem).where(MediaItem.kind == kind, MediaItem.owner_key == owner_key)
    if parent_id is not None:
        query = query.where(MediaItem.parent_id == parent_id)
    return (await s.scalars(query)).all()


async def page(
    s: AsyncSession,
    *,
    owner_key: str | None,
    kind: str | None,
    parent_id: int | None,
    query: str | None,
    cursor: int | None,
    limit: int,
) -> list[MediaItem]:
    """Up to ``limit`` items after ``cursor`` by id, of ``owner_key`` (None: anyone's), of
    ``kind``, under ``parent_id``, whose title contains ``query``, as given."""
    stmt = select(MediaItem).order_by(MediaItem.id).limit(limit)
    if owner_key is not None:
        stmt = stmt.where(MediaItem.owner_key == owner_key)
    if kind is not None:
        stmt = stmt.where(MediaItem.kind == kind)
    if parent_id is not None:
        stmt = stmt.where(MediaItem.parent_id == parent_id)
    if query:
        stmt = stmt.where(func.lower(MediaItem.title).contains(query.lower().strip()))
    if cursor is not None:
        stmt = stmt.where(MediaItem.id > cursor)
    return list((await s.scalars(stmt)).all())


async def recent(
    s: AsyncSession, *, owner_key: str | None, limit: int, include: int | None
) -> list[MediaItem]:
    """Items a download can be for (not series) of ``owner_key`` (None: anyone's), newest
    first, with ``include`` among them when it is one of those."""
    stmt = select(MediaItem).where(MediaItem.kind != "series")
    if owner_key is not None:
        stmt = stmt.where(MediaItem.owner_key == owner_key)
    rows = list((await s.scalars(stmt.order_by(MediaItem.id.desc()).limit(limit))).all())
    if include is not None and all(r.id != include for r in rows):
        extra = (await s.scalars(stmt.where(MediaItem.id == include))).first()
        if extra is not None:
            rows.insert(0, extra)
    return rows


async def children(s: AsyncSession, media_id: int) -> Sequence[MediaItem]:
    """The item's direct children, by season and episode."""
    return (
        await s.scalars(
            select(MediaItem)
            .where(MediaItem.parent_id == media_id)
            .order_by(MediaItem.season, MediaItem.episode, MediaItem.id)
        )
    ).all()


async def visible_download_ids(s: AsyncSession, media_id: int) -> Sequence[int]:
    """Ids of the item's downloads in view."""
    return (
        await s.scalars(
            select(Download.id)
            .where(Download.media_id == media_id, Download.hidden.is_(False))
            .order_by(Download.id)
        )
    ).all()


async def item_files(s: AsyncSession, media_id: int) -> Sequence[MediaFile]:
    return (
        await s.scalars(
            select(MediaFile).where(MediaFile.media_id == media_id).order_by(MediaFile.id)
        )
    ).all()


async def download_counts(s: AsyncSession, ids: Collection[int]) -> dict[int | None, int]:
    """media id -> its downloads in view."""
    return dict(
        (
            await s.execute(
                select(Download.media_id, func.count())
                .where(Download.media_id.in_(ids), Download.hidden.is_(False))
                .group_by(Download.media_id)
            )
        ).all()
    )


async def holding_a_file(s: AsyncSession, ids: Collection[int]) -> set[int | None]:
    """Those of ``ids`` with a media file that exists."""
    return set(
        (
            await s.scalars(
                select(MediaFile.media_id)
                .where(
                    MediaFile.media_id.in_(ids),
                    MediaFile.is_media.is_(True),
                    MediaFile.file_exists.is_(True),
                )
                .distinct()
            )
        ).all()
    )


async def child_counts(s: AsyncSession, ids: Collection[int]) -> dict[int | None, int]:
    """media id -> how many items belong to it."""
    return dict(
        (
            await s.execute(
                select(MediaItem.parent_id, func.count())
                .where(MediaItem.parent_id.in_(ids))
                .group_by(MediaItem.parent_id)
            )
        ).all()
    )


async def titles(s: AsyncSession, ids: Collection[int]) -> dict[int, str]:
    """media id -> its title."""
    return dict(
        (await s.execute(select(MediaItem.id, MediaItem.title).where(MediaItem.id.in_(ids)))).all()
    )


async def file_paths(s: AsyncSession, ids: Collection[int]) -> Sequence[str]:
    """The recorded paths of the items' files."""
    return (
        (await s.scalars(select(MediaFile.path).where(MediaFile.media_id.in_(ids)))).unique().all()
    )


async def child_ids(s: AsyncSession, ids: Collection[int]) -> Sequence[int]:
    """Ids of the items that belong to any of ``ids``."""
    return (await s.scalars(select(MediaItem.id).where(MediaItem.parent_id.in_(ids)))).all()


async def open_download(s: AsyncSession, media_id: int, open_phases: Collection[str]) -> int | None:
    """An unfinished download of the item, if any."""
    return await s.scalar(
        select(Download.id)
        .where(Download.media_id == media_id, Download.phase.in_(open_phases))
        .limit(1)
    )


async def held_file(s: AsyncSession, media_id: int) -> str | None:
    """The path of a media file the item has on disk, if any."""
    return await s.scalar(
        select(MediaFile.path)
        .where(
            MediaFile.media_id == media_id,
            MediaFile.is_media.is_(True),
            MediaFile.file_exists.is_(True),
        )
        .limit(1)
    )


async def file_download(s: AsyncSession, download_id: int, media_id: int | None) -> None:
    """The download's file records belong to ``media_id`` (None: to nothing)."""
    await s.execute(
        update(MediaFile).where(MediaFile.download_id == download_id).values(media_id=media_id)
    )


async def completed_downloads(s: AsyncSession, ids: Collection[int]) -> list[Download]:
    """The completed downloads in view of any of the items ``ids``."""
    return list(
        (
            await s.scalars(
                select(Download)
                .where(
                    Download.media_id.in_(ids),
                    Download.phase == Phase.COMPLETED.value,
                    Download.hidden.is_(False),
                )
                .order_by(Download.id)
            )
        ).all()
    )


async def download_files(s: AsyncSession, download_id: int) -> Sequence[MediaFile]:
    return (
        await s.scalars(
            select(MediaFile).where(MediaFile.download_id == download_id).order_by(MediaFile.id)
        )
    ).all()


async def every_file(s: AsyncSession) -> Sequence[Row[int, str, bool]]:
    """(id, path, file_exists) of every file record."""
    return (await s.execute(select(MediaFile.id, MediaFile.path, MediaFile.file_exists))).all()


async def mark_exists(s: AsyncSession, ids: Collection[int], value: bool) -> None:
    await s.execute(update(MediaFile).where(MediaFile.id.in_(ids)).values(file_exists=value))
