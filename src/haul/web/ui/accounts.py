"""The account page: who you are, your password, and your API tokens.

A new token is shown once, on the page the form's post answers (haul keeps only its hash);
the list shows each token's first characters. Changing the password ends every login of the
account, this one included, so the page logs you in again with the new one. The local user of
a single-user haul has no account, and an anonymous visitor of a public one neither: the page
says where to go instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from haul.errors import InvalidFields, LoginFailed
from haul.service import Owner
from haul.service.accounts import AccountService, TokenView
from haul.web.api.accounts import client_ip, own_id
from haul.web.deps import AccountsDep, OwnerDep
from haul.web.errors import INVALID_FORM
from haul.web.ids import Id
from haul.web.ui import csrf
from haul.web.ui.forms import PageForm
from haul.web.ui.login import PASSWORDS_DIFFER, logged_in
from haul.web.ui.render import page

router = APIRouter(include_in_schema=False)

NOTES = {
    "password": "Your password is changed. Your other logins have ended.",
    "password-tokens": (
        "Your password is changed. Your other logins have ended; your API tokens still work. "
        "Revoke below the ones you no longer trust."
    ),
    "password-revoked": (
        "Your password is changed. Your other logins and your API tokens have ended."
    ),
    "revoked": "The token is revoked: programs using it are refused from now on.",
}


@dataclass
class TokenForm(PageForm):
    name: str = ""


@router.get("/account", response_class=HTMLResponse)
async def account_page(
    request: Request,
    owner: OwnerDep,
    accounts: AccountsDep,
    done: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    return await _render(request, owner, accounts, note=NOTES.get(done))


@router.post("/account/password", response_model=None)
async def change_password(
    request: Request,
    owner: OwnerDep,
    accounts: AccountsDep,
    current_password: Annotated[str, Form(max_length=1024)] = "",
    new_password: Annotated[str, Form(max_length=1024)] = "",
    new_password_again: Annotated[str, Form(max_length=1024)] = "",
    revoke_tokens: Annotated[bool, Form()] = False,
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
) -> Response:
    csrf.check(request, csrf_field)
    user_id = own_id(owner)
    form = PageForm()
    left: list[TokenView] = []
    if new_password != new_password_again:
        form.error("new_password_again", PASSWORDS_DIFFER)
    else:
        try:
            left = await accounts.change_password(
                user_id, current_password, new_password, revoke_tokens=revoke_tokens
            )
        except LoginFailed as exc:
            form.error("current_password", exc.message)
        except InvalidFields as exc:
            for message in exc.problems.values():
                form.error("new_password", message)
    if form.errors:
        return await _render(request, owner, accounts, password_form=form, status_code=INVALID_FORM)
    # The new password ended every login of the account: this browser's gets a new one.
    cookie = await accounts.start_session(user_id, client_ip(request))
    done = "password-revoked" if revoke_tokens else "password-tokens" if left else "password"
    return logged_in(request, accounts, cookie, f"/account?done={done}#tokens")


@router.post("/account/tokens", response_model=None)
async def create_token(
    request: Request,
    owner: OwnerDep,
    accounts: AccountsDep,
    name: Annotated[str, Form(max_length=200)] = "",
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
) -> Response:
    """A new token, shown on the page this answers and never again."""
    csrf.check(request, csrf_field)
    user_id = own_id(owner)
    form = TokenForm(name=name.strip())
    if not form.name:
        form.error("name", "Name the token after what will use it, e.g. laptop or backup script.")
        return await _render(request, owner, accounts, token_form=form, status_code=INVALID_FORM)
    try:
        view, token = await accounts.create_token(user_id, form.name)
    except InvalidFields as exc:
        for message in exc.problems.values():
            form.error("name", message)
        return await _render(request, owner, accounts, token_form=form, status_code=INVALID_FORM)
    made = {"id": view.id, "name": view.name, "token": token}
    return await _render(request, owner, accounts, new_token=made, status_code=201)


@router.post("/account/tokens/{token_id}/revoke", response_model=None)
async def revoke_token(
    request: Request,
    owner: OwnerDep,
    accounts: AccountsDep,
    token_id: Id,
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
) -> Response:
    csrf.check(request, csrf_field)
    await accounts.revoke_token(token_id, own_id(owner))
    return RedirectResponse("/account?done=revoked#tokens", status_code=303)


async def _render(
    request: Request,
    owner: Owner,
    accounts: AccountService,
    *,
    password_form: PageForm | None = None,
    token_form: TokenForm | None = None,
    new_token: dict[str, Any] | None = None,
    note: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    user = await accounts.user(owner.user_id) if owner.user_id is not None else None
    tokens = await accounts.tokens(owner.user_id) if owner.user_id is not None else []
    return page(
        request,
        "account.html",
        status_code=status_code,
        nav="account",
        user=user,
        tokens=tokens,
        visitor=owner.anonymous,
        has_accounts=await accounts.has_accounts(),
        password_form=password_form or PageForm(),
        token_form=token_form or TokenForm(),
        new_token=new_token,
        note=note,
    )
