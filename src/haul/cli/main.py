"""The ``haul`` command: run the server or a worker, and talk to a running server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from haul import __version__
from haul.cli.api import Api
from haul.cli.backup import backup, restore
from haul.cli.clients import clients_app
from haul.cli.common import DEFAULT_SERVER, ServerOpt, TokenOpt, api_for, console, err
from haul.cli.config import config_app
from haul.cli.cookies import cookies_app
from haul.cli.helptext import reflow_help
from haul.cli.iptv import iptv_app
from haul.cli.limits import limit_app
from haul.cli.links import link
from haul.cli.login import login, logout, whoami
from haul.cli.logs import logs_app
from haul.cli.media import media_app
from haul.cli.notify import notify_app
from haul.cli.profiles import profiles_app
from haul.cli.render import (
    children_table,
    details,
    downloads_table,
    formats_footer,
    formats_narrow,
    formats_table,
    live_text,
    media_file_line,
    plain,
    print_fitted,
    say_error,
    text,
)
from haul.cli.retention import retention_app
from haul.cli.subscriptions import subscriptions_app
from haul.cli.tokens import tokens_app
from haul.cli.users import users_app
from haul.core.bandwidth import parse_rate
from haul.core.profiles import AUDIO_FORMATS, check_choice
from haul.core.status import statuses_asked
from haul.core.submit_options import SubmitOptions
from haul.errors import (
    ApiError,
    HaulError,
    InputError,
    InvalidChoice,
    LoginNeeded,
    StartRefused,
    StorageError,
)
from haul.logsetup import guard_handlers, setup_logging

app = typer.Typer(
    help="haul: one queue for every media source.", no_args_is_help=True, add_completion=False
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(clients_app, name="clients")
app.add_typer(iptv_app, name="iptv")
app.add_typer(media_app, name="media")
app.add_typer(notify_app, name="notify")
app.add_typer(subscriptions_app, name="subscriptions")
app.add_typer(logs_app, name="logs")
app.add_typer(config_app, name="config")
app.add_typer(limit_app, name="limit")
app.add_typer(cookies_app, name="cookies")
app.add_typer(profiles_app, name="profiles")
app.add_typer(retention_app, name="retention")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.command()(link)
app.command()(login)
app.command()(logout)
app.command()(whoami)
app.command()(backup)
app.command()(restore)

FINAL = {"completed", "failed", "canceled"}


def _setup_logging(level: str) -> None:
    setup_logging(level, os.environ.get("HAUL_LOG_FORMAT", "text"))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (HAUL_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (HAUL_PORT).")] = None,
    log_level: Annotated[str, typer.Option(envvar="HAUL_LOG_LEVEL")] = "info",
) -> None:
    """Run the API, the events and an embedded worker in one process."""
    import uvicorn

    from haul.cli.listen import AnnouncingServer, bind, url_of
    from haul.cli.local import check_folders, check_start, first_admin_from_file
    from haul.settings import load_settings
    from haul.web.app import create_app

    _setup_logging(log_level)
    settings = load_settings(host=host, port=port)
    if not settings.embedded_worker and settings.sqlalchemy_url.startswith("sqlite"):
        say_error("With SQLite, haul serve must run its own worker (HAUL_EMBEDDED_WORKER).")
        raise typer.Exit(2)
    # Before uvicorn: a refusal is a sentence and exit code 2, not a traceback of the lifespan
    # (which checks again, against a race with another process).
    try:
        check_folders(settings)
        _migrate(settings.sqlalchemy_url)
        if (admin := first_admin_from_file(settings)) is not None:
            console.print(f"created the first administrator {admin} (HAUL_ADMIN_PASSWORD_FILE)")
        check_start(settings)
        sock = bind(settings.host, settings.port)
    except StartRefused as exc:
        say_error(exc.message)
        raise typer.Exit(2) from None
    config = uvicorn.Config(
        create_app(settings),
        log_level=log_level.lower(),
        timeout_graceful_shutdown=10,
        # With HAUL_TRUSTED_PROXIES the app decides whom to believe (haul.web.proxies).
        proxy_headers=settings.trusted_proxies is None,
    )
    guard_handlers()  # uvicorn's own handlers, set up by its Config, write safely too
    address = url_of(settings.host, settings.port)
    if settings.base_path:
        address += f"{settings.base_path}/"
    server = AnnouncingServer(config, lambda: console.print(f"haul {__version__} on {address}"))
    # uvicorn shuts down gracefully on SIGTERM, then restores the handler it found and raises
    # the signal again; this handler makes that last step a clean exit 0.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    with sock:
        server.run(sockets=[sock])


def _migrate(url: str) -> None:
    """Bring the database to the current schema before the server starts, in a child process
    so that the server never holds Alembic (see :func:`haul.store.migrate.upgrade_in_child`)."""
    from haul.store.migrate import upgrade_in_child

    try:
        done = upgrade_in_child(url)
    except StorageError as exc:
        say_error(f"Cannot bring the database up to date: {exc.message}")
        raise typer.Exit(1) from None
    if not done:
        err.print("Stopped before starting (the database migration under way was finished).")
        raise typer.Exit(0)


def _exit_cleanly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


@app.command()
def worker(log_level: Annotated[str, typer.Option(envvar="HAUL_LOG_LEVEL")] = "info") -> None:
    """Run a worker only: it claims and runs built-in jobs until SIGTERM or SIGINT."""
    from haul.runtime import build
    from haul.settings import load_settings

    _setup_logging(log_level)
    settings = load_settings()
    if settings.sqlalchemy_url.startswith("sqlite"):
        say_error(
            "haul worker needs PostgreSQL (set HAUL_DATABASE_URL); "
            "with SQLite, `haul serve` runs its worker itself."
        )
        raise typer.Exit(2)
    _migrate(settings.sqlalchemy_url)

    async def main() -> None:
        runtime = build(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await runtime.start()
        try:
            await stop.wait()
        finally:
            await runtime.stop()

    asyncio.run(main())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations."""
    from haul.settings import load_settings
    from haul.store.migrate import current_revision, upgrade

    settings = load_settings()
    upgrade(settings.sqlalchemy_url)
    console.print(f"database at revision {current_revision(settings.sqlalchemy_url)}")


@app.command()
def add(
    urls: Annotated[
        list[str], typer.Argument(help="URLs, magnet links or paths of .torrent files.")
    ],
    wait: Annotated[bool, typer.Option("--wait", "-w", help="Show progress until done.")] = False,
    profile: Annotated[str | None, typer.Option(help="Profile name.")] = None,
    client: Annotated[
        str | None, typer.Option(help="The download client to use (see `haul clients ls`).")
    ] = None,
    paused: Annotated[bool, typer.Option(help="Add without starting.")] = False,
    media: Annotated[
        int | None, typer.Option(help="The media item it is for (see `haul media ls`).")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Even if the media item has its file or is being downloaded.")
    ] = False,
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="A yt-dlp format for these downloads instead of the profile's: an id from "
            "`haul formats URL`, or a selector such as 'bv*[height<=720]+ba/b'.",
        ),
    ] = None,
    audio_format: Annotated[
        str | None,
        typer.Option(help=f"Audio only: convert to {', '.join(AUDIO_FORMATS)}."),
    ] = None,
    audio_quality: Annotated[
        str | None,
        typer.Option(help="With --audio-format: a VBR level 0 (best) to 10, or a bitrate (192K)."),
    ] = None,
    max_duration: Annotated[
        float | None,
        typer.Option(
            min=1, help="A live stream's recording ends after this many seconds of media."
        ),
    ] = None,
    speed_limit: Annotated[
        str | None,
        typer.Option(
            help="Each download's own speed limit, such as 2M or 500K (bytes per second); "
            "change it later with `haul limit download ID`."
        ),
    ] = None,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Queue downloads; with --wait, follow them with progress bars. A live stream is recorded
    until it ends, --max-duration passes, or `haul stop ID`."""
    torrents = [Path(u) for u in urls if u.lower().endswith(".torrent") and Path(u).is_file()]
    links = [u for u in urls if Path(u) not in torrents]
    try:
        chosen = check_choice(format, audio_format, audio_quality)
    except InvalidChoice as exc:
        say_error(exc.message)
        raise typer.Exit(2) from None
    try:
        rate = parse_rate(speed_limit)
    except ValueError as exc:
        say_error(f"--speed-limit: {exc}")
        raise typer.Exit(2) from None
    if torrents and any(chosen):
        say_error("A format or an audio choice is for pages and streams; a torrent has none.")
        raise typer.Exit(2)
    choice = dict(zip(("format", "audio_format", "audio_quality"), chosen, strict=True))
    with api_for(server, token) as api:
        created: list[dict[str, Any]] = []
        refused: list[dict[str, Any]] = []
        failed = False
        options = _request_fields(
            SubmitOptions(
                profile=profile,
                client=client,
                paused=paused,
                media_id=media,
                force=force,
                max_duration=max_duration,
                speed_limit=rate,
            )
        )
        if links:
            try:
                # One request for all of them: the server stores them in one transaction.
                body = {"urls": links, **options, **{k: v for k, v in choice.items() if v}}
                answer = api.request("POST", "/downloads", json=body)
                refused += answer["errors"]
                created += answer["items"]
            except LoginNeeded:
                raise
            except ApiError as exc:
                listed = exc.body.get("errors")  # per link; a bad field is said of them all
                refused += (
                    listed
                    if isinstance(listed, list) and listed
                    else [{"url": ", ".join(links), "detail": exc.message}]
                )
        for path in torrents:
            try:
                form = {k: str(v).lower() if isinstance(v, bool) else v for k, v in options.items()}
                upload = (path.name, path.read_bytes(), "application/x-bittorrent")
                created.append(
                    api.request(
                        "POST",
                        "/downloads/torrent",
                        files={"torrent": upload},
                        data={k: v for k, v in form.items() if v is not None},
                    )
                )
            except LoginNeeded:
                raise
            except ApiError as exc:
                refused.append({"url": str(path), "detail": exc.message})
        for error in refused:
            say_error(f"{error['url']}: {error['detail']}")
            failed = True
        for item in created:
            said = "paused" if item.get("status") == "paused" else "queued"
            console.print(text(f"{said} ") + text(item["id"], "bold") + text(f" {item['url']}"))
        if wait and created:
            failed |= not _follow(api, created)
    raise typer.Exit(1 if failed else 0)


#: Seconds `haul formats` waits for the server (which gives up on a page after a minute).
FORMATS_WAIT = 90.0


@app.command()
def formats(
    url: Annotated[str, typer.Argument(help="A page or a stream.")],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """List the formats a page offers (nothing is downloaded); add one with
    `haul add URL --format ID`."""
    with api_for(server, token) as api:
        page = api.request("GET", "/formats", params={"url": url}, timeout=FORMATS_WAIT)
    print_fitted(formats_table(page), lambda: formats_narrow(page), formats_footer(page))


def _request_fields(options: SubmitOptions) -> dict[str, Any]:
    """The fields of a submit request (``POST /downloads``, or the form of a .torrent's) that
    carry what ``haul add`` asks: the media item's only when there is one."""
    fields: dict[str, Any] = {
        "profile": options.profile,
        "client": options.client,
        "paused": options.paused,
    }
    if options.media_id is not None:
        fields.update(media_id=options.media_id, force=options.force)
    if options.max_duration is not None:
        fields["max_duration"] = options.max_duration
    if options.speed_limit is not None:
        fields["speed_limit"] = options.speed_limit
    return fields


@iptv_app.command("get")
def iptv_get(
    provider: Annotated[str, typer.Argument(help="The provider's name or id.")],
    movie: Annotated[int | None, typer.Option(help="A film's stream id (see `vod`).")] = None,
    series: Annotated[int | None, typer.Option(help="A series id (see `series`).")] = None,
    season: Annotated[int | None, typer.Option(help="Only this season of the series.")] = None,
    episode: Annotated[
        list[int] | None, typer.Option(help="Only these episode ids (repeat).")
    ] = None,
    client: Annotated[str | None, typer.Option(help="e.g. an aria2 (see `haul clients`).")] = None,
    force: Annotated[bool, typer.Option(help="Even if the library has it already.")] = False,
    wait: Annotated[bool, typer.Option("--wait", "-w", help="Show progress until done.")] = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Download a film, or a series (or a season, or episodes) of a provider's catalogue."""
    if (movie is None) == (series is None):
        say_error("Give either --movie or --series.")
        raise typer.Exit(2)
    body: dict[str, Any] = {"client": client, "force": force}
    with api_for(server, token) as api:
        if movie is not None:
            created = [
                api.request("POST", f"/iptv/providers/{provider}/vod/{movie}/download", json=body)
            ]
            refused: list[dict[str, Any]] = []
        else:
            body.update(season=season, episodes=episode or [])
            answer = api.request(
                "POST", f"/iptv/providers/{provider}/series/{series}/download", json=body
            )
            created, refused = answer["items"], answer["errors"]
        for error in refused:
            say_error(f"{error['label']}: {error['detail']}")
        for item in created:
            console.print(f"queued {item['id']}: {item['title']}")
        ok = _follow(api, created) if wait and created else True
    if refused or not ok:
        raise typer.Exit(1)


def _follow(api: Api, items: list[dict[str, Any]]) -> bool:
    """Show progress bars until every download (and playlist child) is final; True if all ok."""
    ids = {i["id"] for i in items}
    state: dict[int, dict[str, Any]] = {i["id"]: i for i in items}
    progress = Progress(
        TextColumn("{task.fields[label]}", justify="left", markup=False),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}", markup=False),
        console=console,
    )
    bars: dict[int, TaskID] = {}
    #: What each download last said while it waits (said once above the bars, when it changes).
    said: dict[int, str] = {}

    def refresh(item: dict[str, Any]) -> None:
        label = plain(item.get("title") or item.get("url") or item["id"])[:40]
        waits = item.get("message") if item.get("status") == "queued" else None
        if waits and said.get(item["id"]) != waits:
            said[item["id"]] = waits
            progress.console.print(text(f"{item['id']} {label}: {waits}", "dim"))
        total = item.get("total_bytes")
        done = item.get("downloaded_bytes") or 0
        if item.get("status") == "completed" and total:
            done = total
        if item["id"] not in bars:
            bars[item["id"]] = progress.add_task(
                "", total=total, label=label, status=plain(item.get("status", ""))
            )
        progress.update(
            bars[item["id"]],
            total=total,
            completed=done,
            label=label,
            status=live_text(item) or plain(item.get("status", "")),
        )

    def settled() -> bool:
        for download_id in ids:
            item = state.get(download_id)
            if item is None or item.get("status") not in FINAL:
                return False
        return True

    # Refresh from the API first: events that happened before we subscribed are not replayed.
    with progress:
        for item in list(state.values()):
            state[item["id"]] = api.request("GET", f"/downloads/{item['id']}")
            refresh(state[item["id"]])
        _expand_children(api, state, ids, refresh)
        if not settled():
            for kind, data in api.events():
                if kind in ("hello", "ping"):
                    # On (re)connect and at every keep-alive, read the state again: an event
                    # missed for any reason delays the end by one keep-alive, never forever.
                    for download_id in list(ids):
                        state[download_id] = api.request("GET", f"/downloads/{download_id}")
                        refresh(state[download_id])
                    _expand_children(api, state, ids, refresh)
                elif kind in ("status", "created") and "download" in data:
                    item = data["download"]
                    if item["id"] in ids or item.get("parent_id") in ids:
                        ids.add(item["id"])
                        state[item["id"]] = item
                        refresh(item)
                        if item.get("children"):
                            _expand_children(api, state, ids, refresh)
                elif kind == "progress" and data.get("id") in ids:
                    state[data["id"]] = {**state[data["id"]], **data}
                    refresh(state[data["id"]])
                if settled():
                    break
    bad = [
        i
        for i in state.values()
        if i["id"] in ids and i.get("status") != "completed" and not i.get("children")
    ]
    for item in bad:
        say_error(f"{item['id']}: {item.get('status')}: {item.get('error') or ''}")
    return not bad


def _children(api: Api, parent_id: int) -> list[dict[str, Any]]:
    """A playlist's entries, in playlist order (the first added first)."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"parent_id": parent_id, "limit": 1000, "sort": "oldest"}
        if cursor:
            params["cursor"] = cursor
        page = api.request("GET", "/downloads", params=params)
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def _expand_children(
    api: Api, state: dict[int, dict[str, Any]], ids: set[int], refresh: Any
) -> None:
    for parent in [i for i in list(state.values()) if i.get("children")]:
        for child in api.request(
            "GET", "/downloads", params={"parent_id": parent["id"], "limit": 1000}
        )["items"]:
            ids.add(child["id"])
            state[child["id"]] = child
            refresh(child)


@app.command("ls")
def list_(
    status: Annotated[list[str] | None, typer.Option("--status", "-s")] = None,
    limit: int = 50,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """List downloads with their live state (``--status failed``, repeated or comma-separated:
    only those)."""
    try:
        statuses = statuses_asked(status or [])
    except InputError as exc:
        raise typer.BadParameter(exc.message, param_hint="--status") from None
    with api_for(server, token) as api:
        page = api.request("GET", "/downloads", params={"status": statuses, "limit": limit})
    console.print(downloads_table(page["items"]))
    for client in page["clients"]:
        if not client["ok"]:
            say_error(f"client {client['name']} is unreachable: {client['error']}")


@app.command()
def show(download_id: int, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Show one download with its files and timeline."""
    with api_for(server, token) as api:
        item = api.request("GET", f"/downloads/{download_id}")
        events = api.request("GET", f"/downloads/{download_id}/events")
        probed = api.request("GET", f"/downloads/{download_id}/files")["items"]
        children = _children(api, download_id) if item.get("children") else []
    console.print(details(item, events))
    for f in probed:
        console.print(text("  ") + media_file_line(f))
    if children:
        console.print(children_table(children))


@app.command()
def watch(server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """A live table of downloads, updated from the event stream (Ctrl-C to stop)."""
    with api_for(server, token) as api, Live(console=console, auto_refresh=False) as live:
        page = api.request("GET", "/downloads", params={"limit": 30})
        items = {i["id"]: i for i in page["items"]}
        live.update(downloads_table(list(items.values())), refresh=True)
        with contextlib.suppress(KeyboardInterrupt):
            for kind, data in api.events():
                if kind in ("status", "created"):
                    items[data["download"]["id"]] = data["download"]
                elif kind == "progress" and data["id"] in items:
                    items[data["id"]].update(data)
                elif kind == "removed":
                    items.pop(data["id"], None)
                ordered = sorted(items.values(), key=lambda i: -i["id"])[:30]
                live.update(downloads_table(ordered), refresh=True)


def _act(action: str, ids: list[int], server: str, token: str | None, **params: Any) -> None:
    failed = False
    with api_for(server, token) as api:
        for download_id in ids:
            try:
                if action == "rm":
                    item = api.request("DELETE", f"/downloads/{download_id}", params=params)
                elif params:
                    item = api.request("POST", f"/downloads/{download_id}/{action}", json=params)
                else:
                    item = api.request("POST", f"/downloads/{download_id}/{action}")
                done = "removed" if action == "rm" else item["status"]
                if action == "stop":
                    done = "recording stopped; it is finished with what was recorded"
                if action == "cancel" and done != "canceled":
                    say_error(
                        f"{download_id}: it is {done}, and only an unfinished download can be "
                        "canceled (haul rm removes it from view)."
                    )
                    failed = True
                    continue
                console.print(f"{download_id}: {done}")
            except LoginNeeded:
                raise
            except HaulError as exc:
                say_error(f"{download_id}: {exc.message}")
                failed = True
    raise typer.Exit(1 if failed else 0)


@app.command()
def pause(ids: list[int], server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Pause downloads (partial data is kept)."""
    _act("pause", ids, server, token)


@app.command()
def resume(ids: list[int], server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Resume paused downloads from their partial data."""
    _act("resume", ids, server, token)


@app.command()
def stop(ids: list[int], server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Stop recording live streams and keep what was recorded: each is finished like any
    download (probed, filed). Cancel, by contrast, discards a recording."""
    _act("stop", ids, server, token)


@app.command()
def retry(ids: list[int], server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Retry failed, canceled or missing downloads from their original source."""
    _act("retry", ids, server, token)


@app.command()
def cancel(
    ids: list[int],
    delete_files: Annotated[
        bool,
        typer.Option(
            "--delete-files",
            help="Delete partial and finished data too (files filed into the library stay).",
        ),
    ] = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Cancel downloads: they stop for good and stay in the list as canceled (retry starts
    them again). Partial data is kept unless --delete-files."""
    _act("cancel", ids, server, token, delete_files=delete_files)


@app.command("rm")
def remove(
    ids: list[int],
    delete_files: Annotated[
        bool,
        typer.Option(
            "--delete-files",
            help="Delete the download's own data too (files filed into the library stay).",
        ),
    ] = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Remove downloads from view (an unfinished one is canceled first); their history is
    kept. Without --delete-files their data stays on disk."""
    _act("rm", ids, server, token, delete_files=str(delete_files).lower())


reflow_help(app)


def main() -> None:
    try:
        app()
    except HaulError as exc:
        say_error(exc.message)
        raise SystemExit(1) from exc
