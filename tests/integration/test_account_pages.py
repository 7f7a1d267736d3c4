"""The account pages without a browser: logging in and out (and where a login goes on to),
the setup page with and without a setup code, the account page's password and API tokens, the
users pages of an administrator, the menu each kind of caller sees, and CSRF on every form."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from argon2 import PasswordHasher

from haul.core import credentials
from haul.settings import Settings
from haul.store.models import NotificationTarget
from haul.web.auth import LOGIN_COOKIE
from haul.web.ui.login import after_login
from tests.integration.test_web_pages import token

ADMIN = ("root", "admin password 1")
ALICE = ("alice", "alice password 1")
JSON = {"Accept": "application/json"}


@pytest.fixture(autouse=True)
def _quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id, with a small cost: these tests hash dozens of passwords, and what they
    check is the pages, not the cost of a guess."""
    quick = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(credentials, "_hasher", lambda: quick)


class Site:
    """A haul in-process, and browsers for it: each client has its own cookies."""

    def __init__(self, application: Any) -> None:
        self.application = application
        self.runtime = application.state.runtime
        self.accounts = self.runtime.accounts
        self._clients: list[httpx.AsyncClient] = []

    def browser(self) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.application),
            base_url="http://127.0.0.1",
            headers={"Accept": "text/html"},
        )
        self._clients.append(client)
        return client

    async def user(self, name: str, password: str, role: str = "user") -> int:
        made = await self.accounts.create_user(name, password, role=role)
        return int(made.id)

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Site]:
    from haul.web.app import create_app

    application = create_app(settings, run_worker=False)
    async with application.router.lifespan_context(application):
        site = Site(application)
        try:
            yield site
        finally:
            await site.close()


@pytest.fixture
async def single(settings: Settings) -> AsyncIterator[Site]:
    """A single-user haul on loopback: no accounts yet."""
    async with running(settings) as site:
        yield site


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[Site]:
    """A haul in accounts mode with an administrator (root) and a user (alice); three failed
    logins from one address are enough to wait."""
    changed = settings.model_copy(update={"mode": "accounts", "login_attempts": 3})
    async with running(changed) as made:
        await made.user(*ADMIN, role="admin")
        await made.user(*ALICE)
        yield made


async def csrf_of(browser: httpx.AsyncClient, path: str) -> str:
    page = await browser.get(path)
    assert page.status_code == 200, page.text
    return token(page.text)


async def log_in(
    browser: httpx.AsyncClient, name: str, password: str, next_: str = "/"
) -> httpx.Response:
    csrf = await csrf_of(browser, f"/login?next={quote(next_)}")
    return await browser.post(
        "/login", data={"csrf": csrf, "username": name, "password": password, "next": next_}
    )


def menu(page: str) -> str:
    return page[page.index('<header class="top">') : page.index("</header>")]


def field_error(page: str, name: str) -> str:
    found = re.search(rf'id="{name}-error">([^<]*)<', page)
    assert found, f"no note beside {name}"
    return found.group(1)


# -- logging in and out ------------------------------------------------------------------------


async def test_a_page_asks_a_stranger_to_log_in_and_comes_back_after(site: Site) -> None:
    browser = site.browser()
    asked = await browser.get("/add?url=https://example.com/a")
    assert asked.status_code == 303
    assert asked.headers["location"] == "/login?next=%2Fadd%3Furl%3Dhttps%3A%2F%2Fexample.com%2Fa"
    form = await browser.get(asked.headers["location"])
    assert 'name="next" value="/add?url=https://example.com/a"' in form.text
    assert 'href="/settings"' not in menu(form.text)  # nobody known yet: no menu to speak of

    done = await log_in(browser, *ALICE, next_="/add?url=https://example.com/a")
    assert done.status_code == 303
    assert done.headers["location"] == "/add?url=https://example.com/a"
    cookie = done.headers["set-cookie"]
    assert cookie.startswith(f"{LOGIN_COOKIE}=") and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    page = await browser.get("/add?url=https://example.com/a")
    assert page.status_code == 200
    assert "https://example.com/a</textarea>" in page.text
    # Logged in, the login page goes straight on.
    again = await browser.get("/login?next=/library")
    assert again.status_code == 303
    assert again.headers["location"] == "/library"
    # A login as someone else in the same browser ends the first one.
    first = browser.cookies[LOGIN_COOKIE]
    csrf = token(page.text)
    switched = await browser.post(
        "/login", data={"csrf": csrf, "username": ADMIN[0], "password": ADMIN[1]}
    )
    assert switched.status_code == 303
    assert await site.accounts.user_of_cookie(first) is None
    assert 'href="/users"' in menu((await browser.get("/")).text)


async def test_a_wrong_password_is_refused_and_too_many_wait(site: Site) -> None:
    browser = site.browser()
    wrong = await log_in(browser, "alice", "not her password")
    assert wrong.status_code == 401
    assert "do not match an account" in wrong.text
    assert 'value="alice"' in wrong.text  # the name stays, the password does not
    assert "not her password" not in wrong.text
    assert LOGIN_COOKIE not in wrong.headers.get("set-cookie", "")
    assert (await browser.get("/")).status_code == 303

    nobody = await log_in(browser, "nobody", "whatever 123")
    assert nobody.status_code == 401
    assert "do not match an account" in nobody.text  # the same words: names cannot be probed
    await log_in(browser, "alice", "still wrong 1")
    waiting = await log_in(browser, *ALICE)  # even the right password, for a while
    assert waiting.status_code == 429
    assert "Too many failed logins; try again in" in waiting.text
    assert int(waiting.headers["retry-after"]) > 0
    assert 'name="username"' in waiting.text


@pytest.mark.parametrize(
    ("wanted", "goes_to"),
    [
        ("/downloads/3?x=1", "/downloads/3?x=1"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("evil.example", "/"),
        ("/login?next=/x", "/"),
        ("/logout", "/"),
        ("", "/"),
    ],
)
def test_a_login_goes_on_to_pages_of_this_site_only(wanted: str, goes_to: str) -> None:
    assert after_login(wanted) == goes_to


async def test_a_login_never_sends_the_browser_to_another_site(site: Site) -> None:
    browser = site.browser()
    page = await browser.get("/login?next=//evil.example/steal")
    assert 'name="next" value="/"' in page.text
    for hostile in ("//evil.example/", "/\\evil.example", "https://evil.example/"):
        csrf = token(page.text)
        sent = {"csrf": csrf, "username": ALICE[0], "password": ALICE[1], "next": hostile}
        done = await browser.post("/login", data=sent)
        assert done.status_code == 303
        assert done.headers["location"] == "/"


async def test_log_out_ends_the_login(site: Site) -> None:
    browser = site.browser()
    await log_in(browser, *ALICE)
    cookie = browser.cookies[LOGIN_COOKIE]
    page = await browser.get("/")
    assert page.status_code == 200
    assert 'action="/logout"' in menu(page.text)
    out = await browser.post("/logout", data={"csrf": token(page.text)})
    assert out.status_code == 303
    assert out.headers["location"] == "/login?out=1"
    assert LOGIN_COOKIE not in browser.cookies
    assert "You are logged out." in (await browser.get("/login?out=1")).text
    # The old cookie is no good any more, wherever it was copied to.
    thief = site.browser()
    thief.cookies.set(LOGIN_COOKIE, cookie)
    assert (await thief.get("/")).status_code == 303


async def test_log_out_of_a_single_user_haul_goes_back_to_the_list(single: Site) -> None:
    browser = single.browser()
    csrf = await csrf_of(browser, "/")
    out = await browser.post("/logout", data={"csrf": csrf})
    assert out.status_code == 303
    assert out.headers["location"] == "/"


# -- the first administrator -----------------------------------------------------------------------


async def test_setup_of_a_single_user_haul_needs_no_code_and_logs_in(single: Site) -> None:
    browser = single.browser()
    login = await browser.get("/login")
    assert "Nobody logs in to this haul" in login.text
    assert 'href="/setup"' in login.text
    setup = await browser.get("/setup")
    assert setup.status_code == 200
    assert "haul asks everyone to log in, you too" in setup.text
    assert 'name="code"' not in setup.text
    assert 'name="role"' not in setup.text  # the first account is the administrator
    csrf = token(setup.text)

    differ = {"csrf": csrf, "username": "me", "password": "long enough 1", "password_again": "x"}
    refused = await browser.post("/setup", data=differ)
    assert refused.status_code == 422
    assert "not the same" in field_error(refused.text, "password_again")
    assert 'value="me"' in refused.text
    short = {**differ, "password": "short", "password_again": "short"}
    refused = await browser.post("/setup", data=short)
    assert refused.status_code == 422
    assert "at least 8 characters" in field_error(refused.text, "password")

    good = {**differ, "password_again": "long enough 1"}
    made = await browser.post("/setup", data={**good, "role": "user"})  # a role is ignored
    assert made.status_code == 303
    assert made.headers["location"] == "/users?done=welcome"
    users = await browser.get(made.headers["location"])
    assert users.status_code == 200
    assert "You are the administrator of this haul now" in users.text
    you = r'<a href="/users/\d+" class="title">me</a> <span class="sub">\(you\)'
    assert re.search(you, users.text)
    # From now on haul asks everyone to log in, and setup is over.
    assert (await single.browser().get("/")).status_code == 303
    assert (await browser.get("/setup")).headers["location"] == "/login"
    late = await browser.post("/setup", data=good)
    assert late.status_code == 303 and late.headers["location"] == "/login"
    assert [(u.username, u.role) for u in await single.accounts.users()] == [("me", "admin")]


async def test_setup_of_a_networked_haul_asks_for_the_setup_code(settings: Settings) -> None:
    async with running(settings.model_copy(update={"mode": "accounts"})) as site:
        browser = site.browser()
        sent_away = await browser.get("/")
        assert sent_away.headers["location"] == "/login?next=%2F"
        login = await browser.get("/login?next=%2F")
        assert 'id="needs-setup"' in login.text and 'href="/setup"' in login.text
        assert 'name="password"' not in login.text
        setup = await browser.get("/setup")
        assert 'name="code"' in setup.text
        assert "haul asks everyone to log in, you too" not in setup.text
        sent = {
            "csrf": token(setup.text),
            "username": "boss",
            "password": "boss password 1",
            "password_again": "boss password 1",
        }
        blank = await browser.post("/setup", data=sent)
        assert blank.status_code == 422
        assert "setup code" in field_error(blank.text, "code")
        wrong = await browser.post("/setup", data={**sent, "code": "12345678"})
        assert wrong.status_code == 401
        assert "not the one haul printed" in field_error(wrong.text, "code")
        assert await site.accounts.users() == []

        made = await browser.post("/setup", data={**sent, "code": site.accounts.setup_code})
        assert made.status_code == 303
        page = await browser.get("/")
        assert page.status_code == 200
        assert 'href="/users"' in menu(page.text)


# -- the account page --------------------------------------------------------------------------


async def test_a_new_token_is_shown_once_and_works_until_revoked(site: Site) -> None:
    browser = site.browser()
    await log_in(browser, *ALICE)
    page = await browser.get("/account")
    assert page.status_code == 200
    assert 'id="me-name">alice<' in page.text
    assert "You have no API token." in page.text
    csrf = token(page.text)

    nameless = await browser.post("/account/tokens", data={"csrf": csrf, "name": "  "})
    assert nameless.status_code == 422
    assert "Name the token" in field_error(nameless.text, "name")
    made = await browser.post("/account/tokens", data={"csrf": csrf, "name": "laptop"})
    assert made.status_code == 201
    shown = re.search(r'id="new-token" class="secret" value="(haul_[^"]+)"', made.text)
    assert shown, made.text
    secret = shown.group(1)
    assert 'data-copy="new-token"' in made.text

    listed = await browser.get("/account")
    assert secret not in listed.text  # shown once, never again
    row = re.search(r'<tr id="token-(\d+)">(.*?)</tr>', listed.text, re.S)
    assert row and "laptop" in row.group(2) and f"<code>{secret[:11]}…</code>" in row.group(2)
    assert "not yet" in row.group(2)

    program = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=site.application), base_url="http://127.0.0.1"
    )
    async with program:
        bearer = {"Authorization": f"Bearer {secret}", **JSON}
        assert (await program.get("/api/v1/downloads", headers=bearer)).status_code == 200
        revoked = await browser.post(
            f"/account/tokens/{row.group(1)}/revoke", data={"csrf": token(listed.text)}
        )
        assert revoked.status_code == 303
        after = await browser.get(revoked.headers["location"])
        assert "The token is revoked" in after.text
        assert "You have no API token." in after.text
        assert (await program.get("/api/v1/downloads", headers=bearer)).status_code == 401

    # Another user's token is not alice's to revoke: it does not exist for her.
    root_id = next(u.id for u in await site.accounts.users() if u.username == "root")
    view, _ = await site.accounts.create_token(root_id, "root's")
    theirs = await browser.post(f"/account/tokens/{view.id}/revoke", data={"csrf": csrf})
    assert theirs.status_code == 404
    assert [t.name for t in await site.accounts.tokens(root_id)] == ["root's"]


async def test_changing_the_password_keeps_this_login_and_ends_the_others(site: Site) -> None:
    browser, elsewhere = site.browser(), site.browser()
    await log_in(browser, *ALICE)
    await log_in(elsewhere, *ALICE)
    csrf = await csrf_of(browser, "/account")
    sent = {
        "csrf": csrf,
        "current_password": "not it at all",
        "new_password": "new password 22",
        "new_password_again": "new password 22",
    }
    wrong = await browser.post("/account/password", data=sent)
    assert wrong.status_code == 422
    assert "current password is not right" in field_error(wrong.text, "current_password")
    differ = {**sent, "current_password": ALICE[1], "new_password_again": "other 12345"}
    assert "not the same" in field_error(
        (await browser.post("/account/password", data=differ)).text, "new_password_again"
    )
    changed = await browser.post("/account/password", data={**sent, "current_password": ALICE[1]})
    assert changed.status_code == 303
    page = await browser.get(changed.headers["location"])
    assert page.status_code == 200
    assert "Your password is changed" in page.text
    assert (await elsewhere.get("/account")).status_code == 303  # sent to log in again
    assert (await log_in(site.browser(), *ALICE)).status_code == 401
    assert (await log_in(site.browser(), "alice", "new password 22")).status_code == 303


async def test_a_password_change_offers_to_revoke_the_api_tokens(site: Site) -> None:
    browser = site.browser()
    await log_in(browser, *ALICE)
    alice_id = next(u.id for u in await site.accounts.users() if u.username == "alice")
    for name in ("laptop script", "sonarr"):
        await site.accounts.create_token(alice_id, name)
    page = await browser.get("/account")
    assert 'name="revoke_tokens"' in page.text and "Also revoke my 2 API tokens" in page.text
    csrf = token(page.text)
    sent = {
        "csrf": csrf,
        "current_password": ALICE[1],
        "new_password": "new password 33",
        "new_password_again": "new password 33",
    }
    kept = await browser.post("/account/password", data=sent)
    assert kept.status_code == 303
    shown = await browser.get(kept.headers["location"])
    assert "your API tokens still work" in shown.text
    assert "laptop script" in shown.text and "sonarr" in shown.text
    assert len(await site.accounts.tokens(alice_id)) == 2
    again = {
        **sent,
        "current_password": "new password 33",
        "new_password": "new password 44",
        "new_password_again": "new password 44",
        "revoke_tokens": "true",
    }
    revoked = await browser.post("/account/password", data=again)
    assert revoked.status_code == 303
    shown = await browser.get(revoked.headers["location"])
    assert "your API tokens have ended" in shown.text
    assert await site.accounts.tokens(alice_id) == []
    assert 'name="revoke_tokens"' not in shown.text  # nothing left to revoke


async def test_the_local_user_is_pointed_to_setup(single: Site) -> None:
    page = await single.browser().get("/account")
    assert page.status_code == 200
    assert 'id="no-account"' in page.text and 'href="/setup"' in page.text
    assert 'action="/account/password"' not in page.text


# -- the users pages -----------------------------------------------------------------------------


async def test_an_administrator_adds_changes_and_deletes_users(site: Site) -> None:
    browser = site.browser()
    await log_in(browser, *ADMIN)
    page = await browser.get("/users")
    assert page.status_code == 200
    assert re.findall(r'class="title">([^<]+)</a>', page.text) == ["root", "alice"]
    csrf = token(page.text)
    new = {"csrf": csrf, "username": "bob", "password": "bob password 1", "role": "user"}

    bad_limit = await browser.post("/users", data={**new, "limit": "lots"})
    assert bad_limit.status_code == 422
    assert "whole number" in field_error(bad_limit.text, "limit")
    assert 'value="bob"' in bad_limit.text and "bob password 1" not in bad_limit.text
    taken = await browser.post("/users", data={**new, "username": "Alice"})
    assert taken.status_code == 409
    assert "already a user named" in field_error(taken.text, "username")
    added = await browser.post("/users", data={**new, "limit": "2"})
    assert added.status_code == 303
    bob = next(u for u in await site.accounts.users() if u.username == "bob")
    assert (bob.role, bob.limit, bob.disabled) == ("user", 2, False)
    listed = await browser.get(added.headers["location"])
    assert "The account is added" in listed.text
    assert re.search(rf'<tr id="user-{bob.id}".*?class="limit">2<', listed.text, re.S)

    edit = await browser.get(f"/users/{bob.id}")
    assert 'name="disabled"' in edit.text
    saved = await browser.post(
        f"/users/{bob.id}", data={"csrf": csrf, "role": "user", "limit": "", "disabled": "true"}
    )
    assert saved.status_code == 303
    bob = await site.accounts.user(bob.id)
    assert (bob.limit, bob.disabled) == (None, True)
    assert "account is disabled" in (await log_in(site.browser(), "bob", "bob password 1")).text

    root = next(u for u in await site.accounts.users() if u.username == "root")
    demote = await browser.post(f"/users/{root.id}", data={"csrf": csrf, "role": "user"})
    assert demote.status_code == 409
    assert "only administrator" in demote.text
    assert (await site.accounts.user(root.id)).role == "admin"

    question = await browser.get(f"/users/{bob.id}/delete")
    assert question.status_code == 200
    assert f'action="/users/{bob.id}/delete"' in question.text
    assert "Delete bob?" in question.text
    assert await site.accounts.user(bob.id)  # asking deletes nothing
    gone = await browser.post(f"/users/{bob.id}/delete", data={"csrf": csrf})
    assert gone.status_code == 303
    assert "bob" not in [u.username for u in await site.accounts.users()]
    assert (await browser.get(f"/users/{bob.id}")).status_code == 404
    only = await browser.post(f"/users/{root.id}/delete", data={"csrf": csrf})
    assert only.status_code == 409
    assert "only administrator" in only.text


async def test_the_first_account_is_the_administrator_and_no_role_is_offered(
    single: Site,
) -> None:
    browser = single.browser()
    page = await browser.get("/users")
    assert 'id="first-admin"' in page.text
    assert 'href="/setup"' in page.text  # the discreet way to set up accounts
    assert 'name="role"' not in page.text  # no choice: it is the administrator
    sent = {"csrf": token(page.text), "username": "kid", "password": "kid password 1"}
    made = await browser.post("/users", data={**sent, "role": "user"})  # a role sent anyway
    assert made.status_code == 303
    [kid] = await single.accounts.users()
    assert (kid.username, kid.role) == ("kid", "admin")
    assert (await browser.get("/users")).status_code == 303  # now everyone logs in


async def test_a_user_sees_neither_admin_pages_nor_their_menu_entries(site: Site) -> None:
    user, admin = site.browser(), site.browser()
    await log_in(user, *ALICE)
    await log_in(admin, *ADMIN)
    mine = menu((await user.get("/")).text)
    for entry in ('href="/"', 'href="/add"', 'href="/library"', 'href="/account"', "Log out"):
        assert entry in mine
    for entry in ("/clients", "/settings", "/logs", "/users"):
        assert f'href="{entry}"' not in mine
    assert "Log in" not in mine
    theirs = menu((await admin.get("/")).text)
    for entry in ("/clients", "/settings", "/logs", "/users", "/account"):
        assert f'href="{entry}"' in theirs
    refused = await user.get("/users")
    assert refused.status_code == 403
    assert "Only an administrator can do that." in refused.text
    assert (await user.get("/settings")).status_code == 403


async def test_the_local_user_sees_everything_and_no_login_entries(single: Site) -> None:
    mine = menu((await single.browser().get("/")).text)
    for entry in ("/clients", "/settings", "/logs", "/users"):
        assert f'href="{entry}"' in mine
    assert "/account" not in mine and "Log out" not in mine and "Log in" not in mine


async def test_a_visitor_of_a_public_haul_reads_their_terms(settings: Settings) -> None:
    public = settings.model_copy(
        update={
            "mode": "public",
            "public_sites": "example.com, videos.example.org",
            "anonymous_retention_days": 2.0,
        }
    )
    async with running(public) as site:
        browser = site.browser()
        for path in ("/", "/add"):
            page = await browser.get(path)
            assert page.status_code == 200
            assert (
                "You can have 1 download at a time here; files are kept for 2 days. "
                "Downloads from example.com, videos.example.org only."
            ) in page.text
            shown = menu(page.text)
            assert 'href="/login"' in shown
            assert 'href="/library"' not in shown and 'href="/settings"' not in shown
        account = await browser.get("/account")
        assert "You are visiting without an account" in account.text
        await site.user(*ALICE)
        await log_in(browser, *ALICE)
        page = await browser.get("/")
        assert 'id="visitor-terms"' not in page.text
        assert 'href="/account"' in menu(page.text)


# -- CSRF ---------------------------------------------------------------------------------------


async def test_every_form_refuses_a_post_without_its_token(site: Site) -> None:
    admin = site.browser()
    await log_in(admin, *ADMIN)
    alice_id = next(u.id for u in await site.accounts.users() if u.username == "alice")
    forms = {
        "/login": {"username": ALICE[0], "password": ALICE[1]},
        "/setup": {"username": "x", "password": "long enough 1", "password_again": "x"},
        "/account/password": {"current_password": ADMIN[1], "new_password": "n" * 10},
        "/account/tokens": {"name": "sneaky"},
        "/account/tokens/1/revoke": {},
        "/users": {"username": "mallory", "password": "mallory pass 1", "role": "admin"},
        f"/users/{alice_id}": {"role": "admin"},
        f"/users/{alice_id}/delete": {},
        "/cookies": {"cookies_txt": "a.test\tFALSE\t/\tFALSE\t0\tsid\tx\n"},
        "/cookies/1/delete": {},
        "/subscriptions": {"url": "http://example.test/channel"},
        "/subscriptions/1": {"interval_minutes": "5"},
        "/subscriptions/1/check": {},
        "/subscriptions/1/pause": {},
        "/subscriptions/1/resume": {},
        "/subscriptions/1/delete": {},
        "/logout": {},
    }
    for path, data in forms.items():
        for token_sent in ("", "forged-token-" + "x" * 30):
            refused = await admin.post(path, data={**data, "csrf": token_sent})
            assert refused.status_code == 403, (path, refused.status_code)
            assert "not sent by a haul page" in refused.text
    assert sorted(u.username for u in await site.accounts.users()) == ["alice", "root"]
    assert (await site.accounts.user(alice_id)).role == "user"
    assert (await admin.get("/account")).status_code == 200  # still logged in


async def test_the_delete_page_asks_what_becomes_of_what_the_account_owns(site: Site) -> None:
    browser = site.browser()
    await log_in(browser, *ADMIN)
    bob = await site.user("bob", "bob password 1")
    alice = next(u for u in await site.accounts.users() if u.username == "alice")
    async with site.runtime.db.write() as s:
        s.add(
            NotificationTarget(
                name="bob-hook", owner_key=f"user:{bob}", kind="webhook", url="http://h.test/"
            )
        )

    question = await browser.get(f"/users/{bob}/delete")
    assert question.status_code == 200
    assert "bob owns 1 notification target. What becomes of them?" in question.text
    assert 'name="owned" value="delete"' in question.text
    assert f'<option value="{alice.id}">alice</option>' in question.text
    csrf = token(question.text)
    unanswered = await browser.post(f"/users/{bob}/delete", data={"csrf": csrf})
    assert unanswered.status_code == 409
    assert "bob owns 1 notification target. Choose" in unanswered.text
    assert await site.accounts.user(bob)
    nobody = await browser.post(
        f"/users/{bob}/delete", data={"csrf": csrf, "owned": "transfer", "to": "999999"}
    )
    assert nobody.status_code == 422
    assert 'value="transfer" checked' in nobody.text  # the answer given is kept
    admin = next(u for u in await site.accounts.users() if u.username == ADMIN[0])
    only = await browser.get(f"/users/{admin.id}/delete")
    assert "is the only administrator; make another first." in only.text
    assert f'action="/users/{admin.id}/delete"' not in only.text  # no button that cannot work

    handed = await browser.post(
        f"/users/{bob}/delete", data={"csrf": csrf, "owned": "transfer", "to": str(alice.id)}
    )
    assert handed.status_code == 303
    assert "bob" not in [u.username for u in await site.accounts.users()]
    assert (await site.runtime.ownership.owned(alice.id)).notification_targets == 1
