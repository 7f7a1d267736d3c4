"""Stalls, and the wanted state re-applied to running jobs (as another process would ask)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import update

from haul.settings import Settings
from haul.store.models import Download
from tests.conftest import App
from tests.integration.test_api_downloads import finished, status_is, submit
from tests.support.origin import Origin
from tests.support.wait import await_for


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Quick stalls, one quick retry, and the wanted state re-applied five times a second."""
    return settings.model_copy(
        update={
            "retry_max_attempts": 1,
            "retry_base_delay": 0.2,
            "stall_warning": 0.3,
            "stall_timeout": 1.5,
            "reconcile_interval": 0.2,
        }
    )


async def test_a_silent_server_warns_then_fails_as_stalled_and_is_retried(
    app: App, origin: Origin
) -> None:
    origin.add_file("/silent.bin", b"never")
    origin.fault("/silent.bin", "slow_headers", times=None, delay=4)
    item = await submit(app, origin.url("/silent.bin"))

    async def warned() -> dict[str, Any] | None:
        got: dict[str, Any] = (await app.get(f"/downloads/{item['id']}")).json()
        return got if got["message"] and "Stalled" in got["message"] else None

    await await_for(warned, 10, what="a stall warning")
    done = await finished(app, item["id"], timeout=30)
    assert done["status"] == "failed" and done["error_code"] == "stalled"
    assert "no data received" in done["error"]
    kinds = [e["kind"] for e in (await app.get(f"/downloads/{item['id']}/events")).json()]
    assert kinds.count("retry_scheduled") == 1 and kinds[-1] == "failed"


async def test_a_pause_written_elsewhere_reaches_the_running_job(app: App, origin: Origin) -> None:
    origin.add_file("/far.bin", os.urandom(2 * 1024 * 1024))
    origin.throttle("/far.bin", 256 * 1024)
    item = await submit(app, origin.url("/far.bin"))
    await status_is(app, item["id"], "downloading")
    # Another process (an API node) records the wish; this worker has not been told directly.
    async with app.runtime.db.write() as s:
        await s.execute(
            update(Download).where(Download.id == item["id"]).values(desired_paused=True)
        )
    await await_for(lambda: _gone(app, item["id"]), 5, what="the reconciler to stop the paused job")
    assert (await status_is(app, item["id"], "paused"))["downloaded_bytes"] > 0


async def _gone(app: App, download_id: int) -> bool:
    return not app.runtime.runs(download_id)
