"""Figures for the case system (业务经办系统) and managers, and the journal for auditors."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from aiohttp import web

from hallctl.core.calendar import iso
from hallctl.core.model import Role
from hallctl.core.period import is_period_query, parse
from hallctl.core.stats import hall_stats
from hallctl.service import SQLITE_MAX_INT, SQLITE_MIN_INT
from hallctl.store.period_stats import period_stats
from hallctl.web.endpoints import Context, endpoint
from hallctl.web.tabular import download

READ_STATS = frozenset({Role.CASESYS, Role.MANAGER, Role.AUDITOR})


@endpoint(
    "GET",
    "/api/v1/stats",
    roles=READ_STATS,
    tag="stats",
    summary="Live waiting and today's figures per matter, window and channel; with from/to/group_by, "
    "figures over any period (JSON, CSV or XLSX; docs/stats.md)",
    query=(
        ("from", "start of the period, inclusive: a date (2026-03-02) or time; default the start of today"),
        ("to", "end of the period, exclusive: a date or time; default the end of today"),
        (
            "group_by",
            "matter, window, clerk, channel, hour, day or month; or a time and one other: day,matter",
        ),
        ("format", "json (default), csv or xlsx"),
        ("lang", "en for English messages and table headers (default Chinese)"),
    ),
)
async def stats(ctx: Context) -> dict[str, Any] | web.Response:
    service = ctx.service
    query = ctx.request.query
    names = [name for name, _ in query.items()]  # repeats kept: a parameter given twice is refused
    if not is_period_query(names):
        return hall_stats(service.state, service.clock())
    now = service.clock()
    period = parse(query, names, now, service.state.zone)
    answer = await service.stats.run(partial(period_stats, config=service.config, query=period, now=now))
    if period.format == "json":
        return answer
    return download(answer, period.format, ctx.language)


@endpoint(
    "GET",
    "/api/v1/journal",
    roles=frozenset({Role.AUDITOR, Role.MANAGER}),
    tag="stats",
    summary="The audit journal, oldest first, from a sequence number",
    query=(
        ("after", "only rows with a larger seq (default 0)"),
        ("limit", "at most this many (≤1000)"),
        ("ticket", "only rows of this ticket id"),
    ),
)
async def journal(ctx: Context) -> dict[str, Any]:
    after = ctx.int_query("after", 0, SQLITE_MIN_INT, SQLITE_MAX_INT)
    limit = ctx.int_query("limit", 200, 1, 1000)
    ticket = (
        ctx.int_query("ticket", 0, SQLITE_MIN_INT, SQLITE_MAX_INT) if "ticket" in ctx.request.query else None
    )
    sql = "select * from journal where seq > ?"
    params: list[object] = [after]
    if ticket is not None:
        sql += " and ticket = ?"
        params.append(ticket)
    sql += " order by seq limit ?"
    params.append(limit)
    zone = ctx.service.state.zone
    entries = []
    for row in ctx.service.read(sql, tuple(params)):
        entry = dict(row)
        entry["detail"] = json.loads(entry["detail"])
        entry["at_iso"] = iso(entry["at"], zone)
        entries.append(entry)
    return {"journal": entries}
