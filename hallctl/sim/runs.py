"""``simulate``: set up a run of the engine (a fresh hall on its first simulated day, or a copy of a live
hall), run it day by day and hand back the records. Pure, like the engine."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from datetime import date, datetime, time
from itertools import count

from hallctl.config import HallConfig
from hallctl.core.calendar import business_day
from hallctl.core.state import HallState
from hallctl.sim.demand import Demand
from hallctl.sim.engine import BOUNDARY, MIDNIGHT, Run
from hallctl.sim.plan import DEFAULT_START_DATE, SimDay, WindowPlan, check_plan, open_days
from hallctl.sim.results import SimResult


def _counter_tokens() -> Callable[[], str]:
    numbers = count(1)
    return lambda: f"sim-{next(numbers)}"


def simulate(
    config: HallConfig,
    demand: Demand,
    days: int = 1,
    seed: int = 0,
    *,
    start: tuple[HallState, float] | None = None,
    start_date: date = DEFAULT_START_DATE,
    always_open: bool = False,
    window_plan: WindowPlan | None = None,
    setup: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> SimResult:
    """Simulate ``days`` open days of the hall under ``demand``; the same seed gives the same result.

    ``start=(state, now)`` simulates the rest of that day from a live hall instead (the state is copied,
    never changed). ``window_plan`` staffs windows only at the given times of day.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    plan = window_plan or {}
    check_plan(plan, config)
    zone = config.hall.zone
    if start is not None:
        live, now = start
        # The config is frozen and shared; everything else is the run's own copy.
        state = copy.deepcopy(live, memo={id(live.config): live.config})
        always_open = always_open or state.always_open
        first = date.fromisoformat(business_day(now, zone))
        midnight = datetime.combine(first, time(0), zone).timestamp()
        sim_days = open_days(config, 1, first, zone, always_open=always_open)[:1]
        if sim_days[0].date != first.isoformat():
            sim_days = []  # the hall does not open again today: only the people inside are served
    else:
        sim_days = open_days(
            config, days, start_date, zone, always_open=always_open, weekdays=demand.weekdays
        )
        now = sim_days[0].midnight
        state = HallState.new(config, now, always_open=True, make_token=_counter_tokens())
    # The simulator decides when citizens may take tickets (its own spans); the core must not refuse them.
    state.always_open = True
    run = Run(config, demand, seed, plan, state)
    run.spans = _merge([s for d in sim_days for s in d.spans])
    if start is not None:
        run.adopt_live(now)
        if sim_days:
            run.schedule_day(sim_days[0], after=now)
        run.push(now, BOUNDARY, midnight)
        run.run()
    else:
        drive_days(run, sim_days, progress)
    for w, at in list(run.login_at.items()):  # windows still staffed at the end of a live day
        run.windows[w].staffed.append((at, max(at, _last_event(run, w, at))))
    return SimResult(
        hall=config.hall.name,
        setup=setup,
        zone=zone,
        seed=seed,
        dates=[d.date for d in sim_days],
        always_open=always_open,
        tickets=sorted(run.records.values(), key=lambda r: r.id),
        windows=run.windows,
        refused=run.refused,
    )


def drive_days(run: Run, sim_days: list[SimDay], progress: Callable[[int, int], None] | None = None) -> None:
    """Run a fresh hall day after day: each midnight rolls the day; the last day runs until everyone
    still holding a ticket has been served."""
    for index, day in enumerate(sim_days):
        if index:
            run.push(day.midnight, MIDNIGHT)
        run.schedule_day(day)
        run.run(until=day.hour_starts[-1] if index + 1 < len(sim_days) else math.inf)
        if progress is not None:
            progress(index + 1, len(sim_days))


def _merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Touching spans become one (always-open days), so the hall does not close at each midnight."""
    out: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(b, out[-1][1]))
        else:
            out.append((a, b))
    return out


def _last_event(run: Run, w: int, since: float) -> float:
    busy = run.windows[w].busy
    return busy[-1][1] if busy and busy[-1][1] > since else since
