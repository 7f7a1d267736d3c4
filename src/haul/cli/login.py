"""``haul login``, ``haul logout`` and ``haul whoami``: an API token per server, saved for the
commands that follow (see :mod:`haul.cli.logins`)."""

from __future__ import annotations

import contextlib
import socket
from typing import Annotated, Any

import typer

from haul.cli.api import Api
from haul.cli.common import DEFAULT_SERVER, ServerOpt, TokenOpt, api_for, console, err
from haul.cli.logins import SavedLogin, forget_login, save_login, saved_login
from haul.cli.passwords import PasswordStdinOpt, read_password
from haul.cli.render import say_error
from haul.errors import ApiError, HaulError, LoginNeeded


def _default_token_name() -> str:
    return f"haul login on {socket.gethostname()}"[:100]


def login(
    server: ServerOpt = DEFAULT_SERVER,
    username: Annotated[
        str | None, typer.Option("--username", "-u", help="Your user name (asked if left out).")
    ] = None,
    password_stdin: PasswordStdinOpt = False,
    name: Annotated[
        str | None,
        typer.Option("--name", help="What the new token is for, as 'haul tokens ls' shows it."),
    ] = None,
) -> None:
    """Log in to a haul server and save an API token for the commands that follow.

    The token is saved in ~/.config/haul/credentials.json (or under $XDG_CONFIG_HOME),
    readable by you only. The password is asked without echo, or read with --password-stdin;
    there is no --password VALUE option, which would keep it in the shell's history.
    """
    if username is None:
        if password_stdin:
            say_error("With --password-stdin, give the user name with --username.")
            raise typer.Exit(2)
        username = str(typer.prompt("User name")).strip()
    password = read_password(password_stdin, confirm=False)
    body = {"username": username, "password": password, "name": name or _default_token_name()}
    with Api(server) as api:
        try:
            made: dict[str, Any] = api.request("POST", "/auth/token", json=body)
        except LoginNeeded as exc:
            say_error(exc.detail)
            if _mode(api) == "single":
                err.print(
                    f"haul at {api.server} is a single-user instance with no accounts: "
                    "its commands need no login."
                )
            raise typer.Exit(1) from None
    with Api(server, made["token"]) as api:
        me = api.request("GET", "/auth/me")
    user = me["user"] or {"username": username, "role": "?"}
    previous = saved_login(server)
    path = save_login(server, SavedLogin(made["token"], made["id"], user["username"]))
    if previous is not None and previous.token_id != made["id"]:
        _revoke_quietly(server, previous)
    console.print(
        f"logged in to {api.server} as {user['username']} ({user['role']}); "
        f"token {made['id']} saved in {path}",
        soft_wrap=True,
    )


def _mode(api: Api) -> str | None:
    try:
        me: dict[str, Any] = api.request("GET", "/auth/me")
    except ApiError:
        return None
    return str(me.get("mode"))


def _revoke_quietly(server: str, saved: SavedLogin) -> None:
    """Revoke a token this machine no longer uses (with itself: any account may end its own
    token); a token already dead, or a server that cannot be reached, is no matter."""
    with Api(server, saved.token) as api, contextlib.suppress(HaulError):
        api.request("DELETE", f"/tokens/{saved.token_id}")


def logout(server: ServerOpt = DEFAULT_SERVER) -> None:
    """Log out of a server: revoke the token 'haul login' saved for it, and forget it."""
    saved = saved_login(server)
    if saved is None:
        console.print(f"not logged in to {server.rstrip('/')}")
        return
    with Api(server, saved.token) as api:
        try:
            api.request("DELETE", f"/tokens/{saved.token_id}")
            outcome = f"token {saved.token_id} revoked"
        except ApiError as exc:
            if exc.status not in (401, 404):
                raise
            outcome = f"token {saved.token_id} was no longer valid"
    forget_login(server)
    console.print(f"logged out of {api.server} ({saved.username}): {outcome}")


def whoami(server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Who the server takes you for: its mode, your user and role."""
    with api_for(server, token) as api:
        me = api.request("GET", "/auth/me")
    user = me["user"]
    if user is not None:
        who = f"{user['username']} (id {user['id']})"
    elif me["anonymous"]:
        who = "an anonymous visitor"
    else:
        who = "the local user (single-user mode: no login)"
    console.print(f"server: {api.server}")
    console.print(f"mode: {me['mode']}")
    console.print(f"user: {who}")
    console.print(f"role: {'admin' if me['is_admin'] else 'user'}")
