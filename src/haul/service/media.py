"""The media library: items (movies, series, episodes, trailers), their files, and the rules
that tie downloads to them (one file per item unless forced, attach after the fact, rescan)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from haul.core import lifecycle
from haul.core import media_items as rules
from haul.core.paths import inside
from haul.core.status import OPEN_PHASES, Phase
from haul.errors import DuplicateDownload, InvalidMediaItem, InvalidTransition, NotFound
from haul.media.library import THUMBNAIL_SUFFIXES
from haul.service.files import remove_inside
from haul.service.values import Owner
from haul.store import media_items as items_db
from haul.store.changes import apply, record, snapshot
from haul.store.database import Database
from haul.store.downloads import add_event
from haul.store.models import Download, DownloadEvent, MediaFile, MediaItem, utcnow

log = logging.getLogger(__name__)

_OPEN = [p.value for p in OPEN_PHASES]
MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class FileView:
    id: int
    download_id: int | None
    media_id: int | None
    path: str
    file_name: str
    size: int | None
    mtime: float | None
    is_media: bool
    error: str | None
    container: str | None
    duration: float | None
    video_codec: str | None
    width: int | None
    height: int | None
    audio_codec: str | None
    audio_channels: int | None
    subtitle_languages: list[str]
    profile: str | None
    youtube_id: str | None
    file_exists: bool
    probed_at: datetime
    original_path: str | None
    import_mode: str | None
    imported_at: datetime | None

    @classmethod
    def of(cls, row: MediaFile) -> FileView:
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class ItemView:
    id: int
    kind: str
    title: str
    year: int | None
    parent_id: int | None
    season: int | None
    episode: int | None
    external_ids: dict[str, Any]
    provider_id: int | None
    owner: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: MediaItem) -> ItemView:
        return cls(
            row.id,
            row.kind,
            row.title,
            row.year,
            row.parent_id,
            row.season,
            row.episode,
            dict(row.external_ids or {}),
            row.provider_id,
            row.owner_key,
            row.created_at,
            row.updated_at,
        )


@dataclass(frozen=True, slots=True)
class ItemDetail:
    item: ItemView
    parent: ItemView | None
    children: list[ItemView]
    download_ids: list[int]
    files: list[FileView]


@dataclass(frozen=True, slots=True)
class Picture:
    """A file an item's thumbnail is made from: an ``image`` shown as it is, or a ``video``
    whose cover or frame is shown; ``identity`` changes when the file does."""

    kind: Literal["image", "video"]
    path: Path
    identity: str


def _picture(kind: Literal["image", "video"], path: Path) -> Picture:
    try:
        stat = path.stat()
    except OSError:
        raise NotFound("The item's file is no longer on disk.") from None
    return Picture(kind, path, f"{path}\n{stat.st_size}\n{stat.st_mtime_ns}")


@dataclass(frozen=True, slots=True)
class Rescan:
    checked: int
    missing: int
    back: int


@dataclass(frozen=True, slots=True)
class ItemSummary:
    """What a library list shows beside an item: its downloads, whether its file is on disk,
    how many items belong to it, and the title of the item it belongs to."""

    downloads: int = 0
    has_file: bool = False
    children: int = 0
    parent_title: str | None = None


_UNSET: Any = object()


class MediaService:
    def __init__(
        self,
        db: Database,
        *,
        downloads_root: Path,
        library_root: Path,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.downloads_root = downloads_root
        self.library_root = library_root
        self.wake = wake

    # -- items ----------------------------------------------------------------------------

    async def create(
        self,
        owner: Owner,
        *,
        kind: str,
        title: str,
        year: int | None = None,
        parent_id: int | None = None,
        season: int | None = None,
        episode: int | None = None,
        external_ids: dict[str, Any] | None = None,
        provider_id: int | None = None,
    ) -> ItemView:
        ids = rules.clean_ids(external_ids)
        async with self.db.write() as s:
            parent = await self._parent(s, parent_id, owner)
            shape = rules.Shape(kind, title, year, parent.kind if parent else None, season, episode)
            rules.check(shape)
            row = MediaItem(
                kind=kind,
                title=title.strip(),
                year=year,
                parent_id=parent_id,
                season=season,
                episode=episode,
                external_ids=ids,
                provider_id=provider_id,
                owner_key=owner.key,
            )
            s.add(row)
            await s.flush()
            return ItemView.of(row)

    async def find_or_create(
        self,
        owner: Owner,
        *,
        kind: str,
        title: str,
        match: dict[str, Any],
        **values: Any,
    ) -> ItemView:
        """The owner's item of ``kind`` whose external ids include ``match`` (an IPTV stream or
        episode already in the library), else a new one."""
        async with self.db.read() as s:
            for row in await items_db.of_kind(s, kind, owner.key, values.get("parent_id")):
                ids = row.external_ids or {}
                if match and all(str(ids.get(k)) == str(v) for k, v in match.items()):
                    return ItemView.of(row)
        external = {**values.pop("external_ids", {}), **match}
        return await self.create(owner, kind=kind, title=title, external_ids=external, **values)

    async def find(
        self,
        owner: Owner,
        *,
        kind: str | None = None,
        query: str | None = None,
        parent_id: int | None = None,
        limit: int = 100,
        cursor: int | None = None,
    ) -> tuple[list[ItemView], int | None]:
        if kind is not None and kind not in rules.KINDS:
            raise InvalidMediaItem(
                f"A media item is one of {', '.join(rules.KINDS)}; not {kind!r}."
            )
        limit = max(1, min(limit, MAX_PAGE))
        async with self.db.read() as s:
            rows = await items_db.page(
                s,
                owner_key=None if owner.is_admin else owner.key,
                kind=kind,
                parent_id=parent_id,
                query=query,
                cursor=cursor,
                limit=limit + 1,
            )
        more = len(rows) > limit
        rows = rows[:limit]
        return [ItemView.of(r) for r in rows], (rows[-1].id if more and rows else None)

    async def recent(
        self, owner: Owner, *, limit: int, include: int | None = None
    ) -> list[ItemView]:
        """Items a download can be for (not series), newest first, with ``include`` among
        them when the owner may see it (the add page offers these)."""
        async with self.db.read() as s:
            rows = await items_db.recent(
                s, owner_key=None if owner.is_admin else owner.key, limit=limit, include=include
            )
        return [ItemView.of(r) for r in rows]

    async def get(self, media_id: int, owner: Owner) -> ItemDetail:
        async with self.db.read() as s:
            row = await self._item(s, media_id, owner)
            parent = await s.get(MediaItem, row.parent_id) if row.parent_id else None
            children = await items_db.children(s, media_id)
            downloads = await items_db.visible_download_ids(s, media_id)
            files = await items_db.item_files(s, media_id)
            return ItemDetail(
                ItemView.of(row),
                ItemView.of(parent) if parent is not None else None,
                [ItemView.of(c) for c in children],
                [int(i) for i in downloads],
                [FileView.of(f) for f in files],
            )

    async def picture(self, media_id: int, owner: Owner) -> Picture:
        """What the item's thumbnail is made of: a thumbnail file written beside its media
        file (a profile's "keep the thumbnail"), else the media file itself (its cover
        picture or a frame). :class:`NotFound` when the item is not ``owner``'s or has no
        media file on disk."""
        async with self.db.read() as s:
            await self._item(s, media_id, owner)
            files = await items_db.item_files(s, media_id)
        present = [f for f in files if f.file_exists]
        for f in present:
            if not f.is_media and Path(f.file_name).suffix.lower() in THUMBNAIL_SUFFIXES:
                return await asyncio.to_thread(_picture, "image", self._absolute(f.path))
        media = [f for f in present if f.is_media and f.width]
        if not media:
            raise NotFound(f"Media item {media_id} has no file to show a picture of.")
        main = max(media, key=lambda f: f.size or 0)
        path = self._absolute(main.path)
        for suffix in sorted(THUMBNAIL_SUFFIXES):  # one on disk beside it, never recorded
            beside = path.with_name(f"{path.stem}-thumb{suffix}")
            if beside.is_file():
                return await asyncio.to_thread(_picture, "image", beside)
        return await asyncio.to_thread(_picture, "video", path)

    async def summaries(self, items: list[ItemView]) -> dict[int, ItemSummary]:
        """:class:`ItemSummary` of each of ``items`` (a page of a list): four grouped queries,
        whatever the page's length."""
        ids = [i.id for i in items]
        if not ids:
            return {}
        parents = {i.parent_id for i in items if i.parent_id is not None}
        async with self.db.read() as s:
            downloads = await items_db.download_counts(s, ids)
            held = await items_db.holding_a_file(s, ids)
            children = await items_db.child_counts(s, ids)
            titles = await items_db.titles(s, parents) if parents else {}
        return {
            i.id: ItemSummary(
                downloads=int(downloads.get(i.id, 0)),
                has_file=i.id in held,
                children=int(children.get(i.id, 0)),
                parent_title=titles.get(i.parent_id) if i.parent_id is not None else None,
            )
            for i in items
        }

    async def update(
        self,
        media_id: int,
        owner: Owner,
        *,
        title: str | None = None,
        year: int | None = _UNSET,
        season: int | None = _UNSET,
        episode: int | None = _UNSET,
        external_ids: dict[str, Any] | None = None,
    ) -> ItemView:
        async with self.db.write() as s:
            row = await self._item(s, media_id, owner)
            parent = await s.get(MediaItem, row.parent_id) if row.parent_id else None
            new_title = title if title is not None else row.title
            new_year = row.year if year is _UNSET else year
            new_season = row.season if season is _UNSET else season
            new_episode = row.episode if episode is _UNSET else episode
            shape = rules.Shape(
                row.kind,
                new_title,
                new_year,
                parent.kind if parent else None,
                new_season,
                new_episode,
            )
            rules.check(shape)
            row.title, row.year = new_title.strip(), new_year
            row.season, row.episode = new_season, new_episode
            if external_ids is not None:
                # A key given empty removes that id; the others are checked and replaced.
                dropped = {k for k, v in external_ids.items() if v is None or v == ""}
                merged = {**(row.external_ids or {}), **rules.clean_ids(external_ids)}
                row.external_ids = {k: v for k, v in merged.items() if k not in dropped}
            row.updated_at = utcnow()
            await s.flush()
            return ItemView.of(row)

    async def delete(self, media_id: int, owner: Owner, *, delete_files: bool = False) -> int:
        """Delete the item, its children and their file records (the database cascades);
        the files on disk go too only with ``delete_files`` (and only inside haul's folders).
        Returns how many files were deleted from disk."""
        async with self.db.write() as s:
            await self._item(s, media_id, owner)
            ids = await self._family(s, media_id)
            paths = await items_db.file_paths(s, ids)
            row = await s.get(MediaItem, media_id)
            await s.delete(row)
        if not delete_files:
            return 0
        return await asyncio.to_thread(self._delete_paths, [self._absolute(p) for p in paths])

    def _delete_paths(self, paths: list[Path]) -> int:
        return remove_inside(paths, (self.library_root, self.downloads_root)).files

    async def _family(self, s: AsyncSession, media_id: int) -> list[int]:
        ids, frontier = [media_id], [media_id]
        while frontier:
            found = await items_db.child_ids(s, frontier)
            frontier = [int(i) for i in found if i not in ids]
            ids.extend(frontier)
        return ids

    # -- downloads and files --------------------------------------------------------------

    async def check_new_download(self, media_id: int, owner: Owner, *, force: bool) -> bool:
        """Refuse a second download for an item that has its file or is being downloaded
        (unless ``force``); a series gathers many files and is never a duplicate. True when
        the download must be the item's only unfinished one: the submit checks that again
        in its own transaction (two submits at the same moment both pass this read)."""
        async with self.db.read() as s:
            item = await self._item(s, media_id, owner)
            if force or item.kind == "series":
                return False
            busy = await items_db.open_download(s, media_id, _OPEN)
            if busy is not None:
                raise DuplicateDownload(
                    f"Media item {media_id} ({item.title}) is already being downloaded by "
                    f"download {busy}; {DuplicateDownload.AGAIN}.",
                    existing_id=int(busy),
                )
            held = await items_db.held_file(s, media_id)
            if held is not None:
                raise DuplicateDownload(
                    f"Media item {media_id} ({item.title}) already has its file ({held}); "
                    f"{DuplicateDownload.AGAIN}."
                )
        return True

    async def attach(
        self, download_id: int, media_id: int | None, owner: Owner, *, force: bool = False
    ) -> None:
        """Let a download belong to ``media_id`` (None: to nothing). A finished download is
        processed again, which files it into the library."""
        if media_id is not None:
            async with self.db.read() as s:
                await self._item(s, media_id, owner)
        async with self.db.write() as s:
            row = await s.get(Download, download_id)
            if row is None or (not owner.is_admin and row.owner_key != owner.key) or row.hidden:
                raise NotFound(f"There is no download {download_id}.")
            # Attached already: forced, a finished one is probed and filed again (after a
            # wrong probe, say); an unfinished one is filed when it finishes anyway.
            again = row.media_id == media_id and force and row.phase == Phase.COMPLETED
            if again:
                await self._reprocess(s, [row], why="attached again")
            elif row.media_id == media_id:
                return
            elif row.phase == Phase.PROCESSING:
                raise InvalidTransition(
                    f"Download {download_id} is being processed; attach it when it is done."
                )
        if again:
            self.wake()
            return
        if media_id is not None:
            await self._check_attach(download_id, media_id, owner, force=force)
        async with self.db.write() as s:
            row = await s.get(Download, download_id)
            assert row is not None
            row.media_id = media_id
            s.add(
                DownloadEvent(
                    download_id=download_id,
                    at=utcnow(),
                    kind="attached" if media_id is not None else "detached",
                    message=f"media item {media_id}" if media_id is not None else None,
                    data={"media_id": media_id},
                )
            )
            await items_db.file_download(s, download_id, media_id)
            filed = row.phase == Phase.COMPLETED and media_id is not None
            if filed:
                await self._reprocess(s, [row], why=None)
        if filed:
            self.wake()

    async def reprocess_download(self, download_id: int, owner: Owner) -> list[int]:
        """Probe a finished download's files again and file them into the library again when
        it belongs to a media item (a file probed wrongly, a library path that changed)."""
        async with self.db.write() as s:
            row = await s.get(Download, download_id)
            if row is None or (not owner.is_admin and row.owner_key != owner.key) or row.hidden:
                raise NotFound(f"There is no download {download_id}.")
            if row.phase != Phase.COMPLETED:
                raise InvalidTransition(
                    f"Download {download_id} is not finished ({row.phase}): only a completed "
                    "download can be processed again."
                )
            ids = await self._reprocess(s, [row], why="asked")
        self.wake()
        return ids

    async def reprocess_item(self, media_id: int, owner: Owner) -> list[int]:
        """:meth:`reprocess_download` for every completed download of the item (and of its
        episodes and trailers)."""
        async with self.db.write() as s:
            item = await self._item(s, media_id, owner)
            family = await self._family(s, media_id)
            rows = await items_db.completed_downloads(s, family)
            if not rows:
                raise InvalidTransition(
                    f"Media item {media_id} ({item.title}) has no completed download to "
                    "process again."
                )
            ids = await self._reprocess(s, rows, why="asked")
        self.wake()
        return ids

    async def _reprocess(
        self, s: AsyncSession, rows: list[Download], *, why: str | None
    ) -> list[int]:
        """Hand completed ``rows`` back to processing (any worker takes them, see
        :mod:`haul.store.processing`); ``why`` goes into their history. The caller wakes the
        processor once this is committed."""
        for row in rows:
            change = lifecycle.reprocess(snapshot(row), why=why)
            apply(row, change)
            if row.last_error_code in ("import_failed", "processing_failed"):
                row.last_error_code = row.last_error_message = None  # it is tried again
            if why is not None:
                record(change, partial(add_event, s, row.id))
        await s.flush()
        return [row.id for row in rows]

    async def _check_attach(
        self, download_id: int, media_id: int, owner: Owner, *, force: bool
    ) -> None:
        try:
            await self.check_new_download(media_id, owner, force=force)
        except DuplicateDownload as exc:
            if exc.existing_id != download_id:
                raise

    async def download_files(self, download_id: int, owner: Owner) -> list[FileView]:
        async with self.db.read() as s:
            row = await s.get(Download, download_id)
            if row is None or (not owner.is_admin and row.owner_key != owner.key) or row.hidden:
                raise NotFound(f"There is no download {download_id}.")
            files = await items_db.download_files(s, download_id)
            return [FileView.of(f) for f in files]

    async def rescan(self) -> Rescan:
        """Look for every recorded file on disk and keep ``file_exists`` true to it."""
        async with self.db.read() as s:
            rows = await items_db.every_file(s)
        roots = (self.library_root, self.downloads_root)
        found = [(int(i), self._absolute(p), bool(e)) for i, p, e in rows]

        def look() -> tuple[list[tuple[int, Path, bool]], list[tuple[int, bool]]]:
            # only haul's own folders are looked at: a record naming a path elsewhere stays
            kept = [c for c in found if any(inside(c[1], root) for root in roots)]
            return kept, [(i, path.is_file()) for i, path, was in kept if path.is_file() != was]

        checks, changes = await asyncio.to_thread(look)
        gone = [i for i, now in changes if not now]
        back = [i for i, now in changes if now]
        if changes:
            async with self.db.write() as s:
                for ids, value in ((gone, False), (back, True)):
                    if ids:
                        await items_db.mark_exists(s, ids, value)
        missing = sum(1 for _, path, was in checks if not was) + len(gone) - len(back)
        return Rescan(checked=len(checks), missing=missing, back=len(back))

    # -- helpers --------------------------------------------------------------------------

    def _absolute(self, stored: str) -> Path:
        path = Path(stored)
        return path if path.is_absolute() else self.downloads_root / path

    async def _item(self, s: AsyncSession, media_id: int, owner: Owner) -> MediaItem:
        row = await s.get(MediaItem, media_id)
        if row is None or (not owner.is_admin and row.owner_key != owner.key):
            raise NotFound(f"There is no media item {media_id}.")
        return row

    async def _parent(
        self, s: AsyncSession, parent_id: int | None, owner: Owner
    ) -> MediaItem | None:
        if parent_id is None:
            return None
        try:
            return await self._item(s, parent_id, owner)
        except NotFound:
            raise InvalidMediaItem(f"There is no media item {parent_id} to belong to.") from None
