"""``haul cookies``: site cookies (a cookies.txt exported from a browser) for your downloads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from haul.cli.common import DEFAULT_SERVER, ServerOpt, TokenOpt, api_for, console
from haul.cli.render import say_error, text

cookies_app = typer.Typer(
    help="Site cookies: upload a cookies.txt so downloads from sites that want a sign-in (or "
    "a check that you are not a bot) go through (add, list, remove).",
    no_args_is_help=True,
)


@cookies_app.command("add")
def add_cookies(
    file: Annotated[
        Path, typer.Argument(help="A Netscape cookies.txt, as a browser extension exports it.")
    ],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Upload a cookies.txt; your downloads from its sites then carry its cookies."""
    try:
        blob = file.read_bytes()
    except OSError as exc:
        say_error(f"Cannot read {file}: {exc.strerror or exc}.")
        raise typer.Exit(1) from None
    with api_for(server, token) as api:
        made = api.request("POST", "/cookies", files={"file": (file.name, blob, "text/plain")})
    # A short sentence, then the sites on a line of their own (a long list wraps between
    # names, under itself), so no sentence is broken at the terminal's edge.
    expiry = _minute(made["expires_at"]) if made["expires_at"] else None
    noun = "cookie" if made["count"] == 1 else "cookies"
    console.print(
        text(
            f"added cookie set {made['id']}: {made['count']} {noun}"
            + (f", the first expiring {expiry} UTC" if expiry else ", for this session only"),
            "green",
        )
    )
    sites = Table(box=None, show_header=False, padding=(0, 1, 0, 2))
    sites.add_column(no_wrap=True)
    sites.add_column()
    sites.add_row("sites", text(", ".join(made["domains"])))
    if console.is_terminal:
        console.print(sites)
    else:  # a pipe: one line
        console.print(text("  sites " + ", ".join(made["domains"])), soft_wrap=True)
    if made.get("note"):
        console.print(text(made["note"], "yellow"))


@cookies_app.command("list")
def list_cookies(server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Your cookie sets: their sites, how many cookies, the first expiry (never the cookies)."""
    with api_for(server, token) as api:
        items = api.request("GET", "/cookies")["items"]
    if not items:
        console.print("No cookies uploaded. Add a cookies.txt with `haul cookies add FILE`.")
        return
    table = Table("id", "count", "expires", "added", box=None, header_style="bold")
    table.add_column("sites", overflow="fold")
    for s in items:
        table.add_row(
            str(s["id"]),
            str(s["count"]),
            text(_minute(s["expires_at"]) if s["expires_at"] else "session only"),
            text(_minute(s["created_at"])),
            text(", ".join(s["domains"])),
        )
    console.print(table)


@cookies_app.command("remove")
def remove_cookies(
    ids: Annotated[list[int], typer.Argument(help="Ids of cookie sets (see `haul cookies list`).")],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Remove cookie sets: downloads no longer send their cookies."""
    with api_for(server, token) as api:
        for set_id in ids:
            api.request("DELETE", f"/cookies/{set_id}")
            console.print(f"removed {set_id}")


def _minute(iso: str) -> str:
    """An ISO time as ``2026-12-06 21:17`` (UTC, as the server gives it)."""
    return iso[:16].replace("T", " ")
