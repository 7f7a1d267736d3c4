"""The clients pages: the configured download clients with their health asked live, the
built-in engine beside them, and the forms that add, change, test and remove one.

A client's password never reaches the browser: the forms have an empty password field ("leave
blank to keep it"), and a form that comes back with notes asks for it again. With JavaScript,
a test answers in place (the forms' posts answer JSON to ``Accept: application/json``), so a
typed password stays in its field."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from haul.clients import registry
from haul.clients.base import ClientHealth
from haul.core.routing import BUILTIN
from haul.errors import HaulError
from haul.service.clients import ClientService
from haul.web.deps import AdminDep, ClientsDep
from haul.web.errors import INVALID_FORM, status_for
from haul.web.ui import csrf
from haul.web.ui.client_form import ClientForm, changes, health_text, read_spec, shown_url
from haul.web.ui.forms import attempt
from haul.web.ui.render import page

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=1000)]
Secret = Annotated[str, Form(max_length=2000)]
Flag = Annotated[bool, Form()]


async def _rows(
    clients: ClientService, tested: dict[str, ClientHealth] | None = None
) -> list[dict[str, Any]]:
    """The built-in engine and every configured client, each with its health asked now (and
    the result of a test just made, if any)."""
    service = clients
    views, health = await _gather(service)
    tested = tested or {}
    rows: list[dict[str, Any]] = [
        {
            "name": BUILTIN,
            "kind": "built-in",
            "url": "",
            "category": "",
            "priority": None,
            "enabled": True,
            "builtin": True,
            "ok": health[BUILTIN].ok,
            "health": health_text(health[BUILTIN], builtin=True),
            "tested": None,
        }
    ]
    for view in views:
        data = view.to_json()
        live = health.get(data["name"])
        test = tested.get(data["name"])
        rows.append(
            {
                **{k: data[k] for k in ("name", "kind", "category", "priority", "enabled")},
                "kind": registry.label_of(data["kind"]),
                "url": shown_url(data["url"]),
                "builtin": False,
                "ok": live.ok if live is not None else None,
                "health": health_text(live),
                "tested": _result(test) if test is not None else None,
            }
        )
    return rows


async def _gather(service: Any) -> tuple[list[Any], dict[str, ClientHealth]]:
    views = await service.configured()
    return views, await service.live_health()


def _result(health: ClientHealth) -> dict[str, Any]:
    return {"ok": health.ok, "text": health_text(health)}


async def _render_list(
    request: Request,
    clients: ClientService,
    form: ClientForm,
    *,
    status_code: int = 200,
    tested: dict[str, ClientHealth] | None = None,
    notes: list[str] | None = None,
    problem: str = "",
) -> HTMLResponse:
    rows = await _rows(clients, tested)
    return _form_page(
        request,
        "clients.html",
        form,
        status_code=status_code,
        rows=rows,
        open_form=bool(form.errors or form.tested) or len(rows) == 1,
        notes=notes or [],
        problem=problem,
    )


def _form_page(
    request: Request, template: str, form: ClientForm, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A page with a client form on it (the list's add form, or a client's own page), with the
    result of a test just made."""
    return page(
        request,
        template,
        status_code=status_code,
        nav="clients",
        form=form,
        test=_result(form.tested) if form.tested else None,
        examples=registry.example_urls(),
        **context,
    )


@router.get("/clients", response_class=HTMLResponse)
async def clients_page(
    request: Request,
    clients: ClientsDep,
    admin: AdminDep,
    added: str = "",
    saved: str = "",
    removed: str = "",
) -> HTMLResponse:
    notes = []
    for name, text in (
        (added, "{} was added."),
        (saved, "{} was saved."),
        (removed, "{} was removed."),
    ):
        if name:
            notes.append(text.format(name[:64]))
    return await _render_list(request, clients, ClientForm(), notes=notes)


@router.get("/ui/clients/rows", response_class=HTMLResponse)
async def rows_fragment(request: Request, clients: ClientsDep, admin: AdminDep) -> HTMLResponse:
    """The table's rows with health asked again (the page's script refreshes them)."""
    return page(request, "_client_rows.html", rows=await _rows(clients))


def _answer(form: ClientForm, status_code: int = 200) -> JSONResponse:
    """A test's answer to the page's script: the result, or the notes for the fields."""
    body: dict[str, Any] = {"errors": form.errors}
    if form.tested is not None:
        body.update(_result(form.tested))
    return JSONResponse(body, status_code=status_code, headers={"Cache-Control": "no-store"})


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


async def _not_saved(
    request: Request, form: ClientForm, redraw: Callable[[int], Awaitable[HTMLResponse]]
) -> Response:
    """A form post that ended without a save: its notes (422) or its test's result (200), as
    JSON to the page's script, or the page drawn again by ``redraw``."""
    code = INVALID_FORM if form.errors else 200
    if _wants_json(request):
        return _answer(form, code)
    return await redraw(code)


async def _typed_client(
    url: Text = "",
    username: Text = "",
    category: Text = "",
    priority: Text = "",
    enabled: Flag = False,
    prefer_for_files: Flag = False,
    slot_limit: Text = "",
) -> ClientForm:
    """The settings both client forms post, as typed (the add form also posts kind and name;
    the password is read apart: it never goes back to the page)."""
    return ClientForm(
        url=url,
        username=username,
        category=category,
        priority=priority,
        enabled=enabled,
        prefer_for_files=prefer_for_files,
        slot_limit=slot_limit,
    )


TypedClient = Annotated[ClientForm, Depends(_typed_client)]


@router.post("/clients", response_model=None)
async def add_client(
    request: Request,
    clients: ClientsDep,
    admin: AdminDep,
    form: TypedClient,
    action: Annotated[str, Form(max_length=10)] = "save",
    kind: Text = "",
    name: Text = "",
    secret: Secret = "",
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
) -> Response:
    """Save a new client, or (``action=test``) only try its settings."""
    csrf.check(request, csrf_field)
    form.kind, form.name = kind, name
    spec = read_spec(form, secret)
    service = clients
    if spec is not None and action == "test":
        form.tested = await service.test(spec)
    elif spec is not None:
        try:
            await service.create(spec)
        except HaulError as exc:
            form.error("name" if status_for(exc) == 409 else "form", exc.message)
        else:
            return RedirectResponse(f"/clients?added={spec.name}", status_code=303)
    return await _not_saved(
        request, form, lambda code: _render_list(request, clients, form, status_code=code)
    )


@router.post("/clients/{name}/test", response_model=None)
async def test_saved(
    request: Request,
    clients: ClientsDep,
    admin: AdminDep,
    name: str,
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
) -> Response:
    """Connect to a saved client now; the answer is shown on its row."""
    csrf.check(request, csrf_field)
    health = await clients.test_named(name)
    if _wants_json(request):
        return JSONResponse(_result(health), headers={"Cache-Control": "no-store"})
    return await _render_list(request, clients, ClientForm(), tested={name: health})


@router.post("/clients/{name}/delete", response_model=None)
async def delete_client(
    request: Request,
    clients: ClientsDep,
    admin: AdminDep,
    name: str,
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
) -> Response:
    csrf.check(request, csrf_field)
    try:
        await clients.delete(name)
    except HaulError as exc:
        return await _render_list(
            request, clients, ClientForm(), status_code=status_for(exc), problem=exc.message
        )
    return RedirectResponse(f"/clients?removed={name}", status_code=303)


@router.get("/clients/{name}", response_class=HTMLResponse)
async def client_page(
    request: Request, clients: ClientsDep, admin: AdminDep, name: str
) -> HTMLResponse:
    view = await clients.get(name)
    return await _render_client(request, ClientForm.of(view.to_json()))


async def _render_client(
    request: Request, form: ClientForm, status_code: int = 200
) -> HTMLResponse:
    return _form_page(request, "client.html", form, status_code=status_code)


@router.post("/clients/{name}", response_model=None)
async def change_client(
    request: Request,
    clients: ClientsDep,
    admin: AdminDep,
    name: str,
    form: TypedClient,
    action: Annotated[str, Form(max_length=10)] = "save",
    secret: Secret = "",
    clear_secret: Flag = False,
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
) -> Response:
    """Save a client's new settings (a blank password keeps the stored one), or
    (``action=test``) try them without saving."""
    csrf.check(request, csrf_field)
    service = clients
    view = await service.get(name)
    stored = view.to_json()
    form.kind, form.name = stored["kind"], name
    form.has_secret, form.clear_secret = stored["has_secret"], clear_secret
    spec = read_spec(form, secret, base=dataclasses.replace(view.spec, secret=None))
    if spec is not None:
        wanted = changes(spec, bool(secret), clear_secret)
        if action == "test":
            typed = wanted.pop("secret", None)
            form.tested = await attempt(form, service.test_named(name, typed, changes=wanted))
        elif await attempt(form, service.update(name, wanted)) is not None:
            return RedirectResponse(f"/clients?saved={name}", status_code=303)
    return await _not_saved(request, form, lambda code: _render_client(request, form, code))
