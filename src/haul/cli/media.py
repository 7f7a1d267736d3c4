"""``haul media``: the library (movies, series, episodes, trailers) and their files."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from haul.cli.common import DEFAULT_SERVER, ServerOpt, TokenOpt, api_for, console
from haul.cli.render import media_file_line, media_table

media_app = typer.Typer(
    help="The media library: items, their files, attaching downloads.", no_args_is_help=True
)


@media_app.command("ls")
def list_media(
    kind: Annotated[str | None, typer.Option(help="movie, series, episode or trailer.")] = None,
    search: Annotated[str | None, typer.Option("--search", "-s", help="Part of the title.")] = None,
    parent: Annotated[int | None, typer.Option(help="Episodes and trailers of this item.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Media items, oldest first."""
    params: dict[str, Any] = {"limit": limit}
    for key, value in (("kind", kind), ("q", search), ("parent_id", parent)):
        if value is not None:
            params[key] = value
    with api_for(server, token) as api:
        page = api.request("GET", "/media", params=params)
    console.print(media_table(page["items"]))


@media_app.command("add")
def add_media(
    kind: Annotated[str, typer.Argument(help="movie, series, episode or trailer.")],
    title: Annotated[str, typer.Argument(help="The title.")],
    year: Annotated[int | None, typer.Option(help="Year of release.")] = None,
    parent: Annotated[
        int | None, typer.Option(help="The series of an episode; the film or series of a trailer.")
    ] = None,
    season: Annotated[int | None, typer.Option(help="Season number (episodes).")] = None,
    episode: Annotated[int | None, typer.Option(help="Episode number (episodes).")] = None,
    imdb: Annotated[str | None, typer.Option(help="IMDb id, like tt0133093.")] = None,
    tmdb: Annotated[int | None, typer.Option(help="TMDB id.")] = None,
    tvdb: Annotated[int | None, typer.Option(help="TVDB id.")] = None,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Add a media item; prints its id."""
    ids = {k: v for k, v in (("imdb", imdb), ("tmdb", tmdb), ("tvdb", tvdb)) if v is not None}
    body: dict[str, Any] = {"kind": kind, "title": title, "external_ids": ids}
    for key, value in (("year", year), ("parent_id", parent), ("season", season)):
        if value is not None:
            body[key] = value
    if episode is not None:
        body["episode"] = episode
    with api_for(server, token) as api:
        item = api.request("POST", "/media", json=body)
    console.print(f"media item {item['id']}: {item['kind']} {item['title']}")


@media_app.command("show")
def show_media(media_id: int, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """One item with its episodes or trailers, its downloads and its files."""
    with api_for(server, token) as api:
        item = api.request("GET", f"/media/{media_id}")
    table = Table(box=None, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for key in ("id", "kind", "title", "year", "season", "episode", "parent_id", "external_ids"):
        value = item.get(key)
        table.add_row(key, "-" if value in (None, {}) else str(value))
    for child in item["children"]:
        table.add_row(child["kind"], f"{child['id']}  {child['title']}")
    table.add_row("downloads", ", ".join(str(i) for i in item["download_ids"]) or "-")
    for f in item["files"]:
        table.add_row("file", media_file_line(f))
    console.print(table)


@media_app.command("rm")
def remove_media(
    media_id: int,
    delete_files: Annotated[
        bool, typer.Option("--delete-files", help="Delete its files from disk too.")
    ] = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Delete an item with its episodes, trailers and file records (files stay unless asked)."""
    with api_for(server, token) as api:
        done = api.request(
            "DELETE", f"/media/{media_id}", params={"delete_files": str(delete_files).lower()}
        )
    console.print(f"deleted media item {media_id}; {done['files_deleted']} files deleted")


@media_app.command("attach")
def attach(
    download_id: int,
    media_id: Annotated[int, typer.Argument(help="The media item; 0 detaches.")],
    force: Annotated[bool, typer.Option(help="Even if the item has its file.")] = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Let a download belong to a media item (a finished one is filed into the library)."""
    with api_for(server, token) as api:
        api.request(
            "POST",
            f"/downloads/{download_id}/media",
            json={"media_id": media_id or None, "force": force},
        )
    console.print(f"download {download_id} attached to media item {media_id}")


@media_app.command("rescan")
def rescan(server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Look for every recorded file on disk now."""
    with api_for(server, token) as api:
        found = api.request("POST", "/media/rescan")
    console.print(
        f"{found['checked']} files checked, {found['missing']} missing, {found['back']} back"
    )
