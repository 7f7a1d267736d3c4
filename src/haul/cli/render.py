"""How the CLI shows downloads: tables, details, human sizes."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from haul.core.units import size_text

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
    return "-" if n is None else size_text(n)


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


def media_file_line(f: dict[str, Any]) -> str:
    """One probed file in a line: name, size, then what the probe found (or why not media)."""
    parts = [f"{f.get('file_name')} ({size(f.get('size'))})"]
    if not f.get("is_media"):
        parts.append(f"[yellow]{f.get('error') or 'not media'}[/]")
    else:
        parts.append(str(f.get("container") or "?"))
        parts.append(duration(f.get("duration")))
        if f.get("video_codec"):
            parts.append(f"{f['video_codec']} {f.get('width')}x{f.get('height')}")
        if f.get("audio_codec"):
            parts.append(f"{f['audio_codec']} {f.get('audio_channels') or '?'}ch")
        if f.get("subtitle_languages"):
            parts.append("subs " + ",".join(f["subtitle_languages"]))
        if f.get("youtube_id"):
            parts.append(f"youtube {f['youtube_id']}")
    if f.get("import_mode"):
        parts.append(f"filed ({f['import_mode']}) at {f.get('path')}")
    if f.get("file_exists") is False:
        parts.append("[red]missing on disk[/]")
    return "  ".join(parts)


def media_table(items: list[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("ID", "KIND", "TITLE", "YEAR", "S/E", "PARENT", "IDS"):
        table.add_column(column, justify="right" if column in ("ID", "YEAR") else "left")
    for item in items:
        numbers = (
            f"S{item['season']:02d}E{item['episode']:02d}"
            if item.get("episode") is not None
            else ""
        )
        ids = " ".join(f"{k}:{v}" for k, v in (item.get("external_ids") or {}).items())
        table.add_row(
            str(item["id"]),
            item["kind"],
            item["title"],
            str(item.get("year") or ""),
            numbers,
            str(item.get("parent_id") or ""),
            ids,
        )
    return table
