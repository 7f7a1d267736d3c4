"""The settings page (administrators): limits, retries and retention while haul runs, the
download profiles, and a retention run on demand with the space it freed."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import zip_longest
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from haul.core.bandwidth import parse_schedule, rate_input, schedule_text
from haul.core.extractor_args import EXAMPLE as EXTRACTOR_ARGS_EXAMPLE
from haul.core.extractor_args import as_text as extractor_args_text
from haul.core.profiles import (
    AUDIO_FORMATS,
    CONTAINER_WITH_AUDIO,
    CONTAINERS,
    FLAGS,
    QUALITY_WITHOUT_AUDIO,
    REMOVABLE,
    SPONSORBLOCK_CATEGORIES,
)
from haul.core.sites import parse_rules, rule_problems
from haul.core.units import number_text
from haul.errors import HaulError, InvalidFields
from haul.service.config import ConfigService
from haul.service.profiles import ProfileService
from haul.service.retention import RetentionService
from haul.service.speeds import speeds_now
from haul.web.deps import AdminDep, ConfigDep, ProfilesDep, RetentionDep
from haul.web.errors import status_for
from haul.web.ui import csrf
from haul.web.ui.render import page

router = APIRouter(include_in_schema=False)

PROFILE_FIELDS = (
    "name",
    "format",
    "container",
    "subtitles",
    "output_template",
    "target_dir",
    "audio_format",
    "audio_quality",
    "proxy",
    "extractor_args",
    "concurrent_fragments",
)
#: The profile's yes/no choices as the form names them (haul.core.profiles.FLAGS).
FLAG_LABELS = {
    "embed_metadata": "Embed title, uploader, date and description as tags",
    "embed_thumbnail": "Embed the thumbnail as cover picture",
    "embed_chapters": "Embed chapters",
    "embed_subtitles": "Embed the subtitles",
    "write_thumbnail": "Keep the thumbnail as an image file",
    "write_info_json": "Keep yt-dlp's page information (.info.json)",
    "write_nfo": "Write an NFO for Kodi and Jellyfin (.nfo)",
}
CATEGORY_FIELDS = ("sponsorblock_remove", "sponsorblock_mark")
#: The profile's sentences that name other fields, worded with the form's labels.
FORM_SENTENCES = {
    CONTAINER_WITH_AUDIO: 'Container is for video; with "Audio only" chosen, leave it at '
    '"as it comes".',
    QUALITY_WITHOUT_AUDIO: 'Audio quality needs a format chosen under "Audio only".',
}
LABELS = {
    "limit_global": "Downloads at once (everyone)",
    "limit_per_owner": "Downloads at once (per person)",
    "over_limit": "Over a limit",
    "retry_max_attempts": "Automatic retries",
    "retry_base_delay": "First retry after (seconds)",
    "retry_max_delay": "Longest wait between retries (seconds)",
    "retention_days": "Keep finished downloads (days)",
    "anonymous_retention_days": "Keep anonymous visitors' downloads (days)",
    "site_rules": "Site rules",
    "speed_limit_global": "Download speed (everyone)",
    "speed_limit_per_owner": "Download speed (per person)",
    "speed_schedule": "Speed schedule",
    "speed_timezone": "Time zone of the schedule",
}
#: Empty rows the site rules table offers for new rules.
BLANK_RULES = 3


def _rule_rows(form: Any) -> list[dict[str, Any]]:
    """The site rules table as typed: one rule a row with a domain (rows without are
    dropped); an empty number is none (no limit, no pause)."""
    rows = []
    columns = zip_longest(
        form.getlist("site_rule_domain"),
        form.getlist("site_rule_max"),
        form.getlist("site_rule_sleep"),
        form.getlist("site_rule_connections"),
        fillvalue="",
    )
    for domain, most, sleep, connections in columns:
        domain, most, sleep = str(domain).strip(), str(most).strip(), str(sleep).strip()
        connections = str(connections).strip()
        if not domain:
            continue
        row = {"domain": domain, "max_transfers": most or None, "sleep_seconds": sleep or 0}
        if connections:
            row["connections"] = connections
        rows.append(row)
    return rows


def _same_rules(rows: list[dict[str, Any]], value: Any) -> bool:
    try:
        return bool([r.as_json() for r in parse_rules(rows)] == value)
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class SettingsServices:
    """What the settings page shows and changes."""

    config: ConfigService
    profiles: ProfileService
    retention: RetentionService


def _services(
    config: ConfigDep, profiles: ProfilesDep, retention: RetentionDep
) -> SettingsServices:
    return SettingsServices(config, profiles, retention)


ServicesDep = Annotated[SettingsServices, Depends(_services)]


def _shown(value: Any, kind: str = "") -> str:
    if value is None:
        return "none"
    if kind == "schedule":  # one window a line, as people write it
        return schedule_text(parse_schedule(value)) if value else ""
    if kind == "rate" and isinstance(value, int):
        return rate_input(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_text(value)
    return str(value)


def _same_schedule(text: str, value: Any) -> bool:
    try:
        return bool([w.as_json() for w in parse_schedule(text)] == value)
    except ValueError:
        return False


@router.get("/settings", response_class=HTMLResponse)
async def settings_page(request: Request, services: ServicesDep, admin: AdminDep) -> HTMLResponse:
    return await _render(request, services)


@router.get("/settings/profiles", response_model=None)
@router.get("/settings/retention", response_model=None)
async def form_address(request: Request, admin: AdminDep) -> Response:
    """The address a refused profile form (or a retention run) is drawn at, opened again
    (a bookmark, the address bar): the settings page, at that part."""
    part = request.url.path.rsplit("/", 1)[-1]
    return RedirectResponse(f"/settings#{part}", status_code=303)


@router.post("/settings", response_model=None)
async def save_settings(request: Request, services: ServicesDep, admin: AdminDep) -> Response:
    """Save what changed. A setting whose "default" box is ticked goes back to its default;
    one whose box is unticked is stored (even when it equals the default: it then stays when
    the environment's default changes)."""
    form = await request.form()
    csrf.check(request, str(form.get(csrf.FIELD, "")))
    changes: dict[str, object] = {}
    typed: dict[str, Any] = {}
    for entry in services.config.listing():
        key = entry["key"]
        if entry["type"] == "rules":
            rows = _rule_rows(form)
            typed[key] = rows
            if not _same_rules(rows, entry["value"]):
                changes[key] = rows
            continue
        kind = entry["type"]
        text = str(form.get(key, "")).strip()
        typed[key] = text
        if kind == "schedule":  # no default box: an empty schedule is none
            if not _same_schedule(text or "[]", entry["value"]):
                changes[key] = text or []
            continue
        shown_now, shown_default = _shown(entry["value"], kind), _shown(entry["default"], kind)
        # "default" ticked means the default, unless a new value was typed over it.
        typed_over = text not in ("", shown_now, shown_default)
        if form.get(f"{key}__default") == "true" and not typed_over:
            if entry["source"] == "config":
                changes[key] = None
        elif text != shown_now or entry["source"] == "default":
            changes[key] = text
    try:
        await services.config.update(changes)
    except InvalidFields as exc:
        problems = dict(exc.problems)
        rule_notes: dict[int, str] = {}
        for key, rows in typed.items():
            if key in problems and isinstance(rows, list):
                rule_notes = rule_problems(rows)
                if rule_notes:
                    bad = len(rule_notes)
                    problems[key] = (
                        f"{bad} rule{'s are' if bad != 1 else ' is'} not right: "
                        "see the note beside each."
                    )
        return await _render(
            request,
            services,
            problems=problems,
            typed=typed,
            rule_notes=rule_notes,
            code=status_for(exc),
        )
    return RedirectResponse("/settings?saved=1#limits", status_code=303)


@router.post("/settings/profiles", response_model=None)
async def save_profile(
    request: Request,
    services: ServicesDep,
    admin: AdminDep,
    original: Annotated[str, Form(max_length=100)] = "",
    is_default: Annotated[bool, Form()] = False,
    delete: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Add a profile (no ``original``), change one, or delete one."""
    form = await request.form()
    csrf.check(request, str(form.get(csrf.FIELD, "")))
    if delete:
        try:
            await services.profiles.delete(original)
        except HaulError as exc:
            return await _render(
                request, services, profile_problems={"name": exc.message}, code=status_for(exc)
            )
        return RedirectResponse("/settings?saved=1#profiles", status_code=303)
    given: dict[str, Any] = {}
    for field in PROFILE_FIELDS:
        text = str(form.get(field, "")).strip()
        if field == "subtitles":
            given[field] = [part.strip() for part in text.replace(" ", ",").split(",") if part]
        elif field == "extractor_args":
            given[field] = text  # yt-dlp's text form or JSON; empty: none
        else:
            given[field] = text or None
    given["is_default"] = is_default
    for flag in FLAGS:
        given[flag] = form.get(flag) == "true"
    for field in CATEGORY_FIELDS:
        given[field] = [str(c) for c in form.getlist(field)]
    typed: dict[str, Any] = {key: str(form.get(key, "")) for key in PROFILE_FIELDS}
    typed |= {key: given[key] for key in (*FLAGS, *CATEGORY_FIELDS)}
    try:
        if original:
            await services.profiles.update(original, given)
        else:
            await services.profiles.create(given)
    except InvalidFields as exc:
        return await _render(
            request,
            services,
            profile_problems={k: FORM_SENTENCES.get(m, m) for k, m in exc.problems.items()},
            profile_typed={**typed, "original": original},
            code=status_for(exc),
        )
    except HaulError as exc:
        return await _render(
            request,
            services,
            profile_problems={"name": exc.message},
            profile_typed={**typed, "original": original},
            code=status_for(exc),
        )
    return RedirectResponse("/settings?saved=1#profiles", status_code=303)


@router.post("/settings/retention", response_class=HTMLResponse)
async def run_retention(
    request: Request,
    services: ServicesDep,
    admin: AdminDep,
    dry_run: Annotated[bool, Form()] = False,
    csrf_field: Annotated[str, Form(alias=csrf.FIELD)] = "",
) -> HTMLResponse:
    """Expire what is old enough now (or only count it), and show what that freed."""
    csrf.check(request, csrf_field)
    report = await services.retention.run(dry_run=dry_run)
    return await _render(request, services, report=report.as_json())


async def _render(
    request: Request,
    services: SettingsServices,
    *,
    problems: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
    profile_problems: dict[str, str] | None = None,
    profile_typed: dict[str, Any] | None = None,
    report: dict[str, Any] | None = None,
    rule_notes: dict[int, str] | None = None,
    code: int = 200,
) -> HTMLResponse:
    settings = await services.config.settings()
    for entry in settings:
        entry["label"] = LABELS.get(entry["key"], entry["key"].replace("_", " "))
        kind = entry["type"]
        entry["shown"] = (typed or {}).get(entry["key"], _shown(entry["value"], kind))
        entry["default_shown"] = _shown(entry["default"], kind)
        if entry["type"] == "rules":
            rows = (typed or {}).get(entry["key"], entry["value"])
            blank = {
                "domain": "",
                "max_transfers": None,
                "sleep_seconds": None,
                "connections": None,
            }
            entry["rows"] = [*rows, *([blank] * BLANK_RULES)]
            entry["default_shown"] = ", ".join(r["domain"] for r in entry["default"]) or "none"
    return page(
        request,
        "settings.html",
        status_code=code,
        nav="settings",
        settings=settings,
        problems=problems or {},
        rule_notes=rule_notes or {},
        profiles=[
            {**p, "extractor_args_text": extractor_args_text(p["extractor_args"])}
            for p in await services.profiles.list()
        ],
        profile_problems=profile_problems or {},
        profile_typed=profile_typed,
        containers=CONTAINERS,
        audio_formats=AUDIO_FORMATS,
        flags=[(flag, FLAG_LABELS[flag]) for flag in FLAGS],
        sponsorblock_removable=REMOVABLE,
        sponsorblock_categories=SPONSORBLOCK_CATEGORIES,
        extractor_args_example=EXTRACTOR_ARGS_EXAMPLE,
        last_run=await services.retention.last_run(),
        report=report,
        saved=request.query_params.get("saved") == "1",
        speeds=speeds_now(services.config.current),
    )
