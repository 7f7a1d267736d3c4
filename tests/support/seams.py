"""The API in-process, as the ``app`` fixture makes it, with seams between the worker's jobs
and the parts they call (see :mod:`haul.runtime.seams`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx

from haul.runtime.seams import JobSeams
from haul.settings import Settings
from tests.conftest import App


@contextlib.asynccontextmanager
async def app_with(settings: Settings, seams: JobSeams) -> AsyncIterator[App]:
    from haul.web.app import create_app

    application = create_app(settings, seams=seams)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            yield App(http, application.state.runtime)
