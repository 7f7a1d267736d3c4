"""Logging in and out, and the setup page that makes the first administrator.

- ``/login`` takes a name and a password, sets the login cookie and goes on to where the
  person was sent from (``next``, a path of this site only). A wrong password answers 401 and
  too many of them 429, each with the form and a sentence. When the instance needs an account
  and has none, the page points to ``/setup`` instead.
- ``/logout`` (a button in the menu) ends this browser's login.
- ``/setup`` works only while no account exists. The local user of a single-user haul makes
  the first administrator without a code; anyone else needs the setup code haul printed when it
  started. Either way the new administrator is logged in at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from haul.errors import (
    Conflict,
    InvalidFields,
    LoginFailed,
    TooManyAttempts,
    Unauthorized,
)
from haul.service import Owner
from haul.service.accounts import AccountService
from haul.web.api.accounts import GateDep, client_ip, set_login
from haul.web.auth import LOGIN_COOKIE, Gate
from haul.web.deps import AccountsDep
from haul.web.errors import INVALID_FORM, headers_for, status_for
from haul.web.ui import csrf
from haul.web.ui.forms import PageForm, same_site_path
from haul.web.ui.render import page

router = APIRouter(include_in_schema=False)

#: Pages a login never goes on to: they would come straight back, or log out again.
NOT_AFTER_LOGIN = frozenset({"/login", "/logout", "/setup"})
PASSWORDS_DIFFER = "The two passwords are not the same; type the new one twice."


@dataclass
class LoginForm(PageForm):
    username: str = ""
    next: str = "/"


@dataclass
class SetupForm(PageForm):
    username: str = ""


def after_login(target: str) -> str:
    """Where a login goes on to: ``target`` when it is a page of this site, else the list."""
    path = same_site_path(target)
    return "/" if path.partition("?")[0].rstrip("/") in NOT_AFTER_LOGIN else path


async def caller(gate: Gate, request: Request) -> Owner | None:
    """Who is asking, or None when nobody is logged in where a login is needed (the menu of
    the page then shows less)."""
    try:
        return await gate.owner(request)
    except Unauthorized:
        return None


def logged_in(
    request: Request, accounts: AccountService, cookie: str, target: str
) -> RedirectResponse:
    """Go on to ``target`` with a new login cookie."""
    response = RedirectResponse(target, status_code=303)
    set_login(request, response, cookie, accounts.session_age)
    return response


# -- logging in and out ------------------------------------------------------------------------


@router.get("/login", response_model=None)
async def login_page(
    request: Request,
    gate: GateDep,
    accounts: AccountsDep,
    next_: Annotated[str, Query(alias="next", max_length=2000)] = "/",
    out: Annotated[str, Query(max_length=5)] = "",
) -> Response:
    me = await caller(gate, request)
    form = LoginForm(next=after_login(next_))
    if me is not None and me.user_id is not None:
        return RedirectResponse(form.next, status_code=303)
    return await _render_login(request, gate, accounts, form, logged_out=out == "1")


@router.post("/login", response_model=None)
async def login(
    request: Request,
    gate: GateDep,
    accounts: AccountsDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next_: Annotated[str, Form(alias="next", max_length=2000)] = "/",
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
) -> Response:
    csrf.check(request, csrf_field)
    form = LoginForm(username=username.strip(), next=after_login(next_))
    if not form.username or not password:
        form.error("form", "Type your user name and your password.")
        return await _render_login(request, gate, accounts, form, status_code=INVALID_FORM)
    try:
        done = await accounts.login(form.username, password, client_ip(request))
    except TooManyAttempts as exc:
        form.error("form", exc.message)
        response = await _render_login(request, gate, accounts, form, status_code=status_for(exc))
        response.headers.update(headers_for(exc, page=True))
        return response
    except LoginFailed as exc:
        form.error("form", exc.message)
        return await _render_login(request, gate, accounts, form, status_code=status_for(exc))
    replaced = request.cookies.get(LOGIN_COOKIE)
    if replaced:  # a login of this browser as someone else ends
        await accounts.logout(replaced)
    return logged_in(request, accounts, done.cookie, form.next)


@router.post("/logout", response_model=None)
async def logout(
    request: Request,
    gate: GateDep,
    accounts: AccountsDep,
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
) -> Response:
    """End this browser's login; then the login page (the downloads list of a single-user
    haul, which needs none)."""
    csrf.check(request, csrf_field)
    cookie = request.cookies.get(LOGIN_COOKIE)
    if cookie:
        await accounts.logout(cookie)
    target = "/" if await gate.mode() == "single" else "/login?out=1"
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


async def _render_login(
    request: Request,
    gate: Gate,
    accounts: AccountService,
    form: LoginForm,
    *,
    status_code: int = 200,
    logged_out: bool = False,
) -> HTMLResponse:
    has_accounts = await accounts.has_accounts()
    single = await gate.mode() == "single"
    return page(
        request,
        "login.html",
        status_code=status_code,
        nav="login",
        form=form,
        needs_setup=not has_accounts and not single,
        no_login_needed=not has_accounts and single,
        logged_out=logged_out,
    )


# -- the first administrator ---------------------------------------------------------------------


@router.get("/setup", response_model=None)
async def setup_page(request: Request, gate: GateDep, accounts: AccountsDep) -> Response:
    if await accounts.has_accounts():
        return RedirectResponse("/login", status_code=303)
    await caller(gate, request)  # the menu of the local user of a single-user haul
    return await _render_setup(request, gate, SetupForm())


@router.post("/setup", response_model=None)
async def setup(
    request: Request,
    gate: GateDep,
    accounts: AccountsDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    password_again: Annotated[str, Form(max_length=1024)] = "",
    code: Annotated[str, Form(max_length=100)] = "",
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
) -> Response:
    csrf.check(request, csrf_field)
    if await accounts.has_accounts():
        return RedirectResponse("/login", status_code=303)
    await caller(gate, request)
    local = await gate.mode() == "single"
    form = SetupForm(username=username.strip())
    if password != password_again:
        form.error("password_again", PASSWORDS_DIFFER)
    if not local and not code.strip():
        form.error("code", "Type the setup code haul printed when it started.")
    if form.errors:
        return await _render_setup(request, gate, form, status_code=INVALID_FORM)
    try:
        made = await accounts.create_first_admin(
            form.username, password, None if local else code, ip=client_ip(request)
        )
    except Conflict:  # someone was quicker
        return RedirectResponse("/login", status_code=303)
    except LoginFailed as exc:
        form.error("code", exc.message)
        return await _render_setup(request, gate, form, status_code=status_for(exc))
    except InvalidFields as exc:
        for where, message in exc.problems.items():
            form.error(where if where in ("username", "password") else "form", message)
        return await _render_setup(request, gate, form, status_code=status_for(exc))
    cookie = await accounts.start_session(made.id, client_ip(request))
    return logged_in(request, accounts, cookie, "/users?done=welcome")


async def _render_setup(
    request: Request, gate: Gate, form: SetupForm, *, status_code: int = 200
) -> HTMLResponse:
    return page(
        request,
        "setup.html",
        status_code=status_code,
        nav="setup",
        form=form,
        needs_code=await gate.mode() != "single",
    )
