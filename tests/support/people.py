"""An instance with accounts, spoken to in-process as several people at once.

``async with crowd(settings) as people``: an administrator and two users, each with an API
token and an httpx client that sends it; ``people.nobody`` sends no credentials.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from haul.settings import Settings

PASSWORD = "correct horse battery"


@dataclass
class Person:
    name: str
    user_id: int
    token: str
    http: httpx.AsyncClient

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(f"/api/v1{path}", **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.post(f"/api/v1{path}", **kwargs)


@dataclass
class People:
    app: Any  # FastAPI
    runtime: Any  # haul.runtime.Runtime
    admin: Person
    alice: Person
    bob: Person
    nobody: httpx.AsyncClient
    _stack: AsyncExitStack = field(repr=False, default_factory=AsyncExitStack)

    def client(self, **headers: str) -> httpx.AsyncClient:
        """Another client of the same app (its own cookies)."""
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://127.0.0.1",
            headers=headers,
        )


@asynccontextmanager
async def crowd(settings: Settings, **overrides: Any) -> AsyncIterator[People]:
    """An app with accounts (``mode=accounts`` unless ``overrides`` say otherwise)."""
    from haul.web.app import create_app

    settings = settings.model_copy(update={"mode": "accounts", **overrides})
    app = create_app(settings)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        runtime = app.state.runtime
        persons = []
        for name, role in (("root", "admin"), ("alice", "user"), ("bob", "user")):
            user = await runtime.accounts.create_user(name, PASSWORD, role=role)
            _view, token = await runtime.accounts.create_token(user.id, "tests")
            http = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://127.0.0.1",
                headers={"Authorization": f"Bearer {token}"},
            )
            await stack.enter_async_context(http)
            persons.append(Person(name, user.id, token, http))
        nobody = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
        )
        await stack.enter_async_context(nobody)
        yield People(app, runtime, *persons, nobody=nobody)
