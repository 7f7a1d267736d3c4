"""Runtime settings an administrator changes while haul runs (pure): which, and what is valid.

Each editable setting has a default from the environment (:class:`~haul.settings.Settings`);
a value stored in the config table overrides it until it is unset. Values arrive as JSON or
as text (a form field, a command line), so ``"3"`` is as good as ``3``. A setting that may be
empty (no per-owner limit, keep forever) takes the word ``none``: JSON ``null`` in a change
means "back to the default", never "empty".

Keys under ``secret.`` in the config table (a signing key, for instance) are private: they are
no setting, never listed, never changed here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

from haul.core.bandwidth import (
    RATE_REQUIREMENT,
    SCHEDULE_REQUIREMENT,
    Window,
    parse_rate,
    parse_schedule,
    zone,
)
from haul.core.sites import SiteRule, parse_rules
from haul.core.units import duration_text, number_text
from haul.errors import InvalidConfig

SECRET_PREFIX = "secret."  # noqa: S105 (a key prefix, not a secret)
#: The word that stands for an empty value of a setting that may be empty.
NONE_WORD = "none"


def is_private(key: str) -> bool:
    """Whether a config table key holds a secret (never listed or returned)."""
    return key.startswith(SECRET_PREFIX)


@dataclass(frozen=True, slots=True)
class Setting:
    """One editable setting: its type and its limits, as the API describes it."""

    key: str
    type: Literal["integer", "number", "choice", "rules", "rate", "schedule", "timezone"]
    description: str
    minimum: float | None = None
    #: The minimum itself is not allowed (a retention of 0 days makes no sense).
    above_minimum: bool = False
    #: The largest value: past it a number means nothing more, and would overflow the dates
    #: and timers computed from it.
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    #: What ``none`` means for this setting; None: the setting cannot be empty.
    none_means: str | None = None
    unit: str | None = None

    @property
    def nullable(self) -> bool:
        return self.none_means is not None

    def requirement(self) -> str:
        """The sentence a person reads when a value is refused."""
        if self.type == "rules":
            return "site_rules must be a list of rules (see the documentation)."
        if self.type == "rate":
            return f"{self.key} must be {RATE_REQUIREMENT}."
        if self.type == "schedule":
            return SCHEDULE_REQUIREMENT
        if self.type == "timezone":
            return f"{self.key} must be an IANA time zone such as Europe/Berlin or UTC."
        if self.type == "choice":
            rule = f"{self.key} must be one of: {', '.join(self.choices)}"
        else:
            noun = "a whole number" if self.type == "integer" else "a number"
            if self.unit is not None:
                noun += f" of {self.unit}"
            bound = "greater than" if self.above_minimum else "of at least"
            rule = f"{self.key} must be {noun} {bound} {number_text(self.minimum or 0)}"
        if self.none_means is not None:
            rule += f", or {NONE_WORD} ({self.none_means})"
        return rule + "."

    def ceiling(self) -> str:
        """The sentence a person reads when a value is above :attr:`maximum`."""
        most = self.maximum or 0
        said = number_text(most) + (f" {self.unit}" if self.unit is not None else "")
        if self.unit in SECONDS_IN:
            spelled = duration_text(most * SECONDS_IN[self.unit])
            said += f" ({spelled})" if spelled != said else ""
        return f"{self.key} must be at most {said}."


#: Seconds in one of each unit a setting is counted in.
SECONDS_IN = {"seconds": 1, "days": 86400}
#: 30 days in seconds: the longest wait between retries.
MONTH = 30 * 24 * 3600.0
#: The most downloads a limit may allow at once, and the most automatic retries.
LIMIT_MAX = 10_000
ATTEMPTS_MAX = 1_000
#: A century in days: the longest retention.
CENTURY = 36_500.0

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "limit_global",
        "integer",
        "How many downloads may be active at once, across all owners.",
        minimum=1,
        maximum=LIMIT_MAX,
    ),
    Setting(
        "limit_per_owner",
        "integer",
        "How many downloads one owner may have active at once (a user's own limit wins).",
        minimum=1,
        maximum=LIMIT_MAX,
        none_means="no limit",
    ),
    Setting(
        "over_limit",
        "choice",
        "What happens to a download submitted over a limit: it waits its turn (queue), or is "
        "refused with HTTP 429 (reject).",
        choices=("queue", "reject"),
    ),
    Setting(
        "retry_max_attempts",
        "integer",
        "How many times a transfer that failed for a passing reason is tried again by itself.",
        minimum=0,
        maximum=ATTEMPTS_MAX,
    ),
    Setting(
        "retry_base_delay",
        "number",
        "Seconds before the first automatic retry; each further retry waits twice as long.",
        minimum=0,
        maximum=MONTH,
        unit="seconds",
    ),
    Setting(
        "retry_max_delay",
        "number",
        "The longest wait between two automatic retries, in seconds.",
        minimum=0,
        maximum=MONTH,
        unit="seconds",
    ),
    Setting(
        "retention_days",
        "number",
        "Days after which finished downloads of accounts and the local user are removed.",
        minimum=0,
        above_minimum=True,
        maximum=CENTURY,
        none_means="keep forever",
        unit="days",
    ),
    Setting(
        "anonymous_retention_days",
        "number",
        "Days after which finished downloads of anonymous browser sessions are removed.",
        minimum=0,
        above_minimum=True,
        maximum=CENTURY,
        unit="days",
    ),
    Setting(
        "site_rules",
        "rules",
        "Rules for being polite to sites: for a domain (and its subdomains), at most "
        "max_transfers downloads from it at once across every worker, sleep_seconds "
        "between requests to it, and at most connections for one big file (1: one, as IPTV "
        "panels want). A list of objects with domain, max_transfers (1 to 100, or null), "
        "sleep_seconds (0 to 3600) and connections (1 to 16, or null for the setting).",
    ),
    Setting(
        "speed_limit_global",
        "rate",
        "The download speed of everything the built-in engine moves at once, across every "
        'worker, in bytes per second or as "2M", "500K", "1.5MB/s" (a schedule window with a '
        "limit sets it while in force); each external client gets it as its own global limit.",
        none_means="no limit",
        unit="bytes per second",
    ),
    Setting(
        "speed_limit_per_owner",
        "rate",
        "The download speed of one owner's transfers together, on the built-in engine and "
        "the external clients, written as speed_limit_global.",
        none_means="no limit",
        unit="bytes per second",
    ),
    Setting(
        "speed_schedule",
        "schedule",
        "Windows by weekday and time of day that set the global speed limit or pause "
        "transfers (the built-in engine's and the external clients' items), one a line: "
        "weekdays, the times and a limit or pause, "
        'such as "mon-fri 09:00-17:00 pause" or "sat,sun 00:00-08:00 10M" (or as JSON, a '
        'list of {"days": ["mon", "fri"], "from": "09:00", "to": "17:00", "limit": "2M"}); a '
        "window whose end is before its start runs past midnight; the first listed wins.",
    ),
    Setting(
        "speed_timezone",
        "timezone",
        "The time zone the speed schedule's times are read in (an IANA name).",
    ),
)

BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}
KEYS: tuple[str, ...] = tuple(BY_KEY)


@dataclass(frozen=True, slots=True)
class RuntimeValues:
    """The values in effect: the environment's defaults with the stored overrides applied."""

    limit_global: int
    limit_per_owner: int | None
    over_limit: str
    retry_max_attempts: int
    retry_base_delay: float
    retry_max_delay: float
    retention_days: float | None
    anonymous_retention_days: float
    site_rules: tuple[SiteRule, ...] = ()
    speed_limit_global: int | None = None
    speed_limit_per_owner: int | None = None
    speed_schedule: tuple[Window, ...] = ()
    speed_timezone: str = "UTC"

    @classmethod
    def merged(cls, defaults: Mapping[str, Any], stored: Mapping[str, Any]) -> RuntimeValues:
        """``defaults`` (every key; site_rules may be left out: none) overridden by
        ``stored`` (valid values only)."""
        given = {**{k: v for k, v in defaults.items() if k in BY_KEY}, **stored}
        return cls(**{f.name: given[f.name] for f in fields(cls) if f.name in given})


def unknown_key(key: str) -> str:
    return f"There is no setting named {key!r}; the settings are: {', '.join(KEYS)}."


def parse(setting: Setting, value: object) -> Any:
    """The clean value of ``setting`` given as JSON or text; ValueError with the sentence of
    :meth:`Setting.requirement` when it cannot take it. The word ``none`` of a setting that
    may be empty is None."""
    if setting.type == "rules":
        return parse_rules(value)
    if setting.type == "schedule":
        return parse_schedule(value)
    if setting.type == "rate":
        try:
            return parse_rate(value)
        except ValueError as exc:
            raise ValueError(f"{setting.key}: {exc}") from None
    if setting.type == "timezone":
        if not isinstance(value, str):
            raise ValueError(setting.requirement())
        zone(value)  # its sentence names the zone that is not one
        return value.strip()
    if isinstance(value, str):
        value = value.strip()
        if setting.nullable and value.lower() == NONE_WORD:
            return None
    if setting.type == "choice":
        if isinstance(value, str) and value.lower() in setting.choices:
            return value.lower()
        raise ValueError(setting.requirement())
    number = _number(value, whole=setting.type == "integer")
    if number is None or setting.minimum is None:
        raise ValueError(setting.requirement())
    if number < setting.minimum or (setting.above_minimum and number == setting.minimum):
        raise ValueError(setting.requirement())
    if setting.maximum is not None and number > setting.maximum:
        raise ValueError(setting.ceiling())
    return number


def _number(value: object, *, whole: bool) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = int(value) if whole else float(value)
        except ValueError:
            try:
                value = float(value)  # "3.0" is a whole number too
            except ValueError:
                return None
    if isinstance(value, int):
        return value if whole else float(value)
    if not isinstance(value, float) or not math.isfinite(value):
        return None
    if whole:
        return int(value) if value.is_integer() else None
    return value


def stored_form(value: Any) -> Any:
    """A clean value as the config table keeps it (JSON)."""
    if isinstance(value, tuple) and all(isinstance(v, SiteRule | Window) for v in value):
        return [item.as_json() for item in value]
    return value


def shown_form(value: Any) -> Any:
    """A clean value as the API shows it (JSON)."""
    return stored_form(value)


def check_changes(
    changes: Mapping[str, object], *, defaults: Mapping[str, Any], stored: Mapping[str, Any]
) -> dict[str, tuple[bool, Any]]:
    """Check a batch of changes as a whole; raise :class:`InvalidConfig` naming every key
    that is wrong. Returns key -> (keep, value): keep False means back to the default.

    ``changes`` maps keys to values, None meaning back to the default. Besides each value on
    its own, the values in effect afterwards must agree with each other (the first retry
    cannot wait longer than the longest wait).
    """
    problems: dict[str, str] = {}
    clean: dict[str, tuple[bool, Any]] = {}
    for key, value in changes.items():
        setting = BY_KEY.get(key)
        if setting is None:
            problems[key] = unknown_key(key)
            continue
        if value is None:
            clean[key] = (False, None)
            continue
        try:
            clean[key] = (True, parse(setting, value))
        except ValueError as exc:
            problems[key] = str(exc)
    if problems:
        raise InvalidConfig(problems)
    after = dict(stored)
    for key, (keep, value) in clean.items():
        if keep:
            after[key] = value
        else:
            after.pop(key, None)
    values = RuntimeValues.merged(defaults, after)
    if values.retry_base_delay > values.retry_max_delay and (
        "retry_base_delay" in clean or "retry_max_delay" in clean
    ):
        key = "retry_base_delay" if "retry_base_delay" in clean else "retry_max_delay"
        problems[key] = (
            f"retry_base_delay ({duration_text(values.retry_base_delay)}) cannot be more than "
            f"retry_max_delay ({duration_text(values.retry_max_delay)})."
        )
        raise InvalidConfig(problems)
    return clean


def readable(stored: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The stored overrides that are still valid, and a sentence for each one that is not
    (written by hand, or by another version of haul); those fall back to the default."""
    good: dict[str, Any] = {}
    bad: dict[str, str] = {}
    for key, value in stored.items():
        setting = BY_KEY.get(key)
        if setting is None:
            continue
        if value is None and setting.nullable:
            good[key] = None
            continue
        try:
            good[key] = parse(setting, value)
        except ValueError as exc:
            bad[key] = str(exc)
    return good, bad
