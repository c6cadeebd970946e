"""A staffing plan checked by the simulator, and the plan's demand read from a forecast (an arrival profile).

Erlang C treats each hour alone and assumes exponential service times; the simulator runs the plan as a
day — windows staffed hour by hour as advised, the real routing, lognormal service, the queue carried from
one hour into the next — and reports the service level each hour really gets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from hallctl.config import HallConfig, WindowKind
from hallctl.sim.demand import Demand
from hallctl.sim.plan import DEFAULT_START_DATE, Shift
from hallctl.sim.results import SERVED
from hallctl.sim.runs import simulate
from hallctl.sim.setups import add_windows
from hallctl.staffing.demand import pool_of
from hallctl.staffing.plan import HourAdvice, HourDemand


def demand_from_profile(config: HallConfig, demand: Demand) -> list[HourDemand]:
    """Per pool and hour: the streams' arrivals, their mean service and target (arrival-weighted)."""
    arrivals: dict[tuple[str, int], float] = defaultdict(float)
    work: dict[tuple[str, int], float] = defaultdict(float)
    targets: dict[tuple[str, int], float] = defaultdict(float)
    for stream in demand.streams:
        pool = pool_of(config, stream.matters, stream.channel)
        if pool is None:
            continue
        service = sum(demand.service[m].mean_seconds for m in stream.matters)
        target = 60.0 * max(config.matter(m).target_wait_minutes for m in stream.matters)
        for hour in range(24):
            rate = stream.rate(hour)
            if rate > 0:
                key = (pool, hour)
                arrivals[key] += rate
                work[key] += rate * service
                targets[key] += rate * target
    return [
        HourDemand(pool, hour, rate, work[(pool, hour)] / rate, targets[(pool, hour)] / rate)
        for (pool, hour), rate in sorted(arrivals.items())
    ]


def staffed_by_plan(
    config: HallConfig, plan: Sequence[HourAdvice]
) -> tuple[HallConfig, dict[int, list[Shift]]]:
    """The hall staffed hour by hour as advised: in each pool the first n windows work in an hour that
    advises n (windows are added when the hall has fewer); a pool's windows not needed stay closed."""
    wanted: dict[str, dict[int, int]] = defaultdict(dict)
    for advice in plan:
        wanted[advice.demand.pool][advice.demand.hour] = advice.windows
    shifts: dict[int, list[Shift]] = {}
    for pool, hours in wanted.items():
        kind: WindowKind = pool  # type: ignore[assignment]  # pools are window kinds
        ids = [w.id for w in config.windows if w.kind == kind]
        need = max(hours.values())
        if need > len(ids):
            model = next(w for w in config.windows if w.kind == kind)
            config, added = add_windows(config, model.profile, need - len(ids), kind=kind)
            ids += added
        for rank, window in enumerate(ids):
            on = sorted(h for h, n in hours.items() if n > rank)
            shifts[window] = _merge_hours(on)
    return config, shifts


def _merge_hours(hours: list[int]) -> list[Shift]:
    out: list[Shift] = []
    for h in hours:
        if out and out[-1].end == h * 3600:
            out[-1] = Shift(out[-1].start, (h + 1) * 3600)
        else:
            out.append(Shift(h * 3600, (h + 1) * 3600))
    return out


@dataclass(frozen=True, slots=True)
class Simulated:
    tickets: int
    service_level: float | None  # share called within the target
    mean_wait_seconds: float | None


def check(
    config: HallConfig,
    demand: Demand,
    plan: Sequence[HourAdvice],
    *,
    days: int,
    seed: int,
    weekday: int | None = None,
) -> dict[tuple[str, int], Simulated]:
    """Simulate ``days`` days staffed as the plan says; the figures per pool and hour of issue. Windows of
    pools the plan does not cover keep the hall's hours."""
    planned, shifts = staffed_by_plan(config, plan)
    start = DEFAULT_START_DATE  # a Monday
    if weekday is not None:
        start += timedelta(days=weekday)
    result = simulate(planned, demand, days, seed, window_plan=shifts, start_date=start, setup="plan")
    waits: dict[tuple[str, int], list[tuple[float, float]]] = defaultdict(list)
    pools: dict[tuple[tuple[str, ...], str], str | None] = {}
    for t in result.tickets:
        if t.outcome != SERVED or t.called_at is None:
            continue
        # Judged by the pool whose demand the ticket is (wherever it was served: a dedicated window may
        # help the integrated ones), so each row answers for the demand it planned for.
        stream = (t.matters, t.channel)
        pool = pools[stream] if stream in pools else pools.setdefault(stream, pool_of(planned, *stream))
        if pool is None:
            continue
        hour = datetime.fromtimestamp(t.issued_at, result.zone).hour
        waits[(pool, hour)].append((t.called_at - t.issued_at, t.target_seconds))
    out = {}
    for key, pairs in waits.items():
        within = sum(1 for w, target in pairs if w <= target)
        out[key] = Simulated(
            len(pairs), round(within / len(pairs), 4), round(sum(w for w, _ in pairs) / len(pairs), 1)
        )
    return out
