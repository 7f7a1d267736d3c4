"""Speed limits on the pages: the settings page sets the global limit and the schedule and
says what is in force now and what comes next; a download's page sets its own limit. Both
forms are refused without their CSRF token."""

from __future__ import annotations

from typing import Any

from tests.conftest import App
from tests.integration.test_settings_page import form_of, setting
from tests.integration.test_web_pages import HTML, open_page, queue


async def test_the_settings_page_sets_the_speed_limit_and_the_schedule(app: App) -> None:
    page, csrf = await open_page(app, "/settings")
    assert "Download speed (everyone)" in page and 'id="speed_schedule"' in page
    assert "Now: Global limit no limit" in page
    sent: dict[str, Any] = {**form_of(page), "csrf": csrf, "speed_limit_global": "4M"}
    sent.pop("speed_limit_global__default")
    sent["speed_schedule"] = "weekends 08:00-20:00 pause\r\nmon-fri 01:00-06:00 10M"
    saved = await app.http.post("/settings", data=sent, headers=HTML)
    assert saved.status_code == 303, saved.text
    assert (await setting(app, "speed_limit_global"))["value"] == 4_000_000
    stored = (await setting(app, "speed_schedule"))["value"]
    assert [(w["days"], w["from"], w["to"], w["limit"], w["pause"]) for w in stored] == [
        (["sat", "sun"], "08:00", "20:00", None, True),
        (["mon", "tue", "wed", "thu", "fri"], "01:00", "06:00", 10_000_000, False),
    ]
    shown, _ = await open_page(app, "/settings")
    assert "sat,sun 08:00-20:00 pause\nmon-fri 01:00-06:00 10M</textarea>" in shown
    assert 'value="4M"' in shown  # as it was typed, not in bytes
    assert "Global limit 4.0 MB/s until" in shown or "Paused by the schedule until" in shown
    assert "Then: " in shown

    for wrong in ('[{"days": ["someday"], "from": "08:00"}]', "someday 08:00-09:00 pause"):
        bad = {**sent, "speed_schedule": wrong}
        refused = await app.http.post("/settings", data=bad, headers=HTML)
        assert refused.status_code == 422
        assert 'id="speed_schedule-error"' in refused.text and "not a weekday" in refused.text
    no_token = await app.http.post("/settings", data={"speed_limit_global": "1M"}, headers=HTML)
    assert no_token.status_code == 403


async def test_a_downloads_page_sets_its_own_speed_limit(app: App) -> None:
    made = await queue(app, "http://127.0.0.1:9/file.bin", paused=True)
    page, csrf = await open_page(app, f"/downloads/{made['id']}")
    assert "none of its own" in page and 'name="speed_limit"' in page
    form = {"csrf": csrf, "speed_limit": "1.5M", "back": f"/downloads/{made['id']}"}
    action = f"/downloads/{made['id']}/speed_limit"
    saved = await app.http.post(action, data=form, headers=HTML)
    assert saved.status_code == 303, saved.text
    assert (await app.get(f"/downloads/{made['id']}")).json()["speed_limit"] == 1_500_000
    shown, _ = await open_page(app, f"/downloads/{made['id']}")
    assert "1.5 MB/s" in shown and 'value="1.5M"' in shown  # as a person types it

    wrong = await app.http.post(action, data={**form, "speed_limit": "fast"}, headers=HTML)
    assert wrong.status_code == 422 and "is not a speed" in wrong.text
    no_token = await app.http.post(action, data={"speed_limit": "1M"}, headers=HTML)
    assert no_token.status_code == 403


async def test_other_sites_cannot_change_a_downloads_limit(app: App) -> None:
    made = await queue(app, "http://192.0.2.1/x.mp4", paused=True)
    path = f"/api/v1/downloads/{made['id']}"
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = await app.http.patch(path, json={"speed_limit": "1K"}, headers=headers)
        assert response.status_code == 403
        assert "another web site" in response.json()["detail"]
    assert (await app.get(f"/downloads/{made['id']}")).json()["speed_limit"] is None
