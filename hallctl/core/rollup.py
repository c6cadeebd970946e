"""Figures over any period, grouped: per-ticket facts, aggregates that merge exactly, and the rows a closed
business day is rolled up into (docs/stats.md).

Counts, sums (in whole milliseconds, so merging never rounds), maxima and histograms add up exactly, so a
year's figures merge from a dozen monthly rows. Percentiles are exact when every ticket of a group is
read raw, or when the group is one day's rollup (its exact p50/p90 are kept); otherwise they are read from
the merged histogram, within the bin error of ``hallctl.core.histogram``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from hallctl.core import histogram
from hallctl.core.calendar import local_time
from hallctl.core.model import Ticket
from hallctl.core.state import HallState
from hallctl.core.stats import percentile, service_seconds, wait_seconds

#: What a period can be grouped by, besides time: one of these at a time (each has its own rollup rows).
DIMENSIONS = ("matter", "window", "clerk", "channel", "hour")
#: Time groups, combinable with one dimension (``day,matter``).
TIME_GROUPS = ("day", "month")
#: The rollup rows of one day: the whole hall ("") and each dimension.
ROLLUP_DIMENSIONS = ("", *DIMENSIONS)
RATING_LEVELS = (5, 4, 3, 2, 1)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the figures need of one ticket."""

    day: str  # the business day it was issued on
    hour: int  # local hour of issue
    matters: tuple[str, ...]
    channel: str
    window: int | None  # where it was last called, served or parked
    clerk: str | None
    state: str
    wait: float | None  # seconds from issue to first call
    service: float | None  # seconds from start to finish
    target: float | None  # seconds: the longest target of its matters (None: no configured matter)
    rating: int | None  # the last 好差评 level given for it

    def keys(self, dimension: str) -> tuple[str, ...]:
        """The group keys this ticket counts under ("" when it has none, e.g. never at a window)."""
        if dimension == "matter":
            return self.matters  # a bundle counts under each of its matters
        if dimension == "window":
            return ("" if self.window is None else str(self.window),)
        if dimension == "clerk":
            return (self.clerk or "",)
        if dimension == "channel":
            return (self.channel,)
        if dimension == "hour":
            return (f"{self.hour:02d}",)
        if dimension == "day":
            return (self.day,)
        if dimension == "month":
            return (self.day[:7],)
        return ("",)


Bins = Sequence[int] | bytes  # a histogram, or its stored bytes (hallctl.core.histogram.encode)


@dataclass(slots=True)
class Moments:
    """Durations of a group: count, sum, max and histogram; raw values are kept as they are (exact
    percentiles while nothing rolled up is merged in) and binned only when a histogram is needed."""

    count: int = 0
    total_ms: int = 0
    maximum: float | None = None
    raw: list[float] = field(default_factory=list)
    packed: int = 0  # the merged rollups' histograms, packed (hallctl.core.histogram.pack)
    pending: list[bytes] = field(default_factory=list)  # stored histograms not unpacked yet
    parts: int = 0  # rollup rows merged in
    stored: tuple[float | None, float | None] | None = None  # exact p50/p90 of the one merged day row

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total_ms += round(seconds * 1000)
        if self.maximum is None or seconds > self.maximum:
            self.maximum = seconds
        self.raw.append(seconds)

    def add_rollup(
        self,
        count: int,
        total_ms: int,
        maximum: float | None,
        bins: Bins,
        exact: tuple[float | None, float | None] | None,
    ) -> None:
        if count == 0:
            return
        self.count += count
        self.total_ms += total_ms
        if maximum is not None and (self.maximum is None or maximum > self.maximum):
            self.maximum = maximum
        if isinstance(bins, bytes):
            self.pending.append(bins)  # unpacked only if a merge needs it: one day's row has exact ones
        else:
            self.packed += histogram.pack(bins)
        self.parts += 1
        self.stored = exact if self.parts == 1 else None

    @property
    def exact(self) -> bool:
        if not self.parts:
            return True
        return self.parts == 1 and not self.raw and self.stored is not None

    def histogram(self) -> list[int]:
        """Every value's bin: the merged rollups' and the raw values'."""
        if self.pending:  # folded in once, so asking again (a month's running heads) costs nothing
            self.packed += sum(histogram.packed_from(blob) for blob in self.pending)
            self.pending.clear()
        bins = histogram.unpack(self.packed)
        for value in self.raw:
            histogram.add(bins, value)
        return bins

    def percentiles(self) -> tuple[float | None, float | None]:
        if not self.parts:
            data = sorted(self.raw)
            return percentile(data, 50), percentile(data, 90)
        if self.exact and self.stored is not None:
            return self.stored
        bins = self.histogram()
        return histogram.percentile(bins, 50, self.maximum), histogram.percentile(bins, 90, self.maximum)

    def summary(self) -> dict[str, float | int | None]:
        p50, p90 = self.percentiles()
        return {
            "count": self.count,
            "mean": round(self.total_ms / self.count / 1000, 1) if self.count else None,
            "p50": p50,
            "p90": p90,
            "max": self.maximum,
        }


@dataclass(slots=True)
class Aggregate:
    """The figures of one group, built from facts and rollup rows in any order."""

    issued: int = 0
    served: int = 0
    no_show: int = 0
    voided: int = 0
    within_target: int = 0  # called tickets whose wait was within their target
    ratings: list[int] = field(default_factory=lambda: [0] * 5)  # index level - 1
    unrated: int = 0  # served without a rating
    waits: Moments = field(default_factory=Moments)
    services: Moments = field(default_factory=Moments)

    def add(self, f: Facts) -> None:
        self.issued += 1
        if f.state == "done":
            self.served += 1
            if f.rating is None:
                self.unrated += 1
        elif f.state == "no_show":
            self.no_show += 1
        elif f.state == "voided":
            self.voided += 1
        if f.rating is not None and 1 <= f.rating <= 5:
            self.ratings[f.rating - 1] += 1
        if f.wait is not None:
            self.waits.add(f.wait)
            if f.target is not None and f.wait <= f.target:
                self.within_target += 1
        if f.service is not None:
            self.services.add(f.service)

    def add_row(self, row: RollupRow) -> None:
        self.issued += row.issued
        self.served += row.served
        self.no_show += row.no_show
        self.voided += row.voided
        self.within_target += row.within_target
        for i, n in enumerate(row.ratings):
            self.ratings[i] += n
        self.unrated += row.unrated
        self.waits.add_rollup(row.wait_count, row.wait_ms, row.wait_max, row.wait_bins, row.wait_exact)
        self.services.add_rollup(
            row.service_count, row.service_ms, row.service_max, row.service_bins, row.service_exact
        )

    def figures(self) -> dict[str, Any]:
        called = self.waits.count
        return {
            "issued": self.issued,
            "served": self.served,
            "no_show": self.no_show,
            "voided": self.voided,
            "no_show_rate": round(self.no_show / self.issued, 4) if self.issued else None,
            "wait_seconds": self.waits.summary(),
            "service_seconds": self.services.summary(),
            "service_level": round(self.within_target / called, 4) if called else None,
            "ratings": {
                **{str(level): self.ratings[level - 1] for level in RATING_LEVELS},
                "unrated": self.unrated,
            },
            "percentiles_exact": self.waits.exact and self.services.exact,
        }


class RollupRow(NamedTuple):  # a tuple: a year's query reads thousands, and tuples are built fast
    """One stored rollup: a period (a day ``2026-03-02`` or a month ``2026-03``), a dimension ("" for
    the whole hall) and a group key. Days keep their exact percentiles; months do not (None)."""

    period: str
    dimension: str
    key: str
    issued: int
    served: int
    no_show: int
    voided: int
    within_target: int
    ratings: tuple[int, ...]
    unrated: int
    wait_count: int
    wait_ms: int
    wait_max: float | None
    wait_exact: tuple[float | None, float | None] | None
    wait_bins: Bins
    service_count: int
    service_ms: int
    service_max: float | None
    service_exact: tuple[float | None, float | None] | None
    service_bins: Bins


def _row(period: str, dimension: str, key: str, agg: Aggregate, *, exact: bool) -> RollupRow:
    w, s = agg.waits, agg.services
    return RollupRow(
        period=period,
        dimension=dimension,
        key=key,
        issued=agg.issued,
        served=agg.served,
        no_show=agg.no_show,
        voided=agg.voided,
        within_target=agg.within_target,
        ratings=tuple(agg.ratings),
        unrated=agg.unrated,
        wait_count=w.count,
        wait_ms=w.total_ms,
        wait_max=w.maximum,
        wait_exact=w.percentiles() if exact else None,
        wait_bins=tuple(w.histogram()),
        service_count=s.count,
        service_ms=s.total_ms,
        service_max=s.maximum,
        service_exact=s.percentiles() if exact else None,
        service_bins=tuple(s.histogram()),
    )


def group(facts: Iterable[Facts], dimension: str) -> dict[str, Aggregate]:
    """Aggregates per key of one dimension ("" : the whole hall under the key "")."""
    out: dict[str, Aggregate] = {}
    for f in facts:
        for key in f.keys(dimension):
            agg = out.get(key)
            if agg is None:
                agg = out[key] = Aggregate()
            agg.add(f)
    return out


def day_rollup(day: str, facts: Sequence[Facts]) -> list[RollupRow]:
    """The rows a closed business day is rolled up into: the hall and every dimension's groups, with
    their exact percentiles. The same facts always give the same rows."""
    rows = []
    for dimension in ROLLUP_DIMENSIONS:
        for key, agg in sorted(group(facts, dimension).items()):
            rows.append(_row(day, dimension, key, agg, exact=True))
    return rows


def running_rollups(days: Sequence[str], rows_by_day: dict[str, list[RollupRow]]) -> list[RollupRow]:
    """For each day ``d`` of ``days`` in order, rows merging the days from the first up to ``d``: a
    month's heads (days in calendar order) or tails (in reverse order); each row's period is ``d``."""
    running: dict[tuple[str, str], Aggregate] = {}
    out: list[RollupRow] = []
    for day in days:
        for row in rows_by_day.get(day, ()):
            agg = running.get((row.dimension, row.key))
            if agg is None:
                agg = running[(row.dimension, row.key)] = Aggregate()
            agg.add_row(row)
        out += [_row(day, dim, key, agg, exact=False) for (dim, key), agg in sorted(running.items())]
    return out


def month_rollup(month: str, day_rows: Iterable[RollupRow]) -> list[RollupRow]:
    """A month's rows merged from its days' rows (exact but for the percentiles, read from histograms)."""
    merged: dict[tuple[str, str], Aggregate] = {}
    for row in day_rows:
        agg = merged.get((row.dimension, row.key))
        if agg is None:
            agg = merged[(row.dimension, row.key)] = Aggregate()
        agg.add_row(row)
    return [_row(month, dim, key, agg, exact=False) for (dim, key), agg in sorted(merged.items())]


def ticket_facts(state: HallState, t: Ticket, rating: int | None = None) -> Facts:
    """The facts of a ticket of the live state (the store reads its rows into the same facts)."""
    known = [m for m in t.matters if m in state.config.matters_by_code]
    return Facts(
        day=t.day,
        hour=local_time(t.issued_at, state.zone).hour,
        matters=t.matters,
        channel=t.channel,
        window=t.window,
        clerk=t.clerk,
        state=t.state.value,
        wait=wait_seconds(t),
        service=service_seconds(t),
        target=max(state.config.matter(m).target_wait_minutes for m in known) * 60.0 if known else None,
        rating=rating,
    )


def today_by_matter(state: HallState) -> dict[str, dict[str, Any]]:
    """Today's figures per configured matter from the live state (for /metrics; ratings not included)."""
    facts = [ticket_facts(state, t) for t in state.tickets.values() if t.day == state.day]
    groups = group(facts, "matter")
    return {m.code: groups.get(m.code, Aggregate()).figures() for m in state.config.matters}
