"""What every client-side command shares: the server options and the consoles."""

from __future__ import annotations

import os
from collections.abc import Mapping
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


def local_server(environ: Mapping[str, str] = os.environ) -> str:
    """The server a command talks to without ``--server``: the haul of this machine, at the
    port and base path its own settings give (``HAUL_PORT``, ``HAUL_BASE_PATH``), so that a
    command run beside the server (in its container, with its service's environment) reaches
    it."""
    port = environ.get("HAUL_PORT", "").strip()
    base = environ.get("HAUL_BASE_PATH", "").strip().strip("/")
    address = f"http://127.0.0.1:{port if port.isdigit() else 8680}"
    return f"{address}/{base}" if base else address


DEFAULT_SERVER = local_server()


def api_for(server: str, token: str | None) -> Api:
    """A client of ``server`` with ``token``, else with the token ``haul login`` saved for it."""
    return Api(server, token or saved_token(server))
