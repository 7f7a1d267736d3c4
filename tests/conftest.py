"""Shared fixtures: databases (SQLite and real PostgreSQL), an in-process app, a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from haul.settings import Settings
from tests.support.daemons import IN_CI
from tests.support.pg import fresh_database, postgres_server
from tests.support.server import HaulServer

pytest_plugins = ["tests.support.fixtures", "tests.support.xtream"]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    try:
        with postgres_server() as url:
            yield url
    except RuntimeError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs twice: on SQLite and on real PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'haul.db'}"
        return
    server = request.getfixturevalue("pg_server")
    with fresh_database(server) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings for an in-process app; tests using it run on SQLite and on PostgreSQL."""
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        download_dir=tmp_path / "downloads",
        progress_interval=0.1,
        monitor_interval=0.5,
        heartbeat_interval=0.5,
    )


@dataclass
class App:
    http: httpx.AsyncClient
    runtime: Any  # haul.runtime.Runtime

    async def post(self, path: str, **kwargs: object) -> httpx.Response:
        return await self.http.post(f"/api/v1{path}", **kwargs)  # type: ignore[arg-type]

    async def get(self, path: str, **kwargs: object) -> httpx.Response:
        return await self.http.get(f"/api/v1{path}", **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    """The API in-process (lifespan run, worker embedded), spoken to through ASGI."""
    from haul.web.app import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            yield App(http, application.state.runtime)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[HaulServer]:
    """A real `haul serve` subprocess on a free loopback port, stopped by its PID."""
    srv = HaulServer(tmp_path / "server")
    srv.start()
    try:
        yield srv
    finally:
        srv.kill()
