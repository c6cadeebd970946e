"""Answer a period stats query from the file: rollup rows for the whole rolled-up days and months, the
tickets themselves for the rest (the edges, today, days not rolled up yet), merged per group."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from hallctl.config import HallConfig
from hallctl.core.calendar import iso
from hallctl.core.model import CHANNEL_NAMES
from hallctl.core.period import PeriodQuery, Plan, plan
from hallctl.core.rollup import Aggregate, Facts, RollupRow
from hallctl.store.rollups import FactReader, coverage, read_rows

GroupKey = tuple[str, ...]


def _rows(conn: sqlite3.Connection, the_plan: Plan, dimension: str) -> list[RollupRow]:
    rows: list[RollupRow] = []
    grains = (
        ("month", the_plan.months),
        ("day", the_plan.days),
        ("head", the_plan.heads),
        ("tail", the_plan.tails),
    )
    for grain, periods in grains:
        for first, last in _runs(periods, grain):
            rows += read_rows(conn, grain, dimension, first, last)
    return rows


def _runs(periods: Sequence[str], grain: str) -> list[tuple[str, str]]:
    """Sorted periods as runs of consecutive ones, each read with one range scan: the months of a year
    and the days at its edges, without the days in between that the months already answer."""
    runs: list[tuple[str, str]] = []
    step = _next_month if grain == "month" else _next_day
    for period in periods:
        if runs and step(runs[-1][1]) == period:
            runs[-1] = (runs[-1][0], period)
        else:
            runs.append((period, period))
    return runs


def _next_day(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def _next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def _row_key(row: RollupRow, query: PeriodQuery) -> GroupKey:
    key: list[str] = []
    for name in query.group_by:
        if name == "day":
            key.append(row.period)
        elif name == "month":
            key.append(row.period[:7])
        else:
            key.append(row.key)
    return tuple(key)


def _fact_keys(f: Facts, query: PeriodQuery) -> list[GroupKey]:
    keys: list[GroupKey] = [()]
    for name in query.group_by:
        keys = [(*k, part) for k in keys for part in f.keys(name)]
    return keys


def answer(
    conn: sqlite3.Connection, config: HallConfig, query: PeriodQuery, now: float
) -> tuple[Aggregate, dict[GroupKey, Aggregate], dict[str, int]]:
    """The total and the groups of a query, and what they were made of (for the answer's ``sources``)."""
    zone = config.hall.zone
    first = datetime.fromtimestamp(query.start, zone).date()
    last = datetime.fromtimestamp(query.end, zone).date()
    days, months, spans = coverage(conn, first.isoformat(), last.isoformat())
    total_plan = plan(replace(query, group_by=()), zone, days, months, spans)
    group_plan = plan(query, zone, days, months, spans) if query.group_by else total_plan
    reader = FactReader(config)
    facts = [f for start, end in total_plan.raw for f in reader.between(conn, start, end)]

    total = Aggregate()
    for f in facts:
        total.add(f)
    for row in _rows(conn, total_plan, ""):
        total.add_row(row)

    groups: dict[GroupKey, Aggregate] = {}
    if query.group_by:
        for f in facts:
            for key in _fact_keys(f, query):
                agg = groups.get(key)
                if agg is None:
                    agg = groups[key] = Aggregate()
                agg.add(f)
        for row in _rows(conn, group_plan, query.dimension):
            key = _row_key(row, query)
            agg = groups.get(key)
            if agg is None:
                agg = groups[key] = Aggregate()
            agg.add_row(row)
    sources = {
        "months": len(group_plan.months),
        "days": len(group_plan.days),
        "month_heads_and_tails": len(group_plan.heads) + len(group_plan.tails),
        "raw_spans": len(total_plan.raw),
        "raw_tickets": len(facts),
    }
    return total, groups, sources


def _label(name: str, value: str, config: HallConfig) -> dict[str, Any]:
    if name == "window":
        return {"window": int(value) if value else None}
    if name == "clerk":
        return {"clerk": value or None}
    if name == "hour":
        return {"hour": int(value)}
    if name == "matter":
        known = config.matters_by_code.get(value)
        return {"matter": value, "matter_name": known.name if known else ""}
    if name == "channel":
        return {"channel": value, "channel_name": CHANNEL_NAMES.get(value, value)}
    return {name: value}


def _sort_key(item: tuple[GroupKey, Aggregate], query: PeriodQuery) -> tuple[Any, ...]:
    key = item[0]
    out: list[Any] = []
    for name, value in zip(query.group_by, key, strict=True):
        # windows in number order, "no window" last; everything else in text order
        out.append((value == "", int(value) if name == "window" and value else 0, value))
    return tuple(out)


def period_stats(
    conn: sqlite3.Connection, config: HallConfig, query: PeriodQuery, now: float
) -> dict[str, Any]:
    """The JSON answer of GET /api/v1/stats with from/to/group_by (docs/stats.md)."""
    total, groups, sources = answer(conn, config, query, now)
    zone = config.hall.zone
    rows = []
    for key, agg in sorted(groups.items(), key=lambda item: _sort_key(item, query)):
        labels: dict[str, Any] = {}
        for name, value in zip(query.group_by, key, strict=True):
            labels.update(_label(name, value, config))
        rows.append({**labels, **agg.figures()})
    return {
        "hall": config.hall.id,
        "from": iso(query.start, zone),
        "to": iso(query.end, zone),
        "group_by": list(query.group_by),
        "generated_at": now,
        "total": total.figures(),
        "groups": rows,
        "sources": sources,
    }
