"""``haul media``: the library (movies, series, episodes, trailers) and their files."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.table import Table

from haul.cli.api import Api
from haul.cli.common import DEFAULT_SERVER, ServerOpt, TokenOpt, api_for, console, err
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
    force: Annotated[
        bool,
        typer.Option(
            help="Even if the item has its file; when the download is attached to it already, "
            "probe and file it again."
        ),
    ] = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Let a download belong to a media item (a finished one is filed into the library)."""
    with api_for(server, token) as api:
        before = api.request("GET", f"/downloads/{download_id}")
        if before.get("media_id") == (media_id or None) and not force:
            console.print(
                f"download {download_id} already belongs to media item {media_id or 'none'} "
                "(--force probes and files it again)"
            )
            return
        api.request(
            "POST",
            f"/downloads/{download_id}/media",
            json={"media_id": media_id or None, "force": force},
        )
        if not media_id:
            console.print(f"download {download_id} detached from its media item")
            return
        console.print(f"download {download_id} attached to media item {media_id}")
        if before.get("status") == "completed" and not _processed(api, [download_id]):
            raise typer.Exit(1)


@media_app.command("reprocess")
def reprocess(
    media_id: Annotated[
        int | None, typer.Argument(help="A media item: every finished download of it.")
    ] = None,
    download: Annotated[
        list[int] | None, typer.Option("--download", "-d", help="A finished download (repeat).")
    ] = None,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Probe finished files again and file them into the library again (after a wrong probe,
    or a change of an item's title or year); shows what was found."""
    if (media_id is None) == (not download):
        err.print("Give either a media item or --download IDs.", style="red")
        raise typer.Exit(2)
    with api_for(server, token) as api:
        if media_id is not None:
            ids = api.request("POST", f"/media/{media_id}/reprocess")["download_ids"]
        else:
            ids = []
            for download_id in download or []:
                ids += api.request("POST", f"/downloads/{download_id}/reprocess")["download_ids"]
        if not _processed(api, ids):
            raise typer.Exit(1)


#: How long the CLI waits for the server to process what it asked for again.
PROCESS_WAIT = 300.0
_OUTCOMES = ("probed", "imported", "import_failed", "import_note")


def _processed(api: Api, ids: list[int]) -> bool:
    """Wait until the downloads ``ids`` are processed, then show their files and what the
    processing said; False when one was not filed into its media item's place."""
    deadline = time.monotonic() + PROCESS_WAIT
    pending = list(ids)
    while pending and time.monotonic() < deadline:
        pending = [
            i for i in pending if api.request("GET", f"/downloads/{i}")["status"] == "processing"
        ]
        if pending:
            time.sleep(0.2)
    ok = True
    for download_id in ids:
        if download_id in pending:
            err.print(
                f"download {download_id}: still being processed (see `haul show {download_id}`)"
            )
            ok = False
            continue
        item = api.request("GET", f"/downloads/{download_id}")
        events = api.request("GET", f"/downloads/{download_id}/events")
        files = api.request("GET", f"/downloads/{download_id}/files")["items"]
        start = max(
            (n for n, e in enumerate(events) if e["kind"] in ("reprocess", "attached")), default=-1
        )
        said = [e for e in events[start + 1 :] if e["kind"] in _OUTCOMES]
        console.print(f"download {download_id}:")
        for event in said:
            style = "red" if event["kind"] == "import_failed" else None
            console.print(f"  {event['kind']}: {event['message'] or ''}", style=style, markup=False)
        for f in files:
            console.print(f"  {media_file_line(f)}")
        if any(e["kind"] == "import_failed" for e in said):
            ok = False
        elif item.get("media_id") is not None and not any(f.get("import_mode") for f in files):
            err.print(f"download {download_id}: nothing was filed into the library", style="red")
            ok = False
    return ok


@media_app.command("rescan")
def rescan(server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Look for every recorded file on disk now."""
    with api_for(server, token) as api:
        found = api.request("POST", "/media/rescan")
    console.print(
        f"{found['checked']} files checked, {found['missing']} missing, {found['back']} back"
    )
