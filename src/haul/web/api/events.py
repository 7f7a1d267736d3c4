"""Live events: Server-Sent Events at ``/events`` and a WebSocket at ``/ws``.

Both carry the same JSON events: ``created``, ``status`` (with the whole download),
``progress`` (at least every 500 ms per active download) and ``removed``. A subscriber picks
channels (``download.{id}``); by default it gets everything its owner may see.

A stream ends soon after its caller may no longer read it (:mod:`haul.web.api.stream_auth`):
the event stream with a last ``closed`` event saying why, the WebSocket with code 4401 (no
login any more) or 4403 (other rights: connect again).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from sse_starlette.sse import EventSourceResponse

from haul.errors import HaulError, Unauthorized
from haul.events.bus import Subscription
from haul.service import Owner
from haul.web.api.stream_auth import CallerWatch
from haul.web.deps import BusDep, OwnerDep, get_bus, get_owner

router = APIRouter(tags=["events"])

KEEPALIVE = 15.0


def _channels(owner: Owner, downloads: list[int]) -> list[str] | None:
    if downloads:
        return [f"download.{i}" for i in downloads]
    return None if owner.is_admin else [f"owner.{owner.key}"]


def _allowed(owner: Owner, event_owner: str) -> bool:
    return owner.is_admin or owner.key == event_owner


@router.get(
    "/events",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "Server-Sent Events; each event's data is a JSON object",
            "content": {"text/event-stream": {}},
        }
    },
)
async def events(
    request: Request,
    bus: BusDep,
    owner: OwnerDep,
    download: Annotated[list[int], Query(max_length=100)] = [],  # noqa: B006
) -> EventSourceResponse:
    """A Server-Sent Events stream of download events."""
    sub = bus.subscribe(_channels(owner, download))
    watch = CallerWatch(request.app.state.gate, request, owner)

    async def stream() -> AsyncIterator[dict[str, Any]]:
        try:
            yield {
                "event": "hello",
                "data": json.dumps({"channels": sorted(sub.channels or ["*"])}),
            }
            while not await request.is_disconnected():
                if await watch.ended():
                    yield {"event": "closed", "data": json.dumps({"detail": watch.reason})}
                    return
                event = await sub.get(timeout=1.0)
                if event is None:
                    if sub.closed:
                        return
                    continue
                if _allowed(owner, event.owner):
                    yield {
                        "event": event.type,
                        "id": str(event.seq),
                        "data": json.dumps(event.as_json()),
                    }
        finally:
            sub.close()

    return EventSourceResponse(stream(), ping=int(KEEPALIVE))


@router.websocket("/ws")
async def websocket(ws: WebSocket) -> None:
    """Send ``{"subscribe": ["download.12"]}`` to narrow the stream; events arrive as JSON."""
    bus = get_bus(ws)
    try:
        owner = await get_owner(ws)
    except HaulError as exc:
        await ws.close(code=4401 if isinstance(exc, Unauthorized) else 4403, reason=exc.message)
        return
    await ws.accept()
    sub: Subscription = bus.subscribe(_channels(owner, []))
    watch = CallerWatch(ws.app.state.gate, ws, owner)

    async def receive() -> None:
        nonlocal sub
        while True:
            message = await ws.receive_json()
            wanted = message.get("subscribe") if isinstance(message, dict) else None
            if isinstance(wanted, list) and all(isinstance(c, str) for c in wanted):
                sub.close()
                sub = bus.subscribe(wanted or _channels(owner, []))
                await ws.send_json({"type": "subscribed", "channels": wanted})

    reader = asyncio.create_task(receive())
    try:
        while not reader.done():
            if await watch.ended():
                code = 4401 if watch.unauthorized else 4403
                await ws.close(code=code, reason=(watch.reason or "")[:120])
                break
            event = await sub.get(timeout=1.0)
            if event is not None and _allowed(owner, event.owner):
                await ws.send_json(event.as_json())
    except WebSocketDisconnect:
        pass
    finally:
        reader.cancel()
        sub.close()
        closing = (asyncio.CancelledError, WebSocketDisconnect, RuntimeError, ValueError)
        with contextlib.suppress(*closing):
            await reader
