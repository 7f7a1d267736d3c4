"""Runtime settings through the API: limits, the over-limit policy and retries follow a change
at once, bad values are refused whole, secrets of the same table never show."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from haul.runtime import build
from haul.settings import Settings
from haul.store.models import ConfigEntry
from tests.conftest import App
from tests.support.origin import Origin
from tests.support.wait import await_for


async def patch(app: App, changes: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = await app.http.patch("/api/v1/config", json=changes)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def by_key(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["key"]: s for s in body["settings"]}


async def submit(app: App, url: str) -> dict[str, Any]:
    response = await app.post("/downloads", json={"url": url})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def status_of(app: App, download_id: int) -> str:
    status: str = (await app.get(f"/downloads/{download_id}")).json()["status"]
    return status


async def until_status(app: App, download_id: int, wanted: str) -> None:
    async def check() -> bool:
        return await status_of(app, download_id) == wanted

    await await_for(check, 30, what=f"download {download_id} to be {wanted}")


def slow_files(origin: Origin, *names: str) -> list[str]:
    for name in names:
        origin.add_file(f"/{name}", os.urandom(2 * 1024 * 1024))
        origin.throttle(f"/{name}", 64 * 1024)
    return [origin.url(f"/{name}") for name in names]


async def test_listing_shows_every_setting_with_its_default(app: App) -> None:
    body = (await app.get("/config")).json()
    settings = by_key(body)
    assert list(settings) == [
        "limit_global",
        "limit_per_owner",
        "over_limit",
        "retry_max_attempts",
        "retry_base_delay",
        "retry_max_delay",
        "retention_days",
        "anonymous_retention_days",
        "site_rules",
        "speed_limit_global",
        "speed_limit_per_owner",
        "speed_schedule",
        "speed_timezone",
    ]
    limit = settings["limit_global"]
    assert limit["value"] == limit["default"] == 10 and limit["source"] == "default"
    assert limit["type"] == "integer" and limit["minimum"] == 1 and limit["description"]
    assert settings["over_limit"]["choices"] == ["queue", "reject"]
    per_owner = settings["limit_per_owner"]
    assert per_owner["value"] is None and per_owner["nullable"]
    assert per_owner["none_means"] == "no limit"
    assert settings["anonymous_retention_days"]["value"] == 1.0
    assert settings["retention_days"]["unit"] == "days"


async def test_a_lower_global_limit_makes_the_next_download_wait_and_a_raise_starts_it(
    app: App, origin: Origin
) -> None:
    first_url, second_url = slow_files(origin, "one.bin", "two.bin")
    changed = by_key(await patch(app, {"limit_global": 1}))["limit_global"]
    assert changed["value"] == 1 and changed["source"] == "config"
    assert app.runtime.limits().global_active == 1

    first = await submit(app, first_url)
    await until_status(app, first["id"], "downloading")
    second = await submit(app, second_url)
    await app.runtime.schedule_now()  # a whole scheduling pass: the slot is taken
    assert await status_of(app, second["id"]) == "queued"
    assert origin.requests_for("/two.bin") == []

    await patch(app, {"limit_global": 2})
    await until_status(app, second["id"], "downloading")  # woken by the change, no poll
    assert await status_of(app, first["id"]) == "downloading"
    for item in (first, second):
        await app.http.delete(f"/api/v1/downloads/{item['id']}")


async def test_reject_policy_answers_429_after_the_change(app: App, origin: Origin) -> None:
    first_url, second_url = slow_files(origin, "a.bin", "b.bin")
    await patch(app, {"limit_global": "1", "over_limit": "reject"})
    first = await submit(app, first_url)
    await until_status(app, first["id"], "downloading")

    refused = await app.post("/downloads", json={"url": second_url})
    assert refused.status_code == 429, refused.text
    assert refused.json()["code"] == "limit_exceeded"
    assert "already running 1 downloads" in refused.json()["detail"]

    await patch(app, {"over_limit": None})  # back to the default: queue
    waiting = await submit(app, second_url)
    assert waiting["status"] == "queued"
    for item in (first, waiting):
        await app.http.delete(f"/api/v1/downloads/{item['id']}")


async def retry_delays(app: App, download_id: int) -> list[float]:
    events = (await app.get(f"/downloads/{download_id}/events")).json()
    return [e["data"]["delay"] for e in events if e["kind"] == "retry_scheduled"]


async def finished(app: App, download_id: int) -> str:
    async def check() -> str | None:
        status = await status_of(app, download_id)
        return status if status in ("completed", "failed") else None

    return await await_for(check, 30, what=f"download {download_id} to finish")


async def test_retry_settings_change_the_next_retry(app: App, origin: Origin) -> None:
    await patch(app, {"retry_base_delay": 0.1, "retry_max_attempts": 2})
    assert app.runtime.config.retry_policy().base_delay == 0.1
    for name in ("quick.bin", "slower.bin", "never.bin"):
        origin.add_file(f"/{name}", b"payload")
        origin.fault(f"/{name}", "status", times=1, status=503)

    quick = await submit(app, origin.url("/quick.bin"))
    assert await finished(app, quick["id"]) == "completed"
    assert await retry_delays(app, quick["id"]) == [0.1]

    await patch(app, {"retry_base_delay": "1.5"})
    slower = await submit(app, origin.url("/slower.bin"))
    assert await finished(app, slower["id"]) == "completed"
    [delay] = await retry_delays(app, slower["id"])
    assert 1.2 <= delay <= 1.8  # 1.5 s, give or take the jitter

    await patch(app, {"retry_max_attempts": 0})
    never = await submit(app, origin.url("/never.bin"))
    assert await finished(app, never["id"]) == "failed"
    assert await retry_delays(app, never["id"]) == []
    assert len(origin.requests_for("/never.bin")) == 1


async def test_bad_values_are_refused_whole_with_a_sentence_each(app: App) -> None:
    body = await patch(app, {"limit_global": 3, "over_limit": "sometimes", "speed": 1}, 422)
    assert body["code"] == "invalid_config"
    assert body["errors"] == {
        "over_limit": "over_limit must be one of: queue, reject.",
        "speed": "There is no setting named 'speed'; the settings are: limit_global, "
        "limit_per_owner, over_limit, retry_max_attempts, retry_base_delay, retry_max_delay, "
        "retention_days, anonymous_retention_days, site_rules, speed_limit_global, "
        "speed_limit_per_owner, speed_schedule, speed_timezone.",
    }
    assert "over_limit must be one of: queue, reject." in body["detail"]
    # Nothing changed, not even the good value of the same request.
    assert by_key((await app.get("/config")).json())["limit_global"]["value"] == 10
    assert app.runtime.limits().global_active == 10

    for changes, words in [
        ({"limit_global": 0}, "limit_global must be a whole number of at least 1."),
        ({"limit_global": "ten"}, "limit_global must be a whole number of at least 1."),
        ({"retention_days": -2}, "greater than 0, or none (keep forever)"),
        ({"retry_base_delay": 900}, "cannot be more than retry_max_delay (10 minutes)"),
    ]:
        refused = await patch(app, changes, 422)
        assert words in refused["detail"], refused
    not_an_object = await app.http.patch("/api/v1/config", json=[1, 2])
    assert not_an_object.status_code == 422


async def test_unset_returns_to_the_default_and_none_empties(app: App) -> None:
    await patch(app, {"limit_global": 3, "limit_per_owner": 2, "retention_days": 30})
    settings = by_key(await patch(app, {"limit_per_owner": "none"}))
    assert settings["limit_global"]["value"] == 3
    assert settings["limit_per_owner"]["value"] is None
    assert settings["limit_per_owner"]["source"] == "config"  # empty on purpose
    assert settings["retention_days"]["value"] == 30.0
    assert app.runtime.config.retention_ages().days == 30.0

    settings = by_key(await patch(app, {"limit_global": None, "retention_days": None}))
    limit = settings["limit_global"]
    assert (limit["value"], limit["source"], limit["updated_at"]) == (10, "default", None)
    assert settings["retention_days"]["value"] is None
    assert settings["retention_days"]["source"] == "default"
    assert app.runtime.limits().global_active == 10
    assert app.runtime.config.retention_ages().days is None


async def test_secrets_in_the_config_table_never_show(app: App) -> None:
    async with app.runtime.db.write() as s:
        s.add(ConfigEntry(key="secret.file_links", value="very-secret-key"))
    body = (await app.get("/config")).json()
    assert "secret" not in str(body) and "very-secret-key" not in str(body)
    refused = await patch(app, {"secret.file_links": "mine now"}, 422)
    assert "very-secret-key" not in str(refused)
    assert list(refused["errors"]) == ["secret.file_links"]
    assert "There is no setting named 'secret.file_links'" in refused["detail"]
    changed = await patch(app, {"limit_global": 4})
    assert "very-secret-key" not in str(changed)
    async with app.runtime.db.read() as s:
        kept = await s.scalar(select(ConfigEntry.value).where(ConfigEntry.key.like("secret.%")))
    assert kept == "very-secret-key"


async def test_a_stored_value_survives_a_restart_and_beats_the_environment(
    app: App, settings: Settings
) -> None:
    await patch(app, {"limit_global": 7, "over_limit": "reject"})
    other = build(settings.model_copy(update={"limit_global": 20}), run_worker=False)
    await other.start()
    try:
        assert other.config.current.limit_global == 7
        assert other.config.current.over_limit == "reject"
        assert other.service.policy() == "reject" and other.limits().global_active == 7
        listed = {s["key"]: s for s in other.config.listing()}
        assert listed["limit_global"]["default"] == 20
    finally:
        await other.stop()


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_another_process_follows_a_change_at_once(app: App, settings: Settings) -> None:
    """Processes tell each other through PostgreSQL LISTEN/NOTIFY (SQLite has one process)."""
    other = build(settings, run_worker=False)  # an API-only process: no periodic refresh
    await other.start()
    try:
        await patch(app, {"limit_global": 2, "retry_max_attempts": 1})
        await await_for(
            lambda: other.limits().global_active == 2, 10, what="the other process to follow"
        )
        assert other.config.retry_policy().max_attempts == 1
    finally:
        await other.stop()


async def test_only_administrators_see_or_change_settings(visitor: httpx.AsyncClient) -> None:
    for response in (
        await visitor.get("/api/v1/config"),
        await visitor.patch("/api/v1/config", json={"limit_global": 1}),
        await visitor.post("/api/v1/profiles", json={"name": "mine"}),
        await visitor.patch("/api/v1/profiles/default", json={"format": "b"}),
        await visitor.delete("/api/v1/profiles/audio"),
    ):
        assert response.status_code == 403, response.text
        assert response.json() == {
            "detail": "Only an administrator can do that.",
            "code": "forbidden",
        }
    assert (await visitor.get("/api/v1/profiles")).status_code == 200
