"""The subscriptions pages: the list with its add form, and one subscription (its settings to
edit, check now, pause or resume, remove, and what it saw with the download each became).

For people with an account (and the local user), like the library: owners see their own,
administrators everyone's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from haul.errors import HaulError, InvalidSubscription
from haul.service import Owner
from haul.service.subscriptions import SubscriptionService, SubscriptionSpec
from haul.web.deps import OwnerDep, ProfilesDep, SubscriptionsDep
from haul.web.errors import status_for
from haul.web.ids import Id
from haul.web.ui import csrf
from haul.web.ui.render import page

router = APIRouter(include_in_schema=False)

NOTES = {
    "added": "The subscription is added; its first check comes within a minute (or check it now).",
    "changed": "The subscription is changed.",
    "paused": "The subscription is paused.",
    "resumed": "The subscription is checked again.",
    "removed": "The subscription is removed; its downloads stay.",
    "checking": "A worker is checking it; what it finds shows here.",
}
#: The labels of the forms' number fields, as their notes name them.
LABELS = {
    "interval_minutes": "Check every (minutes)",
    "max_per_check": "At most per check",
    "keep_last": "Keep the newest",
}
#: The fields of the forms, as typed (numbers and dates are read from text).
FIELDS = (
    "url",
    "kind",
    "title",
    "profile",
    "interval_minutes",
    "backfill",
    "since",
    "title_filter",
    "max_per_check",
    "keep_last",
)


async def _typed(request: Request) -> dict[str, str]:
    async with request.form() as form:
        csrf.check(request, str(form.get(csrf.FIELD, "")))
        typed = {name: str(form.get(name) or "").strip() for name in FIELDS}
        typed["paused"] = "on" if form.get("paused") else ""
    return typed


def _settings(typed: dict[str, str], *, creating: bool) -> dict[str, Any]:
    """The settings a form gives (blank: left as it is, or the default when creating)."""
    out: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name in ("interval_minutes", "max_per_check", "keep_last"):
        text = typed.get(name, "")
        if not text:
            if not creating and name != "interval_minutes":
                out[name] = None
            continue
        digits = text[1:] if text[:1] in "+-" else text
        if not (digits.isascii() and digits.isdigit() and len(digits) <= 18):
            problems[name] = f"{LABELS[name]} is a whole number, not {text[:40]!r}."
            continue
        out[name] = int(text)  # its range is the service's to check, in its own words
    since = typed.get("since", "")
    if since:
        try:
            out["since"] = datetime.fromisoformat(since).replace(tzinfo=UTC)
        except ValueError:
            problems["since"] = "Since is a date like 2024-01-31."
    elif not creating:
        out["since"] = None
    for name in ("profile", "title_filter", "title"):
        if typed.get(name) or not creating:
            out[name] = typed.get(name) or None
    if typed.get("backfill"):
        out["backfill"] = typed["backfill"]
    out["paused"] = bool(typed.get("paused"))
    if problems:
        raise InvalidSubscription(problems)
    return out


@router.get("/subscriptions", response_class=HTMLResponse)
async def subscriptions_page(
    request: Request,
    owner: OwnerDep,
    subscriptions: SubscriptionsDep,
    profiles: ProfilesDep,
    done: str = "",
) -> HTMLResponse:
    return await _list(request, owner, subscriptions, profiles, note=NOTES.get(done[:20]))


@router.post("/subscriptions", response_model=None)
async def add(
    request: Request, owner: OwnerDep, subscriptions: SubscriptionsDep, profiles: ProfilesDep
) -> Response:
    typed = await _typed(request)
    try:
        given = _settings(typed, creating=True)
        given.pop("title", None)
        spec = SubscriptionSpec(url=typed["url"], kind=typed["kind"] or None, **given)
        made = await subscriptions.create(owner, spec)
    except HaulError as exc:
        return await _list(
            request, owner, subscriptions, profiles, problem=exc, typed=typed, code=status_for(exc)
        )
    return RedirectResponse(f"/subscriptions/{made['id']}?done=added", status_code=303)


@router.get("/subscriptions/{subscription_id}", response_class=HTMLResponse)
async def subscription_page(
    request: Request,
    owner: OwnerDep,
    subscriptions: SubscriptionsDep,
    profiles: ProfilesDep,
    subscription_id: Id,
    done: str = "",
    new: Annotated[int, Query(ge=0)] = 0,
    deferred: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    note = NOTES.get(done[:20])
    if done == "checked":
        note = f"Checked: {new} new download{'s' if new != 1 else ''}."
        if deferred:
            note += f" {deferred} more wait for the next check."
    return await _detail(request, owner, subscriptions, profiles, subscription_id, note=note)


@router.post("/subscriptions/{subscription_id}", response_model=None)
async def change(
    request: Request,
    owner: OwnerDep,
    subscriptions: SubscriptionsDep,
    profiles: ProfilesDep,
    subscription_id: Id,
) -> Response:
    typed = await _typed(request)
    try:
        await subscriptions.update(subscription_id, owner, _settings(typed, creating=False))
    except HaulError as exc:
        if status_for(exc) == 404:
            raise
        return await _detail(
            request,
            owner,
            subscriptions,
            profiles,
            subscription_id,
            problem=exc,
            typed=typed,
            code=status_for(exc),
        )
    return RedirectResponse(f"/subscriptions/{subscription_id}?done=changed", status_code=303)


@router.post("/subscriptions/{subscription_id}/check", response_model=None)
async def check(
    request: Request,
    owner: OwnerDep,
    subscriptions: SubscriptionsDep,
    profiles: ProfilesDep,
    subscription_id: Id,
) -> Response:
    await _typed(request)
    try:
        done = await subscriptions.check(subscription_id, owner)
    except HaulError as exc:
        if status_for(exc) == 404:
            raise
        code = status_for(exc)
        return await _detail(
            request, owner, subscriptions, profiles, subscription_id, problem=exc, code=code
        )
    # Sent on to the subscription's page (303), so reloading it does not check again.
    outcome = done.outcome
    if outcome is None:
        told = "checking"
    elif outcome.error:
        told = "failed"  # the page shows the error the check left on the subscription
    else:
        told = f"checked&new={len(outcome.downloads)}&deferred={outcome.deferred}"
    return RedirectResponse(f"/subscriptions/{subscription_id}?done={told}", status_code=303)


@router.post("/subscriptions/{subscription_id}/pause", response_model=None)
async def pause(
    request: Request, owner: OwnerDep, subscriptions: SubscriptionsDep, subscription_id: Id
) -> Response:
    await _typed(request)
    await subscriptions.pause(subscription_id, owner, True)
    return RedirectResponse(f"/subscriptions/{subscription_id}?done=paused", status_code=303)


@router.post("/subscriptions/{subscription_id}/resume", response_model=None)
async def resume(
    request: Request, owner: OwnerDep, subscriptions: SubscriptionsDep, subscription_id: Id
) -> Response:
    await _typed(request)
    await subscriptions.pause(subscription_id, owner, False)
    return RedirectResponse(f"/subscriptions/{subscription_id}?done=resumed", status_code=303)


@router.post("/subscriptions/{subscription_id}/delete", response_model=None)
async def delete(
    request: Request, owner: OwnerDep, subscriptions: SubscriptionsDep, subscription_id: Id
) -> Response:
    await _typed(request)
    await subscriptions.delete(subscription_id, owner)
    return RedirectResponse("/subscriptions?done=removed", status_code=303)


def _problems(problem: HaulError | None) -> dict[str, str]:
    return dict(getattr(problem, "problems", {}) or {})


async def _list(
    request: Request,
    owner: Owner,
    subscriptions: SubscriptionService,
    profiles: Any,
    *,
    note: str | None = None,
    problem: HaulError | None = None,
    typed: dict[str, str] | None = None,
    code: int = 200,
) -> HTMLResponse:
    items = await subscriptions.visible(owner)
    return page(
        request,
        "subscriptions.html",
        status_code=code,
        nav="subscriptions",
        items=items,
        show_owner=owner.is_admin and any(s["owner"] != owner.key for s in items),
        profiles=await profiles.list(),
        note=note,
        problem=problem.message if problem is not None else None,
        problems=_problems(problem),
        typed=typed or {},
    )


async def _detail(
    request: Request,
    owner: Owner,
    subscriptions: SubscriptionService,
    profiles: Any,
    subscription_id: int,
    *,
    note: str | None = None,
    problem: HaulError | None = None,
    typed: dict[str, str] | None = None,
    code: int = 200,
) -> HTMLResponse:
    item = await subscriptions.get(subscription_id, owner)
    entries, _ = await subscriptions.entries(subscription_id, owner, limit=200)
    return page(
        request,
        "subscription.html",
        status_code=code,
        nav="subscriptions",
        s=item,
        show_owner=owner.is_admin and item["owner"] != owner.key,
        entries=entries,
        profiles=await profiles.list(),
        note=note,
        problem=problem.message if problem is not None else None,
        problems=_problems(problem),
        typed=typed,
    )
