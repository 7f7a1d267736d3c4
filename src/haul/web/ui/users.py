"""The users pages (administrators): the accounts with their role, limit and last login; a
form to add one; a page per account to change its role, limit, password or to disable it; and
a delete that asks first (a page of its own, so it works without JavaScript).

The first account of an instance must be an administrator: once it exists, haul asks everyone
to log in (see :mod:`haul.core.modes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from haul.errors import Conflict, HaulError, InputError, InvalidFields
from haul.service import Owner
from haul.service.accounts import ROLES, AccountService, UserView
from haul.service.ownership import Choice, Owned, OwnershipService
from haul.web.api import accounts as accounts_api
from haul.web.api.accounts import client_ip
from haul.web.deps import AccountsDep, AdminDep, OwnershipDep
from haul.web.errors import INVALID_FORM, status_for
from haul.web.ids import Id
from haul.web.schemas import accounts as account_schemas
from haul.web.ui import csrf
from haul.web.ui.forms import PageForm, whole_number
from haul.web.ui.login import logged_in
from haul.web.ui.render import page

router = APIRouter(include_in_schema=False)

MAX_LIMIT = 100_000
NOTES = {
    "welcome": "You are the administrator of this haul now. Add an account for each person "
    "who uses it; everyone logs in from now on.",
    "added": "The account is added. Its owner logs in with the name and password you chose.",
    "saved": "Saved.",
    "deleted": "The account is deleted, with its logins and tokens, and what it owned is "
    "deleted or handed over as you chose.",
}


@dataclass
class UserForm(PageForm):
    username: str = ""
    role: str = "user"
    limit: str = ""
    disabled: bool = False

    @classmethod
    def of(cls, user: UserView) -> UserForm:
        limit = str(user.limit) if user.limit is not None else ""
        return cls(username=user.username, role=user.role, limit=limit, disabled=user.disabled)

    def checked(self) -> int | None:
        """The limit typed (None: the default), with notes beside the role and the limit."""
        if self.role not in ROLES:
            self.error("role", "A role is admin or user.")
            self.role = "user"
        return whole_number(self, "limit", "A limit", 1, MAX_LIMIT)


@router.get("/users", response_class=HTMLResponse)
async def users_page(
    request: Request,
    admin: AdminDep,
    accounts: AccountsDep,
    done: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    return await _render_list(request, admin, accounts, note=NOTES.get(done))


@router.post("/users", response_model=None)
async def add_user(
    request: Request,
    admin: AdminDep,
    accounts: AccountsDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    role: Annotated[str, Form(max_length=20)] = "user",
    limit: Annotated[str, Form(max_length=20)] = "",
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
) -> Response:
    csrf.check(request, csrf_field)
    if not await accounts.has_accounts():
        role = "admin"  # the first account is the administrator: the form offers no role
    form = UserForm(username=username.strip(), role=role, limit=limit)
    number = form.checked()
    if form.errors:
        return await _render_list(request, admin, accounts, form=form, status_code=INVALID_FORM)
    body = account_schemas.UserIn(
        username=form.username,
        password=password,
        role="admin" if form.role == "admin" else "user",
        limit=number,
    )
    try:
        # The API's own rules: the first account must be an administrator.
        await accounts_api.create_user(body, accounts, admin)
    except HaulError as exc:
        _note(form, exc, conflict="username")  # the name is taken
        return await _render_list(request, admin, accounts, form=form, status_code=status_for(exc))
    return RedirectResponse("/users?done=added", status_code=303)


@router.get("/users/{user_id}", response_class=HTMLResponse)
async def user_page(
    request: Request, user_id: Id, admin: AdminDep, accounts: AccountsDep
) -> HTMLResponse:
    user = await accounts.user(user_id)
    return _render_user(request, admin, user, UserForm.of(user))


@router.post("/users/{user_id}", response_model=None)
async def change_user(
    request: Request,
    user_id: Id,
    admin: AdminDep,
    accounts: AccountsDep,
    role: Annotated[str, Form(max_length=20)] = "user",
    limit: Annotated[str, Form(max_length=20)] = "",
    disabled: Annotated[bool, Form()] = False,
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
) -> Response:
    """Save the role, limit and state; a password typed replaces theirs (blank keeps it)."""
    csrf.check(request, csrf_field)
    user = await accounts.user(user_id)
    form = UserForm(username=user.username, role=role, limit=limit, disabled=disabled)
    number = form.checked()
    if form.errors:
        return _render_user(request, admin, user, form, status_code=INVALID_FORM)
    try:
        await accounts.update_user(
            user_id,
            role=form.role,
            limit=number,
            clear_limit=number is None,
            disabled=disabled,
            password=password or None,
        )
    except HaulError as exc:
        _note(form, exc)
        return _render_user(request, admin, user, form, status_code=status_for(exc))
    if password and user_id == admin.user_id and not disabled:
        # A new password ends every login of the account, the administrator's own too.
        cookie = await accounts.start_session(user_id, client_ip(request))
        return logged_in(request, accounts, cookie, "/users?done=saved")
    return RedirectResponse("/users?done=saved", status_code=303)


@router.get("/users/{user_id}/delete", response_class=HTMLResponse)
async def confirm_delete(
    request: Request,
    user_id: Id,
    admin: AdminDep,
    accounts: AccountsDep,
    ownership: OwnershipDep,
) -> HTMLResponse:
    """The question before a delete: a page, so the button works without JavaScript. When
    the account owns things, it asks what becomes of them."""
    user = await accounts.user(user_id)
    return await _render_delete(request, admin, accounts, ownership, user, UserForm.of(user))


@router.post("/users/{user_id}/delete", response_model=None)
async def delete_user(
    request: Request,
    user_id: Id,
    admin: AdminDep,
    accounts: AccountsDep,
    ownership: OwnershipDep,
    owned: Annotated[str, Form(max_length=20)] = "",
    to: Annotated[str, Form(max_length=20)] = "",
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
) -> Response:
    csrf.check(request, csrf_field)
    user = await accounts.user(user_id)
    form = UserForm.of(user)
    choice: Choice | None = "delete" if owned == "delete" else None
    if owned == "transfer":
        choice = "transfer"
    receiver = int(to) if choice == "transfer" and to.isdigit() else None
    try:
        await ownership.delete_user(user_id, owned=choice, to=receiver)
    except (Conflict, InputError) as exc:
        form.error("form", exc.message)
        return await _render_delete(
            request,
            admin,
            accounts,
            ownership,
            user,
            form,
            status_code=status_for(exc),
            chosen=(owned, to),
        )
    return RedirectResponse("/users?done=deleted", status_code=303)


async def _render_delete(
    request: Request,
    admin: Owner,
    accounts: AccountService,
    ownership: OwnershipService,
    user: UserView,
    form: UserForm,
    *,
    status_code: int = 200,
    chosen: tuple[str, str] = ("", ""),
) -> HTMLResponse:
    """The question before a delete; ``chosen``: the answer given before (kept after an
    error). An account that cannot be deleted (the only administrator) is told at once."""
    owned = await ownership.owned(user.id)
    others = [u for u in await accounts.users() if u.id != user.id]
    try:
        await accounts.check_deletable(user.id)
        cannot = None
    except Conflict as exc:
        cannot = exc.message
    return _render_user(
        request,
        admin,
        user,
        form,
        confirm=True,
        status_code=status_code,
        owned=owned,
        others=others,
        chosen_owned=chosen[0],
        chosen_to=chosen[1],
        cannot=cannot,
    )


def _note(form: UserForm, exc: HaulError, conflict: str = "form") -> None:
    """haul's refusal, beside the field it is about (``conflict``: where a conflict goes)."""
    if isinstance(exc, InvalidFields):
        for where, message in exc.problems.items():
            known = where in ("username", "password", "role", "limit")
            form.error(where if known else "form", message)
    elif isinstance(exc, InputError):  # the first account must be an administrator
        form.error("role", exc.message)
    elif isinstance(exc, Conflict):
        form.error(conflict, exc.message)
    else:
        form.error("form", exc.message)


async def _render_list(
    request: Request,
    admin: Owner,
    accounts: AccountService,
    *,
    form: UserForm | None = None,
    note: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    users = await accounts.users()
    first = not users
    return page(
        request,
        "users.html",
        status_code=status_code,
        nav="users",
        users=users,
        form=form or UserForm(role="admin" if first else "user"),
        first=first,
        me_id=admin.user_id,
        note=note,
    )


def _render_user(
    request: Request,
    admin: Owner,
    user: UserView,
    form: UserForm,
    *,
    confirm: bool = False,
    status_code: int = 200,
    owned: Owned | None = None,
    others: list[UserView] | None = None,
    **question: str | None,
) -> HTMLResponse:
    """An account's page; ``question``: what the delete question shows (see _render_delete)."""
    return page(
        request,
        "user.html",
        status_code=status_code,
        nav="users",
        user=user,
        form=form,
        confirm=confirm,
        is_me=user.id == admin.user_id,
        owned=owned,
        others=others or [],
        **question,
    )
