"""``haul tokens``: your API tokens (for scripts, other machines, CI)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from haul.cli.common import DEFAULT_SERVER, ServerOpt, TokenOpt, api_for, console, err
from haul.cli.logins import forget_login, saved_login
from haul.cli.render import say_error
from haul.cli.users import when
from haul.errors import HaulError, LoginNeeded

tokens_app = typer.Typer(help="Your API tokens (ls, create, revoke).", no_args_is_help=True)


@tokens_app.command("ls")
def list_tokens(server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Your live tokens, by their first characters; * marks the one 'haul login' saved here."""
    saved = saved_login(server)
    with api_for(server, token) as api:
        tokens = api.request("GET", "/tokens")
    table = Table(box=None, header_style="bold")
    for column in ("ID", "", "NAME", "STARTS WITH", "CREATED", "LAST USED"):
        table.add_column(column, justify="right" if column == "ID" else "left")
    for t in tokens:
        table.add_row(
            str(t["id"]),
            "*" if saved is not None and saved.token_id == t["id"] else "",
            t["name"],
            f"{t['hint']}..." if t["hint"] else "-",
            when(t["created_at"]),
            when(t["last_used_at"]),
        )
    console.print(table)


@tokens_app.command("create")
def create_token(
    name: Annotated[str, typer.Argument(help="What it is for, e.g. 'laptop' or 'ci'.")],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Make a token for your account, printed this once.

    It is printed alone on standard output (TOKEN=$(haul tokens create ci)); use it as
    HAUL_TOKEN or as 'Authorization: Bearer <token>'.
    """
    with api_for(server, token) as api:
        made = api.request("POST", "/tokens", json={"name": name})
    typer.echo(made["token"])
    err.print(f"token {made['id']} ({made['name']}): shown this once, keep it now")


@tokens_app.command("revoke")
def revoke_tokens(
    ids: Annotated[list[int], typer.Argument(help="Token ids (see 'haul tokens ls').")],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Revoke tokens: programs using them get 'needs a login' from then on."""
    saved = saved_login(server)
    # The token this command may be using goes last, so the others are revoked with it.
    ids = sorted(ids, key=lambda i: saved is not None and i == saved.token_id)
    failed = False
    with api_for(server, token) as api:
        for token_id in ids:
            try:
                api.request("DELETE", f"/tokens/{token_id}")
            except LoginNeeded:
                raise
            except HaulError as exc:
                say_error(f"{token_id}: {exc.message}")
                failed = True
                continue
            console.print(f"revoked token {token_id}")
            if saved is not None and saved.token_id == token_id:
                forget_login(server)
                console.print("it was this machine's login: run 'haul login' to log in again")
    if failed:
        raise typer.Exit(1)
