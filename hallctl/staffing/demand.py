"""A day's demand per pool of windows and hour, learned from the tickets a hall has served."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from hallctl.config import HallConfig
from hallctl.core.calendar import local_time
from hallctl.staffing.plan import HourDemand


@dataclass(frozen=True, slots=True)
class Served:
    """One called ticket as the plan needs it."""

    issued_at: float
    day: str
    matters: tuple[str, ...]
    window: int
    window_seconds: float | None  # first call to finish (or to the no-show); None while still open


#: The called tickets of a span of business days: ``(first_day, last_day)``.
SERVED_SQL = """
    select issued_at, day, matters, window, first_called_at, finished_at, no_show_at
    from tickets
    where day between ? and ? and window is not null and first_called_at is not null
"""


def served_from_rows(rows: Iterable[Sequence[Any]]) -> list[Served]:
    """Rows of :data:`SERVED_SQL` as :class:`Served`."""
    out = []
    for issued_at, day, matters, window, called, finished, no_show in rows:
        end = finished if finished is not None else no_show
        seconds = max(0.0, end - called) if end is not None else None
        out.append(Served(issued_at, day, tuple(json.loads(matters)), window, seconds))
    return out


def hourly_demand(
    config: HallConfig, served: Iterable[Served], *, weekday: int | None = None
) -> tuple[list[HourDemand], int]:
    """(demand per pool and hour averaged over the days seen, the number of days).

    A ticket belongs to the pool (window kind) of the window that called it; its hour is the hour it was
    issued in, local time. ``weekday`` (0 = Monday) keeps only that day of the week: Mondays are busier.
    """
    zone = ZoneInfo(config.hall.timezone)
    kinds: dict[int, str] = {w.id: w.kind for w in config.windows}
    arrivals: dict[tuple[str, int], int] = defaultdict(int)
    window_time: dict[str, list[float]] = defaultdict(list)
    targets: dict[tuple[str, int], float] = defaultdict(float)
    days: set[str] = set()
    for t in served:
        found = kinds.get(t.window)
        if found is None:
            continue  # a window since removed from the hall
        kind = found
        when = local_time(t.issued_at, zone)
        if weekday is not None and when.weekday() != weekday:
            continue
        days.add(t.day)
        key = (kind, when.hour)
        arrivals[key] += 1
        targets[key] += 60 * max(
            (config.matter(m).target_wait_minutes for m in t.matters if m in config.matters_by_code),
            default=0,
        )
        if t.window_seconds is not None:
            window_time[kind].append(t.window_seconds)
    if not days:
        return [], 0
    demand = []
    for (pool, hour), count in sorted(arrivals.items()):
        times = window_time.get(pool)
        if not times:
            continue
        demand.append(
            HourDemand(
                pool=pool,
                hour=hour,
                arrivals_per_hour=count / len(days),
                service_seconds=max(1.0, sum(times) / len(times)),
                target_seconds=max(1.0, targets[(pool, hour)] / count),
            )
        )
    return demand, len(days)


def windows_by_kind(config: HallConfig) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for w in config.windows:
        counts[w.kind] += 1
    return dict(counts)
