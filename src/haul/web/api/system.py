"""Health: /healthz (the process answers) and /readyz (it can do its work)."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from haul import __version__
from haul.engine import ffmpeg
from haul.store.migrate import head_revision, writable_revision
from haul.web.deps import RunsWorkerDep

router = APIRouter(tags=["system"])

#: Seconds one answer of the database check is given to every /readyz caller.
FRESH_FOR = 1.0


class WriteCheck:
    """The database write check behind /readyz, made once for every caller of the same second:
    it opens a connection and commits a write, and /readyz is open to anyone, so a caller
    in a loop must not turn into a loop of writes. Callers that arrive while a check runs
    wait for that one."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._running: asyncio.Future[str | None] | None = None
        self._done_at = float("-inf")

    async def revision(self) -> str | None:
        """The schema revision (None: none yet), read through a write; raises what the
        database raised."""
        running = self._running
        if running is None or (running.done() and time.monotonic() - self._done_at > FRESH_FOR):
            running = self._running = asyncio.ensure_future(self._check())
        return await asyncio.shield(running)

    async def _check(self) -> str | None:
        try:
            return await asyncio.to_thread(writable_revision, self.url)
        finally:
            self._done_at = time.monotonic()


def get_write_check(request: Request) -> WriteCheck:
    """The app's :class:`WriteCheck` (made by the app factory)."""
    check: WriteCheck = request.app.state.write_check
    return check


WriteCheckDep = Annotated[WriteCheck, Depends(get_write_check)]


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
async def readyz(runs_worker: RunsWorkerDep, check: WriteCheckDep) -> Any:
    """503 unless the database takes writes (a new connection writes and commits) and its
    schema is current. ``ffmpeg`` says whether FFmpeg is installed where transfers run: without
    it haul still serves (``status`` is ``degraded``), but merges and conversions fail."""
    try:
        current = await check.revision()
    except (SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip()
        detail = f"The database refuses writes: {reason}"
        return JSONResponse({"status": "unavailable", "detail": detail}, 503)
    head = head_revision()
    if current != head:
        detail = f"The database schema is at {current}, not at {head}: run `haul db upgrade`."
        return JSONResponse({"status": "unavailable", "detail": detail}, 503)
    answer: dict[str, Any] = {"status": "ok", "schema": current, "database": "writable"}
    if runs_worker:
        missing = ffmpeg.missing()
        answer["ffmpeg"] = ffmpeg.missing_sentence(missing) if missing else "ok"
        if missing:
            answer["status"] = "degraded"
    return answer
