"""What a simulation leaves: a record per ticket and per window, and the figures made from them (waits,
service level, no-shows, abandonment, utilisation) per matter, channel, window and hour of the day."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hallctl.config import Channel

SERVED, NO_SHOW, ABANDONED, UNSERVED = "served", "no_show", "abandoned", "unserved"


@dataclass(slots=True)
class TicketRecord:
    id: int
    number: str
    matters: tuple[str, ...]
    channel: Channel
    issued_at: float
    target_seconds: float  # the matter's target wait (a bundle: the strictest of its matters)
    called_at: float | None = None  # first call
    started_at: float | None = None
    finished_at: float | None = None
    window: int | None = None
    outcome: str = UNSERVED  # served | no_show | abandoned (left before the call) | unserved (end of run)
    live: bool = False  # already in the hall when a run from a live state began

    @property
    def label(self) -> str:
        return "+".join(self.matters)

    @property
    def wait(self) -> float | None:
        """Seconds from issue to the first call, for a ticket that was served."""
        return self.called_at - self.issued_at if self.outcome == SERVED and self.called_at else None


@dataclass(slots=True)
class WindowRecord:
    id: int
    kind: str
    profile: str
    served: int = 0
    busy: list[tuple[float, float]] = field(default_factory=list)  # a ticket at the window (or recalled)
    staffed: list[tuple[float, float]] = field(default_factory=list)  # a clerk logged in

    @property
    def busy_seconds(self) -> float:
        return sum(b - a for a, b in self.busy)

    @property
    def staffed_seconds(self) -> float:
        return sum(b - a for a, b in self.staffed)


@dataclass(slots=True)
class SimResult:
    hall: str
    setup: str
    zone: ZoneInfo
    seed: int
    dates: list[str]
    always_open: bool
    tickets: list[TicketRecord]
    windows: dict[int, WindowRecord]
    refused: Counter[str]  # why citizens got no ticket: hall_closed, daily_cap_reached, ...


def percentile(ordered: list[float], q: float) -> float | None:
    """The nearest-rank percentile of sorted values (None when there are none)."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def group_figures(tickets: Iterable[TicketRecord]) -> dict[str, Any]:
    outcomes: Counter[str] = Counter()
    waits: list[float] = []
    services: list[float] = []
    within = 0
    targets: set[float] = set()
    for t in tickets:
        outcomes[t.outcome] += 1
        targets.add(t.target_seconds)
        wait = t.wait
        if wait is not None:
            waits.append(wait)
            within += wait <= t.target_seconds
            if t.finished_at is not None and t.started_at is not None:
                services.append(t.finished_at - t.started_at)
    waits.sort()
    served = len(waits)
    return {
        "tickets": sum(outcomes.values()),
        "served": served,
        "no_shows": outcomes[NO_SHOW],
        "abandoned": outcomes[ABANDONED],
        "unserved": outcomes[UNSERVED],
        "wait_mean_s": _r(sum(waits) / served) if served else None,
        "wait_p50_s": _r(percentile(waits, 0.5)),
        "wait_p90_s": _r(percentile(waits, 0.9)),
        "wait_max_s": _r(waits[-1] if waits else None),
        "p_wait": _r(sum(1 for w in waits if w > 0) / served, 4) if served else None,
        # Against each ticket's own target; over the served (a citizen who left counts in "abandoned").
        "service_level": _r(within / served, 4) if served else None,
        "target_wait_minutes": _r(min(targets) / 60.0) if len(targets) == 1 else None,
        "service_mean_s": _r(sum(services) / len(services)) if services else None,
    }


def _hour_bins(intervals: Iterable[tuple[float, float]], zone: ZoneInfo, bins: list[float]) -> None:
    """Add the seconds of each interval to the local clock hour(s) it falls in."""
    for start, end in intervals:
        offset = datetime.fromtimestamp(start, zone).utcoffset()
        shift = offset.total_seconds() if offset else 0.0
        moment = start
        while moment < end:
            local = moment + shift
            hour_end = (math.floor(local / 3600.0) + 1) * 3600.0 - shift
            piece = min(end, hour_end) - moment
            bins[int((local // 3600) % 24)] += piece
            moment += piece


def by_hour(result: SimResult) -> list[dict[str, Any]]:
    """Per local clock hour (over all days): arrivals per day, mean wait of tickets issued then, and the
    share of staffed window time spent busy."""
    busy, staffed = [0.0] * 24, [0.0] * 24
    for window in result.windows.values():
        _hour_bins(window.busy, result.zone, busy)
        _hour_bins(window.staffed, result.zone, staffed)
    issued: Counter[int] = Counter()
    waits: dict[int, list[float]] = defaultdict(list)
    for t in result.tickets:
        hour = datetime.fromtimestamp(t.issued_at, result.zone).hour
        issued[hour] += 1
        if t.wait is not None:
            waits[hour].append(t.wait)
    days = max(1, len(result.dates))
    out = []
    for hour in range(24):
        if not issued[hour] and not staffed[hour]:
            continue
        w = waits[hour]
        out.append(
            {
                "hour": hour,
                "tickets_per_day": round(issued[hour] / days, 2),
                "wait_mean_s": _r(sum(w) / len(w)) if w else None,
                "utilisation": _r(min(1.0, busy[hour] / staffed[hour]), 4) if staffed[hour] else None,
            }
        )
    return out


def summarize(result: SimResult) -> dict[str, Any]:
    """Every figure of a run as JSON-ready data (what ``hallctl simulate --json`` prints)."""
    by_matter: dict[str, list[TicketRecord]] = defaultdict(list)
    by_channel: dict[str, list[TicketRecord]] = defaultdict(list)
    for t in result.tickets:
        by_matter[t.label].append(t)
        by_channel[t.channel].append(t)
    windows = []
    busy_total = staffed_total = 0.0
    for w in sorted(result.windows.values(), key=lambda w: w.id):
        busy, staffed = w.busy_seconds, w.staffed_seconds
        busy_total += busy
        staffed_total += staffed
        windows.append(
            {
                "id": w.id,
                "kind": w.kind,
                "profile": w.profile,
                "served": w.served,
                "staffed_hours": round(staffed / 3600.0, 2),
                "utilisation": _r(busy / staffed, 4) if staffed else None,
            }
        )
    return {
        "hall": result.hall,
        "setup": result.setup,
        "seed": result.seed,
        "days": len(result.dates),
        "dates": result.dates,
        "always_open": result.always_open,
        "overall": group_figures(result.tickets),
        "by_matter": {k: group_figures(v) for k, v in sorted(by_matter.items())},
        "by_channel": {k: group_figures(v) for k, v in sorted(by_channel.items())},
        "utilisation": _r(busy_total / staffed_total, 4) if staffed_total else None,
        "windows": windows,
        "by_hour": by_hour(result),
        "refused": dict(sorted(result.refused.items())),
    }
