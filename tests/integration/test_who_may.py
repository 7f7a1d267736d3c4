"""Who may read and do what, beyond owning a download: profiles need someone who may download,
a download client's troubles are an administrator's business, the library rescan is an
administrator's. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from haul.service.shown import CLIENT_TROUBLE
from haul.settings import Settings
from haul.store import downloads as q
from haul.store.models import Download
from tests.support.aria2 import aria2_daemon
from tests.support.people import crowd
from tests.support.wait import await_for

HTML = {"Accept": "text/html"}


async def test_profiles_need_a_login_in_accounts_mode(settings: Settings) -> None:
    async with crowd(settings) as people:
        for path in ("/api/v1/profiles", "/api/v1/profiles/audio"):
            assert (await people.nobody.get(path)).status_code == 401, path
            assert (await people.alice.http.get(path)).status_code == 200, path


async def test_visitors_of_a_public_instance_read_the_profiles_they_choose_from(
    settings: Settings,
) -> None:
    async with crowd(settings, mode="public") as people:
        listed = await people.nobody.get("/api/v1/profiles")
        assert listed.status_code == 200
        assert "audio" in [p["name"] for p in listed.json()]
        assert (await people.nobody.post("/api/v1/profiles", json={"name": "x"})).status_code in (
            401,
            403,
        )


async def test_only_administrators_see_how_a_profile_reaches_sites(settings: Settings) -> None:
    async with crowd(settings) as people:
        made = await people.admin.post(
            "/profiles",
            json={
                "name": "tunnel",
                "proxy": "http://u:pw123@proxy.lan:3128",
                "extractor_args": "youtube:po_token=web+SECRETTOKEN",
            },
        )
        assert made.status_code == 201, made.text
        for path in ("/api/v1/profiles", "/api/v1/profiles/tunnel"):
            seen = (await people.alice.http.get(path)).text
            assert "proxy.lan" not in seen and "SECRETTOKEN" not in seen, path
        mine = (await people.admin.get("/profiles/tunnel")).json()
        assert mine["proxy"] == "http://***@proxy.lan:3128"
        assert mine["extractor_args"] == {"youtube": {"po_token": ["web+SECRETTOKEN"]}}


async def test_a_client_down_is_explained_to_users_without_its_address(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"allow_private_addresses": True})
    with aria2_daemon(tmp_path / "aria2") as daemon:
        async with crowd(settings) as people:
            added = await people.admin.post(
                "/clients",
                json={"name": "nas", "kind": "aria2", "url": daemon.url, "secret": daemon.secret},
            )
            assert added.status_code == 201, added.text
            made = await people.alice.post(
                "/downloads", json={"url": f"magnet:?xt=urn:btih:{'ab' * 20}", "client": "nas"}
            )
            assert made.status_code == 201, made.text
            mine = made.json()["id"]

            async def handed_over() -> bool:
                item = (await people.alice.get(f"/downloads/{mine}")).json()
                return item["client"] == "nas" and item["client_ref"] is not None

            await await_for(handed_over, timeout=20, what="the download to reach aria2")
            daemon.stop()
            port = daemon.url.split(":")[2].split("/")[0]

            async def unknown() -> bool:
                item = (await people.alice.get(f"/downloads/{mine}")).json()
                return item["status"] == "unknown"

            await await_for(unknown, timeout=20, what="aria2 to be seen gone")
            # A user reads one neutral sentence, in the list, the item and the page's banner.
            listed = await people.alice.get("/downloads")
            assert port not in listed.text and "jsonrpc" not in listed.text
            assert listed.json()["clients"] == [
                {"name": "builtin", "ok": True, "error": None},
                {"name": "nas", "ok": False, "error": CLIENT_TROUBLE},
            ]
            assert listed.json()["items"][0]["error"] == CLIENT_TROUBLE
            item = await people.alice.get(f"/downloads/{mine}")
            assert item.json()["error"] == CLIENT_TROUBLE and port not in item.text
            page = await people.alice.http.get("/", headers=HTML)
            assert "A download client is unreachable." in page.text
            assert port not in page.text and "nas is unreachable" not in page.text
            summary = await people.alice.http.get("/ui/summary")
            assert "A download client is unreachable." in summary.json()["banner"]
            assert port not in summary.text
            # The administrator reads what the client said, to fix it.
            seen = await people.admin.get("/downloads")
            nas = next(c for c in seen.json()["clients"] if c["name"] == "nas")
            assert nas["error"] and nas["error"] != CLIENT_TROUBLE
            assert seen.json()["items"][0]["error"] != CLIENT_TROUBLE
            admin_page = await people.admin.http.get("/", headers=HTML)
            assert "nas is unreachable." in admin_page.text

            # What a client said, kept in a download's error and its history.
            said = f"aria2 at {daemon.url} refused the torrent"
            async with people.runtime.db.write() as s:
                q.add_event(s, mine, "retry_scheduled", said, code="client_refused")
                failed = await s.get(Download, mine)
                assert failed is not None
                failed.phase, failed.last_error_code = "failed", "client_refused"
                failed.last_error_message = said
            item = await people.alice.get(f"/downloads/{mine}")
            assert item.json()["error"] == CLIENT_TROUBLE, item.text
            history = await people.alice.get(f"/downloads/{mine}/events")
            assert port not in history.text and CLIENT_TROUBLE in history.text
            assert said in (await people.admin.get(f"/downloads/{mine}/events")).text
            assert said == (await people.admin.get(f"/downloads/{mine}")).json()["error"]


async def test_only_administrators_rescan_the_library(settings: Settings) -> None:
    async with crowd(settings) as people:
        refused = await people.alice.post("/media/rescan")
        assert refused.status_code == 403, refused.text
        assert (await people.admin.post("/media/rescan")).status_code == 200
        csrf = "c" * 43
        people.alice.http.cookies.set("haul_csrf", csrf)
        page = await people.alice.http.post(
            "/library/rescan", data={"csrf": csrf}, headers=HTML, follow_redirects=False
        )
        assert page.status_code == 403, page.text
        assert "administrator" in page.text
        # The button is on the administrator's library page only.
        button = 'action="/library/rescan"'
        assert button not in (await people.alice.http.get("/library", headers=HTML)).text
        assert button in (await people.admin.http.get("/library", headers=HTML)).text
