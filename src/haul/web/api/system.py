"""Health: /healthz (the process answers) and /readyz (it can do its work)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from haul import __version__
from haul.engine import ffmpeg
from haul.store.db import head_revision, writable_revision
from haul.web.deps import RuntimeDep

router = APIRouter(tags=["system"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> Any:
    """503 unless the database takes writes (a new connection writes and commits) and its
    schema is current. ``ffmpeg`` says whether FFmpeg is installed where transfers run: without
    it haul still serves (``status`` is ``degraded``), but merges and conversions fail."""
    try:
        current = await asyncio.to_thread(writable_revision, runtime.db.url)
    except (SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip()
        detail = f"The database refuses writes: {reason}"
        return JSONResponse({"status": "unavailable", "detail": detail}, 503)
    head = head_revision()
    if current != head:
        detail = f"The database schema is at {current}, not at {head}: run `haul db upgrade`."
        return JSONResponse({"status": "unavailable", "detail": detail}, 503)
    answer: dict[str, Any] = {"status": "ok", "schema": current, "database": "writable"}
    if runtime.run_worker:
        missing = ffmpeg.missing()
        answer["ffmpeg"] = ffmpeg.missing_sentence(missing) if missing else "ok"
        if missing:
            answer["status"] = "degraded"
    return answer
