"""Public mode: anonymous visitors, each in a space of their own, with small limits per
visitor and per address, an optional list of allowed sites, and no way into what belongs to
accounts. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from haul.settings import Settings
from haul.store.models import BrowserSession

SOURCE = "http://videos.example/watch/{n}"


@asynccontextmanager
async def public(settings: Settings, **overrides: Any) -> AsyncIterator[Any]:
    from haul.web.app import create_app

    app = create_app(settings.model_copy(update={"mode": "public", **overrides}))
    async with app.router.lifespan_context(app):
        yield app


def visitor(app: Any, ip: str = "203.0.113.7") -> httpx.AsyncClient:
    """A browser of its own (cookies) at address ``ip``."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(ip, 50000)), base_url="http://127.0.0.1"
    )


async def add(http: httpx.AsyncClient, n: int, **extra: Any) -> httpx.Response:
    body = {"url": SOURCE.format(n=n), "paused": True, **extra}
    return await http.post("/api/v1/downloads", json=body)


async def test_a_visitor_gets_a_signed_cookie_and_a_space_of_their_own(
    settings: Settings,
) -> None:
    async with public(settings, public_limit_per_ip=5) as app:
        async with visitor(app) as anna, visitor(app) as ben:
            first = await anna.get("/api/v1/auth/me")
            cookie = first.headers["set-cookie"]
            assert cookie.startswith("haul_visitor=") and "HttpOnly" in cookie
            me = first.json()
            assert me["mode"] == "public" and me["anonymous"] and not me["is_admin"]
            # The same browser keeps its identity; no new cookie is sent.
            again = await anna.get("/api/v1/auth/me")
            assert again.json()["owner"] == me["owner"] and "set-cookie" not in again.headers
            made = await add(anna, 1)
            assert made.status_code == 201, made.text
            download_id = made.json()["id"]
            assert (await ben.get(f"/api/v1/downloads/{download_id}")).status_code == 404
            assert (await ben.get("/api/v1/downloads")).json()["items"] == []
            pause = await ben.post(f"/api/v1/downloads/{download_id}/cancel")
            assert pause.status_code == 404
            assert (await anna.get(f"/api/v1/downloads/{download_id}")).status_code == 200
            # A forged cookie is a new visitor, not Anna.
            visitor_id = me["owner"].removeprefix("session:")
            forged = visitor(app)
            forged.cookies.set("haul_visitor", f"{visitor_id}.{'0' * 43}")
            async with forged:
                assert (await forged.get(f"/api/v1/downloads/{download_id}")).status_code == 404
        runtime = app.state.runtime
        async with runtime.db.read() as s:
            row = await s.get(BrowserSession, visitor_id)
        assert row is not None and row.ip == "203.0.113.7" and row.user_id is None


async def test_a_visitor_has_one_download_at_a_time_even_under_50_concurrent_submits(
    settings: Settings,
) -> None:
    async with public(settings) as app, visitor(app) as anna:
        await anna.get("/api/v1/auth/me")  # the cookie first, as a browser would have it
        answers = await asyncio.gather(*(add(anna, n) for n in range(50)))
        codes = sorted(a.status_code for a in answers)
        assert codes == [201] + [429] * 49
        refused = next(a for a in answers if a.status_code == 429)
        assert refused.json()["detail"].startswith(
            "Visitors of this instance may have one download at a time"
        )
        listed = (await anna.get("/api/v1/downloads")).json()["items"]
        assert len(listed) == 1
        # Canceled, it no longer counts; a retry of it counts again.
        done = listed[0]["id"]
        assert (await anna.post(f"/api/v1/downloads/{done}/cancel")).status_code == 200
        assert (await add(anna, 100)).status_code == 201
        retried = await anna.post(f"/api/v1/downloads/{done}/retry")
        assert retried.status_code == 429
        assert "one download at a time" in retried.json()["detail"]


async def test_one_address_shares_its_limit_across_visitors(settings: Settings) -> None:
    async with public(settings, public_limit_per_ip=2) as app:
        async with visitor(app) as a, visitor(app) as b, visitor(app) as c:
            assert (await add(a, 1)).status_code == 201
            assert (await add(b, 2)).status_code == 201
            third = await add(c, 3)
            assert third.status_code == 429
            assert "from one network address" in third.json()["detail"]
        async with visitor(app, ip="198.51.100.9") as elsewhere:
            assert (await add(elsewhere, 4)).status_code == 201


async def test_the_allowed_sites_hold_for_visitors(settings: Settings) -> None:
    async with (
        public(settings, public_sites="videos.example, www.clips.example") as app,
        visitor(app) as anna,
    ):
        refused = await anna.post(
            "/api/v1/downloads", json={"url": "http://elsewhere.example/a.mp4", "paused": True}
        )
        assert refused.status_code == 422
        assert refused.json()["detail"] == (
            "Visitors of this instance may download from videos.example, clips.example only; "
            "not from elsewhere.example."
        )
        magnet = await anna.post(
            "/api/v1/downloads",
            json={"url": "magnet:?xt=urn:btih:" + "a" * 40, "paused": True},
        )
        assert magnet.status_code == 422
        sub = await anna.post(
            "/api/v1/downloads", json={"url": "https://m.clips.example/v/1", "paused": True}
        )
        assert sub.status_code == 201, sub.text
        assert (await anna.get("/api/v1/downloads")).json()["items"][0]["id"] == sub.json()["id"]


async def test_visitors_cannot_reach_what_belongs_to_accounts(settings: Settings) -> None:
    async with public(settings) as app, visitor(app) as anna:
        for method, path in (
            ("GET", "/api/v1/media"),
            ("POST", "/api/v1/media"),
            ("GET", "/api/v1/iptv/providers"),
            ("GET", "/api/v1/notifications"),
            ("GET", "/api/v1/clients"),
            ("GET", "/api/v1/config"),
            ("GET", "/api/v1/users"),
            ("GET", "/api/v1/logs/errors"),
            ("POST", "/api/v1/retention/run"),
            ("GET", "/metrics"),
            ("GET", "/api/v1/tokens"),
        ):
            answer = await anna.request(method, path, json={} if method == "POST" else None)
            assert answer.status_code == 403, (method, path, answer.text)
            assert answer.json()["detail"]


async def test_private_addresses_are_refused_in_public_mode(settings: Settings) -> None:
    async with public(settings) as app, visitor(app) as anna:
        answer = await anna.post(
            "/api/v1/downloads", json={"url": "http://192.168.1.10/x.mkv", "paused": True}
        )
        assert answer.status_code == 422
        assert "private or loopback" in answer.json()["detail"]
        assert (await anna.get("/api/v1/downloads")).json()["items"] == []
