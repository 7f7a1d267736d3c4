"""What a built-in job needs from the rest of haul, handed in by the runtime."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from haul.clients.builtin.client import BuiltinClient
from haul.core.retry import RetryPolicy
from haul.engine.base import Profile
from haul.engine.http import HttpEngine
from haul.store.database import Database
from haul.store.models import Download

Notify = Callable[[Download], Awaitable[None]]


@dataclass
class JobContext:
    db: Database
    builtin: BuiltinClient
    http: httpx.AsyncClient
    http_engine: HttpEngine
    ytdlp_slots: asyncio.Semaphore
    retry: RetryPolicy
    notify: Notify
    profiles: Callable[[int | None], Awaitable[Profile]]
    #: Offers a resolved source to the external clients; True when one of them took it.
    handoff: Callable[[Download, dict[str, Any]], Awaitable[bool]] | None = None
