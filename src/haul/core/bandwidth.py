"""Download speed limits (pure: every clock is passed in): how a limit is written, a token
bucket that holds one, and the speed schedule that sets the global limit or pauses transfers
by weekday and time of day.

A limit is a number of bytes per second; None means no limit (so does 0 where a person writes
it). People write limits as ``"2M"``, ``"500K"``, ``"1.5MB/s"`` or ``"2 MiB/s"``: decimal units
as haul shows sizes (:mod:`haul.core.units`: 1 MB = 1,000,000 bytes), binary ones when the
``i`` says so, and a plain number is bytes per second. These same numbers are what an external
client's own speed limit takes (aria2 and qBittorrent count bytes per second, Transmission
kB/s), so a value passes on without changing meaning.

A schedule is a list of windows. Each names weekdays, a start and an end time of day (an end
at or before the start runs past midnight into the next day; ``"24:00"`` is the end of a day)
and either a ``limit`` (the global limit while it is in force) or ``"pause": true``. Times are
wall-clock times in the configured time zone, so a window keeps its hours across a change of
daylight saving time. Where windows overlap, the first listed wins.

People write a schedule as text, one window a line (or separated by ``;``): weekdays, the
times, then a limit or ``pause``, as in ``mon-fri 09:00-17:00 pause`` or ``sat,sun
00:00-08:00 10M`` (:func:`parse_schedule_text`); :func:`schedule_text` writes windows back so.
The API keeps the windows as JSON and takes either form.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from haul.core.units import number_text, size_text

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {
    **{day: i for i, day in enumerate(DAYS)},
    **{
        name: i
        for i, name in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
}
#: The largest limit a person may set (1 TB/s): past it a number means nothing more.
RATE_MAX = 10**12
#: The smallest (1 KB/s): a network read of a few hundred KB must not wait for minutes.
RATE_MIN = 1000
#: The fewest bytes a bucket holds when full: a limit of a few bytes per second still lets a
#: piece of a network read through, one after another.
MIN_BURST = 16 * 1024
#: How many seconds of its rate a bucket lets through at once, after a quiet spell.
BURST_SECONDS = 0.25

#: The mark (a key of a download's ``meta``) on a download whose item an external client
#: holds paused for a pause window of the schedule, until the window ends.
HELD_MARK = "schedule_held"
#: What such a download says meanwhile (as a queued one of the built-in engine does).
HELD_MESSAGE = "Waiting: the speed schedule pauses downloads."

_RATE = re.compile(
    r"^\s*(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>(?P<prefix>[kmgt]?)(?P<binary>i?)"
    r"(?P<b>b?)(?:\s*/\s*s|ps)?)\s*$",
    re.IGNORECASE,
)
_MULTIPLIER = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}
RATE_REQUIREMENT = (
    'a speed such as "2M", "500K" or "1.5MB/s" (bytes per second; 0 or none: no limit)'
)


def parse_rate(value: object) -> int | None:
    """Bytes per second from a number or a text like ``"2M"``, ``"1.5MB/s"``, ``"512KiB/s"``;
    None for no limit (``0``, ``"none"``, ``"unlimited"``, JSON null). ValueError with a
    sentence a person understands for anything else."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"A speed limit must be {RATE_REQUIREMENT}.")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.lower() in ("", "none", "unlimited", "off"):
            return None
        found = _RATE.match(text)
        if found is None:
            raise ValueError(f"{text[:40]!r} is not {RATE_REQUIREMENT}.")
        base = 1024 if found["binary"] else 1000
        if found["binary"] and not found["prefix"]:
            raise ValueError(f"{text[:40]!r} is not {RATE_REQUIREMENT}.")
        number = float(found["number"]) * base ** _MULTIPLIER[found["prefix"].lower()]
    else:
        raise ValueError(f"A speed limit must be {RATE_REQUIREMENT}.")
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"A speed limit must be {RATE_REQUIREMENT}.")
    if number > RATE_MAX:
        raise ValueError(f"A speed limit must be at most {rate_text(RATE_MAX)}.")
    rate = round(number)
    if 0 < rate < RATE_MIN or (number > 0 and rate == 0):
        # slower, one network read would be held for minutes: a stalled transfer
        raise ValueError("A speed limit must be at least 1 KB/s (1000 bytes per second).")
    return rate or None


def rate_text(rate: int | None) -> str:
    """A limit as a person reads it: ``"2.0 MB/s"``; ``"no limit"`` for None."""
    return "no limit" if not rate else f"{size_text(rate)}/s"


def rate_input(rate: int | None) -> str:
    """A limit as a person types it: ``"2M"``, ``"1.5M"``, ``"500K"``, else bytes per second;
    ``""`` for None (no limit)."""
    if not rate:
        return ""
    for unit, size in (("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if rate >= size and rate % (size // 10) == 0:
            return f"{number_text(rate / size)}{unit}"
    return str(rate)


def tightest(*rates: int | None) -> int | None:
    """The smallest of the limits given (None: no limit at all)."""
    found = [r for r in rates if r]
    return min(found) if found else None


K = TypeVar("K", bound=Hashable)


def marked(meta: Mapping[str, Any], held: bool) -> dict[str, Any]:
    """A download's ``meta`` with the :data:`HELD_MARK` set (``held``) or taken off."""
    kept = {key: value for key, value in meta.items() if key != HELD_MARK}
    return {**kept, HELD_MARK: True} if held else kept


def item_limits(
    items: Iterable[tuple[K, str, int | None]],
    owner_limit: int | None,
    elsewhere: Mapping[str, int],
) -> dict[K, int | None]:
    """The limit each item an external client holds is given: its own (``items``: key, owner,
    own limit) and its part of its owner's limit, whichever is tighter, never below
    :data:`RATE_MIN`. An owner's limit is shared by all of the owner's transfers (those of
    ``items`` and, by owner, the ``elsewhere`` ones: the built-in engine's, which take an even
    part each): an item whose own limit is below an even part keeps to its own, and what it
    leaves is shared by the others."""
    listed = list(items)
    limits: dict[K, int | None] = {key: own for key, _, own in listed}
    if not owner_limit:
        return limits
    owners: dict[str, list[tuple[K, int | None]]] = {}
    for key, owner, own in listed:
        owners.setdefault(owner, []).append((key, own))
    for owner, held in owners.items():
        budget, sharing = owner_limit, len(held) + elsewhere.get(owner, 0)
        for key, own in sorted(held, key=lambda entry: entry[1] or owner_limit + 1):
            given = limits[key] = tightest(own, max(RATE_MIN, budget // sharing))
            budget, sharing = max(0, budget - (given or 0)), sharing - 1
    return limits


def by_rate(limits: Mapping[str, int | None]) -> dict[int | None, list[str]]:
    """The keys of ``limits`` grouped by their limit (a client sets one on many at once)."""
    grouped: dict[int | None, list[str]] = {}
    for key, rate in limits.items():
        grouped.setdefault(rate, []).append(key)
    return grouped


class TokenBucket:
    """A speed limit over a stream of byte counts: :meth:`take` spends what a piece costs and
    says how long to wait before taking more. The bucket may go into debt (a piece larger than
    what it holds is taken whole, and the next wait pays it back), so pieces of any size keep
    the rate on average. No limit (rate None) costs nothing."""

    def __init__(self, rate: int | None, now: float) -> None:
        self._rate: int | None = None
        self._tokens = 0.0
        self._at = now
        self.set_rate(rate, now)

    @property
    def rate(self) -> int | None:
        return self._rate

    @property
    def burst(self) -> float:
        return max(MIN_BURST, (self._rate or 0) * BURST_SECONDS)

    def set_rate(self, rate: int | None, now: float) -> None:
        """Change the limit from ``now`` on: what was earned so far at the old rate stays
        (up to the new burst), and a debt is paid back at the new rate."""
        self._refill(now)
        self._rate = rate or None
        if self._rate is None:
            self._tokens = 0.0
        else:
            self._tokens = min(self._tokens, self.burst)

    def take(self, n: int, now: float) -> float:
        """Spend ``n`` bytes; the seconds to wait before the next piece (0: none)."""
        if self._rate is None:
            return 0.0
        self._refill(now)
        self._tokens -= n
        return 0.0 if self._tokens >= 0 else -self._tokens / self._rate

    def wait(self, now: float) -> float:
        """Seconds until the bucket is out of debt (spending nothing)."""
        if self._rate is None:
            return 0.0
        self._refill(now)
        return 0.0 if self._tokens >= 0 else -self._tokens / self._rate

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._at)
        self._at = max(self._at, now)
        if self._rate is not None:
            self._tokens = min(self.burst, self._tokens + elapsed * self._rate)


# -- the schedule -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """One window of the speed schedule (see the module docstring)."""

    days: frozenset[int]  # 0 = Monday
    start: int  # minutes after midnight, 0..1439
    end: int  # minutes after midnight, 1..1440; at or before start: into the next day
    limit: int | None = None
    pause: bool = False

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def covers(self, weekday: int, minute: float) -> bool:
        """Whether the window is in force on ``weekday`` at ``minute`` after midnight."""
        if not self.crosses_midnight:
            return weekday in self.days and self.start <= minute < self.end
        return (weekday in self.days and minute >= self.start) or (
            (weekday - 1) % 7 in self.days and minute < self.end
        )

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "days": [DAYS[d] for d in sorted(self.days)],
            "from": _hhmm(self.start),
            "to": _hhmm(self.end),
        }
        if self.pause:
            out["pause"] = True
        else:
            out["limit"] = self.limit
        return out

    def describe(self) -> str:
        what = "paused" if self.pause else "no limit"
        if self.limit is not None:
            what = f"limited to {rate_text(self.limit)}"
        return f"{_days_text(self.days)} {_hhmm(self.start)}-{_hhmm(self.end)}: {what}"


@dataclass(frozen=True, slots=True)
class InForce:
    """What the schedule says at a moment: the window in force (None: none), and when that
    changes next (None: never, an empty schedule)."""

    window: Window | None
    until: datetime | None

    @property
    def pause(self) -> bool:
        return self.window is not None and self.window.pause

    def limit(self, configured: int | None) -> int | None:
        """The global limit in force: a limit window's, else the ``configured`` one."""
        if self.window is None or self.window.pause:
            return configured
        return self.window.limit


SCHEDULE_REQUIREMENT = (
    'speed_schedule must be a list of windows such as {"days": ["mon", "fri"], "from": '
    '"09:00", "to": "17:00", "limit": "2M"} or with "pause": true instead of a limit.'
)
MAX_WINDOWS = 100


def parse_schedule(value: object) -> tuple[Window, ...]:
    """The windows of a schedule given as JSON, JSON text or the text form (see the module
    docstring); ValueError naming what is wrong, and where."""
    if isinstance(value, str):
        if value.strip() and not value.lstrip().startswith(("[", "{")):
            return parse_schedule_text(value)
        try:
            value = json.loads(value) if value.strip() else []
        except ValueError:
            raise ValueError(SCHEDULE_REQUIREMENT) from None
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise ValueError(SCHEDULE_REQUIREMENT)
    if len(value) > MAX_WINDOWS:
        raise ValueError(f"speed_schedule may hold at most {MAX_WINDOWS} windows.")
    windows = []
    for i, item in enumerate(value, 1):
        if isinstance(item, Window):
            windows.append(item)
            continue
        try:
            windows.append(_window(item))
        except ValueError as exc:
            raise ValueError(f"speed_schedule window {i}: {exc}") from None
    return tuple(windows)


def _window(item: object) -> Window:
    if not isinstance(item, dict):
        raise ValueError(SCHEDULE_REQUIREMENT)
    unknown = set(item) - {"days", "from", "to", "limit", "pause"}
    if unknown:
        raise ValueError(f"unknown field {sorted(unknown)[0]!r} (days, from, to, limit, pause).")
    days = item.get("days", list(DAYS))
    if isinstance(days, str):
        days = [days]
    if not isinstance(days, list) or not days:
        raise ValueError("days must be a list of weekdays (mon, tue, wed, thu, fri, sat, sun).")
    numbers = set()
    for day in days:
        number = _DAY_NAMES.get(day.strip().lower()) if isinstance(day, str) else None
        if number is None:
            raise ValueError(
                f"{str(day)[:20]!r} is not a weekday (mon, tue, wed, thu, fri, sat, sun)."
            )
        numbers.add(number)
    start = _minute(item.get("from"), "from")
    end = _minute(item.get("to"), "to", end=True)
    if start == 1440:
        raise ValueError("from must be a time of day before 24:00.")
    pause = item.get("pause", False)
    if not isinstance(pause, bool):
        raise ValueError("pause must be true or false.")
    if pause and item.get("limit") is not None:
        raise ValueError("a window either pauses or limits the speed, not both.")
    if not pause and "limit" not in item:
        raise ValueError('a window needs a "limit" (null or 0: no limit) or "pause": true.')
    limit = None if pause else parse_rate(item.get("limit"))
    return Window(frozenset(numbers), start, end, limit, pause)


#: What a line of the schedule's text form looks like, said when one is not.
TEXT_REQUIREMENT = (
    'one window a line: weekdays, the times and a limit or "pause", such as '
    '"mon-fri 09:00-17:00 pause" or "sat,sun 00:00-08:00 10M"'
)
#: Words for several weekdays at once.
_DAY_GROUPS = {
    "daily": tuple(range(7)),
    "everyday": tuple(range(7)),
    "all": tuple(range(7)),
    "weekdays": tuple(range(5)),
    "weekends": (5, 6),
    "weekend": (5, 6),
}
_LINE = re.compile(
    r"^(?:(?P<days>[a-z, -]+?)\s+)?(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})"
    r"\s*:?\s+(?P<what>.+)$",
    re.IGNORECASE,
)


def parse_schedule_text(text: str) -> tuple[Window, ...]:
    """The windows of a schedule in its text form (see the module docstring). Weekdays are
    names (``mon`` or ``monday``), ranges (``mon-fri``, ``fri-mon``), lists of either, or
    ``daily``, ``weekdays``, ``weekends``; left out, every day. The limit is written as any
    limit (``2M``, ``none``), or ``pause``."""
    lines = [line.strip() for line in re.split(r"[;\n]", text) if line.strip()]
    if len(lines) > MAX_WINDOWS:
        raise ValueError(f"speed_schedule may hold at most {MAX_WINDOWS} windows.")
    windows = []
    for number, line in enumerate(lines, 1):
        found = _LINE.fullmatch(line)
        if found is None:
            raise ValueError(f"speed_schedule line {number} ({line[:40]!r}): {TEXT_REQUIREMENT}.")
        try:
            what = found["what"].strip().lower()
            item: dict[str, Any] = {
                "days": [DAYS[d] for d in _days(found["days"] or "daily")],
                "from": found["start"],
                "to": found["end"],
            }
            if what in ("pause", "paused"):
                item["pause"] = True
            else:
                item["limit"] = re.sub(r"^limit(?:ed)?(?:\s+to)?\s+", "", what)
            windows.append(_window(item))
        except ValueError as exc:
            raise ValueError(f"speed_schedule line {number} ({line[:40]!r}): {exc}") from None
    return tuple(windows)


def _days(text: str) -> list[int]:
    days: list[int] = []
    for part in (p.strip().lower() for p in text.replace(" ", ",").split(",")):
        if not part:
            continue
        if part in _DAY_GROUPS:
            days.extend(_DAY_GROUPS[part])
            continue
        first, dash, last = part.partition("-")
        ends = [_DAY_NAMES.get(first), _DAY_NAMES.get(last) if dash else _DAY_NAMES.get(first)]
        if ends[0] is None or ends[1] is None:
            raise ValueError(
                f"{part[:20]!r} is not a weekday (mon, tue, wed, thu, fri, sat, sun), a range "
                "of them (mon-fri), daily, weekdays or weekends."
            )
        day = ends[0]
        days.append(day)
        while day != ends[1]:
            day = (day + 1) % 7
            days.append(day)
    return sorted(set(days))


def schedule_text(windows: Sequence[Window]) -> str:
    """``windows`` in the text form, one a line (:func:`parse_schedule_text` reads it)."""
    return "\n".join(_window_text(w) for w in windows)


def _window_text(window: Window) -> str:
    what = "pause" if window.pause else (rate_input(window.limit) or "none")
    return f"{_days_text(window.days)} {_hhmm(window.start)}-{_hhmm(window.end)} {what}"


def _days_text(days: frozenset[int]) -> str:
    if len(days) == 7:
        return "daily"
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][-1] == 6:  # sun-tue wraps past Monday
        runs[0] = runs.pop() + runs[0]
    parts = [
        ",".join(DAYS[d] for d in r) if len(r) < 3 else f"{DAYS[r[0]]}-{DAYS[r[-1]]}" for r in runs
    ]
    return ",".join(parts)


def _minute(value: object, name: str, *, end: bool = False) -> int:
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
        raise ValueError(f'{name} must be a time of day such as "09:00".')
    hours, minutes = (int(p) for p in value.strip().split(":"))
    if minutes >= 60 or hours > 24 or (hours == 24 and (minutes or not end)):
        raise ValueError(f'{name} must be a time of day such as "09:00" ("24:00" as an end).')
    return hours * 60 + minutes


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ValueError with a sentence when there is none."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(
            f"{name[:60]!r} is not a time zone; give an IANA name such as Europe/Berlin or UTC."
        ) from None


def window_at(windows: Sequence[Window], at: datetime, tz: ZoneInfo) -> Window | None:
    """The window in force at ``at`` (an aware moment), in wall-clock time of ``tz``."""
    local = at.astimezone(tz)
    minute = local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 6e7
    for window in windows:
        if window.covers(local.weekday(), minute):
            return window
    return None


def in_force(windows: Sequence[Window], at: datetime, tz: ZoneInfo) -> InForce:
    """What the schedule says at ``at``, and until when (the next moment at which the pause
    or the limit it sets differs)."""
    if not windows:
        return InForce(None, None)
    now = window_at(windows, at, tz)
    state = _state(now)
    for moment in _boundaries(windows, at, tz):
        if _state(window_at(windows, moment, tz)) != state:
            return InForce(now, moment)
    return InForce(now, None)


def _state(window: Window | None) -> tuple[bool, int | None] | None:
    return None if window is None else (window.pause, window.limit)


def _boundaries(windows: Sequence[Window], at: datetime, tz: ZoneInfo) -> list[datetime]:
    """Every moment after ``at``, within eight days, at which a window starts or ends, or at
    which the clocks of ``tz`` change (a wall-clock time that a change skips or repeats moves
    a window's edge there)."""
    local_day = at.astimezone(tz).date()
    found = set(_transitions(at, at + timedelta(days=9), tz))
    for offset in range(-1, 9):
        day = local_day + timedelta(days=offset)
        for window in windows:
            for minute in (window.start, window.end):
                extra, minute_of_day = divmod(minute, 1440)
                wall = datetime.combine(
                    day + timedelta(days=extra), clock_time(minute_of_day // 60, minute_of_day % 60)
                )
                for fold in (0, 1):  # a repeated hour has the time twice
                    found.add(wall.replace(tzinfo=tz, fold=fold).astimezone(UTC))
    return sorted(moment for moment in found if moment > at)


def _transitions(start: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
    """The moments between ``start`` and ``end`` at which the UTC offset of ``tz`` changes
    (to the second)."""
    found = []
    step = timedelta(hours=1)
    moment = start.astimezone(UTC)
    offset = moment.astimezone(tz).utcoffset()
    while moment < end:
        later = moment + step
        if later.astimezone(tz).utcoffset() != offset:
            low, high = moment, later
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(tz).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            found.append(high.replace(microsecond=0))
            offset = later.astimezone(tz).utcoffset()
        moment = later
    return found
