"""``haul config``: the runtime settings an administrator changes while haul runs."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from haul.cli.common import DEFAULT_SERVER, ServerOpt, TokenOpt, api_for, console
from haul.cli.render import print_fitted, stacked, text
from haul.core.units import duration_text, number_text

config_app = typer.Typer(
    help="Runtime settings: limits, retries, retention (ls, set, unset).", no_args_is_help=True
)


def shown(value: Any, setting: dict[str, Any]) -> str:
    """A value as a person reads it: ``none (no limit)`` for an empty one."""
    if isinstance(value, list):  # site rules
        return "; ".join(_rule_text(rule) for rule in value) or "none"
    if value is None:
        meaning = setting.get("none_means")
        return f"none ({meaning})" if meaning else "none"
    seconds = {"seconds": 1, "days": 86400}.get(setting.get("unit") or "")
    if seconds is not None and isinstance(value, int | float):
        return duration_text(value * seconds)
    return number_text(value) if isinstance(value, int | float) else str(value)


def _rule_text(rule: dict[str, Any]) -> str:
    parts = []
    if rule.get("max_transfers") is not None:
        parts.append(f"{rule['max_transfers']} at once")
    if rule.get("sleep_seconds"):
        parts.append(f"{number_text(rule['sleep_seconds'])} s apart")
    if rule.get("connections") is not None:
        count = rule["connections"]
        parts.append(f"{count} connection{'' if count == 1 else 's'} per file")
    return f"{rule.get('domain')}: {', '.join(parts)}"


@config_app.command("ls")
def list_settings(server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Every setting: the value in effect, the default, and whether it was set here."""
    with api_for(server, token) as api:
        settings = api.request("GET", "/config")["settings"]
    table = Table()
    # A key is what a person types next: never cut nor split, however narrow the terminal.
    table.add_column("key", no_wrap=True)
    for column in ("value", "default", "source", "description"):
        table.add_column(column)
    for s in settings:
        source = text("set", "bold") if s["source"] == "config" else "default"
        table.add_row(
            s["key"], shown(s["value"], s), shown(s["default"], s), source, s["description"]
        )
    print_fitted(table, lambda: _narrow(settings))


def _narrow(settings: list[dict[str, Any]]) -> Table:
    """The settings for a narrow terminal: each key, and beside it its value, its default
    and its description, wrapped between words."""
    rows = []
    for s in settings:
        value = text(shown(s["value"], s), "bold")
        if s["source"] == "config":
            value += text(f"  set here; default {shown(s['default'], s)}", "dim")
        else:
            value += text("  the default", "dim")
        rows.append((s["key"], [value, text(s["description"])]))
    return stacked(rows)


def _report(settings: list[dict[str, Any]], key: str, before: dict[str, Any] | None) -> None:
    after = next(s for s in settings if s["key"] == key)
    note = " (the default)" if after["source"] == "default" else ""
    was = ""
    if before is not None and before["value"] != after["value"]:
        was = f", was {shown(before['value'], before)}"
    console.print(f"{key} = {shown(after['value'], after)}{note}{was}")


def _change(server: str, token: str | None, key: str, value: str | None) -> None:
    with api_for(server, token) as api:
        current = api.request("GET", "/config")["settings"]
        before = next((s for s in current if s["key"] == key), None)
        settings = api.request("PATCH", "/config", json={key: value})["settings"]
    _report(settings, key, before)


@config_app.command("set")
def set_setting(
    key: Annotated[str, typer.Argument(help="A setting (see `haul config ls`).")],
    value: Annotated[
        str, typer.Argument(help="Its new value; `none` empties a setting that may be empty.")
    ],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Set a runtime setting (every process of the instance follows at once)."""
    _change(server, token, key, value)


@config_app.command("unset")
def unset_setting(
    key: Annotated[str, typer.Argument(help="A setting (see `haul config ls`).")],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Put a runtime setting back to its default (the environment's value)."""
    _change(server, token, key, None)
