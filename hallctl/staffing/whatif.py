""" "What if one more integrated window opened at 10:00?" — the rest of today, simulated from the live hall.

The demand is learned from history (the same weekday of the last weeks) as an arrival profile for the
simulator; both the hall as it stands and the hall with the extra windows run on the same citizens (the
same seeds), several times, so the difference is the windows and not luck.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hallctl.config import WEEKDAYS, HallConfig, WindowKind
from hallctl.core import routing
from hallctl.core.calendar import local_time
from hallctl.core.model import WindowStatus
from hallctl.core.state import HallState
from hallctl.sim.demand import Demand, parse_profile
from hallctl.sim.plan import DAY, Shift, clock
from hallctl.sim.results import SERVED, SimResult
from hallctl.sim.runs import simulate
from hallctl.sim.setups import add_windows
from hallctl.staffing.demand import PastTicket


def learned_demand(config: HallConfig, past: Iterable[PastTicket], *, weekday: int | None) -> Demand | None:
    """An arrival profile learned from the past tickets (``weekday`` only, when given); None without any.

    Streams are (matters, channel) with their mean arrivals per clock hour; a single matter's service time
    is its mean window time (bundles take the sum of their matters, as the simulator does); the no-show
    chance is the hall's. Streams no window serves any more are left out.
    """
    zone = config.hall.zone
    profiles = [config.profiles[w.profile] for w in config.windows]
    days: set[str] = set()
    counts: dict[tuple[tuple[str, ...], str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    service: dict[str, list[float]] = defaultdict(list)
    called = no_shows = 0
    for p in past:
        if weekday is not None and local_time(p.issued_at, zone).weekday() != weekday:
            continue
        if not all(m in config.matters_by_code for m in p.matters):
            continue
        days.add(p.day)
        counts[(p.matters, p.channel)][local_time(p.issued_at, zone).hour] += 1
        if p.no_show:
            no_shows += 1
        elif p.window_seconds is not None:  # served and finished
            called += 1
            if len(p.matters) == 1:
                service[p.matters[0]].append(p.window_seconds)
    if not days:
        return None
    streams = [
        {
            "matters": list(matters),
            "channel": channel,
            "per_hour": {str(h): n / len(days) for h, n in hours.items()},
        }
        for (matters, channel), hours in sorted(counts.items())
        if routing.can_any_serve(profiles, matters, channel)
    ]
    if not streams:
        return None
    profile = {
        "description": f"learned from {len(days)} day(s)",
        "weekdays": [WEEKDAYS[weekday]] if weekday is not None else [],
        "service": {m: {"mean_minutes": max(0.1, sum(v) / len(v) / 60)} for m, v in service.items() if v},
        "no_show": {"probability": no_shows / (called + no_shows) if called + no_shows else 0.0},
        "arrivals": streams,
    }
    return parse_profile(profile, config, "history")


KIND_NAMES = {"integrated": "综合窗口", "consultation": "咨询窗口", "dedicated": "专窗"}


class WhatIfError(ValueError):
    """A question the hall cannot answer (no window of that kind, too few clerks); said in both languages."""

    def __init__(self, zh: str, en: str) -> None:
        # Both in args: the error crosses back from the worker process by pickle, which rebuilds it from them.
        super().__init__(zh, en)
        self.zh, self.en = zh, en

    def __str__(self) -> str:
        return self.en


@dataclass(frozen=True, slots=True)
class WhatIf:
    kind: WindowKind  # the kind of window to add or take away
    extra: int  # how many more windows (negative: how many fewer, e.g. clerks sent to lunch)
    start: str  # HH:MM, local time; now when it is already past


def _with_extra_windows(
    state: HallState, what: WhatIf, now: float
) -> tuple[HallConfig, HallState, dict[int, list[Shift]]]:
    """The hall with ``what.extra`` more windows of the kind staffed from the start time: windows of that
    kind nobody works at first, then new ones with the profile of the kind's first window."""
    config = state.config
    spare = [w.id for w in state.windows.values() if w.kind == what.kind and w.clerk is None]
    chosen = spare[: what.extra]
    state = copy.deepcopy(state, memo={id(config): config})
    if len(chosen) < what.extra:
        model = next((w for w in config.windows if w.kind == what.kind), None)
        if model is None:
            raise WhatIfError(
                f"本厅没有{KIND_NAMES[what.kind]}", f"the hall has no {what.kind} window to copy"
            )
        config, added = add_windows(config, model.profile, what.extra - len(chosen), kind=what.kind)
        state.config = config
        for w in config.windows:
            if w.id in added:
                state.windows[w.id] = WindowStatus(
                    w.id,
                    w.kind,
                    w.name,
                    w.zone,
                    w.profile,
                    config.profiles[w.profile],
                    idle_since=now,
                    day=state.day,
                )
        state.profiles_changed()
        chosen += added
    begin = _start_second(state, what, now)
    return config, state, {w: [Shift(begin, DAY)] for w in chosen}


def _with_fewer_windows(state: HallState, what: WhatIf, now: float) -> dict[int, list[Shift]]:
    """``-what.extra`` of the kind's working windows (the highest numbers first) stop at the start time."""
    working = sorted(
        (w.id for w in state.windows.values() if w.kind == what.kind and w.clerk is not None), reverse=True
    )
    if len(working) < -what.extra:
        raise WhatIfError(
            f"现有柜员在岗的{KIND_NAMES[what.kind]}只有 {len(working)} 个",
            f"only {len(working)} {what.kind} window(s) have a clerk now",
        )
    end = _start_second(state, what, now)
    return {w: [Shift(0.0, end)] if end > 0 else [] for w in working[: -what.extra]}


def _start_second(state: HallState, what: WhatIf, now: float) -> float:
    local = local_time(now, state.config.hall.zone)
    return max(clock(what.start), float(local.hour * 3600 + local.minute * 60 + local.second))


def _hourly_waits(results: Sequence[SimResult], now: float) -> tuple[dict[int, float], float | None]:
    """Mean wait per local hour of issue over every run, and over all, of tickets served after ``now``."""
    waits: dict[int, list[float]] = defaultdict(list)
    for result in results:
        for t in result.tickets:
            if t.outcome == SERVED and t.called_at is not None and t.called_at >= now:
                waits[datetime.fromtimestamp(t.issued_at, result.zone).hour].append(t.called_at - t.issued_at)
    every = [w for ws in waits.values() for w in ws]
    hourly = {h: sum(ws) / len(ws) for h, ws in sorted(waits.items())}
    return hourly, (sum(every) / len(every) if every else None)


def what_if(state: HallState, now: float, demand: Demand, what: WhatIf, *, runs: int = 6) -> dict[str, Any]:
    """The rest of today as it stands and with more (or fewer) windows: mean waits per hour, in minutes."""
    clock(what.start)  # raises ValueError naming a bad time
    if what.extra > 0:
        config, changed, plan = _with_extra_windows(state, what, now)
    elif what.extra < 0:
        config, changed, plan = state.config, state, _with_fewer_windows(state, what, now)
    else:
        raise WhatIfError("增减窗口数不能为 0", "extra: 0 changes nothing")
    base = [simulate(state.config, demand, seed=s, start=(state, now)) for s in range(runs)]
    more = [simulate(config, demand, seed=s, start=(changed, now), window_plan=plan) for s in range(runs)]
    base_hourly, base_mean = _hourly_waits(base, now)
    more_hourly, more_mean = _hourly_waits(more, now)

    def minutes(v: float | None) -> float | None:
        return None if v is None else round(v / 60.0, 1)

    return {
        "kind": what.kind,
        "extra": what.extra,
        "from": what.start,
        "windows": sorted(plan),
        "runs": runs,
        "demand": demand.description,
        "mean_wait_minutes": {"now": minutes(base_mean), "with_change": minutes(more_mean)},
        "hours": [
            {
                "hour": h,
                "now": minutes(base_hourly.get(h)),
                "with_change": minutes(more_hourly.get(h)),
            }
            for h in sorted(set(base_hourly) | set(more_hourly))
        ],
    }
