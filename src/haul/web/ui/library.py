"""The library pages: the list of media items (filter, search, pages), an item's detail with its
episodes, downloads and files, and the forms that add, change, delete and rescan. Each form
works without JavaScript: it posts, then goes on with a 303, or comes back (422) with the
notes beside the fields."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from haul.core import media_items as rules
from haul.errors import NotFound
from haul.service import Owner, to_json
from haul.service.downloads import DownloadService
from haul.service.media import FileView, ItemDetail, ItemView, MediaService
from haul.web.api.media import thumbnail_url
from haul.web.deps import AdminDep, DownloadsDep, MediaDep, OwnerDep
from haul.web.errors import INVALID_FORM
from haul.web.ids import Id, id_or_none
from haul.web.ui import csrf
from haul.web.ui.forms import attempt
from haul.web.ui.media_form import ID_FIELDS, MediaForm, read_form
from haul.web.ui.render import page

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class LibraryServices:
    """What the library pages show and change."""

    media: MediaService
    downloads: DownloadService


def _services(media: MediaDep, downloads: DownloadsDep) -> LibraryServices:
    return LibraryServices(media, downloads)


ServicesDep = Annotated[LibraryServices, Depends(_services)]

PAGE_SIZE = 50
PARENT_CHOICES = 300
MAX_DOWNLOADS_SHOWN = 200
KIND_NAMES = {"movie": "Movies", "series": "Series", "episode": "Episodes", "trailer": "Trailers"}

FormField = Annotated[str, Form(max_length=500)]


def _list_url(kind: str = "", q: str = "", **more: str) -> str:
    query = urlencode({k: v for k, v in {"kind": kind, "q": q, **more}.items() if v})
    return f"/library?{query}" if query else "/library"


@router.get("/library", response_class=HTMLResponse)
async def library_page(
    request: Request,
    services: ServicesDep,
    owner: OwnerDep,
    kind: Annotated[str, Query(max_length=20)] = "",
    q: Annotated[str, Query(max_length=500)] = "",
    cursor: Annotated[str, Query(max_length=20)] = "",
    add: Annotated[str, Query(max_length=20)] = "",
    parent: Annotated[str, Query(max_length=20)] = "",
    deleted: Annotated[str, Query(max_length=10)] = "",
    rescan: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    form = MediaForm(kind=add if add in rules.KINDS else "movie")
    if id_or_none(parent) is not None:
        form.parent = parent
    return await _render_list(
        request,
        services,
        owner,
        form,
        kind=kind,
        q=q,
        cursor=cursor,
        open_form=bool(add),
        notes={"deleted": deleted, "rescan": rescan},
    )


@router.post("/library/rescan", response_model=None)
async def rescan(
    request: Request,
    services: ServicesDep,
    _admin: AdminDep,
    back: Annotated[str, Form(max_length=500)] = "",
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
) -> Response:
    """Look for every recorded file on disk now, then show what was found where the person
    pressed the button."""
    csrf.check(request, csrf_field)
    done = await services.media.rescan()
    target = back if back.startswith("/library") else "/library"
    path = target.split("?", 1)[0]
    return RedirectResponse(
        f"{path}?rescan={done.checked},{done.missing},{done.back}", status_code=303
    )


async def _render_list(
    request: Request,
    services: LibraryServices,
    owner: Owner,
    form: MediaForm,
    *,
    kind: str = "",
    q: str = "",
    cursor: str = "",
    open_form: bool = False,
    notes: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    kind = kind if kind in rules.KINDS else ""
    q = " ".join(q.split())[:200]
    media = services.media
    items, last = await media.find(
        owner,
        kind=kind or None,
        query=q or None,
        limit=PAGE_SIZE,
        cursor=id_or_none(cursor),
    )
    summaries = await media.summaries(items)
    return page(
        request,
        "library.html",
        status_code=status_code,
        nav="library",
        items=items,
        summaries=summaries,
        kind=kind,
        q=q,
        kinds=KIND_NAMES,
        next_url=_list_url(kind, q, cursor=str(last)) if last else "",
        first_url=_list_url(kind, q) if cursor else "",
        form=form,
        open_form=open_form or bool(form.errors),
        parents=await _parents(services, owner, form.parent),
        notes=_notes(notes or {}),
    )


def _notes(raw: dict[str, str]) -> list[str]:
    """The sentences a redirect after delete or rescan asks the list to show."""
    out = []
    if (deleted := raw.get("deleted", "")).isascii() and deleted.isdigit():
        files = int(raw["deleted"])
        out.append(
            "The media item was deleted"
            + (f", with {files} file{'s' if files != 1 else ''} from disk." if files else ".")
        )
    numbers = raw.get("rescan", "").split(",")
    if len(numbers) == 3 and all(n.isascii() and n.isdigit() for n in numbers):
        checked, missing, back = (int(n) for n in numbers)
        text = f"Looked for {checked} file{'s' if checked != 1 else ''} on disk: "
        text += f"{missing} missing" if missing else "all there"
        out.append(text + (f", {back} found again." if back else "."))
    return out


async def _parents(
    services: LibraryServices, owner: Owner, wanted: str
) -> dict[str, list[ItemView]]:
    """The items an episode or a trailer can belong to (series, then movies), with the one
    the form names even when it is past the first few hundred."""
    series, _ = await services.media.find(owner, kind="series", limit=PARENT_CHOICES)
    movies, _ = await services.media.find(owner, kind="movie", limit=PARENT_CHOICES)
    choices = {"series": list(series), "movie": list(movies)}
    wanted_id = id_or_none(wanted)
    if wanted_id is not None and all(i.id != wanted_id for i in [*series, *movies]):
        try:
            named = (await services.media.get(wanted_id, owner)).item
        except NotFound:
            return choices
        if named.kind in choices:
            choices[named.kind].insert(0, named)
    return choices


async def _typed_item(
    title: FormField = "",
    year: FormField = "",
    season: FormField = "",
    episode: FormField = "",
    imdb: FormField = "",
    tmdb: FormField = "",
    tvdb: FormField = "",
) -> MediaForm:
    """The fields both item forms post, as typed (the add form also posts kind and parent)."""
    return MediaForm(
        title=title, year=year, season=season, episode=episode, imdb=imdb, tmdb=tmdb, tvdb=tvdb
    )


TypedItem = Annotated[MediaForm, Depends(_typed_item)]


@router.post("/library", response_model=None)
async def create(
    request: Request,
    services: ServicesDep,
    owner: OwnerDep,
    form: TypedItem,
    kind: FormField = "",
    parent: FormField = "",
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
) -> Response:
    csrf.check(request, csrf_field)
    form.kind, form.parent = kind, parent
    values = await read_form(form, services.media, owner)
    if values is not None:
        item = await attempt(form, services.media.create(owner, **values))
        if item is not None:
            return RedirectResponse(f"/library/{item.id}?created=1", status_code=303)
    return await _render_list(
        request, services, owner, form, open_form=True, status_code=INVALID_FORM
    )


@router.get("/library/{media_id}", response_class=HTMLResponse)
async def item_page(
    request: Request,
    services: ServicesDep,
    owner: OwnerDep,
    media_id: Id,
    created: Annotated[str, Query(max_length=5)] = "",
    saved: Annotated[str, Query(max_length=5)] = "",
    rescan: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    detail = await services.media.get(media_id, owner)
    notes = _notes({"rescan": rescan})
    if created:
        notes.insert(0, "Added to the library.")
    if saved:
        notes.insert(0, "Saved.")
    return await _render_item(request, services, owner, detail, MediaForm.of(detail.item), notes)


async def _render_item(
    request: Request,
    services: LibraryServices,
    owner: Owner,
    detail: ItemDetail,
    form: MediaForm,
    notes: list[str] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    shown = detail.download_ids[-MAX_DOWNLOADS_SHOWN:]
    downloads = [to_json(t) for t in await services.downloads.some(owner, shown)] if shown else []
    children = detail.children
    return page(
        request,
        "media_item.html",
        status_code=status_code,
        nav="library",
        item=detail.item,
        parent=detail.parent,
        seasons=_seasons(children),
        others=[c for c in children if c.kind != "episode"],
        child_summaries=await services.media.summaries(children),
        downloads=downloads,
        more_downloads=len(detail.download_ids) - len(shown),
        files=_files(detail.files, downloads),
        thumbnail_url=(
            thumbnail_url(detail.item.id)
            if any(f.is_media and f.file_exists for f in detail.files)
            else None
        ),
        form=form,
        open_form=bool(form.errors),
        notes=notes or [],
        id_fields=ID_FIELDS,
    )


def _seasons(children: list[ItemView]) -> list[tuple[int | None, list[ItemView]]]:
    """A series' episodes by season (the service sorts them by season and number)."""
    grouped: dict[int | None, list[ItemView]] = defaultdict(list)
    for child in children:
        if child.kind == "episode":
            grouped[child.season].append(child)
    return sorted(grouped.items(), key=lambda pair: (pair[0] is None, pair[0] or 0))


def _files(files: list[FileView], downloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The item's files, each with the link that fetches it when its download has finished
    (the file's index among that download's files)."""
    by_id = {d["id"]: d for d in downloads}
    out = []
    for f in files:
        download = by_id.get(f.download_id) if f.download_id is not None else None
        index = _index_in(download, f) if download is not None else None
        fetch = ""
        if download is not None and download["status"] == "completed" and index is not None:
            fetch = f"/api/v1/downloads/{download['id']}/file?index={index}"
        out.append({"meta": f, "download": download, "fetch": fetch if f.file_exists else ""})
    return out


def _index_in(download: dict[str, Any], f: FileView) -> int | None:
    for index, entry in enumerate(download.get("files") or []):
        path = str(entry.get("path", ""))
        name = str(entry.get("name", "")) or path.rsplit("/", 1)[-1]
        if name == f.file_name or (path and f.path.endswith(path)):
            return index
    return None


@router.post("/library/{media_id}", response_model=None)
async def change(
    request: Request,
    services: ServicesDep,
    owner: OwnerDep,
    media_id: Id,
    form: TypedItem,
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
) -> Response:
    csrf.check(request, csrf_field)
    detail = await services.media.get(media_id, owner)
    item = detail.item
    form.kind, form.parent = item.kind, str(item.parent_id or "")
    if item.kind != "episode":
        form.season = form.episode = ""
    values = await read_form(form, services.media, owner, parent=detail.parent)
    if values is not None:
        changed = await attempt(
            form,
            services.media.update(
                media_id,
                owner,
                title=values["title"],
                year=values["year"],
                season=values["season"],
                episode=values["episode"],
                external_ids={key: getattr(form, key).strip() for key in ID_FIELDS},
            ),
        )
        if changed is not None:
            return RedirectResponse(f"/library/{media_id}?saved=1", status_code=303)
    return await _render_item(request, services, owner, detail, form, status_code=INVALID_FORM)


@router.post("/library/{media_id}/delete", response_model=None)
async def delete(
    request: Request,
    services: ServicesDep,
    owner: OwnerDep,
    media_id: Id,
    delete_files: Annotated[bool, Form()] = False,
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
) -> Response:
    csrf.check(request, csrf_field)
    files = await services.media.delete(media_id, owner, delete_files=delete_files)
    return RedirectResponse(f"/library?deleted={files}", status_code=303)
