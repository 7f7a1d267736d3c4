"""The settings page without a browser: limits and retries saved from the form, the notes a
bad value gets, profiles added and refused, and a retention run reporting what it freed."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from haul.core.profiles import AUDIO_FORMATS, CONTAINERS, FLAGS, SPONSORBLOCK_CATEGORIES
from haul.store.models import Download, utcnow
from tests.conftest import App
from tests.integration.test_web_pages import HTML, open_page
from tests.support.origin import Origin
from tests.support.wait import await_for


async def setting(app: App, key: str) -> dict[str, Any]:
    listed = (await app.get("/config")).json()["settings"]
    found: dict[str, Any] = next(s for s in listed if s["key"] == key)
    return found


def form_of(page: str) -> dict[str, str]:
    """What the limits form sends as it stands (values, and the ticked "default" boxes)."""
    form = page[page.index('action="/settings"') : page.index("Save settings")]
    values = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form))
    for key, chosen in re.findall(r'<select id="([a-z_]+)".*?selected>([a-z]+)<', form, re.S):
        values[key] = chosen
    for key in re.findall(r'name="([a-z_]+__default)" value="true" checked', form):
        values[key] = "true"
    return values


async def test_a_limit_changed_on_the_page_takes_effect(app: App) -> None:
    page, csrf = await open_page(app, "/settings")
    assert "Downloads at once (everyone)" in page
    sent = form_of(page)
    sent.update(csrf=csrf, limit_global="3")
    del sent["limit_global__default"]
    saved = await app.http.post("/settings", data=sent, headers=HTML)
    assert saved.status_code == 303
    assert (await setting(app, "limit_global"))["value"] == 3
    assert app.runtime.limits().global_active == 3

    # Typed over a ticked "default" box, the new value wins; an untouched form changes nothing.
    page, _ = await open_page(app, "/settings")
    sent = form_of(page)
    sent.update(csrf=csrf, retry_max_attempts="2")
    assert sent["retry_max_attempts__default"] == "true"
    assert (await app.http.post("/settings", data=sent, headers=HTML)).status_code == 303
    assert (await setting(app, "retry_max_attempts"))["value"] == 2
    assert app.runtime.config.retry_policy().max_attempts == 2

    page, _ = await open_page(app, "/settings")
    sent = {**form_of(page), "csrf": csrf, "limit_global__default": "true"}
    assert (await app.http.post("/settings", data=sent, headers=HTML)).status_code == 303
    back = await setting(app, "limit_global")
    assert back["source"] == "default"
    assert back["value"] == 10


async def test_bad_values_are_explained_beside_their_fields(app: App) -> None:
    page, csrf = await open_page(app, "/settings")
    sent = form_of(page)
    for key in ("limit_global", "retry_base_delay"):
        sent.pop(f"{key}__default", None)
    sent.update(csrf=csrf, limit_global="zero", retry_base_delay="-1", retry_max_attempts="4")
    refused = await app.http.post("/settings", data=sent, headers=HTML)
    assert refused.status_code == 422
    assert re.search(r'id="limit_global-error">limit_global must be a whole number', refused.text)
    assert 'id="retry_base_delay-error">' in refused.text
    assert 'value="zero"' in refused.text  # what was typed stays
    # All or nothing: the good value beside the bad ones was not saved either.
    assert (await setting(app, "retry_max_attempts"))["value"] == 5

    no_token = await app.http.post("/settings", data={"limit_global": "2"}, headers=HTML)
    assert no_token.status_code == 403


async def test_profiles_are_added_changed_and_refused_with_reasons(app: App) -> None:
    _, csrf = await open_page(app, "/settings")
    added = await app.http.post(
        "/settings/profiles",
        data={"csrf": csrf, "name": "small", "format": "worst", "subtitles": "en, de"},
        headers=HTML,
    )
    assert added.status_code == 303
    profile = (await app.get("/profiles/small")).json()
    assert profile["format"] == "worst"
    assert profile["subtitles"] == ["en", "de"]

    hostile = await app.http.post(
        "/settings/profiles",
        data={"csrf": csrf, "name": "escape", "output_template": "../../%(title)s.%(ext)s"},
        headers=HTML,
    )
    assert hostile.status_code == 422
    assert 'id="new-output_template-error"' in hostile.text
    assert (await app.get("/profiles/escape")).status_code == 404

    made_default = await app.http.post(
        "/settings/profiles",
        data={"csrf": csrf, "original": "small", "name": "small", "is_default": "true"},
        headers=HTML,
    )
    assert made_default.status_code == 303
    assert (await app.get("/profiles/small")).json()["is_default"] is True
    gone = await app.http.post(
        "/settings/profiles",
        data={"csrf": csrf, "original": "small", "name": "small", "delete": "yes"},
        headers=HTML,
    )
    assert gone.status_code == 303
    assert (await app.get("/profiles/small")).status_code == 404


def choices(page: str, select_id: str) -> list[str]:
    """The values a <select> of the page offers, empty one included."""
    start = page.index(f'<select id="{select_id}"')
    block = page[start : page.index("</select>", start)]
    return re.findall(r'<option value="([^"]*)"', block)


async def test_the_profile_form_offers_what_the_server_takes(app: App) -> None:
    page, csrf = await open_page(app, "/settings")
    assert choices(page, "new-container") == ["", *CONTAINERS]
    assert choices(page, "new-audio_format") == ["", *AUDIO_FORMATS]
    form = page[page.index('id="new-name"') :]
    labels = re.findall(r'<label for="new-([a-z_]+)">', form)
    # Audio only (the audio format) is asked first, then its quality.
    assert labels.index("audio_format") + 1 == labels.index("audio_quality"), labels
    for flag in FLAGS:
        assert f'name="{flag}" value="true"' in page
    for category in SPONSORBLOCK_CATEGORIES:
        assert f'name="sponsorblock_mark" value="{category}"' in page
    assert 'name="sponsorblock_remove" value="chapter"' not in page

    sent = {
        "csrf": csrf,
        "name": "music",
        "audio_format": "opus",
        "audio_quality": "0",
        "embed_metadata": "true",
        "write_nfo": "true",
        "sponsorblock_remove": ["sponsor", "music_offtopic"],
        "sponsorblock_mark": ["intro"],
    }
    added = await app.http.post("/settings/profiles", data=sent, headers=HTML)
    assert added.status_code == 303, added.text
    music = (await app.get("/profiles/music")).json()
    assert (music["audio_format"], music["audio_quality"]) == ("opus", "0")
    assert music["embed_metadata"] is music["write_nfo"] is True
    assert music["embed_thumbnail"] is False
    assert music["sponsorblock_remove"] == ["sponsor", "music_offtopic"]
    assert music["sponsorblock_mark"] == ["intro"]
    shown, _ = await open_page(app, "/settings")
    assert choices(shown, "music-audio_format") == ["", *AUDIO_FORMATS]
    assert '<option value="opus" selected>' in shown

    both = await app.http.post(
        "/settings/profiles",
        data={**sent, "original": "music", "container": "mkv", "write_info_json": "true"},
        headers=HTML,
    )
    assert both.status_code == 422
    assert 'id="music-container-error"' in both.text
    assert "with &#34;Audio only&#34; chosen" in both.text  # the form's label, not a key
    assert "audio_format" not in both.text.split('id="music-container-error"')[1].split("</p>")[0]
    assert 'name="write_info_json" value="true" checked' in both.text  # what was typed stays
    assert (await app.get("/profiles/music")).json()["container"] is None


async def test_retention_run_from_the_page_reports_the_space_freed(
    app: App, origin: Origin
) -> None:
    origin.add_file("/old.bin", b"o" * 123_456, filename="old.bin")
    item = (await app.post("/downloads", json={"url": origin.url("/old.bin")})).json()

    async def completed() -> bool:
        return bool((await app.get(f"/downloads/{item['id']}")).json()["status"] == "completed")

    await await_for(completed, timeout=30)
    async with app.runtime.db.write() as s:
        await s.execute(
            update(Download)
            .where(Download.id == item["id"])
            .values(completed_at=utcnow() - timedelta(days=40))
        )
    await app.http.patch("/api/v1/config", json={"retention_days": 30})
    page, csrf = await open_page(app, "/settings")
    assert "It has not run yet." in page

    preview = await app.http.post(
        "/settings/retention", data={"csrf": csrf, "dry_run": "true"}, headers=HTML
    )
    assert re.search(
        r"A run now would remove <b>1</b> download and would free <b>123.5 KB", preview.text
    )
    assert (await app.get(f"/downloads/{item['id']}")).status_code == 200
    listed = preview.text[preview.text.index('id="retention-preview"') :]
    row = re.search(
        r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td><td>(.*?)</td></tr>", listed
    )
    assert row is not None
    done = (await app.get(f"/downloads/{item['id']}")).json()
    assert int(row[1]) == item["id"] and row[2] == (done["title"] or done["url"])
    assert row[3] == "123.5 KB"
    assert row[4] == f"<code>{(app.runtime.settings.downloads_root / 'old.bin').resolve()}</code>"

    ran = await app.http.post("/settings/retention", data={"csrf": csrf}, headers=HTML)
    assert re.search(r"Removed <b>1</b> download and freed <b>123.5 KB</b> \(1 file\)", ran.text)
    assert (await app.get(f"/downloads/{item['id']}")).status_code == 404
    page, _ = await open_page(app, "/settings")
    assert "removed 1, freed 123.5 KB" in page


async def test_every_key_is_written_whole_and_small_values_plainly(app: App) -> None:
    changed = await app.http.patch("/api/v1/config", json={"anonymous_retention_days": 0.00001})
    assert changed.status_code == 200, changed.text
    page, _ = await open_page(app, "/settings")
    for s in (await app.get("/config")).json()["settings"]:
        assert f'<code class="key">{s["key"]}</code>' in page  # the name `haul config` takes
    assert form_of(page)["anonymous_retention_days"] == "0.00001"  # not 1e-05


async def test_site_rules_are_shown_and_edited_as_a_table(app: App) -> None:
    page, csrf = await open_page(app, "/settings")
    assert 'name="site_rule_domain"' in page and "Site rules" in page
    sent: dict[str, Any] = {
        **{k: v for k, v in form_of(page).items() if not k.startswith("site_rule")},
        "csrf": csrf,
        "site_rule_domain": ["YouTube.com", "", "example.org"],
        "site_rule_max": ["2", "", ""],
        "site_rule_sleep": ["", "", "1.5"],
        "site_rule_connections": ["", "", "1"],
    }
    saved = await app.http.post("/settings", data=sent, headers=HTML)
    assert saved.status_code == 303, saved.text
    assert (await setting(app, "site_rules"))["value"] == [
        {"domain": "youtube.com", "max_transfers": 2, "sleep_seconds": 0.0, "connections": None},
        {"domain": "example.org", "max_transfers": None, "sleep_seconds": 1.5, "connections": 1},
    ]
    assert app.runtime.limits().per_site == {"youtube.com": 2}
    shown, _ = await open_page(app, "/settings")
    assert 'value="youtube.com"' in shown and 'value="1.5"' in shown

    bad = {**sent, "site_rule_domain": ["youtube.com"], "site_rule_max": ["500"]}
    bad["site_rule_sleep"] = [""]
    refused = await app.http.post("/settings", data=bad, headers=HTML)
    assert refused.status_code == 422
    assert 'id="site_rules-error"' in refused.text and "from 1 to 100" in refused.text
    assert 'value="500"' in refused.text  # what was typed stays
    # a row whose domain is cleared goes
    gone = {**sent, "site_rule_domain": ["", "", "example.org"]}
    assert (await app.http.post("/settings", data=gone, headers=HTML)).status_code == 303
    assert [r["domain"] for r in (await setting(app, "site_rules"))["value"]] == ["example.org"]


async def test_every_bad_site_rule_is_told_beside_its_row(app: App) -> None:
    page, csrf = await open_page(app, "/settings")
    sent: dict[str, Any] = {
        **{k: v for k, v in form_of(page).items() if not k.startswith("site_rule")},
        "csrf": csrf,
        "site_rule_domain": ["bad domain!", "example.org", "example.net"],
        "site_rule_max": ["1", "2", "500"],
        "site_rule_sleep": ["", "", ""],
    }
    refused = await app.http.post("/settings", data=sent, headers=HTML)
    assert refused.status_code == 422
    text = refused.text
    first = text.index('id="site-rule-1-error"')
    second = text.index('id="site-rule-3-error"')
    assert 'id="site-rule-2-error"' not in text  # the good row has no note
    # each note follows its own row's inputs
    assert text.index('value="bad domain!"') < first < text.index('value="example.org"')
    assert "is not a domain" in text[first : text.index("</p>", first)]
    assert text.index('value="500"') < second
    assert "from 1 to 100" in text[second : text.index("</p>", second)]
    assert "2 rules are not right" in text
    assert (await setting(app, "site_rules"))["value"] == []  # nothing was changed


async def test_the_address_of_a_refused_profile_form_opens_the_settings(app: App) -> None:
    _, csrf = await open_page(app, "/settings")
    refused = await app.http.post(
        "/settings/profiles", data={"csrf": csrf, "name": ""}, headers=HTML
    )
    assert refused.status_code == 422
    again = await app.http.get("/settings/profiles", headers=HTML)
    assert again.status_code == 303 and again.headers["location"] == "/settings#profiles"


async def test_the_profile_form_takes_a_proxy_and_extractor_arguments(app: App) -> None:
    page, csrf = await open_page(app, "/settings")
    assert 'id="new-proxy"' in page and 'id="new-extractor_args"' in page
    sent = {
        "csrf": csrf,
        "name": "tunnel",
        "proxy": "http://bob:hunter22@proxy.lan:3128",
        "extractor_args": "youtube:player_client=web,default",
    }
    added = await app.http.post("/settings/profiles", data=sent, headers=HTML)
    assert added.status_code == 303, added.text
    shown, _ = await open_page(app, "/settings")
    assert "hunter22" not in shown and 'value="http://***@proxy.lan:3128"' in shown
    assert "youtube:player_client=web,default</textarea>" in shown
    # saving the form as shown keeps the proxy (its masked form means "unchanged")
    again = {**sent, "original": "tunnel", "proxy": "http://***@proxy.lan:3128"}
    assert (await app.http.post("/settings/profiles", data=again, headers=HTML)).status_code == 303
    async with app.runtime.db.read() as s:
        from haul.store.profiles import by_name

        row = await by_name(s, "tunnel")
    assert row is not None and row.proxy_sealed is not None  # the credentials kept sealed
    opened = await app.runtime.service.engine_profile(row.id)
    assert opened.proxy == "http://bob:hunter22@proxy.lan:3128"
    socks = {**sent, "original": "tunnel", "proxy": "socks5://proxy.lan:1080"}
    refused = await app.http.post("/settings/profiles", data=socks, headers=HTML)
    assert refused.status_code == 422 and "SOCKS proxies are not supported" in refused.text


async def test_the_profile_form_sets_the_fragments_fetched_at_once(app: App) -> None:
    page, csrf = await open_page(app, "/settings")
    assert 'id="new-concurrent_fragments"' in page
    sent = {"csrf": csrf, "name": "streams", "concurrent_fragments": "8"}
    added = await app.http.post("/settings/profiles", data=sent, headers=HTML)
    assert added.status_code == 303, added.text
    assert (await app.get("/profiles/streams")).json()["concurrent_fragments"] == 8
    shown, _ = await open_page(app, "/settings")
    assert 'id="streams-concurrent_fragments" name="concurrent_fragments" value="8"' in shown
    refused = {**sent, "original": "streams", "concurrent_fragments": "40"}
    answer = await app.http.post("/settings/profiles", data=refused, headers=HTML)
    assert answer.status_code == 422 and "from 1 to 16" in answer.text
