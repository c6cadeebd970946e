"""Staffing advice on the dashboard (人员配置建议): the windows each hour needs, from the last four weeks."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from hallctl.core.calendar import business_day
from hallctl.core.errors import Invalid
from hallctl.core.model import Role, WindowState
from hallctl.staffing.demand import SERVED_SQL, hourly_demand, served_from_rows
from hallctl.staffing.plan import advise
from hallctl.web.endpoints import Context, endpoint

READ_ADVICE = frozenset({Role.MANAGER, Role.AUDITOR})
LEARN_DAYS = 28


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
    today = dt.date.fromisoformat(business_day(ctx.service.clock(), state.zone))
    first, last = today - dt.timedelta(days=LEARN_DAYS), today - dt.timedelta(days=1)
    served = served_from_rows(ctx.service.read(SERVED_SQL, (first.isoformat(), last.isoformat())))
    # The same weekday first (Mondays are busier than Thursdays); every day when that finds nothing.
    demand, days = hourly_demand(state.config, served, weekday=today.weekday())
    basis = "weekday"
    if not days:
        demand, days = hourly_demand(state.config, served)
        basis = "all_days"
    open_now: Counter[str] = Counter(w.kind for w in state.windows.values() if w.state is WindowState.OPEN)
    plan = advise(demand, service_level=level, staffed=dict(open_now))
    return {
        "day": today.isoformat(),
        "learned_from": {"from": first.isoformat(), "to": last.isoformat(), "days": days, "basis": basis},
        "service_level": level,
        "open_now": dict(open_now),
        "hours": [a.as_dict() for a in plan],
    }
