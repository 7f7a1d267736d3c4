"""The add page: links (one per line: pages, files, streams, magnets), a .torrent upload,
profile, client, media item, start paused, and a format or audio of the download's own (the
page's script lists a link's formats to pick from: ``GET /api/v1/formats``), and the most a live
stream is recorded for, in minutes (``max_duration`` of the API, in seconds). Errors are shown
beside the field they are about, and what could be queued is queued."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from haul.clients.directory import ClientDirectory
from haul.core.bandwidth import parse_rate
from haul.core.profiles import AUDIO_FORMATS, FORMAT_MAX, check_choice
from haul.core.submit_options import SubmitOptions
from haul.core.torrents import MAX_TORRENT_BYTES
from haul.errors import HaulError, InvalidChoice
from haul.service import Owner
from haul.service.downloads import DownloadService
from haul.service.media import MediaService
from haul.service.profiles import ProfileService
from haul.web.deps import DirectoryDep, DownloadsDep, MediaDep, OwnerDep, ProfilesDep
from haul.web.errors import INVALID_FORM
from haul.web.ids import id_or_none
from haul.web.schemas.downloads import MAX_URLS_PER_REQUEST
from haul.web.ui import csrf
from haul.web.ui.forms import PageForm
from haul.web.ui.render import page

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class AddServices:
    """What the add page reads and submits to."""

    downloads: DownloadService
    media: MediaService
    profiles: ProfileService
    directory: ClientDirectory


def _services(
    downloads: DownloadsDep, media: MediaDep, profiles: ProfilesDep, directory: DirectoryDep
) -> AddServices:
    return AddServices(downloads, media, profiles, directory)


ServicesDep = Annotated[AddServices, Depends(_services)]

MEDIA_CHOICES = 300


@dataclass
class AddForm(PageForm):
    """What the person typed, kept when the page comes back with errors."""

    urls: str = ""
    profile: str = ""
    client: str = ""
    media: str = ""
    paused: bool = False
    format: str = ""
    audio_format: str = ""
    audio_quality: str = ""
    max_minutes: str = ""
    speed_limit: str = ""
    queued: list[int] = field(default_factory=list)


@router.get("/add", response_class=HTMLResponse)
async def add_page(
    request: Request,
    services: ServicesDep,
    owner: OwnerDep,
    media: Annotated[str, Query(max_length=20)] = "",
    url: Annotated[str, Query(max_length=8192)] = "",
) -> HTMLResponse:
    form = AddForm(urls=url, media=media if id_or_none(media) is not None else "")
    return await _render(request, services, owner, form)


@router.post("/add", response_model=None)
async def add(
    request: Request,
    services: ServicesDep,
    owner: OwnerDep,
    urls: Annotated[str, Form(max_length=2_000_000)] = "",
    profile: Annotated[str, Form(max_length=100)] = "",
    client: Annotated[str, Form(max_length=64)] = "",
    media: Annotated[str, Form(max_length=20)] = "",
    paused: Annotated[bool, Form()] = False,
    format: Annotated[str, Form(max_length=FORMAT_MAX + 100)] = "",
    audio_format: Annotated[str, Form(max_length=100)] = "",
    audio_quality: Annotated[str, Form(max_length=100)] = "",
    max_minutes: Annotated[str, Form(max_length=100)] = "",
    speed_limit: Annotated[str, Form(max_length=40)] = "",
    torrent: Annotated[UploadFile | None, File()] = None,
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
) -> Response:
    csrf.check(request, csrf_field)
    form = AddForm(
        urls=urls,
        profile=profile,
        client=client,
        media=media,
        paused=paused,
        format=format,
        audio_format=audio_format,
        audio_quality=audio_quality,
        max_minutes=max_minutes,
        speed_limit=speed_limit,
    )
    max_duration = _max_duration(form)
    rate = _speed_limit(form)
    links = [line.strip() for line in urls.splitlines() if line.strip()]
    blob = await torrent.read(MAX_TORRENT_BYTES + 1) if torrent and torrent.filename else None
    media_id = _media_id(form)
    if not links and blob is None and not form.errors:
        form.error("urls", "Paste at least one link, or choose a .torrent file.")
    for name, value in (("profile", profile), ("client", client)):
        if "\x00" in value:  # a multipart form: the middleware of haul.web.nul does not look
            form.error(name, f"The {name} cannot contain NUL characters.")
    if len(links) > MAX_URLS_PER_REQUEST:
        form.error(
            "urls", f"That is {len(links)} links; add at most {MAX_URLS_PER_REQUEST} at a time."
        )
    if blob is not None and len(blob) > MAX_TORRENT_BYTES:
        form.error(
            "torrent", f"That file is larger than {MAX_TORRENT_BYTES // 2**20} MB: not a .torrent."
        )
    chosen: tuple[str | None, str | None, str | None] = (None, None, None)
    try:
        chosen = check_choice(format, audio_format, audio_quality)
    except InvalidChoice as exc:
        for name, message in exc.problems.items():
            form.error(name, message)
    if form.errors:
        return await _render(request, services, owner, form, status_code=INVALID_FORM)
    options = SubmitOptions(
        profile=profile or None,
        client=client or None,
        media_id=media_id,
        paused=paused,
        format=chosen[0],
        audio_format=chosen[1],
        audio_quality=chosen[2],
        max_duration=max_duration,
        speed_limit=rate,
    )
    failed: list[str] = []
    for link in links:
        try:
            form.queued.append((await services.downloads.submit(link, owner, options)).id)
        except HaulError as exc:
            failed.append(link)
            where = _field_of(exc)
            form.error(where, exc.message if where != "urls" else f"{link}: {exc.message}")
    if blob is not None:
        try:
            form.queued.append((await services.downloads.submit_torrent(blob, owner, options)).id)
        except HaulError as exc:
            where = _field_of(exc)
            form.error("torrent" if where == "urls" else where, exc.message)
    if not form.errors:
        return RedirectResponse("/?added=" + ",".join(map(str, form.queued)), status_code=303)
    form.urls = "\n".join(failed)
    return await _render(request, services, owner, form, status_code=INVALID_FORM)


def _media_id(form: AddForm) -> int | None:
    if not form.media.strip():
        return None
    media_id = id_or_none(form.media)
    if media_id is None:
        form.error("media", "Pick a media item from the list, or leave it empty.")
    return media_id


#: The longest recording the form takes, in minutes (as the API: seven days).
MAX_MINUTES = 7 * 24 * 60


def _max_duration(form: AddForm) -> float | None:
    """The most a live stream is recorded for, typed in minutes, as seconds (None: empty)."""
    text = form.max_minutes.strip().replace(",", ".")
    if not text:
        return None
    try:
        minutes = float(text)
    except ValueError:
        minutes = -1.0
    if not 0 < minutes <= MAX_MINUTES:  # also NaN
        form.error(
            "max_minutes",
            f"The maximum recording length is a number of minutes above 0, at most {MAX_MINUTES}"
            " (seven days); leave it empty for no limit.",
        )
        return None
    return round(minutes * 60, 3)


def _speed_limit(form: AddForm) -> int | None:
    """The downloads' own speed limit as typed (None: empty, or none)."""
    try:
        return parse_rate(form.speed_limit)
    except ValueError as exc:
        form.error("speed_limit", str(exc))
        return None


def _field_of(exc: HaulError) -> str:
    """Which field an error is about, from its code (a format or audio choice: the field
    it names)."""
    if isinstance(exc, InvalidChoice):
        return next(iter(exc.problems), "format")
    code = exc.code
    if "profile" in code:
        return "profile"
    if "client" in code or code in ("no_torrent_client", "no_client"):
        return "client"
    if "media" in code:
        return "media"
    return "urls"


async def _render(
    request: Request, services: AddServices, owner: Owner, form: AddForm, *, status_code: int = 200
) -> HTMLResponse:
    """The form, with its notes if any (then answered 422: bad input is a 4xx everywhere)."""
    profiles = await services.profiles.list()
    items = await services.media.recent(owner, limit=MEDIA_CHOICES, include=_media_id(form))
    specs = services.directory.specs
    clients = [
        {"name": name, "kind": spec.kind if spec is not None else "built-in"}
        for name, spec in ((name, specs.get(name)) for name in sorted(services.directory.clients))
    ]
    return page(
        request,
        "add.html",
        status_code=status_code,
        nav="add",
        form=form,
        profiles=profiles,
        clients=clients,
        media_items=[i for i in items if i.kind != "series"],
        torrent_limit_mb=MAX_TORRENT_BYTES // 2**20,
        audio_formats=AUDIO_FORMATS,
    )
