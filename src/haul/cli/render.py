"""How the CLI shows what a server says: its consoles, tables, details, human sizes.

Titles, URLs, file names, errors and every other string a server returns are data, written
as they are: the consoles here read no markup (``[b]``, ``[/]``, ``[link=...]``) and no emoji
codes, and :func:`plain` writes control characters (an escape sequence, a carriage return)
as their escapes, so nothing a page author or a server chooses reaches the terminal raw.
Colour comes only from styles given next to the text, never from inside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.style import Style
from rich.table import Table
from rich.text import Text

from haul.core.bandwidth import rate_text
from haul.core.units import size_text

#: Characters never written as they are: C0 controls but line feed and tab, DEL, C1 controls,
#: and the bidirectional overrides that make text read other than it is stored.
_UNSHOWN = [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]
_UNSHOWN += [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_ESCAPES = {code: repr(chr(code))[1:-1] for code in _UNSHOWN}


def plain(value: object) -> str:
    """``value`` as text a terminal shows as written: ``\\x1b`` for an escape character."""
    return str(value).translate(_ESCAPES)


def text(value: object, style: str | Style = "") -> Text:
    """An untrusted value as a piece of text, in ``style`` (never read as markup)."""
    return Text(plain(value), style=style)


class TextConsole(Console):
    """A console that prints strings as written: no markup, no emoji codes, no raw controls.

    Every string it prints, in a table cell too, goes through :func:`plain`; a
    :class:`~rich.text.Text` is made with :func:`text`.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(markup=False, emoji=False, **options)

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(plain(text), **options)


console = TextConsole()
err = TextConsole(stderr=True)


def say_error(message: object) -> None:
    """One error line on stderr, in red, however wide the terminal (a pipe folds at 80)."""
    err.print(text(message, "red"), soft_wrap=True)


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


def live_text(item: dict[str, Any]) -> str | None:
    """How a live recording's progress reads: ``REC 1:23`` while it records (a stop asked
    for: ``stopping``), ``live 1:23`` once finished; None for any other download."""
    if not item.get("live"):
        return None
    length = duration(item.get("recorded_seconds"))
    if item.get("status") in ("downloading", "resolving", "queued"):
        return "stopping" if item.get("stop_requested") else f"REC {length}"
    return f"live {length}"


def status_text(item: dict[str, Any]) -> Text:
    status = str(item.get("status"))
    return text(status, STATUS_STYLES.get(status, "white"))


def downloads_table(items: list[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold")
    # Whose they are, once an instance has accounts or visitors (an admin sees them all).
    owners = any(item.get("owner", "local") != "local" for item in items)
    columns = ["ID", "STATUS", "PROGRESS", "SIZE", "SPEED", "ETA", *(["OWNER"] * owners)]
    for column in [*columns, "TITLE / URL"]:
        table.add_column(
            column,
            justify="right" if column in ("ID", "PROGRESS", "SIZE", "SPEED", "ETA") else "left",
        )
    for item in items:
        progress = item.get("progress")
        owner = [item.get("owner_name") or item.get("owner") or ""] if owners else []
        table.add_row(
            str(item["id"]),
            status_text(item),
            live_text(item) or (f"{progress * 100:.0f}%" if progress is not None else "-"),
            size(
                item.get("total_bytes")
                or (item.get("downloaded_bytes") if item.get("live") else None)
            ),
            size(item.get("speed")) + "/s" if item.get("speed") else "-",
            duration(item.get("eta")),
            *owner,
            text(plain(item.get("title") or item["url"])[:80]) + _note(item),
        )
    return table


def _note(item: dict[str, Any]) -> Text:
    """What a row says after the title: the error, else the message (a playlist's summary)."""
    if item.get("error"):
        return text(f"  {item['error']}", "red")
    if item.get("message"):
        return text(f"  {item['message']}", "dim")
    return Text()


#: Fields ``haul show`` leaves out when the download has none.
_SHOWN_WHEN_SET = (
    "parent_id",
    "format",
    "audio_format",
    "audio_quality",
    "max_duration",
    "live_ended_by",
    "speed_limit",
)


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
        "recorded_seconds",
        "max_duration",
        "live_ended_by",
        "client",
        "client_ref",
        "format",
        "audio_format",
        "audio_quality",
        "speed_limit",
        "error",
        "message",
        "owner",
        "parent_id",
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
        elif key == "progress" and item.get("live"):
            value = live_text(item)
        elif key == "recorded_seconds":
            if not item.get("live"):
                continue
            value = duration(value)
        elif key == "owner":
            value = item.get("owner_name") or value
        elif key == "max_duration" and value is not None:
            value = duration(value)
        elif key == "speed_limit" and value is not None:
            value = rate_text(value)
        elif key in _SHOWN_WHEN_SET and value is None:
            continue
        table.add_row(
            key, value if isinstance(value, Text) else "-" if value is None else str(value)
        )
    for f in item.get("files") or []:
        table.add_row("file", f"{f.get('path')} ({size(f.get('size'))})")
    for e in events:
        table.add_row(
            "event", f"{e['at']}  {e['kind']}" + (f": {e['message']}" if e.get("message") else "")
        )
    return table


def media_file_line(f: dict[str, Any]) -> Text:
    """One probed file in a line: name, size, then what the probe found (or why not media)."""
    parts: list[str | Text] = [f"{f.get('file_name')} ({size(f.get('size'))})"]
    if not f.get("is_media"):
        parts.append(text(f.get("error") or "not media", "yellow"))
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
        parts.append(text("missing on disk", "red"))
    return Text("  ").join(part if isinstance(part, Text) else text(part) for part in parts)


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


def children_table(children: list[dict[str, Any]]) -> Table:
    """The entries of a playlist, in playlist order: id, status, size, title."""
    table = Table(box=None, header_style="bold", title="playlist entries", title_justify="left")
    for column in ("ID", "STATUS", "SIZE", "TITLE / URL"):
        table.add_column(column, justify="right" if column in ("ID", "SIZE") else "left")
    for child in children:
        table.add_row(
            str(child["id"]),
            status_text(child),
            size(child.get("total_bytes")),
            child.get("title") or child["url"],
        )
    return table


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}k"


def _formats_frame(page: dict[str, Any], **options: Any) -> Table:
    """An empty table of a page's formats, the page's title above (:func:`formats_footer`
    goes below)."""
    title = text(page.get("title") or page["url"], "bold")
    return Table(box=None, header_style="bold", title=title, title_justify="left", **options)


def formats_footer(page: dict[str, Any]) -> Text:
    """What goes below a page's formats: its length (when known) and its URL."""
    seconds = page.get("duration")
    length = [duration(seconds)] if seconds is not None else []
    return text("  ".join([*length, plain(page["url"])]))


def formats_table(page: dict[str, Any]) -> Table:
    """The formats of a page (``GET /formats``), worst first as yt-dlp sorts them, every
    field yt-dlp gives in a column of its own (what a pipe gets); the page's title and
    length above them."""
    table = _formats_frame(page)
    columns = ("ID", "EXT", "KIND", "RESOLUTION", "FPS", "VCODEC", "ACODEC", "SIZE", "TBR")
    for column in (*columns, "ABR", "VBR", "PROTOCOL", "NOTE"):
        right = column in ("FPS", "SIZE", "TBR", "ABR", "VBR")
        table.add_column(column, justify="right" if right else "left")
    for f in page.get("formats") or []:
        exact = f.get("filesize")
        shown_size = size(exact) if exact is not None else _approx(f.get("filesize_approx"))
        resolution = f.get("resolution") or (
            f"{f['width']}x{f['height']}" if f.get("width") and f.get("height") else "-"
        )
        table.add_row(
            text(f["id"], "bold"),
            text(f.get("ext") or "-"),
            text(f.get("kind") or "-"),
            text(resolution),
            "-" if f.get("fps") is None else f"{f['fps']:g}",
            text(f.get("vcodec") or "-"),  # "none": yt-dlp says there is none; "-": unknown
            text(f.get("acodec") or "-"),
            shown_size,
            _rate(f.get("tbr")),
            _rate(f.get("abr")),
            _rate(f.get("vbr")),
            text(f.get("protocol") or "-"),
            text(f.get("format_note") or ""),
        )
    return table


def _approx(value: float | None) -> str:
    return "-" if value is None else f"~{size_text(value)}"


def formats_narrow(page: dict[str, Any]) -> Table:
    """:func:`formats_table` for a terminal too narrow for it: id, extension, resolution,
    codecs, size and bitrate, shortened (``avc1+mp4a``, ``4.8MB``, ``1200k``), then yt-dlp's
    note, which wraps; the id is never cut."""
    table = _formats_frame(page, pad_edge=False, collapse_padding=True)
    table.add_column("ID", no_wrap=True, style="bold")
    table.add_column("EXT", no_wrap=True)
    table.add_column("RES", no_wrap=True)
    table.add_column("CODECS", no_wrap=True)
    table.add_column("SIZE", justify="right", no_wrap=True)
    table.add_column("RATE", justify="right", no_wrap=True)
    table.add_column("NOTE", ratio=1)
    for f in page.get("formats") or []:
        exact, approx = f.get("filesize"), f.get("filesize_approx")
        shown_size = "-"
        if exact is not None:
            shown_size = _short_size(exact)
        elif approx is not None:
            shown_size = "~" + _short_size(approx)
        table.add_row(
            text(f["id"]),
            text(f.get("ext") or "-"),
            text(_short_resolution(f)),
            text(_short_codecs(f.get("vcodec"), f.get("acodec"))),
            shown_size,
            _rate(f.get("tbr")),
            text(f.get("format_note") or ""),
        )
    return table


def _short_size(n: float) -> str:
    """``4.8MB`` (:func:`size_text` without its space)."""
    return size_text(n).replace(" ", "")


def _short_resolution(f: dict[str, Any]) -> str:
    if f.get("width") and f.get("height"):
        return f"{f['width']}x{f['height']}"
    if f.get("kind") == "audio" or f.get("resolution") == "audio only":
        return "audio"
    return str(f.get("resolution") or "-")


def _short_codecs(vcodec: str | None, acodec: str | None) -> str:
    """``avc1+mp4a`` from ``avc1.64001F`` and ``mp4a.40.2``: each codec's family, the one
    yt-dlp says is absent (``none``) left out, ``?`` for one it does not know."""
    parts = [
        "?" if codec is None else codec.split(".", 1)[0]
        for codec in (vcodec, acodec)
        if codec != "none"
    ]
    if parts == ["?", "?"]:
        return "-"
    return "+".join(parts) or "-"


def whole_width(table: Table) -> int:
    """How wide ``table`` is with every cell on one line."""
    return Measurement.get(console, console.options.update_width(10_000), table).maximum


def print_fitted(
    wide: Table, narrow: Callable[[], RenderableType], footer: Text | None = None
) -> None:
    """Print ``wide`` where it fits whole: a pipe gets it at its full width (one line a row,
    for scripts), a terminal as wide as it gets it as it is; a narrower terminal gets
    ``narrow()`` instead, which should wrap between words and never cut a name. A
    ``footer`` below it is one line in a pipe and wraps between words at a terminal's width
    (not the table's)."""
    whole = whole_width(wide)
    if not console.is_terminal:
        TextConsole(width=max(whole, console.width)).print(wide)
        if footer is not None:
            console.print(footer, soft_wrap=True)
        return
    console.print(wide if whole <= console.width else narrow())
    if footer is not None:
        console.print(footer)


def stacked(rows: Iterable[tuple[str, Sequence[str | Text]]], heading: str = "") -> Table:
    """A two-column list for a narrow terminal: each row's name (never cut nor wrapped) and
    beside it its lines, each wrapped between words to the room left."""
    table = Table(box=None, show_header=bool(heading), header_style="bold", padding=(0, 1, 1, 0))
    table.add_column(heading, no_wrap=True, style="bold")
    table.add_column("")
    for name, lines in rows:
        cell = Text("\n").join(line if isinstance(line, Text) else text(line) for line in lines)
        table.add_row(text(name), cell)
    return table
