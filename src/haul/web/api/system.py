"""Health: /healthz, /readyz (profiles moved to haul.web.api.profiles)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from haul import __version__
from haul.store.db import current_revision, head_revision
from haul.web.deps import RuntimeDep

router = APIRouter(tags=["system"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> Any:
    """The database answers and its schema is current."""
    import asyncio

    try:
        await runtime.db.ping()
        current = await asyncio.to_thread(current_revision, runtime.db.url)
    except Exception as exc:
        return JSONResponse({"status": "unavailable", "detail": f"database: {exc}"}, 503)
    head = head_revision()
    if current != head:
        return JSONResponse(
            {"status": "unavailable", "detail": f"schema at {current}, expected {head}"}, 503
        )
    return {"status": "ok", "schema": current}
