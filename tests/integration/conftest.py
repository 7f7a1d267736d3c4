"""Fixtures the integration tests share beyond tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from haul.service import Owner
from haul.settings import Settings
from haul.web.deps import get_owner


@pytest.fixture
async def visitor(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API as someone who is not an administrator (accounts come with issue 7)."""
    from haul.web.app import create_app

    application = create_app(settings)
    application.dependency_overrides[get_owner] = lambda: Owner(key="user:2", is_admin=False)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            yield http
