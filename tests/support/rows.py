"""Downloads written straight to the database, and an app whose rows no worker touches."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from haul.settings import Settings
from haul.store.models import Download, DownloadEvent, MediaFile, utcnow
from tests.conftest import App

_FINAL_FIELD = {"completed": "completed_at", "failed": "failed_at", "canceled": "canceled_at"}


@asynccontextmanager
async def app_without_worker(settings: Settings) -> AsyncIterator[App]:
    """The API in-process like the ``app`` fixture, without a worker: rows a test stores
    stay exactly as stored (nothing admits, runs or processes them)."""
    from haul.web.app import create_app

    application = create_app(settings, run_worker=False)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            yield App(http, application.state.runtime)


async def stored(
    app: App,
    *,
    phase: str = "completed",
    owner: str = "local",
    age: timedelta = timedelta(days=30),
    files: dict[str, bytes] | None = None,
    **fields: Any,
) -> int:
    """A download finished ``age`` ago (or in ``phase``), its ``files`` (name relative to
    the download folder -> bytes) on disk with a media file record each, one history event."""
    root: Path = app.runtime.settings.downloads_root
    entries = []
    for name, data in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        entries.append({"path": name, "name": path.name, "size": len(data)})
    when = utcnow() - age
    values: dict[str, Any] = {
        "owner_key": owner,
        "source_url": f"https://example.org/{uuid.uuid4().hex}",
        "dedupe_key": uuid.uuid4().hex,
        "phase": phase,
        "created_at": when - timedelta(hours=1),
        "files": entries,
    }
    if phase in _FINAL_FIELD:
        values[_FINAL_FIELD[phase]] = when
    values.update(fields)
    async with app.runtime.db.write() as s:
        row = Download(**values)
        s.add(row)
        await s.flush()
        s.add(DownloadEvent(download_id=row.id, kind="created"))
        for entry in entries:
            s.add(
                MediaFile(
                    download_id=row.id,
                    path=entry["path"],
                    file_name=entry["name"],
                    size=entry["size"],
                )
            )
        return row.id
