"""What the speed limits and the schedule say now (pure over the runtime settings in effect):
the global limit in force and where it comes from, the per-owner limit, whether a pause window
holds the built-in engine, and when that changes next. Read by the API, the pages and the CLI;
the workers apply the same settings (:mod:`haul.worker.bandwidth`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from haul.core.bandwidth import in_force, rate_text, zone
from haul.core.config import RuntimeValues


def held_message(values: RuntimeValues, now: datetime | None = None) -> str | None:
    """What a queued download of the built-in engine says while a pause window holds it
    (None: no pause window in force)."""
    found = speeds_now(values, now)
    if not found["paused"]:
        return None
    until = found["until"]
    if until is None:
        return "Waiting: the speed schedule pauses downloads."
    return f"Waiting: the speed schedule pauses downloads until {found['until_text']}."


def speeds_now(values: RuntimeValues, now: datetime | None = None) -> dict[str, Any]:
    """The speed limits in force at ``now`` (default: this moment), as the API shows them."""
    at = now or datetime.now(UTC)
    try:
        tz = zone(values.speed_timezone)
    except ValueError:
        tz = zone("UTC")
    state = in_force(values.speed_schedule, at, tz)
    limit = state.limit(values.speed_limit_global)
    window = state.window
    if state.pause:
        summary = "Paused by the schedule"
    else:
        summary = f"Global limit {rate_text(limit)}"
        if window is not None:
            summary += " (by the schedule)"
    until_text = None
    if state.until is not None:
        until_text = f"{state.until.astimezone(tz):%a %H:%M}"
        summary += f" until {until_text}"
    changes_to = None
    if state.until is not None:
        after = in_force(values.speed_schedule, state.until, tz)
        changes_to = (
            "paused"
            if after.pause
            else f"global limit {rate_text(after.limit(values.speed_limit_global))}"
        )
    return {
        "global_limit": limit,
        "global_limit_configured": values.speed_limit_global,
        "owner_limit": values.speed_limit_per_owner,
        "paused": state.pause,
        "window": window.as_json() if window is not None else None,
        "until": state.until,
        "then": changes_to,
        "timezone": values.speed_timezone,
        "schedule": [w.as_json() for w in values.speed_schedule],
        "summary": summary,
        "until_text": until_text,
    }
