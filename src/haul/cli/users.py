"""``haul users``: accounts, through the API (an administrator's token), and
``create-admin``, which works on the database directly for the first administrator or to get
back in."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from haul.cli.api import Api
from haul.cli.common import DEFAULT_SERVER, ServerOpt, TokenOpt, api_for, console
from haul.cli.passwords import NOT_ON_COMMAND_LINE, PasswordStdinOpt, read_password
from haul.cli.render import say_error, text
from haul.core import credentials
from haul.errors import ApiError, Conflict, HaulError, LoginNeeded, NotFound

users_app = typer.Typer(
    help="Accounts: ls, add, edit, rm (an administrator's, through the server), and "
    f"create-admin (on the database, no server needed).\n\n{NOT_ON_COMMAND_LINE}",
    short_help="Accounts (ls, add, edit, rm, create-admin).",
    no_args_is_help=True,
)

UserArg = Annotated[
    str, typer.Argument(help="A user name, or an id from 'haul users ls' (a name wins).")
]
LimitOpt = Annotated[
    int | None,
    typer.Option("--limit", min=1, help="Active downloads at once for this user."),
]


class Role(StrEnum):
    admin = "admin"
    user = "user"


def when(stamp: str | None) -> str:
    """A timestamp of the API as a person reads it (minutes, UTC)."""
    if not stamp:
        return "-"
    return stamp[:16].replace("T", " ")


def users_table(users: list[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("ID", "NAME", "ROLE", "LIMIT", "STATE", "CREATED", "LAST LOGIN"):
        table.add_column(column, justify="right" if column in ("ID", "LIMIT") else "left")
    for u in users:
        table.add_row(
            str(u["id"]),
            u["username"],
            u["role"],
            "default" if u["limit"] is None else str(u["limit"]),
            text("disabled", "red") if u["disabled"] else "enabled",
            when(u["created_at"]),
            when(u["last_login_at"]),
        )
    return table


def resolve_user(api: Api, name_or_id: str) -> dict[str, Any]:
    """The account a user gave on the command line: by name (without case), else by id."""
    users: list[dict[str, Any]] = api.request("GET", "/users")
    wanted = name_or_id.strip()
    for u in users:
        if u["username"].lower() == wanted.lower():
            return u
    if wanted.isdigit():
        for u in users:
            if u["id"] == int(wanted):
                return u
    also = " or with that id" if wanted.isdigit() else ""
    raise NotFound(f"There is no user named {wanted!r}{also}.")


@users_app.command("ls")
def list_users(server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Every account."""
    with api_for(server, token) as api:
        users = api.request("GET", "/users")
    console.print(users_table(users))


@users_app.command("add")
def add_user(
    name: Annotated[str, typer.Argument(help="1 to 64 letters, digits, . - _ or @.")],
    admin: Annotated[bool, typer.Option("--admin", help="Make an administrator.")] = False,
    limit: LimitOpt = None,
    password_stdin: PasswordStdinOpt = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Add an account; its password is asked twice (or read with --password-stdin).

    There is no --password VALUE option: it would keep the password in the shell's history.
    """
    credentials.check_username(name)
    password = read_password(password_stdin, confirm=True, prompt=f"Password for {name}")
    body = {
        "username": name,
        "password": password,
        "role": "admin" if admin else "user",
        "limit": limit,
    }
    with api_for(server, token) as api:
        added = api.request("POST", "/users", json=body)
    console.print(f"added {added['role']} {added['username']} (id {added['id']})")


@users_app.command("edit")
def edit_user(
    user: UserArg,
    role: Annotated[Role | None, typer.Option("--role", help="The account's role.")] = None,
    limit: LimitOpt = None,
    no_limit: Annotated[
        bool, typer.Option("--no-limit", help="Back to the instance's per-user limit.")
    ] = False,
    disabled: Annotated[
        bool | None,
        typer.Option(
            "--disable/--enable", help="Disable the account (its logins and tokens stop working)."
        ),
    ] = None,
    password: Annotated[
        bool,
        typer.Option(
            "--password", help="Set a new password: asked twice, or read with --password-stdin."
        ),
    ] = False,
    password_stdin: PasswordStdinOpt = False,
    revoke_tokens: Annotated[
        bool,
        typer.Option(
            "--revoke-tokens",
            help="With a new password: revoke the account's API tokens too (programs using "
            "them stop). Without it they keep working.",
        ),
    ] = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Change an account's role, limit, state or password (a new password ends the account's
    logins; its API tokens only with --revoke-tokens)."""
    if limit is not None and no_limit:
        say_error("Give either --limit N or --no-limit, not both.")
        raise typer.Exit(2)
    body: dict[str, Any] = {}
    if role is not None:
        body["role"] = role.value
    if limit is not None or no_limit:
        body["limit"] = limit
    if disabled is not None:
        body["disabled"] = disabled
    with api_for(server, token) as api:
        found = resolve_user(api, user)
        if password or password_stdin:
            body["password"] = read_password(
                password_stdin, confirm=True, prompt=f"New password for {found['username']}"
            )
            body["revoke_tokens"] = revoke_tokens
        elif revoke_tokens:
            say_error("--revoke-tokens goes with a new password (--password).")
            raise typer.Exit(2)
        if not body:
            say_error(
                "Nothing to change: give --role, --limit, --no-limit, --disable, "
                "--enable or --password."
            )
            raise typer.Exit(2)
        changed = api.request("PATCH", f"/users/{found['id']}", json=body)
    console.print(users_table([changed]))
    if "password" in body:
        console.print(
            "Its logins have ended; its API tokens "
            + ("are revoked." if revoke_tokens else "still work (add --revoke-tokens to end them).")
        )


@users_app.command("rm")
def remove_users(
    users: Annotated[list[str], typer.Argument(help="User names or ids.")],
    delete_owned: Annotated[
        bool,
        typer.Option(
            "--delete-owned",
            help="Delete what they own too: downloads (canceled, removed with their data), "
            "media items with their library files, IPTV providers, notification targets.",
        ),
    ] = False,
    transfer_to: Annotated[
        str | None,
        typer.Option(
            "--transfer-to", metavar="USER", help="Hand what they own to this user instead."
        ),
    ] = None,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Remove accounts with their logins and tokens. An account that owns anything needs
    --delete-owned or --transfer-to USER."""
    if delete_owned and transfer_to is not None:
        raise typer.BadParameter(
            "Choose one: --delete-owned or --transfer-to.", param_hint="--delete-owned"
        )
    failed = False
    with api_for(server, token) as api:
        params: dict[str, Any] = {}
        if delete_owned:
            params["owned"] = "delete"
        elif transfer_to is not None:
            params = {"owned": "transfer", "to": resolve_user(api, transfer_to)["id"]}
        for given in users:
            try:
                found = resolve_user(api, given)
                api.request("DELETE", f"/users/{found['id']}", params=params)
            except LoginNeeded:
                raise
            except HaulError as exc:
                owns = isinstance(exc, ApiError) and exc.status == 409 and " owns " in exc.message
                hint = " Use --delete-owned or --transfer-to USER." if owns else ""
                say_error(f"{given}: {exc.message}{hint}")
                failed = True
            else:
                console.print(f"removed {found['username']} (id {found['id']})", markup=False)
    if failed:
        raise typer.Exit(1)


@users_app.command("create-admin")
def create_admin(
    name: Annotated[str, typer.Argument(help="The administrator's user name.")],
    password_stdin: PasswordStdinOpt = False,
    reset_password: Annotated[
        bool,
        typer.Option(
            "--reset-password",
            help="The user exists: give it a new password, and make it an enabled "
            "administrator (to get back in).",
        ),
    ] = False,
) -> None:
    """Make an administrator in the database itself, no server needed.

    For the first administrator of an instance, or, with --reset-password, to get back in.
    It reads the same settings as 'haul serve' (HAUL_DATA_DIR, HAUL_DATABASE_URL) and brings
    the database up to date first.
    """
    from haul.cli.local import find_user, with_accounts
    from haul.settings import load_settings
    from haul.store.migrate import upgrade

    settings = load_settings()
    name = credentials.check_username(name)
    upgrade(settings.sqlalchemy_url)
    existing = with_accounts(settings, lambda accounts: find_user(accounts, name))
    if existing is not None and not reset_password:
        raise Conflict(
            f"There is already a user named {existing.username!r}. To give it a new password "
            "(and make it an enabled administrator), add --reset-password."
        )
    if existing is None and reset_password:
        raise NotFound(f"There is no user named {name!r}; leave out --reset-password to make it.")
    secret = read_password(password_stdin, confirm=True, prompt=f"Password for {name}")
    credentials.check_password(secret)
    if existing is None:
        made = with_accounts(
            settings, lambda accounts: accounts.create_user(name, secret, role="admin")
        )
        console.print(f"created administrator {made.username} (id {made.id})")
    else:
        made = with_accounts(
            settings,
            lambda accounts: accounts.update_user(
                existing.id, password=secret, role="admin", disabled=False
            ),
        )
        notes = []
        if not existing.is_admin:
            notes.append("made administrator")
        if existing.disabled:
            notes.append("enabled again")
        extra = f" ({', '.join(notes)})" if notes else ""
        console.print(f"new password set for {made.username} (id {made.id}){extra}")
    console.print(f"Log in with: haul login --username {made.username}")
