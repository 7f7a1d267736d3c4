"""``haul iptv``: configure IPTV providers, browse and search their VOD and series."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from haul.cli.common import DEFAULT_SERVER, ServerOpt, TokenOpt, api_for, console
from haul.cli.render import say_error, text

iptv_app = typer.Typer(
    help="IPTV providers (Xtream Codes): add, test, browse VOD and series.", no_args_is_help=True
)

ProviderArg = Annotated[str, typer.Argument(help="The provider's name or id.")]
PasswordOpt = Annotated[
    str | None,
    typer.Option(
        "--password",
        envvar="HAUL_IPTV_PASSWORD",
        help="The account's password (or set HAUL_IPTV_PASSWORD; --ask-password to type it).",
    ),
]
AskOpt = Annotated[bool, typer.Option("--ask-password", help="Ask for the password, hidden.")]
SearchOpt = Annotated[
    str | None, typer.Option("--search", "-q", help="Words to find in names (any case, accents).")
]
CategoryOpt = Annotated[str | None, typer.Option("--category", "-c", help="A category id.")]
LimitOpt = Annotated[int, typer.Option("--limit", "-n", min=1, max=500)]
OffsetOpt = Annotated[int, typer.Option("--offset", min=0)]
RefreshOpt = Annotated[bool, typer.Option("--refresh", help="Fetch the catalogue again.")]


def _settings(password: str | None, ask: bool, **given: Any) -> dict[str, Any]:
    body = {key: value for key, value in given.items() if value is not None}
    if ask:
        password = typer.prompt("Password", hide_input=True)
    if password is not None:
        body["password"] = password
    return body


def _health(answer: dict[str, Any], name: str) -> None:
    if not answer["ok"]:
        say_error(f"{name}: {answer['error']} [{answer['code']}]")
        raise typer.Exit(1)
    details = [answer["status"] or "ok"]
    if answer["expires_at"]:
        details.append(f"expires {answer['expires_at'][:10]}")
    if answer["max_connections"] is not None:
        details.append(f"{answer['active_connections'] or 0}/{answer['max_connections']} streams")
    if answer["is_trial"]:
        details.append("trial")
    console.print(text(f"{name}: ok", "green") + text(f" ({', '.join(details)})"))


@iptv_app.command("ls")
def list_providers(server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """The configured providers."""
    with api_for(server, token) as api:
        items = api.request("GET", "/iptv/providers")["items"]
    table = Table("id", "name", "url", "username", "enabled")
    for p in items:
        table.add_row(
            str(p["id"]), p["name"], p["url"], p["username"], "yes" if p["enabled"] else "no"
        )
    console.print(table)


@iptv_app.command("add")
def add_provider(
    name: Annotated[str, typer.Argument(help="A name of your choosing, e.g. my-iptv.")],
    url: Annotated[
        str, typer.Argument(help="The panel's address, e.g. http://provider.example:8080.")
    ],
    username: Annotated[
        str | None, typer.Option(help="The account's username (or inside a pasted M3U link).")
    ] = None,
    password: PasswordOpt = None,
    ask_password: AskOpt = False,
    timeout: Annotated[float | None, typer.Option(help="Seconds to wait for answers.")] = None,
    test: Annotated[bool, typer.Option(help="Log in before saving.")] = True,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Add a provider (logged in to first unless --no-test)."""
    body = _settings(password, ask_password, name=name, url=url, username=username, timeout=timeout)
    with api_for(server, token) as api:
        if test:
            _health(api.request("POST", "/iptv/providers/test", json=body), name)
        added = api.request("POST", "/iptv/providers", json=body)
    console.print(f"added {added['name']} (id {added['id']})")


@iptv_app.command("edit")
def edit_provider(
    provider: ProviderArg,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    url: Annotated[str | None, typer.Option()] = None,
    username: Annotated[str | None, typer.Option()] = None,
    password: PasswordOpt = None,
    ask_password: AskOpt = False,
    enabled: Annotated[bool | None, typer.Option("--enabled/--disabled")] = None,
    timeout: Annotated[float | None, typer.Option()] = None,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Change some settings of a provider."""
    body = _settings(
        password,
        ask_password,
        name=name,
        url=url,
        username=username,
        enabled=enabled,
        timeout=timeout,
    )
    with api_for(server, token) as api:
        changed = api.request("PATCH", f"/iptv/providers/{provider}", json=body)
    console.print(f"changed {changed['name']}")


@iptv_app.command("rm")
def remove_provider(
    provider: ProviderArg, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None
) -> None:
    """Remove a provider that has no unfinished download."""
    with api_for(server, token) as api:
        api.request("DELETE", f"/iptv/providers/{provider}")
    console.print(f"removed {provider}")


@iptv_app.command("test")
def test_provider(
    provider: ProviderArg, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None
) -> None:
    """Log in to a provider now and say what is wrong, if anything."""
    with api_for(server, token) as api:
        _health(api.request("POST", f"/iptv/providers/{provider}/test"), provider)


@iptv_app.command("categories")
def categories(
    provider: ProviderArg,
    series: Annotated[bool, typer.Option("--series", help="Series categories, not VOD.")] = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """The provider's VOD (or series) categories."""
    params = {"type": "series" if series else "vod"}
    with api_for(server, token) as api:
        items = api.request("GET", f"/iptv/providers/{provider}/categories", params=params)
    table = Table("id", "name")
    for c in items["items"]:
        table.add_row(c["id"], c["name"])
    console.print(table)


def _browse(
    what: str, provider: str, params: dict[str, Any], server: str, token: str | None
) -> dict[str, Any]:
    query = {k: v for k, v in params.items() if v not in (None, False)}
    with api_for(server, token) as api:
        page: dict[str, Any] = api.request(
            "GET", f"/iptv/providers/{provider}/{what}", params=query
        )
    return page


def _footer(page: dict[str, Any], what: str) -> None:
    shown = len(page["items"])
    if shown < page["total"]:
        first = page["offset"] + 1
        console.print(
            f"{first}-{page['offset'] + shown} of {page['total']} {what} (--offset for more)"
        )
    else:
        console.print(f"{page['total']} {what}")


@iptv_app.command("vod")
def vod(
    provider: ProviderArg,
    search: SearchOpt = None,
    category: CategoryOpt = None,
    limit: LimitOpt = 50,
    offset: OffsetOpt = 0,
    refresh: RefreshOpt = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """The provider's films, searched by name."""
    params = {"q": search, "category": category, "limit": limit, "offset": offset}
    page = _browse("vod", provider, {**params, "refresh": refresh}, server, token)
    table = Table("id", "title", "year", "type", "rating", "category")
    for v in page["items"]:
        table.add_row(
            str(v["stream_id"]),
            v["title"],
            str(v["year"] or ""),
            v["container_extension"],
            f"{v['rating']:g}" if v["rating"] is not None else "",
            v["category_id"] or "",
        )
    console.print(table)
    _footer(page, "films")


@iptv_app.command("series")
def series(
    provider: ProviderArg,
    search: SearchOpt = None,
    category: CategoryOpt = None,
    limit: LimitOpt = 50,
    offset: OffsetOpt = 0,
    refresh: RefreshOpt = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """The provider's series, searched by name (`haul iptv episodes` lists one's episodes)."""
    params = {"q": search, "category": category, "limit": limit, "offset": offset}
    page = _browse("series", provider, {**params, "refresh": refresh}, server, token)
    table = Table("id", "title", "year", "rating", "category")
    for s in page["items"]:
        table.add_row(
            str(s["series_id"]),
            s["title"],
            str(s["year"] or ""),
            f"{s['rating']:g}" if s["rating"] is not None else "",
            s["category_id"] or "",
        )
    console.print(table)
    _footer(page, "series")


@iptv_app.command("episodes")
def episodes(
    provider: ProviderArg,
    series_id: Annotated[int, typer.Argument(help="The series id shown by `haul iptv series`.")],
    season: Annotated[int | None, typer.Option("--season", "-s", help="Only this season.")] = None,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """A series' seasons and episodes."""
    with api_for(server, token) as api:
        info = api.request("GET", f"/iptv/providers/{provider}/series/{series_id}")
    shown = info["series"]
    year = f" ({shown['year']})" if shown["year"] else ""
    table = Table("id", "episode", "title", "type", "duration", title=f"{shown['title']}{year}")
    count = 0
    for entry in info["seasons"]:
        if season is not None and entry["number"] != season:
            continue
        for e in entry["episodes"]:
            count += 1
            table.add_row(
                str(e["id"]),
                e["code"],
                e["title"],
                e["container_extension"],
                _duration(e["duration"]),
            )
    if season is not None and not count:
        say_error(f"{shown['title']} has no season {season}.")
        raise typer.Exit(1)
    console.print(table)
    seasons = len(info["seasons"]) if season is None else 1
    console.print(f"{count} episodes in {seasons} season{'s' if seasons != 1 else ''}")


def _duration(seconds: int | None) -> str:
    if not seconds:
        return ""
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
