"""Staffing advice on the dashboard (人员配置建议): the windows each hour needs, from the last four weeks."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import multiprocessing
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from aiohttp import web

from hallctl.core.calendar import business_day
from hallctl.core.errors import Conflict, HallError, Invalid
from hallctl.core.model import AT_WINDOW, QUEUED, Role, WindowState
from hallctl.core.state import HallState
from hallctl.sim.demand import Demand
from hallctl.sim.plan import clock
from hallctl.staffing.demand import (
    HISTORY_SQL,
    PastTicket,
    helpers_by_pool,
    hourly_demand,
    past_from_rows,
)
from hallctl.staffing.plan import advise
from hallctl.staffing.whatif import WhatIf, WhatIfError, learned_demand, what_if
from hallctl.web.endpoints import Context, endpoint

READ_ADVICE = frozenset({Role.MANAGER, Role.AUDITOR})
LEARN_DAYS = 28
# A what-if of a 40-window hall takes seconds; one that has not answered in this long never will.
WHAT_IF_SECONDS = 120.0


def _level(ctx: Context) -> float:
    raw = ctx.request.query.get("service_level", "0.8")
    try:
        level = float(raw)
    except ValueError:
        level = -1.0
    if not 0 < level < 1:
        raise Invalid(
            "bad_query",
            "参数 service_level 应为 0 与 1 之间的小数",
            "service_level must be a number between 0 and 1",
            field="service_level",
        )
    return level


async def _last_weeks(
    ctx: Context, now: float | None = None
) -> tuple[dt.date, tuple[str, str], list[PastTicket]]:
    """Today, and the tickets of the LEARN_DAYS business days before it (the span, the tickets). Four weeks
    of a busy hall are tens of thousands of rows: read on the stats thread, not the loop."""
    service = ctx.service
    today = dt.date.fromisoformat(business_day(service.clock() if now is None else now, service.state.zone))
    span = ((today - dt.timedelta(days=LEARN_DAYS)).isoformat(), (today - dt.timedelta(days=1)).isoformat())
    past = await service.stats.run(lambda conn: past_from_rows(conn.execute(HISTORY_SQL, span)))
    return today, span, past


@endpoint(
    "GET",
    "/api/v1/advice/staffing",
    roles=READ_ADVICE,
    tag="stats",
    summary="Windows each pool needs hour by hour today (Erlang C over the last four weeks' demand)",
    query=(("service_level", "the share to call within each matter's target (default 0.8)"),),
)
async def staffing_advice(ctx: Context) -> dict[str, Any]:
    level = _level(ctx)
    state = ctx.service.state
    today, (first, last), past = await _last_weeks(ctx)
    # The same weekday first (Mondays are busier than Thursdays); every day when that finds nothing.
    demand, days = hourly_demand(state.config, past, weekday=today.weekday())
    basis = "weekday"
    if not days:
        demand, days = hourly_demand(state.config, past)
        basis = "all_days"
    open_windows = [w for w in state.windows.values() if w.state is WindowState.OPEN]
    open_now: Counter[str] = Counter(w.kind for w in open_windows)
    helping = helpers_by_pool(state.config, ((w.kind, w.profile) for w in open_windows))
    plan = advise(demand, service_level=level, staffed=dict(open_now))
    return {
        "day": today.isoformat(),
        "learned_from": {"from": first, "to": last, "days": days, "basis": basis},
        "service_level": level,
        "open_now": dict(open_now),
        # open windows of other kinds that also take each pool's tickets (not in Erlang's count)
        "helping": {pool: n for pool, n in helping.items() if n},
        "hours": [a.as_dict() for a in plan],
    }


# -- what if: the rest of today simulated with more windows --------------------------------------------
class WhatIfFailed(HallError):
    status = 503


class WhatIfRunner:
    """One worker process for what-if runs, started on first use, one run at a time.

    A run is seconds of CPU for a big hall: on the event loop it would stall every call. ``forkserver``:
    the daemon itself (threads, sockets) is never forked. One run at a time, so a manager clicking twice
    never takes the core the forecaster uses.
    """

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = asyncio.Lock()

    async def run(self, state: HallState, now: float, demand: Demand, what: WhatIf) -> dict[str, Any]:
        async with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver"))
            loop = asyncio.get_running_loop()
            job = loop.run_in_executor(self._pool, what_if, state, now, demand, what)
            try:
                return await asyncio.wait_for(job, WHAT_IF_SECONDS)
            except WhatIfError as exc:  # the question does not fit the hall (e.g. no window of that kind)
                raise Invalid("bad_query", f"无法试算：{exc.zh}", f"cannot simulate: {exc}") from None
            except (BrokenProcessPool, TimeoutError):
                # A dead or stuck worker must not answer every later what-if with the same failure.
                await self.close()
                raise WhatIfFailed(
                    "what_if_failed", "试算未能完成，请稍后重试", "the simulation did not finish; try again"
                ) from None

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


WHAT_IF: web.AppKey[WhatIfRunner] = web.AppKey("what_if", WhatIfRunner)


def setup_advice(app: web.Application) -> None:
    runner = app[WHAT_IF] = WhatIfRunner()

    async def close(_: web.Application) -> None:
        await runner.close()

    app.on_cleanup.append(close)


def _live_part(state: HallState) -> HallState:
    """The state with only the tickets still in play: what the simulation starts from, and far less to
    pickle on the loop than a whole day of finished tickets."""
    slim = copy.copy(state)
    slim.tickets = {i: t for i, t in state.tickets.items() if t.state in QUEUED or t.state in AT_WINDOW}
    return slim


def _what(ctx: Context) -> WhatIf:
    query = ctx.request.query
    kind = query.get("kind", "integrated")
    if kind not in ("integrated", "consultation", "dedicated"):
        raise Invalid(
            "bad_query",
            "参数 kind 应为 integrated、consultation 或 dedicated",
            "kind must be integrated, consultation or dedicated",
            field="kind",
        )
    start = query.get("from", "")
    try:
        clock(start)
    except ValueError:
        raise Invalid(
            "bad_query",
            "参数 from 应为时刻，如 10:00",
            "from must be a time of day such as 10:00",
            field="from",
        ) from None
    extra = ctx.int_query("extra", 1, -10, 10)
    if extra == 0:
        raise Invalid(
            "bad_query", "参数 extra 不能为 0", "extra must not be 0 (that changes nothing)", field="extra"
        )
    return WhatIf(kind, extra, start)  # type: ignore[arg-type]  # kind checked above


@endpoint(
    "GET",
    "/api/v1/advice/what-if",
    roles=READ_ADVICE,
    tag="stats",
    summary="The rest of today simulated as it stands and with more or fewer windows from a time",
    query=(
        ("kind", "the kind of window to add: integrated (default), consultation, dedicated"),
        (
            "extra",
            "how many more windows (1–10, default 1); negative: how many fewer (e.g. -1 for a lunch break)",
        ),
        ("from", "from this time of day, HH:MM (now when already past)"),
    ),
)
async def what_if_advice(ctx: Context) -> dict[str, Any]:
    what = _what(ctx)
    service = ctx.service
    now = service.clock()
    today, (first, last), past = await _last_weeks(ctx, now)
    demand = learned_demand(service.config, past, weekday=today.weekday()) or learned_demand(
        service.config, past, weekday=None
    )
    if demand is None:
        raise Conflict(
            "no_history",
            "近四周没有取号记录，无法预测今天余下时段的客流",
            "no tickets in the last four weeks to learn today's demand from",
        )
    answer = await ctx.request.app[WHAT_IF].run(_live_part(service.state), now, demand, what)
    answer["learned_from"] = {"from": first, "to": last}
    return answer
