"""``haul link``: a signed link to a finished file that anyone can open until it expires."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

import typer

from haul.cli.common import DEFAULT_SERVER, ServerOpt, TokenOpt, api_for, err
from haul.cli.render import plain, say_error

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def parse_duration(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``30m``, ``2h``, ``7d``, ``1w`` or ``1h30m``; ValueError
    with a sentence otherwise."""
    value = text.strip().lower().replace(" ", "")
    try:
        return float(value)
    except ValueError:
        pass
    parts = _PART.findall(value)
    if not value or "".join(n + u for n, u in parts) != value:
        raise ValueError(f"{text!r} is not a duration; write it like 90s, 30m, 2h, 7d or 1h30m.")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def link(
    download_id: Annotated[int, typer.Argument(help="The download (see `haul ls`).")],
    index: Annotated[
        int, typer.Option("--index", "-i", min=0, help="Which of its files (0: the first).")
    ] = 0,
    expires: Annotated[
        str, typer.Option("--expires", "-e", help="How long it works: 90s, 30m, 2h, 7d (30d max).")
    ] = "24h",
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Print a signed link to a finished file; anyone with it can fetch the file until it
    expires."""
    try:
        seconds = parse_duration(expires)
    except ValueError as exc:
        say_error(exc)
        raise typer.Exit(2) from None
    with api_for(server, token) as api:
        made = api.request(
            "POST", f"/downloads/{download_id}/link", json={"index": index, "expires_in": seconds}
        )
        base = api.server
    until = datetime.fromisoformat(made["expires_at"]).strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    typer.echo(plain(base + made["url"]))  # plain: a console would fold a long URL
    err.print(f"{made['name']}, until {until}")
