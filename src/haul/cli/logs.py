"""``haul logs``: the operator's logs of failed downloads and unsupported links
(administrators)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import typer
from rich.table import Table

from haul.cli.common import DEFAULT_SERVER, ServerOpt, TokenOpt, api_for, console
from haul.cli.render import say_error, text

logs_app = typer.Typer(
    help="Logs of failed downloads and unsupported links (errors, unsupported, summary, clear).",
    no_args_is_help=True,
)

DomainOpt = Annotated[
    str | None, typer.Option("--domain", help="Only this domain (magnet, iptv:N too).")
]
SearchOpt = Annotated[
    str | None, typer.Option("--search", "-q", help="Words that must all appear, in any case.")
]
LimitOpt = Annotated[int, typer.Option("--limit", "-n", min=1, max=500, help="Entries shown.")]
CursorOpt = Annotated[
    str | None, typer.Option("--cursor", help="Continue where the last listing stopped.")
]


def _when(value: str) -> str:
    return datetime.fromisoformat(value).astimezone().strftime("%Y-%m-%d %H:%M")


def _params(**given: Any) -> dict[str, Any]:
    return {key: value for key, value in given.items() if value not in (None, "")}


def _more(answer: dict[str, Any], command: str) -> None:
    if answer["next_cursor"]:
        console.print(text(f"more: haul logs {command} --cursor {answer['next_cursor']}", "dim"))


@logs_app.command("errors")
def errors(
    domain: DomainOpt = None,
    code: Annotated[
        str | None, typer.Option("--code", help="Only this error code, e.g. http_404.")
    ] = None,
    search: SearchOpt = None,
    limit: LimitOpt = 20,
    cursor: CursorOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Downloads that failed for good, newest first."""
    params = _params(domain=domain, code=code, q=search, limit=limit, cursor=cursor)
    with api_for(server, token) as api:
        answer = api.request("GET", "/logs/errors", params=params)
    if not answer["items"]:
        console.print(
            "No failed download is logged" + (" that matches." if len(params) > 1 else ".")
        )
        return
    table = Table("when", "download", "domain", "code", box=None, header_style="bold")
    table.add_column("message", overflow="fold")
    for e in answer["items"]:
        download = str(e["download_id"]) if e["download_exists"] else "-"
        table.add_row(
            _when(e["created_at"]),
            download,
            text(e["domain"] or "-"),
            text(e["code"], "red"),
            text(e["message"]),
        )
    console.print(table)
    _more(answer, "errors")


@logs_app.command("unsupported")
def unsupported(
    domain: DomainOpt = None,
    search: SearchOpt = None,
    limit: LimitOpt = 20,
    cursor: CursorOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Links nothing could download, newest first."""
    params = _params(domain=domain, q=search, limit=limit, cursor=cursor)
    with api_for(server, token) as api:
        answer = api.request("GET", "/logs/unsupported", params=params)
    if not answer["items"]:
        console.print(
            "No unsupported link is logged" + (" that matches." if len(params) > 1 else ".")
        )
        return
    table = Table("when", "domain", box=None, header_style="bold")
    table.add_column("url", overflow="fold")
    table.add_column("why", overflow="fold")
    for e in answer["items"]:
        table.add_row(_when(e["created_at"]), text(e["domain"]), text(e["url"]), text(e["error"]))
    console.print(table)
    _more(answer, "unsupported")


@logs_app.command("summary")
def summary(
    top: Annotated[int, typer.Option("--top", min=1, max=100, help="Domains and codes.")] = 10,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Both logs counted by domain and by error code."""
    with api_for(server, token) as api:
        answer = api.request("GET", "/logs/summary", params={"top": top})
    for key, title in (("errors", "failed downloads"), ("unsupported", "unsupported links")):
        counts = answer[key]
        console.print(text(f"{title}: {counts['total']}", "bold"))
        if not counts["total"]:
            continue
        rows = [(row["count"], row["domain"] or "(no domain)") for row in counts["by_domain"]]
        if counts["other_domains"]:
            others = counts["domains"] - len(counts["by_domain"])
            rows.append((counts["other_domains"], f"in {_plural(others, 'other domain')}"))
        _tally("by domain", rows)
        if key == "errors":
            codes = [(row["count"], row["code"]) for row in counts["by_code"]]
            rest = counts["total"] - sum(count for count, _ in codes)
            if rest:
                others = counts["codes"] - len(codes)
                codes.append((rest, f"with {_plural(others, 'other code')}"))
            _tally("by error code", codes)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _tally(heading: str, rows: list[tuple[int, str]]) -> None:
    console.print(f"  {heading}")
    width = max(len(str(count)) for count, _ in rows)
    for count, value in rows:
        console.print(text(f"    {count:>{width}}  {value}"))


@logs_app.command("clear")
def clear(
    log: Annotated[
        Literal["errors", "unsupported", "all"],
        typer.Argument(help="Which log: errors, unsupported or all."),
    ],
    older_than_days: Annotated[
        int | None,
        typer.Option("--older-than-days", min=0, max=36500, help="Keep newer entries."),
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all-entries", help="Remove every entry, however recent.")
    ] = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Remove log entries older than some days (--older-than-days N) or all (--all-entries)."""
    if (older_than_days is None) == (not everything):
        say_error("Give either --older-than-days N or --all-entries.")
        raise typer.Exit(2)
    params = _params(older_than_days=older_than_days)
    logs = ["errors", "unsupported"] if log == "all" else [log]
    with api_for(server, token) as api:
        for name in logs:
            answer = api.request("DELETE", f"/logs/{name}", params=params)
            what = "failed downloads" if name == "errors" else "unsupported links"
            age = f" older than {older_than_days} days" if older_than_days is not None else ""
            console.print(f"removed {answer['removed']} {what}{age}")
