"""A day's demand per pool of windows and hour, learned from the tickets a hall has served."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from hallctl.config import HallConfig, Profile, WindowKind
from hallctl.core import routing
from hallctl.core.calendar import local_time
from hallctl.staffing.plan import HourDemand


@dataclass(frozen=True, slots=True)
class PastTicket:
    """One ticket of the history the advice learns from (the plan, the what-if's demand)."""

    issued_at: float
    day: str
    matters: tuple[str, ...]
    channel: str
    window: int | None  # the window that last had it; None if never called
    called: bool
    no_show: bool
    window_seconds: float | None  # first call to finish (or to the no-show press); None if not ended


#: The tickets of a span of business days, ``(first_day, last_day)``, voided ones left out.
HISTORY_SQL = """
    select issued_at, day, matters, channel, state, window, first_called_at, finished_at, no_show_at
    from tickets
    where day between ? and ? and state != 'voided'
"""


def past_from_rows(rows: Iterable[Sequence[Any]]) -> list[PastTicket]:
    """Rows of :data:`HISTORY_SQL` as :class:`PastTicket`."""
    out = []
    for issued_at, day, matters, channel, state, window, called, finished, no_show_at in rows:
        no_show = state == "no_show" or (no_show_at is not None and finished is None)
        end = finished if finished is not None else no_show_at
        seconds = max(0.0, end - called) if called is not None and end is not None else None
        codes = tuple(json.loads(matters))
        out.append(PastTicket(issued_at, day, codes, channel, window, called is not None, no_show, seconds))
    return out


def hourly_demand(
    config: HallConfig, past: Iterable[PastTicket], *, weekday: int | None = None
) -> tuple[list[HourDemand], int]:
    """(demand per pool and hour averaged over the days seen, the number of days).

    A called ticket belongs to the pool its matters and channel go to (:func:`pool_of`, the same as for a
    forecast and for the simulator's check, wherever it was in fact served); its hour is the hour it was
    issued in, local time. ``weekday`` (0 = Monday) keeps only that day of the week: Mondays are busier.
    """
    zone = ZoneInfo(config.hall.timezone)
    pools: dict[tuple[tuple[str, ...], str], str | None] = {}
    arrivals: dict[tuple[str, int], int] = defaultdict(int)
    window_time: dict[str, list[float]] = defaultdict(list)
    targets: dict[tuple[str, int], float] = defaultdict(float)
    days: set[str] = set()
    for t in past:
        if not t.called or not all(m in config.matters_by_code for m in t.matters):
            continue
        stream = (t.matters, t.channel)
        if stream not in pools:
            pools[stream] = pool_of(config, *stream)
        found = pools[stream]
        if found is None:
            continue  # no window of the hall serves it any more
        kind = found
        when = local_time(t.issued_at, zone)
        if weekday is not None and when.weekday() != weekday:
            continue
        days.add(t.day)
        key = (kind, when.hour)
        arrivals[key] += 1
        targets[key] += 60 * max(config.matter(m).target_wait_minutes for m in t.matters)
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


POOL_ORDER: tuple[WindowKind, ...] = ("consultation", "integrated", "dedicated")


def pool_of(config: HallConfig, matters: tuple[str, ...], channel: str) -> WindowKind | None:
    """The pool a stream goes to: the consultation windows for questions, else the integrated windows when
    their profiles serve it, else the dedicated ones (a large enterprise, say); None when none serves it."""
    for kind in POOL_ORDER:
        profiles = [config.profiles[w.profile] for w in config.windows if w.kind == kind]
        if routing.can_any_serve(profiles, matters, channel):
            return kind
    return None


def helpers_by_pool(config: HallConfig, windows: Iterable[tuple[WindowKind, Profile]]) -> dict[str, int]:
    """For each pool, how many of these windows (kind, profile) of another kind also take its tickets by
    their own profile — the example hall's green-channel window does ordinary work when no one is green.
    Erlang's advice counts a pool's own windows only; this says who else lends a hand."""
    streams: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
    for matter in config.matters:
        for channel in ("normal", "enterprise", "green", "appointment"):
            found = pool_of(config, (matter.code,), channel)
            if found is not None:
                streams[found].append(((matter.code,), channel))
    windows = list(windows)
    helpers: dict[str, int] = {}
    for pool, own in streams.items():
        helpers[pool] = sum(
            1
            for kind, profile in windows
            if kind != pool and any(routing.serves(profile, matters, channel) for matters, channel in own)
        )
    return helpers


def windows_by_kind(config: HallConfig) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for w in config.windows:
        counts[w.kind] += 1
    return dict(counts)
