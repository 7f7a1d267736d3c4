"""Logins, the first administrator, users (administrators) and API tokens."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status

from haul.errors import Conflict, InputError, NoAccount
from haul.service.accounts import UserView
from haul.service.values import Owner
from haul.web.auth import LOGIN_COOKIE, Gate
from haul.web.deps import AccountsDep, AdminDep, OwnerDep, OwnershipDep
from haul.web.ids import Id
from haul.web.schemas.accounts import (
    Credentials,
    MeOut,
    NewTokenOut,
    OwnedOut,
    PasswordChange,
    PasswordChanged,
    SetupIn,
    TokenIn,
    TokenLogin,
    TokenOut,
    UserChange,
    UserIn,
    UserOut,
)
from haul.web.schemas.errors import error_responses

router = APIRouter(tags=["accounts"])

UNAUTHORIZED = error_responses(401)
FORBIDDEN = error_responses(403)
TOO_MANY = error_responses(429)


def get_gate(request: Request) -> Gate:
    gate: Gate = request.app.state.gate
    return gate


GateDep = Annotated[Gate, Depends(get_gate)]


def own_id(owner: Owner) -> int:
    if owner.user_id is None:
        raise NoAccount()
    return owner.user_id


def user_out(view: UserView) -> dict[str, Any]:
    return dataclasses.asdict(view)


def set_login(request: Request, response: Response, cookie: str, lasts: timedelta) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        cookie,
        max_age=int(lasts.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/auth/me", response_model=MeOut)
async def me(request: Request, gate: GateDep, accounts: AccountsDep) -> Any:
    """Who is asking: the mode, the caller's account (if any) and whether setup is pending."""
    owner = await gate.owner(request)
    user = await accounts.user(owner.user_id) if owner.user_id is not None else None
    return {
        "mode": await gate.mode(),
        "owner": owner.key,
        "is_admin": owner.is_admin,
        "anonymous": owner.anonymous,
        "user": user_out(user) if user else None,
        "needs_setup": not await accounts.has_accounts(),
    }


@router.post(
    "/auth/login",
    response_model=UserOut,
    responses={**UNAUTHORIZED, **TOO_MANY, **error_responses(422)},
)
async def login(
    body: Credentials, request: Request, response: Response, accounts: AccountsDep
) -> Any:
    """Log in: the answer sets the session cookie the pages use."""
    done = await accounts.login(body.username, body.password, client_ip(request))
    set_login(request, response, done.cookie, accounts.session_age)
    return user_out(done.user)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(request: Request, accounts: AccountsDep) -> Response:
    """End this browser's login session (nothing to do without one)."""
    cookie = request.cookies.get(LOGIN_COOKIE)
    if cookie:
        await accounts.logout(cookie)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post(
    "/auth/setup",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses={
        **UNAUTHORIZED,
        **TOO_MANY,
        **error_responses(409, 422, described={409: "An account exists already"}),
    },
)
async def setup(
    body: SetupIn, request: Request, response: Response, gate: GateDep, accounts: AccountsDep
) -> Any:
    """Make the first administrator (only while there is no account) and log in as them."""
    if await accounts.has_accounts():
        raise Conflict("This haul already has an administrator; log in instead.")
    local = await gate.mode() == "single"
    code = None if local else (body.code or "")
    user = await accounts.create_first_admin(
        body.username, body.password, code, ip=client_ip(request)
    )
    cookie = await accounts.start_session(user.id, client_ip(request))
    set_login(request, response, cookie, accounts.session_age)
    return user_out(user)


@router.post(
    "/auth/token",
    status_code=status.HTTP_201_CREATED,
    response_model=NewTokenOut,
    responses={**UNAUTHORIZED, **TOO_MANY, **error_responses(422)},
)
async def token_login(body: TokenLogin, request: Request, accounts: AccountsDep) -> Any:
    """Log in with a name and password and get a new API token (``haul login``)."""
    user = await accounts.authenticate(body.username, body.password, client_ip(request))
    view, token = await accounts.create_token(user.id, body.name)
    return {**dataclasses.asdict(view), "token": token}


@router.put(
    "/auth/password",
    response_model=PasswordChanged,
    responses={**UNAUTHORIZED, **FORBIDDEN, **TOO_MANY, **error_responses(422)},
)
async def change_password(
    body: PasswordChange,
    owner: OwnerDep,
    accounts: AccountsDep,
    request: Request,
    response: Response,
) -> Any:
    """Change your own password. Every login session of the account ends; a browser that
    asked with its login cookie gets a new one. API tokens keep working unless
    ``revoke_tokens``: the answer lists those that still do, to revoke the ones a person no
    longer trusts (programs using a token would otherwise stop without a word)."""
    left = await accounts.change_password(
        own_id(owner), body.current_password, body.new_password, revoke_tokens=body.revoke_tokens
    )
    if request.cookies.get(LOGIN_COOKIE):
        cookie = await accounts.start_session(own_id(owner), client_ip(request))
        set_login(request, response, cookie, accounts.session_age)
    return {"tokens": [dataclasses.asdict(t) for t in left], "tokens_revoked": body.revoke_tokens}


# -- users (administrators) ------------------------------------------------------------------


@router.get("/users", response_model=list[UserOut], responses={**UNAUTHORIZED, **FORBIDDEN})
async def list_users(accounts: AccountsDep, _admin: AdminDep) -> Any:
    return [user_out(u) for u in await accounts.users()]


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses={
        **UNAUTHORIZED,
        **FORBIDDEN,
        **error_responses(409, 422, described={409: "The name is taken"}),
    },
)
async def create_user(body: UserIn, accounts: AccountsDep, _admin: AdminDep) -> Any:
    """Add an account. The first account of an instance must be an administrator."""
    first = not await accounts.has_accounts()
    if first and body.role != "admin":
        raise InputError(
            "The first account must be an administrator: once it exists, haul asks everyone "
            "to log in, and someone has to be able to manage it."
        )
    view = await accounts.create_user(
        body.username, body.password, role=body.role, limit=body.limit, first=first
    )
    return user_out(view)


@router.get(
    "/users/{user_id}",
    response_model=UserOut,
    responses={**error_responses(404, 422), **FORBIDDEN, **UNAUTHORIZED},
)
async def get_user(user_id: Id, accounts: AccountsDep, _admin: AdminDep) -> Any:
    return user_out(await accounts.user(user_id))


@router.patch(
    "/users/{user_id}",
    response_model=UserOut,
    responses={
        **FORBIDDEN,
        **UNAUTHORIZED,
        **error_responses(404, 409, 422, described={409: "It would leave no administrator"}),
    },
)
async def change_user(
    user_id: Id, body: UserChange, accounts: AccountsDep, _admin: AdminDep
) -> Any:
    given = body.model_dump(exclude_unset=True)
    view = await accounts.update_user(
        user_id,
        role=given.get("role"),
        limit=given.get("limit"),
        clear_limit="limit" in given and given["limit"] is None,
        disabled=given.get("disabled"),
        password=given.get("password"),
        revoke_tokens=body.revoke_tokens,
    )
    return user_out(view)


@router.get(
    "/users/{user_id}/owned",
    response_model=OwnedOut,
    responses={**error_responses(404, 422), **FORBIDDEN, **UNAUTHORIZED},
)
async def owned_by(user_id: Id, ownership: OwnershipDep, _admin: AdminDep) -> Any:
    """What the account owns: what deleting it would delete or hand over."""
    return dataclasses.asdict(await ownership.owned(user_id))


@router.delete(
    "/users/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        **FORBIDDEN,
        **UNAUTHORIZED,
        **error_responses(
            404,
            409,
            422,
            described={
                409: "It is the only administrator, or it owns things and no choice was made"
            },
        ),
    },
)
async def delete_user(
    user_id: Id,
    ownership: OwnershipDep,
    _admin: AdminDep,
    owned: Annotated[
        Literal["delete", "transfer"] | None,
        Query(
            description="What becomes of what the account owns (downloads, media items, IPTV "
            "providers, notification targets): ``delete`` deletes it (downloads canceled and "
            "removed with their data), ``transfer`` hands it to user ``to``. Needed when the "
            "account owns anything."
        ),
    ] = None,
    to: Annotated[Id | None, Query(description="With owned=transfer: who receives it")] = None,
) -> None:
    """Remove an account, its logins and its tokens, and what it owns as chosen."""
    await ownership.delete_user(user_id, owned=owned, to=to)


# -- API tokens ------------------------------------------------------------------------------


@router.get("/tokens", response_model=list[TokenOut], responses={**UNAUTHORIZED, **FORBIDDEN})
async def list_tokens(owner: OwnerDep, accounts: AccountsDep) -> Any:
    """Your live API tokens (their first characters only)."""
    return [dataclasses.asdict(t) for t in await accounts.tokens(own_id(owner))]


@router.post(
    "/tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=NewTokenOut,
    responses={**UNAUTHORIZED, **FORBIDDEN},
)
async def create_token(body: TokenIn, owner: OwnerDep, accounts: AccountsDep) -> Any:
    """A new API token for your account, shown this once."""
    view, token = await accounts.create_token(own_id(owner), body.name)
    return {**dataclasses.asdict(view), "token": token}


@router.delete(
    "/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**error_responses(404, 422), **UNAUTHORIZED, **FORBIDDEN},
)
async def revoke_token(token_id: Id, owner: OwnerDep, accounts: AccountsDep) -> None:
    """Revoke one of your tokens (an administrator may revoke anyone's)."""
    await accounts.revoke_token(token_id, None if owner.is_admin else own_id(owner))
