"""The app factory: API under /api/v1, started and stopped with its runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from haul import __version__
from haul.core.hosts import KnownHosts
from haul.runtime import build
from haul.runtime.seams import JobSeams
from haul.settings import Settings
from haul.web import docs, errors, ui
from haul.web.api import (
    accounts,
    clients,
    config,
    cookies,
    downloads,
    events,
    formats,
    iptv,
    iptv_downloads,
    limits,
    links,
    logs,
    media,
    metrics,
    notifications,
    profiles,
    retention,
    subscriptions,
    system,
    thumbnails,
)
from haul.web.auth import Gate, SlidingLogin, VisitorCookies
from haul.web.basepath import BasePath
from haul.web.deps import get_account, get_admin
from haul.web.headers import SecurityHeaders
from haul.web.hosts import KnownHostsOnly
from haul.web.limits import BodyLimit
from haul.web.nul import NoNulCharacters
from haul.web.origin import SameOriginOnly
from haul.web.proxies import TrustedProxies

API_PREFIX = "/api/v1"


def create_app(
    settings: Settings, *, run_worker: bool | None = None, seams: JobSeams | None = None
) -> FastAPI:
    """The web application over a runtime built from ``settings`` (``seams``: see
    :mod:`haul.runtime.seams`)."""
    if run_worker is None:
        run_worker = settings.embedded_worker
    runtime = build(settings, run_worker=run_worker, seams=seams)
    gate = Gate(settings, runtime.accounts)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start(check=gate.check_start)
        # The server holds the data folder's key: proxy credentials stored in clear before
        # they were sealed are sealed now (a worker-only process never makes a key).
        await runtime.profiles.seal_proxies()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="haul",
        version=__version__,
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served from haul's own copy of Swagger UI (haul.web.docs)
        redoc_url=None,
        # Under a base path the API's own page of documentation calls it there.
        servers=[{"url": settings.base_path}] if settings.base_path else None,
    )
    app.state.runtime = runtime
    app.state.gate = gate
    app.state.write_check = system.WriteCheck(runtime.db.url)
    errors.install(app)
    for router in (
        downloads.router,
        formats.router,
        accounts.router,
        cookies.router,
        links.router,
        retention.router,
        events.router,
        profiles.router,
        config.router,
        limits.router,
        logs.router,
        system.router,
        thumbnails.downloads_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    # Configured download clients are an administrator's; the library, IPTV providers and
    # notification targets belong to people with an account (not to anonymous visitors).
    app.include_router(clients.router, prefix=API_PREFIX, dependencies=[Depends(get_admin)])
    for router in (
        media.router,
        thumbnails.media_router,
        notifications.router,
        subscriptions.router,
        iptv.router,
        iptv_downloads.router,
    ):
        app.include_router(router, prefix=API_PREFIX, dependencies=[Depends(get_account)])
    app.add_api_route("/healthz", system.healthz, include_in_schema=False)
    docs.install(app, API_PREFIX)
    app.include_router(metrics.router, dependencies=[Depends(get_admin)])
    app.include_router(links.files_router)  # /files/{token}: signed links, outside the API
    ui.install(app)
    app.add_middleware(SlidingLogin, max_age=int(runtime.accounts.session_age.total_seconds()))
    if settings.mode == "public":
        app.add_middleware(VisitorCookies, accounts=runtime.accounts)
    app.add_middleware(SameOriginOnly)
    app.add_middleware(NoNulCharacters)  # reads JSON and form bodies: inside the size limit
    app.add_middleware(
        BodyLimit, max_body=settings.max_body_bytes, max_upload=settings.max_upload_bytes
    )
    # Before anything else reads the request: a name haul does not know is a rebound one.
    app.add_middleware(KnownHostsOnly, hosts=KnownHosts.of(settings.host, settings.allowed_hosts))
    app.add_middleware(SecurityHeaders)  # refusals above get the headers too
    if settings.base_path:
        app.add_middleware(BasePath, base=settings.base_path)
    if settings.trusted_proxies is not None:
        # Outermost: the client, scheme and host the proxy names are the request's from here.
        app.add_middleware(TrustedProxies, proxies=settings.trusted_proxy_list)
    return app
