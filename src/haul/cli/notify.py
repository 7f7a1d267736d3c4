"""``haul notify``: webhooks and Apprise URLs told about completed, failed, imported downloads."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from haul.cli.api import Api
from haul.cli.common import DEFAULT_SERVER, ServerOpt, TokenOpt, api_for, console
from haul.cli.render import say_error, text

notify_app = typer.Typer(
    help="Notifications: webhooks and Apprise URLs (add, ls, test, rm).", no_args_is_help=True
)

EVENTS = "completed,failed,imported"


@notify_app.command("ls")
def list_targets(server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """The notification targets (secrets and Apprise tokens are never shown)."""
    with api_for(server, token) as api:
        items = api.request("GET", "/notifications")["items"]
    table = Table("id", "name", "kind")
    table.add_column("url", overflow="fold")
    table.add_column("events", overflow="fold")
    table.add_column("scope")
    table.add_column("state")
    for t in items:
        state = ["signed"] if t["has_secret"] else []
        state.append("on" if t["enabled"] else "off")
        table.add_row(
            str(t["id"]),
            t["name"],
            t["kind"],
            t["url"],
            ", ".join(t["events"]),
            "global" if t["scope"] == "global" else t["owner"] or "",
            ", ".join(state),
        )
    console.print(table)


@notify_app.command("add")
def add_target(
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="POST signed JSON to this http(s) URL.")
    ] = None,
    apprise: Annotated[
        str | None,
        typer.Option("--apprise", help="An Apprise URL, e.g. tgram://bottoken/ChatID."),
    ] = None,
    secret: Annotated[
        str | None,
        typer.Option(
            "--secret",
            envvar="HAUL_WEBHOOK_SECRET",
            help="Webhooks: sign with HMAC-SHA256 of this key (or set HAUL_WEBHOOK_SECRET).",
        ),
    ] = None,
    on: Annotated[
        str,
        typer.Option(
            "--on", help="Comma-separated events to send (subscription.new too, if asked)."
        ),
    ] = EVENTS,
    global_: Annotated[
        bool, typer.Option("--global", help="For everyone's downloads (administrators).")
    ] = False,
    name: Annotated[str | None, typer.Option(help="A name (default: the URL's host).")] = None,
    test: Annotated[bool, typer.Option(help="Send a test event once added.")] = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Add a webhook (--webhook URL [--secret S]) or an Apprise URL (--apprise URL)."""
    if (webhook is None) == (apprise is None):
        say_error("Give either --webhook URL or --apprise URL.")
        raise typer.Exit(2)
    body: dict[str, Any] = {
        "kind": "webhook" if webhook is not None else "apprise",
        "url": webhook if webhook is not None else apprise,
        "events": [kind.strip() for kind in on.split(",") if kind.strip()],
        "scope": "global" if global_ else "owner",
    }
    if name is not None:
        body["name"] = name
    if secret is not None:
        body["secret"] = secret
    with api_for(server, token) as api:
        target = api.request("POST", "/notifications", json=body)
        events = ",".join(target["events"])
        console.print(f"added {target['id']} {target['name']}: {target['url']} on {events}")
        if test:
            _test(api, target)


@notify_app.command("test")
def test_target(
    target: Annotated[str, typer.Argument(help="The target's id or name.")],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Send a test event now and say whether it arrived."""
    with api_for(server, token) as api:
        _test(api, _find(api, target))


@notify_app.command("rm")
def remove_target(
    targets: Annotated[list[str], typer.Argument(help="Ids or names (see `haul notify ls`).")],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Remove notification targets."""
    with api_for(server, token) as api:
        for wanted in targets:
            found = _find(api, wanted)
            api.request("DELETE", f"/notifications/{found['id']}")
            console.print(f"removed {found['id']} {found['name']}")


def _find(api: Api, wanted: str) -> dict[str, Any]:
    if wanted.isdigit():
        found: dict[str, Any] = api.request("GET", f"/notifications/{wanted}")
        return found
    matches = [t for t in api.request("GET", "/notifications")["items"] if t["name"] == wanted]
    if len(matches) != 1:
        many = "several notification targets are" if matches else "no notification target is"
        say_error(f"{many} named {wanted!r}; use the id (see `haul notify ls`).")
        raise typer.Exit(1)
    first: dict[str, Any] = matches[0]
    return first


def _test(api: Api, target: dict[str, Any]) -> None:
    answer = api.request("POST", f"/notifications/{target['id']}/test")
    if answer["ok"]:
        console.print(text(f"{target['name']}: test event delivered", "green"))
        return
    say_error(f"{target['name']}: {answer['error']}")
    raise typer.Exit(1)
