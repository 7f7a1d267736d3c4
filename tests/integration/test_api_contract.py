"""The API contract beyond single downloads: limits, WebSocket channels, OpenAPI, health."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator

import httpx
import pytest
from websockets.sync.client import connect

from haul.settings import Settings
from haul.web.app import create_app
from tests.conftest import App
from tests.support.origin import Origin
from tests.support.server import HaulServer


@pytest.fixture
def strict_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"limit_per_owner": 1, "over_limit": "reject"})


@pytest.fixture
async def strict_app(strict_settings: Settings) -> Iterator[App]:  # type: ignore[misc]
    application = create_app(strict_settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            yield App(http, application.state.runtime)


async def test_fifty_concurrent_submits_with_limit_one_admit_exactly_one(
    strict_app: App, origin: Origin
) -> None:
    for n in range(50):
        origin.add_file(f"/s/{n}", b"x" * 10)
        origin.throttle(f"/s/{n}", 1)
    responses = await asyncio.gather(
        *(strict_app.post("/downloads", json={"url": origin.url(f"/s/{n}")}) for n in range(50))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [429] * 49
    refused = next(r for r in responses if r.status_code == 429)
    assert "limit is 1" in refused.json()["detail"]
    assert refused.headers["retry-after"]
    listed = (await strict_app.get("/downloads")).json()["items"]
    assert len(listed) == 1


async def test_openapi_and_health(app: App) -> None:
    schema = (await app.get("/openapi.json")).json()
    assert "/api/v1/downloads" in schema["paths"]
    assert "/api/v1/downloads/{download_id}/pause" in schema["paths"]
    assert (await app.http.get("/healthz")).json()["status"] == "ok"
    ready = (await app.get("/readyz")).json()
    assert ready["status"] == "ok"
    profiles = [p["name"] for p in (await app.get("/profiles")).json()]
    assert "default" in profiles and "audio" in profiles


async def test_profile_is_recorded_and_bulk_actions_report_each(app: App) -> None:
    ok = await app.post(
        "/downloads", json={"url": "http://127.0.0.1:9/x", "profile": "audio", "paused": True}
    )
    assert ok.status_code == 201
    bulk = (await app.post("/downloads/retry", json={"ids": [ok.json()["id"], 424242]})).json()
    assert bulk["items"] == []
    assert {e["id"] for e in bulk["errors"]} == {ok.json()["id"], 424242}
    assert any("no download 424242" in e["detail"] for e in bulk["errors"])
    paused = (await app.post("/downloads/cancel", json={"ids": [ok.json()["id"]]})).json()
    assert paused["items"][0]["status"] == "canceled"


def test_websocket_channels_carry_progress_of_one_download(
    server: HaulServer, origin: Origin
) -> None:
    for name in ("a", "b"):
        origin.add_file(f"/ws/{name}.bin", os.urandom(1024 * 1024))
        origin.throttle(f"/ws/{name}.bin", 256 * 1024)
    ws_url = server.url.replace("http://", "ws://") + "/api/v1/ws"
    with connect(ws_url, open_timeout=10) as ws:
        ws.send(json.dumps({"subscribe": ["download.1"]}))
        assert json.loads(ws.recv(10)) == {"type": "subscribed", "channels": ["download.1"]}
        a = server.api("POST", "/downloads", json={"url": origin.url("/ws/a.bin")}).json()
        server.api("POST", "/downloads", json={"url": origin.url("/ws/b.bin")})
        assert a["id"] == 1
        seen = [json.loads(ws.recv(10)) for _ in range(6)]
    assert {e["id"] for e in seen} == {1}
    assert any(e["type"] == "progress" and e["downloaded_bytes"] > 0 for e in seen)


async def test_metrics_in_prometheus_format(app: App) -> None:
    body = {"url": "http://127.0.0.1:9/nothing", "paused": True}
    assert (await app.post("/downloads", json=body)).status_code == 201
    response = await app.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'haul_downloads{phase="queued"} 1.0' in text
    assert 'haul_client_up{client="builtin"} 1.0' in text
    for name in ("haul_active_transfers", "haul_transfer_bytes_per_second", "haul_retries_total"):
        assert f"\n{name} " in text


async def test_fifty_concurrent_writers_all_get_answers(app: App, origin: Origin) -> None:
    for n in range(50):
        # 20 s each: none can finish before its pause and resume arrive, on a busy machine too
        # (a finished download answers a resume with 409, rightly)
        origin.add_file(f"/c/{n}", b"y" * 10_000)
        origin.throttle(f"/c/{n}", 500)
    created = await asyncio.gather(
        *(app.post("/downloads", json={"url": origin.url(f"/c/{n}")}) for n in range(50))
    )
    assert {r.status_code for r in created} == {201}
    ids = [r.json()["id"] for r in created]
    actions = [app.post(f"/downloads/{i}/pause") for i in ids[:25]]
    actions += [app.http.delete(f"/api/v1/downloads/{i}") for i in ids[25:]]
    answers = await asyncio.gather(*actions)
    assert {r.status_code for r in answers} == {200}, [
        r.text for r in answers if r.status_code != 200
    ]
    resumed = await asyncio.gather(*(app.post(f"/downloads/{i}/resume") for i in ids[:25]))
    assert {r.status_code for r in resumed} == {200}
    listed = (await app.get("/downloads", params={"limit": 100})).json()["items"]
    assert len(listed) == 25
