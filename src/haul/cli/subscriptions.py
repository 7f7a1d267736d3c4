"""``haul subscriptions``: channels, playlists, feeds and IPTV series that download what is new."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from haul.cli.api import Api
from haul.cli.common import DEFAULT_SERVER, ServerOpt, TokenOpt, api_for, console
from haul.cli.render import print_fitted, say_error, stacked, text

subscriptions_app = typer.Typer(
    help="Subscriptions: download what is new in a channel, playlist, feed or IPTV series "
    "(add, ls, show, edit, check, pause, resume, rm).",
    no_args_is_help=True,
)


def _when(value: str | None) -> str:
    return value[:16].replace("T", " ") if value else "-"


def _seen(entries: int, downloads: int) -> str:
    return (
        f"{entries} entr{'y' if entries == 1 else 'ies'}, "
        f"{downloads} download{'' if downloads == 1 else 's'}"
    )


def _state(s: dict[str, Any]) -> str:
    if s["paused"]:
        return "paused"
    if s["checking"]:
        return "checking"
    if s["last_error"]:
        return f"failing ({s['failures']})"
    if not s["last_checked_at"]:
        return "not checked yet"
    return "ok"


ProfileOpt = Annotated[str | None, typer.Option(help="The profile its downloads use.")]
EveryOpt = Annotated[
    int | None, typer.Option("--every", help="Minutes between checks (default 60).")
]
SinceOpt = Annotated[
    str | None, typer.Option(help="Skip what was published before this date (2024-01-31).")
]
FilterOpt = Annotated[
    str | None, typer.Option("--filter", help="Only titles matching this regular expression.")
]
MaxPerCheckOpt = Annotated[int | None, typer.Option(help="At most this many downloads per check.")]
KeepLastOpt = Annotated[int | None, typer.Option(help="Keep only the newest N downloaded files.")]
MediaOpt = Annotated[int | None, typer.Option(help="The library item they are for.")]
#: What ``edit --clear`` takes, and the setting each names.
CLEARABLE = {
    "profile": "profile",
    "since": "since",
    "filter": "title_filter",
    "max-per-check": "max_per_check",
    "keep-last": "keep_last",
    "media-id": "media_id",
}


def _named(
    profile: str | None,
    every: int | None,
    since: str | None,
    title_filter: str | None,
    max_per_check: int | None,
    keep_last: int | None,
    media_id: int | None,
) -> dict[str, Any]:
    """The settings named on the command line, as the API calls them."""
    given = {
        "profile": profile,
        "interval_minutes": every,
        "since": since,
        "title_filter": title_filter,
        "max_per_check": max_per_check,
        "keep_last": keep_last,
        "media_id": media_id,
    }
    return {k: v for k, v in given.items() if v is not None}


@subscriptions_app.command("ls")
def list_subscriptions(server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Your subscriptions (everyone's for an administrator)."""
    with api_for(server, token) as api:
        items = api.request("GET", "/subscriptions")["items"]
    if not items:
        console.print("No subscriptions; add one with `haul subscriptions add URL`.")
        return

    owners = len({s["owner"] for s in items}) > 1  # an administrator's view of several

    def wide() -> Table:
        table = Table("id")
        if owners:
            table.add_column("owner", overflow="fold")
        table.add_column("kind")
        table.add_column("title / url", overflow="fold")
        table.add_column("every", justify="right")
        table.add_column("next check")
        table.add_column("downloads", justify="right")
        table.add_column("state", overflow="fold")
        for s in items:
            table.add_row(
                str(s["id"]),
                *([text(s.get("owner_name") or s["owner"])] if owners else []),
                s["kind"],
                text(s["title"] or s["url"]),
                f"{s['interval_minutes']} min",
                _when(s["next_check_at"]),
                str(s["downloads"]),
                text(_state(s), "red" if s["last_error"] else ""),
            )
        return table

    def narrow() -> Table:
        table = Table("id")
        table.add_column("subscription", overflow="fold")
        for s in items:
            table.add_row(
                str(s["id"]),
                text(
                    f"{s['title'] or s['url']} ({s['kind']}, {_state(s)}"
                    + (f", {s.get('owner_name') or s['owner']})" if owners else ")")
                ),
            )
        return table

    print_fitted(wide(), narrow)


@subscriptions_app.command("add")
def add_subscription(
    url: Annotated[str, typer.Argument(help="A channel or playlist page, a feed, or iptv://...")],
    profile: ProfileOpt = None,
    every: EveryOpt = None,
    backfill: Annotated[
        str,
        typer.Option(help='What exists already: "none" (default), "all" or a number of newest.'),
    ] = "none",
    since: SinceOpt = None,
    title_filter: FilterOpt = None,
    max_per_check: MaxPerCheckOpt = None,
    keep_last: KeepLastOpt = None,
    media_id: MediaOpt = None,
    paused: Annotated[bool, typer.Option(help="Add it without checking it.")] = False,
    check: Annotated[bool, typer.Option(help="Check it right away.")] = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Subscribe to URL: what appears there from now on is downloaded."""
    body: dict[str, Any] = {"url": url, "backfill": backfill, "paused": paused}
    body.update(_named(profile, every, since, title_filter, max_per_check, keep_last, media_id))
    with api_for(server, token) as api:
        made = api.request("POST", "/subscriptions", json=body)
        kind = made["kind"]
        if kind == "playlist" and made.get("last_checked_at") is None:
            kind = "a page or a feed: its first check tells"  # a guess from the link alone
        console.print(text(f"added {made['id']}: {made['url']} ({kind})"))
        if check:
            _check(api, made["id"])


@subscriptions_app.command("edit")
def edit_subscription(
    subscription: Annotated[int, typer.Argument(help="Its id (see `haul subscriptions ls`).")],
    profile: ProfileOpt = None,
    every: EveryOpt = None,
    since: SinceOpt = None,
    title_filter: FilterOpt = None,
    max_per_check: MaxPerCheckOpt = None,
    keep_last: KeepLastOpt = None,
    media_id: MediaOpt = None,
    clear: Annotated[
        list[str] | None,
        typer.Option(
            help="Take a setting away (again for each): " + ", ".join(CLEARABLE) + ".",
            show_default=False,
        ),
    ] = None,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Change a subscription's settings; what is not named stays as it is."""
    body = _named(profile, every, since, title_filter, max_per_check, keep_last, media_id)
    for name in clear or ():
        field = CLEARABLE.get(name.strip().lower().lstrip("-"))
        if field is None:
            raise typer.BadParameter(
                f"--clear takes {', '.join(CLEARABLE)}, not {name[:40]!r}.", param_hint="--clear"
            )
        if field in body:
            raise typer.BadParameter(f"--{name} is both set and cleared.", param_hint="--clear")
        body[field] = None
    if not body:
        raise typer.BadParameter("Name at least one setting to change (see --help).")
    with api_for(server, token) as api:
        changed = api.request("PATCH", f"/subscriptions/{subscription}", json=body)
    console.print(text(f"changed {changed['id']}: {changed['title'] or changed['url']}"))


@subscriptions_app.command("show")
def show_subscription(
    subscription: Annotated[int, typer.Argument(help="Its id (see `haul subscriptions ls`).")],
    entries: Annotated[
        int, typer.Option(min=1, max=500, help="How many of the entries seen to list (1-500).")
    ] = 20,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """A subscription, and what it saw lately with the download each became."""
    with api_for(server, token) as api:
        s = api.request("GET", f"/subscriptions/{subscription}")
        seen = api.request(
            "GET", f"/subscriptions/{subscription}/entries", params={"limit": entries}
        )["items"]
    rows: list[tuple[str, Any]] = [
        ("url", [text(s["url"])]),
        ("kind", [s["kind"]]),
        ("title", [text(s["title"] or "-")]),
        ("state", [text(_state(s), "red" if s["last_error"] else "")]),
        ("every", [f"{s['interval_minutes']} min"]),
        ("backfill", [s["backfill"]]),
        ("profile", [text(s["profile"] or "default")]),
        ("last check", [_when(s["last_checked_at"])]),
        ("next check", [_when(s["next_check_at"])]),
        ("seen", [_seen(s["entries"], s["downloads"])]),
    ]
    for name in ("since", "title_filter", "max_per_check", "keep_last", "media_id"):
        if s[name] is not None:
            rows.append((name.replace("_", " "), [text(str(s[name]))]))
    if s["last_error"]:
        rows.append(("error", [text(s["last_error"], "red")]))
    console.print(stacked(rows, heading=f"subscription {s['id']}"))
    if seen:
        table = Table("entry")
        table.add_column("title", overflow="fold")
        table.add_column("became", overflow="fold")
        for e in seen:
            became = (
                f"download {e['download_id']} ({e['download_status']})"
                if e["download_id"] is not None
                else f"skipped: {e['skipped']}"
                if e["skipped"]
                else "-"
            )
            table.add_row(str(e["id"]), text(e["title"] or e["url"] or e["key"]), text(became))
        console.print(table)


@subscriptions_app.command("check")
def check_subscription(
    subscriptions: Annotated[list[int], typer.Argument(help="Ids (see `haul subscriptions ls`).")],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Check now, and say what each check found."""
    with api_for(server, token) as api:
        for subscription in subscriptions:
            _check(api, subscription)


def _check(api: Api, subscription: int) -> None:
    done = api.request("POST", f"/subscriptions/{subscription}/check")
    if done["error"]:
        say_error(f"{subscription}: {done['error']}")
        raise typer.Exit(1)
    if not done["checked"]:
        console.print(f"{subscription}: being checked by a worker")
        return
    made = done["downloads"]
    line = f"{subscription}: {len(made)} new download{'s' if len(made) != 1 else ''}"
    if made:
        line += " (" + ", ".join(str(i) for i in made) + ")"
    if done["remembered"]:
        line += f", {done['remembered']} remembered without downloading"
    if done["deferred"]:
        line += f", {done['deferred']} left for the next check"
    console.print(line)


def _set_paused(subscriptions: list[int], paused: bool, server: str, token: str | None) -> None:
    with api_for(server, token) as api:
        for subscription in subscriptions:
            api.request("PATCH", f"/subscriptions/{subscription}", json={"paused": paused})
            console.print(f"{'paused' if paused else 'resumed'} {subscription}")


@subscriptions_app.command("pause")
def pause_subscription(
    subscriptions: Annotated[list[int], typer.Argument(help="Ids (see `haul subscriptions ls`).")],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Stop checking (what it saw is kept)."""
    _set_paused(subscriptions, True, server, token)


@subscriptions_app.command("resume")
def resume_subscription(
    subscriptions: Annotated[list[int], typer.Argument(help="Ids (see `haul subscriptions ls`).")],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Check again."""
    _set_paused(subscriptions, False, server, token)


@subscriptions_app.command("rm")
def remove_subscription(
    subscriptions: Annotated[list[int], typer.Argument(help="Ids (see `haul subscriptions ls`).")],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Remove subscriptions (their downloads stay)."""
    with api_for(server, token) as api:
        for subscription in subscriptions:
            api.request("DELETE", f"/subscriptions/{subscription}")
            console.print(f"removed {subscription}")
