"""Which byte ranges of one file the connections of a segmented download fetch (pure).

A :class:`Plan` knows the file's length, the ranges already on disk and the segments being
fetched. A connection asks it for work with :meth:`Plan.take`: the largest range nobody
fetches yet, else the back half of the segment with the most bytes still to come (work
stealing, as a good download manager does), so connections that start together split the file
into even parts and a fast connection that finishes early helps a slow one instead of idling.
No segment is made smaller than ``min_size``.

Ranges are half-open ``(start, end)`` byte offsets. What a segment fetched is done only once
its bytes are on disk: the caller says how far that is (:meth:`Plan.done_spans`), and that is
what is kept for a resume.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Span = tuple[int, int]

#: Split points are rounded down to this, so segments begin on page boundaries.
ALIGN = 4096


@dataclass(eq=False)
class Segment:
    """One connection's share: bytes ``start`` to ``end``, fetched up to ``pos``."""

    start: int
    pos: int
    end: int

    @property
    def left(self) -> int:
        return max(0, self.end - self.pos)


class Plan:
    """The ranges of a file of ``total`` bytes: done, being fetched, and still missing."""

    def __init__(self, total: int, done: Iterable[Span] = (), *, min_size: int = 1 << 20):
        self.total = total
        self.min_size = max(ALIGN, min_size)
        self._done = merge(s for s in done if 0 <= s[0] < s[1] <= total)
        self._missing = gaps(self._done, total)
        self.active: list[Segment] = []

    @property
    def missing(self) -> list[Span]:
        """The ranges no segment fetches and that are not done."""
        return list(self._missing)

    def first(self) -> Segment | None:
        """The segment at the start of the first missing range (the first connection's,
        whose answer runs on from there), or None when nothing is missing."""
        if not self._missing:
            return None
        return self._claim(0)

    def take(self) -> Segment | None:
        """Work for an idle connection (see the module docstring), or None when none is left
        that is worth a connection."""
        if self._missing:
            index = max(range(len(self._missing)), key=lambda i: _length(self._missing[i]))
            return self._claim(index)
        busiest = max(self.active, key=lambda s: s.left, default=None)
        if busiest is None or busiest.left < 2 * self.min_size:
            return None
        cut = busiest.pos + busiest.left // 2
        cut -= cut % ALIGN
        if cut <= busiest.pos:
            return None
        stolen = Segment(cut, cut, busiest.end)
        busiest.end = cut
        self.active.append(stolen)
        return stolen

    def advance(self, segment: Segment, n: int) -> int:
        """Count ``n`` bytes fetched for ``segment``; returns how many of them belong to it
        (its end may have moved closer while they were on their way)."""
        wanted = min(n, segment.left)
        segment.pos += wanted
        return wanted

    def finish(self, segment: Segment, written: int | None = None) -> None:
        """``segment`` is over: its first ``written`` bytes (default: all fetched) are on
        disk and done; the rest of it goes back to the missing ranges."""
        self.active.remove(segment)
        upto = segment.pos if written is None else min(segment.pos, segment.start + written)
        if upto > segment.start:
            self._done = merge([*self._done, (segment.start, upto)])
        if upto < segment.end:
            self._missing = merge([*self._missing, (upto, segment.end)])

    def done_spans(self, written: Mapping[Segment, int] | None = None) -> list[Span]:
        """What is on disk: the done ranges and, of each active segment, the first
        ``written[segment]`` bytes."""
        spans = list(self._done)
        for segment, count in (written or {}).items():
            upto = min(segment.pos, segment.start + count)
            if upto > segment.start:
                spans.append((segment.start, upto))
        return merge(spans)

    def fetched(self) -> int:
        """Bytes done or fetched by the active segments (what progress shows)."""
        return sum(_length(s) for s in self._done) + sum(s.pos - s.start for s in self.active)

    @property
    def complete(self) -> bool:
        return not self._missing and not self.active and self._done == [(0, self.total)]

    def _claim(self, index: int) -> Segment:
        start, end = self._missing.pop(index)
        segment = Segment(start, start, end)
        self.active.append(segment)
        return segment


def merge(spans: Iterable[Span]) -> list[Span]:
    """``spans`` sorted, with touching and overlapping ones joined; empty ones dropped."""
    out: list[Span] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def gaps(done: list[Span], total: int) -> list[Span]:
    """The ranges of ``(0, total)`` that the merged ``done`` ranges leave out."""
    out: list[Span] = []
    at = 0
    for start, end in done:
        if start > at:
            out.append((at, start))
        at = max(at, end)
    if at < total:
        out.append((at, total))
    return out


def prefix(done: list[Span]) -> int:
    """How many bytes from the file's start the merged ``done`` ranges hold unbroken."""
    return done[0][1] if done and done[0][0] == 0 else 0


def _length(span: Span) -> int:
    return span[1] - span[0]
