"""The app factory: API under /api/v1, started and stopped with its runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from haul import __version__
from haul.runtime import Runtime
from haul.settings import Settings
from haul.web import errors, ui
from haul.web.api import (
    clients,
    config,
    downloads,
    events,
    iptv,
    iptv_downloads,
    links,
    logs,
    media,
    metrics,
    notifications,
    profiles,
    retention,
    system,
)
from haul.web.origin import SameOriginOnly

API_PREFIX = "/api/v1"


def create_app(settings: Settings, *, run_worker: bool | None = None) -> FastAPI:
    if run_worker is None:
        run_worker = settings.embedded_worker
    runtime = Runtime(settings, run_worker=run_worker)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="haul",
        version=__version__,
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.runtime = runtime
    errors.install(app)
    for router in (
        downloads.router,
        clients.router,
        media.router,
        notifications.router,
        links.router,
        retention.router,
        iptv.router,
        iptv_downloads.router,
        events.router,
        profiles.router,
        config.router,
        logs.router,
        system.router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    app.add_api_route("/healthz", system.healthz, include_in_schema=False)
    app.include_router(metrics.router)
    app.include_router(links.files_router)  # /files/{token}: signed links, outside the API
    ui.install(app)
    app.add_middleware(SameOriginOnly)
    return app
