"""``haul limit``: the download speed limits and the schedule (show what is in force and
when it changes; set the global, per-owner and a download's own limit; set the schedule)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from haul.cli.common import DEFAULT_SERVER, ServerOpt, TokenOpt, api_for, console
from haul.core.bandwidth import parse_schedule, rate_text

limit_app = typer.Typer(
    help="Download speed limits and the speed schedule (show, global, owner, download, "
    "schedule, timezone).",
    no_args_is_help=False,
    invoke_without_command=True,
)

SpeedArg = Annotated[
    str, typer.Argument(help='A speed such as "4M", "500K", "1.5MB/s"; none: no limit.')
]


@limit_app.callback()
def main(ctx: typer.Context, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Without a command: what is in force now, and when it changes."""
    if ctx.invoked_subcommand is None:
        show(server, token)


@limit_app.command("show")
def show(server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """What is in force now and when it changes, with the schedule."""
    with api_for(server, token) as api:
        now = api.request("GET", "/limits")
    for line in describe(now):
        console.print(line, markup=False, highlight=False)


def describe(now: dict[str, Any]) -> list[str]:
    """The lines ``haul limit`` prints for the ``/limits`` answer ``now``."""
    lines = [
        "In force: "
        + ("paused by the schedule" if now["paused"] else rate_text(now["global_limit"]))
    ]
    if now.get("until"):
        until = datetime.fromisoformat(now["until"])
        lines.append(f"Changes: {until:%a %Y-%m-%d %H:%M %Z} to {now.get('then')}")
    elif now["schedule"]:
        lines.append("Changes: never (the schedule is the same all week)")
    else:
        lines.append("Changes: never (no schedule)")
    lines.append(f"Global limit: {rate_text(now['global_limit_configured'])}")
    lines.append(f"Per owner: {rate_text(now['owner_limit'])}")
    lines.append(f"Schedule ({now['timezone']}):" + ("" if now["schedule"] else " none"))
    for window in parse_schedule(now["schedule"]):
        lines.append(f"  {window.describe()}")
    return lines


def _configure(server: str, token: str | None, changes: dict[str, Any]) -> None:
    with api_for(server, token) as api:
        api.request("PATCH", "/config", json=changes)
        now = api.request("GET", "/limits")
    for line in describe(now):
        console.print(line, markup=False, highlight=False)


@limit_app.command("global")
def set_global(speed: SpeedArg, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Set the global limit of everything the built-in engine moves (every worker); each
    external client gets it as its own global limit."""
    _configure(server, token, {"speed_limit_global": speed})


@limit_app.command("owner")
def set_owner(speed: SpeedArg, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Set the limit of each owner's transfers together."""
    _configure(server, token, {"speed_limit_per_owner": speed})


@limit_app.command("download")
def set_download(
    download_id: Annotated[int, typer.Argument(help="The download's id.")],
    speed: SpeedArg,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Set a download's own limit (a running transfer follows within a second)."""
    with api_for(server, token) as api:
        changed = api.request("PATCH", f"/downloads/{download_id}", json={"speed_limit": speed})
    console.print(f"download {download_id}: {rate_text(changed.get('speed_limit'))}")


@limit_app.command("schedule")
def set_schedule(
    windows: Annotated[
        str,
        typer.Argument(
            help='The schedule, one window a line or separated by ";": weekdays, the times '
            'and a limit or pause, as "mon-fri 09:00-17:00 pause; sat,sun 00:00-08:00 10M" '
            "(or as JSON); @FILE to read it from a file; none to clear it."
        ),
    ],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Set the speed schedule."""
    value: Any = []  # none: no schedule
    if windows.strip().lower() != "none":
        text = Path(windows[1:]).read_text() if windows.startswith("@") else windows
        try:
            value = parse_schedule(text)  # said here, in its own words, before asking
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        value = [w.as_json() for w in value]
    _configure(server, token, {"speed_schedule": value})


@limit_app.command("timezone")
def set_timezone(
    name: Annotated[str, typer.Argument(help="An IANA time zone such as Europe/Berlin.")],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Set the time zone the schedule's times are read in."""
    _configure(server, token, {"speed_timezone": name})
