"""Shared fixtures: databases (SQLite and real PostgreSQL), an in-process app, a real server."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from haul.settings import Settings
from haul.store.migrate import upgrade
from tests.support.daemons import IN_CI
from tests.support.pg import fresh_database, migrated_template, postgres_server
from tests.support.server import HaulServer

pytest_plugins = ["tests.support.fixtures", "tests.support.xtream"]


#: The files that take longest (measured with ``--durations``), longest first: ./run test
#: runs files on several processes, each file on one, so a long file that starts last is
#: waited for alone at the end. Started first, it runs beside the many short ones.
LONGEST_FIRST = (
    "tests/integration/test_schemathesis.py",
    "tests/e2e/test_container.py",
    "tests/browser/test_downloads_page.py",
    "tests/integration/test_live_recording.py",
    "tests/integration/test_subscriptions.py",
    "tests/e2e/test_cli_accounts.py",
    "tests/e2e/test_backup.py",
    "tests/integration/test_library.py",
    "tests/integration/test_accounts.py",
    "tests/integration/test_site_cookies.py",
    "tests/integration/test_formats.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first (see :data:`LONGEST_FIRST`), the rest as collected."""
    rank = {path: n for n, path in enumerate(LONGEST_FIRST)}
    root = Path(__file__).parent.parent

    def first(item: pytest.Item) -> int:
        return rank.get(str(item.path.relative_to(root)), len(rank))

    items.sort(key=first)  # stable: within a file, and among the rest, the collected order


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    try:
        with postgres_server() as url:
            yield url
    except RuntimeError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to the head by haul's own upgrade (the one an app runs at
    start), made once per test process; the file has the mode haul gives a new database."""
    path = tmp_path_factory.mktemp("template") / "haul.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template(pg_server: str) -> Iterator[str]:
    """The name of a PostgreSQL database migrated to the head, made once per test process."""
    with migrated_template(pg_server) as name:
        yield name


DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database already migrated to the head: a copy of a template, far quicker than
    migrating an empty one. Each test using this runs twice: on SQLite and on real
    PostgreSQL."""
    yield from _database(request, tmp_path, migrated=True)


@pytest.fixture(params=DATABASES)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, for tests of the migrations themselves and of what a first start
    makes; on SQLite and on real PostgreSQL."""
    yield from _database(request, tmp_path, migrated=False)


def _database(request: pytest.FixtureRequest, tmp_path: Path, *, migrated: bool) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "haul.db"
        if migrated:
            shutil.copy(request.getfixturevalue("sqlite_template"), path)  # its mode too
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template") if migrated else None
    with fresh_database(request.getfixturevalue("pg_server"), template) as url:
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
