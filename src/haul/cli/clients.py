"""``haul clients``: configure download clients (of the kinds in :mod:`haul.clients.registry`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from haul.cli.common import DEFAULT_SERVER, ServerOpt, TokenOpt, api_for, console
from haul.cli.render import say_error, text
from haul.clients import kind_hints, registry

#: The kinds a client of which may be preferred for direct files, for the help.
_FILE_KINDS = "/".join(kind.name for kind in registry.preferable_for_files())

clients_app = typer.Typer(help="Download clients: add, test, change, remove.", no_args_is_help=True)

SecretOpt = Annotated[
    str | None,
    typer.Option(
        "--secret",
        envvar="HAUL_CLIENT_SECRET",
        help="Password or RPC secret (or set HAUL_CLIENT_SECRET; --ask-secret to type it).",
    ),
]
AskOpt = Annotated[bool, typer.Option("--ask-secret", help="Ask for the secret, hidden.")]


def _settings(secret: str | None, ask: bool, **given: Any) -> dict[str, Any]:
    body = {key: value for key, value in given.items() if value is not None}
    if ask:
        secret = typer.prompt("Secret", hide_input=True)
    if secret is not None:
        body["secret"] = secret
    return body


def _health(answer: dict[str, Any], name: str) -> None:
    if answer["ok"]:
        console.print(text(f"{name}: ok", "green") + text(f" ({answer['version']})"))
        return
    say_error(f"{name}: {answer['error']} [{answer['code']}]")
    raise typer.Exit(1)


@clients_app.command("ls")
def list_clients(server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """The configured clients."""
    with api_for(server, token) as api:
        items = api.request("GET", "/clients")["items"]
    table = Table("name", "kind", "url", "category", "priority", "enabled", "slots", "state")
    for c in items:
        state = text("failing", "red") if c["ok"] is False else ""
        table.add_row(
            c["name"],
            c["kind"],
            c["url"],
            c["category"],
            str(c["priority"]),
            "yes" if c["enabled"] else "no",
            str(c["slot_limit"] or "-"),
            state,
        )
    console.print(table)


@clients_app.command("add")
def add_client(
    name: Annotated[str, typer.Argument(help="A name of your choosing, e.g. qbit.")],
    kind: Annotated[str, typer.Argument(help=f"{kind_hints.either(registry.names())}.")],
    url: Annotated[str, typer.Argument(help="e.g. http://127.0.0.1:8080")],
    username: Annotated[str | None, typer.Option(help="Web UI or RPC user.")] = None,
    secret: SecretOpt = None,
    ask_secret: AskOpt = False,
    category: Annotated[str | None, typer.Option(help="Category/label for haul's items.")] = None,
    priority: Annotated[int | None, typer.Option(help="Lower is preferred.")] = None,
    slot_limit: Annotated[int | None, typer.Option(help="At most this many active.")] = None,
    prefer_for_files: Annotated[
        bool | None,
        typer.Option(help=f"{_FILE_KINDS}: take direct files too."),
    ] = None,
    test: Annotated[bool, typer.Option(help="Test the connection before saving.")] = True,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Add a download client (tested first unless --no-test)."""
    body = _settings(
        secret,
        ask_secret,
        name=name,
        kind=kind,
        url=url,
        username=username,
        category=category,
        priority=priority,
        slot_limit=slot_limit,
        prefer_for_files=prefer_for_files,
    )
    with api_for(server, token) as api:
        if test:
            _health(api.request("POST", "/clients/test", json=body), name)
        api.request("POST", "/clients", json=body)
    console.print(f"added {name}")


@clients_app.command("edit")
def edit_client(
    name: str,
    url: Annotated[str | None, typer.Option()] = None,
    username: Annotated[str | None, typer.Option()] = None,
    secret: SecretOpt = None,
    ask_secret: AskOpt = False,
    category: Annotated[str | None, typer.Option()] = None,
    priority: Annotated[int | None, typer.Option()] = None,
    enabled: Annotated[bool | None, typer.Option("--enabled/--disabled")] = None,
    slot_limit: Annotated[int | None, typer.Option()] = None,
    remove_completed: Annotated[bool | None, typer.Option()] = None,
    seed_ratio: Annotated[float | None, typer.Option()] = None,
    seed_minutes: Annotated[int | None, typer.Option()] = None,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Change some settings of a client."""
    body = _settings(
        secret,
        ask_secret,
        url=url,
        username=username,
        category=category,
        priority=priority,
        enabled=enabled,
        slot_limit=slot_limit,
        remove_completed=remove_completed,
        seed_ratio=seed_ratio,
        seed_minutes=seed_minutes,
    )
    with api_for(server, token) as api:
        api.request("PATCH", f"/clients/{name}", json=body)
    console.print(f"changed {name}")


@clients_app.command("rm")
def remove_client(name: str, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Remove a client that holds no unfinished download."""
    with api_for(server, token) as api:
        api.request("DELETE", f"/clients/{name}")
    console.print(f"removed {name}")


@clients_app.command("test")
def test_client(name: str, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Connect to a client now and say what is wrong, if anything."""
    with api_for(server, token) as api:
        _health(api.request("POST", f"/clients/{name}/test"), name)


@clients_app.command("untracked")
def untracked(name: str, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Items the client holds under haul's category that haul did not add."""
    with api_for(server, token) as api:
        items = api.request("GET", f"/clients/{name}/untracked")["items"]
    table = Table("ref", "status", "name", "progress")
    for item in items:
        progress = item["progress"]
        table.add_row(
            item["ref"], item["status"], item["name"] or "", f"{progress:.0%}" if progress else ""
        )
    console.print(table)


@clients_app.command("adopt")
def adopt(
    name: str,
    refs: Annotated[list[str], typer.Argument(help="Ids shown by `haul clients untracked`.")],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Make untracked items downloads of yours."""
    with api_for(server, token) as api:
        for ref in refs:
            item = api.request("POST", f"/clients/{name}/adopt", json={"ref": ref})
            console.print(f"adopted {ref} as download {item['id']}")
