"""How the CLI shows downloads: tables, details, human sizes."""

from __future__ import annotations

from typing import Any

from rich.table import Table

STATUS_STYLES = {
    "downloading": "cyan",
    "completed": "green",
    "failed": "red",
    "canceled": "dim",
    "paused": "yellow",
    "queued": "white",
    "resolving": "magenta",
    "unknown": "red",
    "missing": "red",
}


def size(n: float | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    return (
        f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


def status_text(item: dict[str, Any]) -> str:
    status = str(item.get("status"))
    return f"[{STATUS_STYLES.get(status, 'white')}]{status}[/]"


def downloads_table(items: list[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("ID", "STATUS", "PROGRESS", "SIZE", "SPEED", "ETA", "TITLE / URL"):
        table.add_column(
            column,
            justify="right" if column in ("ID", "PROGRESS", "SIZE", "SPEED", "ETA") else "left",
        )
    for item in items:
        progress = item.get("progress")
        table.add_row(
            str(item["id"]),
            status_text(item),
            f"{progress * 100:.0f}%" if progress is not None else "-",
            size(item.get("total_bytes")),
            size(item.get("speed")) + "/s" if item.get("speed") else "-",
            duration(item.get("eta")),
            (item.get("title") or item["url"])[:80]
            + (f"  [red]{item['error']}[/]" if item.get("error") else ""),
        )
    return table


def details(item: dict[str, Any], events: list[dict[str, Any]]) -> Table:
    table = Table(box=None, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for key in (
        "id",
        "title",
        "url",
        "status",
        "progress",
        "downloaded_bytes",
        "total_bytes",
        "client",
        "client_ref",
        "error",
        "created_at",
        "completed_at",
        "retry_at",
    ):
        value = item.get(key)
        if key == "status":
            value = status_text(item)
        elif key in ("downloaded_bytes", "total_bytes"):
            value = size(value)
        elif key == "progress" and value is not None:
            value = f"{value * 100:.1f}%"
        table.add_row(key, "-" if value is None else str(value))
    for f in item.get("files") or []:
        table.add_row("file", f"{f.get('path')} ({size(f.get('size'))})")
    for e in events:
        table.add_row(
            "event", f"{e['at']}  {e['kind']}" + (f": {e['message']}" if e.get("message") else "")
        )
    return table
