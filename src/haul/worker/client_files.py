"""Where a download's files are on an external client, as haul records and respects them."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from haul.clients.base import DownloadClient, ListsFiles
from haul.core.client_items import ClientItem
from haul.core.paths import inside
from haul.errors import ClientError

log = logging.getLogger(__name__)


def saved_inside(item: ClientItem, root: Path) -> bool:
    """Whether a client item's save path is the download root or inside it: data is deleted
    only there (an adopted item, or one a person moved, keeps its files)."""
    if item.save_path is None:
        return False
    where = Path(item.save_path)
    return inside(where, root) or where.resolve() == root.resolve()


async def files_of(client: DownloadClient, item: ClientItem) -> list[str]:
    """The paths of a finished item's files, as the client lists them."""
    if isinstance(client, ListsFiles):
        try:
            found = await client.files(item.ref)
            if found:
                return list(found)
        except ClientError as exc:
            log.info("files of %s not listed: %s", item.ref, exc.message)
    return list(item.files)


def file_entry(path: Path, root: Path) -> dict[str, Any]:
    """A finished file as recorded: relative to the download root when inside it. One the
    client says is elsewhere is recorded by its name only: haul never looks at it (nor
    probes, imports, serves or deletes it)."""
    if not inside(path, root):
        return {"path": str(path), "name": path.name, "size": None, "mtime": None}
    try:
        stat = path.stat()
        size: int | None = stat.st_size
        mtime: float | None = stat.st_mtime
    except OSError:
        size = mtime = None
    shown = str(path.resolve().relative_to(root.resolve()))
    return {"path": shown, "name": path.name, "size": size, "mtime": mtime}
