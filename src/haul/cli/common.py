"""What every client-side command shares: the server options and the consoles."""

from __future__ import annotations

from typing import Annotated

import typer

from haul.cli.api import Api
from haul.cli.logins import saved_token
from haul.cli.render import console, err

__all__ = ["DEFAULT_SERVER", "ServerOpt", "TokenOpt", "api_for", "console", "err"]

ServerOpt = Annotated[
    str, typer.Option("--server", envvar="HAUL_SERVER", help="The haul server to talk to.")
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token", envvar="HAUL_TOKEN", help="API token (default: the one 'haul login' saved)."
    ),
]
DEFAULT_SERVER = "http://127.0.0.1:8680"


def api_for(server: str, token: str | None) -> Api:
    """A client of ``server`` with ``token``, else with the token ``haul login`` saved for it."""
    return Api(server, token or saved_token(server))
