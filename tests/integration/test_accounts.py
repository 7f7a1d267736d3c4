"""Accounts through the API: logins, tokens, users, limits per user, the first administrator,
and the modes (single-user on loopback, accounts, refusal to open to a network without a
login). Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from haul.errors import StartRefused
from haul.settings import Settings
from tests.support.people import PASSWORD, crowd

QUEUED = {"url": "http://example.test/film.mkv", "paused": True}


async def test_without_credentials_the_api_answers_401_and_pages_send_to_login(
    settings: Settings,
) -> None:
    async with crowd(settings) as people:
        listed = await people.nobody.get("/api/v1/downloads")
        assert listed.status_code == 401
        assert "Log in first" in listed.json()["detail"]
        assert listed.headers["www-authenticate"].startswith("Bearer")
        submitted = await people.nobody.post("/api/v1/downloads", json=QUEUED)
        assert submitted.status_code == 401
        page = await people.nobody.get("/?status=failed", headers={"Accept": "text/html"})
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=%2F%3Fstatus%3Dfailed"
        # Nothing was stored by the refused submit.
        mine = await people.admin.get("/downloads")
        assert mine.json()["items"] == []
        assert (await people.nobody.get("/api/v1/healthz")).status_code == 200


async def test_a_wrong_token_is_401_and_never_falls_back(settings: Settings) -> None:
    async with crowd(settings) as people:
        for header in ("Bearer haul_nope", "Basic cm9vdDpwdw==", "Bearer "):
            answer = await people.nobody.get("/api/v1/downloads", headers={"Authorization": header})
            assert answer.status_code == 401, header
            assert answer.json()["detail"]


async def test_login_sets_a_cookie_that_works_and_logout_ends_it(settings: Settings) -> None:
    async with crowd(settings) as people, people.client() as browser:
        wrong = await browser.post(
            "/api/v1/auth/login", json={"username": "alice", "password": "not it at all"}
        )
        assert wrong.status_code == 401
        assert wrong.json()["detail"] == "That user name and password do not match an account."
        done = await browser.post(
            "/api/v1/auth/login", json={"username": "ALICE", "password": PASSWORD}
        )
        assert done.status_code == 200, done.text
        assert done.json()["username"] == "alice"
        cookie = done.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        me = (await browser.get("/api/v1/auth/me")).json()
        assert me["user"]["username"] == "alice" and me["mode"] == "accounts"
        assert me["owner"] == f"user:{people.alice.user_id}" and not me["is_admin"]
        added = await browser.post("/api/v1/downloads", json=QUEUED)
        assert added.status_code == 201
        assert (await browser.post("/api/v1/auth/logout")).status_code == 204
        assert (await browser.get("/api/v1/downloads")).status_code == 401


async def test_a_login_in_use_keeps_its_cookie_alive(settings: Settings) -> None:
    """A login lasts HAUL_SESSION_DAYS after its last use; so must the browser's cookie: a
    request that records a use (at most once a minute) gives the cookie its lifetime again."""
    async with crowd(settings) as people, people.client() as browser:
        done = await browser.post(
            "/api/v1/auth/login", json={"username": "alice", "password": PASSWORD}
        )
        cookie = browser.cookies["haul_login"]
        lifetime = f"Max-Age={int(settings.session_days * 86400)}"
        assert lifetime in done.headers["set-cookie"]
        used = await browser.get("/api/v1/downloads")
        assert used.status_code == 200
        renewed = used.headers["set-cookie"]
        assert renewed.startswith(f"haul_login={cookie};") and lifetime in renewed
        assert "HttpOnly" in renewed and "SameSite=Lax" in renewed
        again = await browser.get("/api/v1/downloads")  # within the minute: nothing to say
        assert again.status_code == 200 and "set-cookie" not in again.headers


async def test_failed_logins_are_limited_per_address(settings: Settings) -> None:
    async with crowd(settings, login_attempts=3) as people, people.client() as browser:
        for _ in range(3):
            answer = await browser.post(
                "/api/v1/auth/login", json={"username": "bob", "password": "guess guess"}
            )
            assert answer.status_code == 401
        blocked = await browser.post(
            "/api/v1/auth/login", json={"username": "bob", "password": PASSWORD}
        )
        assert blocked.status_code == 429
        assert "Too many failed logins" in blocked.json()["detail"]
        assert int(blocked.headers["retry-after"]) > 0
        # Another name from the same address is blocked too: guessing is per address.
        other = await browser.post(
            "/api/v1/auth/login", json={"username": "alice", "password": PASSWORD}
        )
        assert other.status_code == 429


async def test_api_tokens_are_shown_once_listed_by_hint_and_revocable(
    settings: Settings,
) -> None:
    async with crowd(settings) as people:
        made = await people.alice.post("/tokens", json={"name": "laptop"})
        assert made.status_code == 201
        token = made.json()["token"]
        assert token.startswith("haul_") and token.startswith(made.json()["hint"])
        listed = (await people.alice.get("/tokens")).json()
        assert {t["name"] for t in listed} == {"tests", "laptop"}
        assert all("token" not in t for t in listed)
        assert token not in str(listed)
        with_it = {"Authorization": f"Bearer {token}"}
        assert (await people.nobody.get("/api/v1/downloads", headers=with_it)).status_code == 200
        # Bob cannot see or revoke Alice's token.
        assert all(t["name"] == "tests" for t in (await people.bob.get("/tokens")).json())
        theirs = made.json()["id"]
        assert (await people.bob.http.delete(f"/api/v1/tokens/{theirs}")).status_code == 404
        assert (await people.alice.http.delete(f"/api/v1/tokens/{theirs}")).status_code == 204
        after = await people.nobody.get("/api/v1/downloads", headers=with_it)
        assert after.status_code == 401
        assert "revoked" in after.json()["detail"]


async def test_administrators_manage_users_and_users_cannot(settings: Settings) -> None:
    async with crowd(settings) as people:
        denied = await people.alice.post(
            "/users", json={"username": "eve", "password": PASSWORD, "role": "admin"}
        )
        assert denied.status_code == 403
        made = await people.admin.post(
            "/users", json={"username": "carol", "password": PASSWORD, "limit": 2}
        )
        assert made.status_code == 201, made.text
        carol = made.json()
        assert carol["role"] == "user" and carol["limit"] == 2
        assert "password" not in made.text and "hash" not in made.text
        taken = await people.admin.post("/users", json={"username": "Carol", "password": PASSWORD})
        assert taken.status_code == 409
        short = await people.admin.post("/users", json={"username": "dave", "password": "short"})
        assert short.status_code == 422
        assert short.json()["errors"]["password"] == "A password needs at least 8 characters."
        bad_name = await people.admin.post(
            "/users", json={"username": "../root", "password": PASSWORD}
        )
        assert bad_name.status_code == 422 and "user name" in bad_name.json()["detail"]
        changed = await people.admin.http.patch(
            f"/api/v1/users/{carol['id']}", json={"limit": None, "disabled": True}
        )
        assert changed.json()["limit"] is None and changed.json()["disabled"] is True
        login = await people.nobody.post(
            "/api/v1/auth/login", json={"username": "carol", "password": PASSWORD}
        )
        assert login.status_code == 401 and "disabled" in login.json()["detail"]
        admin_id = people.admin.user_id
        last = await people.admin.http.patch(f"/api/v1/users/{admin_id}", json={"role": "user"})
        assert last.status_code == 409 and "only administrator" in last.json()["detail"]
        gone = await people.admin.http.delete(f"/api/v1/users/{carol['id']}")
        assert gone.status_code == 204
        assert (await people.admin.get(f"/users/{carol['id']}")).status_code == 404


async def test_a_disabled_account_loses_its_tokens_and_sessions(settings: Settings) -> None:
    async with crowd(settings) as people:
        assert (await people.bob.get("/downloads")).status_code == 200
        await people.admin.http.patch(
            f"/api/v1/users/{people.bob.user_id}", json={"disabled": True}
        )
        answer = await people.bob.get("/downloads")
        assert answer.status_code == 401


async def test_a_new_password_ends_the_logins_of_the_account(settings: Settings) -> None:
    async with crowd(settings) as people, people.client() as browser:
        await browser.post("/api/v1/auth/login", json={"username": "bob", "password": PASSWORD})
        assert (await browser.get("/api/v1/downloads")).status_code == 200
        wrong = await people.bob.http.put(
            "/api/v1/auth/password",
            json={"current_password": "not mine at all", "new_password": "a new one here"},
        )
        assert wrong.status_code == 401
        changed = await people.bob.http.put(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": "a new one here"},
        )
        assert changed.status_code == 200, changed.text
        # Bob's API token was not revoked: the answer says it still works.
        assert changed.json()["tokens_revoked"] is False
        assert [t["name"] for t in changed.json()["tokens"]] == ["tests"]
        assert (await people.bob.get("/downloads")).status_code == 200
        assert (await browser.get("/api/v1/downloads")).status_code == 401
        again = await browser.post(
            "/api/v1/auth/login", json={"username": "bob", "password": "a new one here"}
        )
        assert again.status_code == 200


async def test_a_users_own_limit_overrides_the_default(settings: Settings) -> None:
    async with crowd(settings, over_limit="reject") as people:
        await people.admin.http.patch(f"/api/v1/users/{people.alice.user_id}", json={"limit": 1})
        urls = [f"http://example.test/{n}.mkv" for n in range(3)]
        answers = await asyncio.gather(
            *(people.alice.post("/downloads", json={"url": url}) for url in urls)
        )
        assert sorted(a.status_code for a in answers) == [201, 429, 429]
        refused = next(a for a in answers if a.status_code == 429)
        assert "your limit is 1" in refused.json()["detail"]
        # Bob has no limit of his own: all three of his are admitted.
        answers = await asyncio.gather(
            *(people.bob.post("/downloads", json={"url": url}) for url in urls)
        )
        assert [a.status_code for a in answers] == [201, 201, 201]


async def test_the_token_login_of_the_cli_gives_a_working_token(settings: Settings) -> None:
    async with crowd(settings) as people:
        made = await people.nobody.post(
            "/api/v1/auth/token",
            json={"username": "alice", "password": PASSWORD, "name": "cli on laptop"},
        )
        assert made.status_code == 201
        header = {"Authorization": f"Bearer {made.json()['token']}"}
        me = (await people.nobody.get("/api/v1/auth/me", headers=header)).json()
        assert me["user"]["username"] == "alice"
        assert "haul_login" not in made.headers.get("set-cookie", "")


# -- the first administrator and the modes -----------------------------------------------------


async def test_single_user_mode_becomes_accounts_with_the_first_admin(
    settings: Settings,
) -> None:
    from haul.web.app import create_app

    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http,
    ):
        me = (await http.get("/api/v1/auth/me")).json()
        assert me == {
            "mode": "single",
            "owner": "local",
            "is_admin": True,
            "anonymous": False,
            "user": None,
            "needs_setup": True,
        }
        not_admin = await http.post(
            "/api/v1/users", json={"username": "kid", "password": PASSWORD, "role": "user"}
        )
        assert not_admin.status_code == 422
        assert "first account must be an administrator" in not_admin.json()["detail"]
        made = await http.post("/api/v1/auth/setup", json={"username": "me", "password": PASSWORD})
        assert made.status_code == 201, made.text
        # The one who set it up is logged in; everyone else now has to.
        assert (await http.get("/api/v1/auth/me")).json()["user"]["username"] == "me"
        http.cookies.clear()
        assert (await http.get("/api/v1/downloads")).status_code == 401
        again = await http.post("/api/v1/auth/setup", json={"username": "x", "password": PASSWORD})
        assert again.status_code == 409


async def test_accounts_mode_setup_needs_the_printed_code(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    from haul.web.app import create_app

    caplog.set_level("WARNING", logger="haul.web.auth")
    app = create_app(settings.model_copy(update={"mode": "accounts"}))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http,
    ):
        code = app.state.runtime.accounts.setup_code
        assert code in caplog.text and "/setup" in caplog.text
        assert (await http.get("/api/v1/auth/me")).status_code == 401
        body = {"username": "boss", "password": PASSWORD}
        wrong = await http.post("/api/v1/auth/setup", json={**body, "code": "00000000"})
        assert wrong.status_code == 401 and "setup code" in wrong.json()["detail"]
        missing = await http.post("/api/v1/auth/setup", json=body)
        assert missing.status_code == 401
        made = await http.post("/api/v1/auth/setup", json={**body, "code": code})
        assert made.status_code == 201 and made.json()["role"] == "admin"


async def test_bound_to_a_network_without_accounts_haul_refuses_to_start(
    settings: Settings,
) -> None:
    from haul.web.app import create_app

    for mode in ("auto", "single"):
        app = create_app(settings.model_copy(update={"host": "0.0.0.0", "mode": mode}))
        with pytest.raises(StartRefused, match="which other machines can reach"):
            async with app.router.lifespan_context(app):
                pass
    # Explicit accounts or public mode may start (the first admin comes through /setup).
    for mode in ("accounts", "public"):
        app = create_app(settings.model_copy(update={"host": "0.0.0.0", "mode": mode}))
        async with app.router.lifespan_context(app):
            pass


async def test_bound_to_a_network_with_an_account_it_starts_in_accounts_mode(
    settings: Settings,
) -> None:
    async with crowd(settings, mode="auto") as people:
        pass  # made the accounts
    from haul.web.app import create_app

    app = create_app(settings.model_copy(update={"host": "0.0.0.0"}))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http,
    ):
        assert (await http.get("/api/v1/downloads")).status_code == 401
        header = {"Authorization": f"Bearer {people.alice.token}"}
        me = await http.get("/api/v1/auth/me", headers=header)
        assert me.json()["mode"] == "accounts"


async def test_guessing_the_setup_code_is_limited(settings: Settings) -> None:
    from haul.web.app import create_app

    app = create_app(settings.model_copy(update={"mode": "accounts", "login_attempts": 3}))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http,
    ):
        body = {"username": "boss", "password": PASSWORD}
        for guess in ("00000000", "11111111", "22222222"):
            wrong = await http.post("/api/v1/auth/setup", json={**body, "code": guess})
            assert wrong.status_code == 401
        code = app.state.runtime.accounts.setup_code
        blocked = await http.post("/api/v1/auth/setup", json={**body, "code": code})
        assert blocked.status_code == 429
        assert "Too many failed attempts" in blocked.json()["detail"]
        assert (await http.get("/api/v1/auth/me")).status_code == 401


async def test_a_browser_changing_its_password_stays_logged_in(settings: Settings) -> None:
    async with crowd(settings) as people, people.client() as browser:
        await browser.post("/api/v1/auth/login", json={"username": "bob", "password": PASSWORD})
        changed = await browser.put(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": "brand new words"},
        )
        assert changed.status_code == 200
        assert (await browser.get("/api/v1/auth/me")).json()["user"]["username"] == "bob"


def from_address(app: Any, address: str) -> httpx.AsyncClient:
    """A client of ``app`` whose requests come from ``address``."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")


async def test_wrong_passwords_from_elsewhere_never_lock_out_the_owner(
    settings: Settings,
) -> None:
    async def login(address: str, password: str) -> int:
        async with from_address(people.app, address) as http:
            body = {"username": "root", "password": password}
            return (await http.post("/api/v1/auth/login", json=body)).status_code

    async with crowd(settings, login_attempts=3) as people:
        # One address guesses the only administrator's password until it is stopped...
        assert [await login("203.0.113.1", f"guess {n}") for n in range(4)] == [401] * 3 + [429]
        assert await login("203.0.113.1", PASSWORD) == 429  # ...even with the right one
        # ...and the administrator, elsewhere, logs in all the same.
        assert await login("198.51.100.7", PASSWORD) == 200
        # Many addresses guessing together: each is stopped after its own failures once the
        # name is under attack (one guess each), the owner still logs in from a clean one.
        for n in range(40):
            assert await login(f"192.0.2.{n}", "a guess") == 401
        assert await login("192.0.2.1", "another guess") == 429
        assert await login("192.0.2.200", "a first guess") == 401
        assert await login("198.51.100.8", PASSWORD) == 200


async def test_one_address_cannot_block_setup_for_others(settings: Settings) -> None:
    from haul.web.app import create_app

    app = create_app(settings.model_copy(update={"mode": "accounts", "login_attempts": 3}))
    async with app.router.lifespan_context(app):
        body = {"username": "boss", "password": PASSWORD}
        async with from_address(app, "203.0.113.9") as attacker:
            for guess in ("00000000", "11111111", "22222222", "33333333"):
                await attacker.post("/api/v1/auth/setup", json={**body, "code": guess})
            blocked = await attacker.post("/api/v1/auth/setup", json={**body, "code": "4444"})
            assert blocked.status_code == 429
        code = app.state.runtime.accounts.setup_code
        async with from_address(app, "198.51.100.3") as operator:
            made = await operator.post("/api/v1/auth/setup", json={**body, "code": code})
            assert made.status_code == 201, made.text


async def test_a_password_change_can_revoke_the_accounts_tokens(settings: Settings) -> None:
    async with crowd(settings) as people, people.client() as browser:
        await browser.post("/api/v1/auth/login", json={"username": "bob", "password": PASSWORD})
        _view, spare = await people.runtime.accounts.create_token(people.bob.user_id, "script")
        changed = await browser.put(
            "/api/v1/auth/password",
            json={
                "current_password": PASSWORD,
                "new_password": "a new one here",
                "revoke_tokens": True,
            },
        )
        assert changed.status_code == 200, changed.text
        assert changed.json() == {"tokens": [], "tokens_revoked": True}
        for token in (people.bob.token, spare):
            header = {"Authorization": f"Bearer {token}"}
            assert (await people.nobody.get("/api/v1/downloads", headers=header)).status_code == 401
        # The browser that changed it stays logged in; other people's tokens still work.
        assert (await browser.get("/api/v1/downloads")).status_code == 200
        assert (await people.alice.get("/downloads")).status_code == 200
        # An administrator setting a password can revoke the tokens too.
        reset = await people.admin.http.patch(
            f"/api/v1/users/{people.alice.user_id}",
            json={"password": "given by the admin", "revoke_tokens": True},
        )
        assert reset.status_code == 200
        assert (await people.alice.get("/downloads")).status_code == 401
