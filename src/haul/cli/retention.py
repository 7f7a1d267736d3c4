"""``haul retention``: how long finished downloads are kept, and a run now."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from haul.cli.common import DEFAULT_SERVER, ServerOpt, TokenOpt, api_for, console
from haul.cli.render import size
from haul.core.units import duration_text

retention_app = typer.Typer(
    help="Retention of finished downloads (show, run).", no_args_is_help=True
)


def _days(value: float | None) -> str:
    """An age in days as a person says it: "forever", "7 days", "12 hours", "90 seconds"."""
    return "forever" if value is None else duration_text(value * 86400)


def _report(report: dict[str, Any]) -> str:
    when = datetime.fromisoformat(report["ran_at"]).strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    verb = "would remove" if report["dry_run"] else "removed"
    return (
        f"{verb} {report['removed']} downloads and {report['files']} files, "
        f"{size(report['freed_bytes'])} freed ({report['freed_bytes']} bytes), at {when}"
    )


def _listing(listed: list[dict[str, Any]]) -> Table:
    """The downloads a dry run would remove, with their files (titles and paths as text)."""
    table = Table("id", "download", "frees", "files", box=None)
    for gone in listed:
        table.add_row(
            str(gone["id"]),
            Text(gone["name"]),
            size(gone["freed_bytes"]),
            Text("\n".join(gone["files"]) or "none"),
        )
    return table


@retention_app.command("show")
def show(server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """How long finished downloads are kept, and what the last run removed."""
    with api_for(server, token) as api:
        info = api.request("GET", "/retention")
    console.print(f"accounts and the local user: kept {_days(info['retention_days'])}")
    console.print(f"anonymous sessions: kept {_days(info['anonymous_retention_days'])}")
    interval = info["interval"]
    console.print(f"runs every {duration_text(interval)}" if interval else "runs only when asked")
    last = info["last_run"]
    console.print(f"last run: {_report(last)}" if last else "last run: never")


@retention_app.command("run")
def run(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what would be removed.")
    ] = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Remove the finished downloads kept longer than their age now, with their own files
    (files filed into the library stay); ``--dry-run`` lists what would go."""
    with api_for(server, token) as api:
        report = api.request("POST", "/retention/run", json={"dry_run": dry_run})
    console.print(_report(report), markup=False)
    listed = report.get("downloads") or []
    if listed:
        console.print(_listing(listed))
        if len(listed) < report["removed"]:
            console.print(f"(the first {len(listed)} of {report['removed']})")
