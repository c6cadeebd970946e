"""Rollups of closed business days and months in the file (table ``stats_rollups``, migration m008), and
reading tickets as the facts the figures are made of.

A day is rolled up once it is closed (before today), none of its tickets is still in play, and the last
thing that happened to them is older than anything that could still change them (a rating press or a
no-show's return). A month is merged from its days once every day of it is rolled up. Building is
idempotent: the same tickets always give the same rows, and a rebuild replaces them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from itertools import takewhile
from zoneinfo import ZoneInfo

import orjson

from hallctl.config import HallConfig
from hallctl.core import histogram
from hallctl.core.period import month_days
from hallctl.core.rollup import (
    ROLLUP_DIMENSIONS,
    Facts,
    RollupRow,
    day_rollup,
    month_rollup,
    running_rollups,
)
from hallctl.store.rows import Op

IN_PLAY = ("waiting", "called", "serving", "suspended", "transferred")

_FACT_COLUMNS = (
    "t.day, t.issued_at, t.matters, t.channel, t.window, t.clerk, t.state, t.called_at, t.first_called_at, "
    "t.started_at, t.finished_at, t.no_show_at, "
    "(select r.level from ratings r where r.ticket = t.id order by r.id desc limit 1) as rating"
)
FACTS_OF_DAY = f"select {_FACT_COLUMNS} from tickets t where t.day = ?"
FACTS_BETWEEN = f"select {_FACT_COLUMNS} from tickets t where t.issued_at >= ? and t.issued_at < ?"

ROLLUP_COLUMNS = (
    "grain, dimension, period, key, issued, served, no_show, voided, within_target, "
    "rating_1, rating_2, rating_3, rating_4, rating_5, unrated, "
    "wait_count, wait_ms, wait_max, wait_p50, wait_p90, wait_bins, "
    "service_count, service_ms, service_max, service_p50, service_p90, service_bins"
)
INSERT_ROLLUP = f"insert or replace into stats_rollups ({ROLLUP_COLUMNS}) values ({', '.join('?' * 27)})"
SELECT_ROLLUPS = (
    f"select {ROLLUP_COLUMNS} from stats_rollups "
    "where grain = ? and dimension = ? and period >= ? and period <= ?"
)


class FactReader:
    """Turns ticket rows into facts: the hall's zone for the hour, the configured targets for the
    service level (a bundle's target is its longest; matters no longer configured have none)."""

    def __init__(self, config: HallConfig) -> None:
        self.zone: ZoneInfo = config.hall.zone
        self.targets = {m.code: m.target_wait_minutes * 60.0 for m in config.matters}
        self._matters: dict[str, tuple[str, ...]] = {}  # the JSON text of a ticket's matters, parsed once

    def facts(self, rows: Iterable[Sequence[object]]) -> Iterator[tuple[Facts, float]]:
        """Each row's facts and the time of the last thing that happened to the ticket."""
        for row in rows:
            day, issued_at, matters_json, channel, window, clerk, state = row[:7]
            called_at, first_called_at, started_at, finished_at, no_show_at, rating = row[7:]
            assert isinstance(issued_at, float | int) and isinstance(matters_json, str)
            matters = self._matters.get(matters_json)
            if matters is None:
                matters = self._matters[matters_json] = tuple(orjson.loads(matters_json))
            known = [self.targets[m] for m in matters if m in self.targets]
            wait = None if first_called_at is None else max(0.0, _f(first_called_at) - issued_at)
            service = (
                None
                if started_at is None or finished_at is None
                else max(0.0, _f(finished_at) - _f(started_at))
            )
            facts = Facts(
                day=str(day),
                hour=datetime.fromtimestamp(issued_at, self.zone).hour,
                matters=matters,
                channel=str(channel),
                window=None if window is None else int(str(window)),
                clerk=None if clerk is None else str(clerk),
                state=str(state),
                wait=wait,
                service=service,
                target=max(known) if known else None,
                rating=None if rating is None else int(str(rating)),
            )
            moments = (called_at, first_called_at, finished_at, no_show_at)
            last = max([float(issued_at), *(_f(m) for m in moments if m is not None)])
            yield facts, last

    def between(self, conn: sqlite3.Connection, start: float, end: float) -> list[Facts]:
        return [f for f, _ in self.facts(conn.execute(FACTS_BETWEEN, (start, end)))]


def _f(value: object) -> float:
    assert isinstance(value, float | int)
    return float(value)


def settle_seconds(config: HallConfig) -> float:
    """How long after the last thing that happened to a day's tickets they may still change: a keypad
    may still rate a finished ticket, a no-show may still come back."""
    return max(float(config.devices.ratings.arm_seconds), config.rules.no_show_return_minutes * 60.0)


# -- building -----------------------------------------------------------------------------------------
def day_ops(conn: sqlite3.Connection, config: HallConfig, day: str, now: float) -> list[Op] | None:
    """The statements that (re)build a closed day's rollup, or None while it may still change."""
    reader = FactReader(config)
    facts: list[Facts] = []
    latest = 0.0
    for f, last in reader.facts(conn.execute(FACTS_OF_DAY, (day,))):
        if f.state in IN_PLAY:
            return None
        facts.append(f)
        latest = max(latest, last)
    if facts and now < latest + settle_seconds(config):
        return None
    ops: list[Op] = [
        ("delete from stats_rollups where grain = 'day' and dimension = ? and period = ?", (dim, day))
        for dim in ROLLUP_DIMENSIONS
    ]
    ops += [(INSERT_ROLLUP, _params("day", row)) for row in day_rollup(day, facts)]
    ops.append(
        (
            "insert or replace into stats_days (day, tickets, built_at) values (?, ?, ?)",
            (day, len(facts), now),
        )
    )
    return ops


def month_ops(conn: sqlite3.Connection, month: str, now: float) -> list[Op]:
    """The statements that (re)build a month's rollup from its days' rows."""
    first, last = _month_days(month)
    rows = [
        row
        for dim in ROLLUP_DIMENSIONS
        for row in read_rows(conn, "day", dim, first.isoformat(), last.isoformat())
    ]
    ops: list[Op] = [
        ("delete from stats_rollups where grain = 'month' and dimension = ? and period = ?", (dim, month))
        for dim in ROLLUP_DIMENSIONS
    ]
    ops += [(INSERT_ROLLUP, _params("month", row)) for row in month_rollup(month, rows)]
    ops.append(("insert or replace into stats_months (month, built_at) values (?, ?)", (month, now)))
    return ops


def span_ops(conn: sqlite3.Connection, month: str, now: float) -> list[Op]:
    """The statements that (re)build a month's heads (days 1..d, for every d up to the first day not
    rolled up) and tails (days d..last, back to the last day not rolled up), from its days' rows."""
    calendar = month_days(month)
    covered = {
        r[0]
        for r in conn.execute(
            "select day from stats_days where day >= ? and day <= ?", (calendar[0], calendar[-1])
        )
    }
    heads = list(takewhile(covered.__contains__, calendar))
    tails = list(takewhile(covered.__contains__, reversed(calendar)))
    rows_by_day: dict[str, list[RollupRow]] = {}
    for dim in ROLLUP_DIMENSIONS:
        for row in read_rows(conn, "day", dim, calendar[0], calendar[-1]):
            rows_by_day.setdefault(row.period, []).append(row)
    ops: list[Op] = [
        (
            "delete from stats_rollups where grain = ? and dimension = ? and period >= ? and period <= ?",
            (grain, dim, calendar[0], calendar[-1]),
        )
        for grain in ("head", "tail")
        for dim in ROLLUP_DIMENSIONS
    ]
    ops += [(INSERT_ROLLUP, _params("head", row)) for row in running_rollups(heads, rows_by_day)]
    ops += [(INSERT_ROLLUP, _params("tail", row)) for row in running_rollups(tails, rows_by_day)]
    ops.append(
        (
            "insert or replace into stats_spans (month, heads_through, tails_from, built_at) "
            "values (?, ?, ?, ?)",
            (month, heads[-1] if heads else None, tails[-1] if tails else None, now),
        )
    )
    return ops


def missing_spans(conn: sqlite3.Connection) -> list[str]:
    """Months whose heads or tails do not reach as far as their rolled-up days allow."""
    covered: dict[str, set[str]] = {}
    for (day,) in conn.execute("select day from stats_days"):
        covered.setdefault(day[:7], set()).add(day)
    built = {
        r[0]: (r[1], r[2]) for r in conn.execute("select month, heads_through, tails_from from stats_spans")
    }
    out = []
    for month, days in sorted(covered.items()):
        calendar = month_days(month)
        heads = list(takewhile(days.__contains__, calendar))
        tails = list(takewhile(days.__contains__, reversed(calendar)))
        if built.get(month) != (heads[-1] if heads else None, tails[-1] if tails else None):
            out.append(month)
    return out


def _month_days(month: str) -> tuple[date, date]:
    first = date.fromisoformat(f"{month}-01")
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def _params(grain: str, row: RollupRow) -> tuple[object, ...]:
    wait50, wait90 = row.wait_exact or (None, None)
    service50, service90 = row.service_exact or (None, None)
    return (
        grain,
        row.dimension,
        row.period,
        row.key,
        row.issued,
        row.served,
        row.no_show,
        row.voided,
        row.within_target,
        *row.ratings,
        row.unrated,
        row.wait_count,
        row.wait_ms,
        row.wait_max,
        wait50,
        wait90,
        _blob(row.wait_bins),
        row.service_count,
        row.service_ms,
        row.service_max,
        service50,
        service90,
        _blob(row.service_bins),
    )


def _blob(bins: Sequence[int] | bytes) -> bytes:
    return bins if isinstance(bins, bytes) else histogram.encode(bins)


def missing_days(conn: sqlite3.Connection, today: str) -> list[str]:
    """Closed days without a rollup, from the first of the month of the first ticket up to yesterday
    (days without tickets too, so a month is complete when every one of its days is rolled up)."""
    first = conn.execute("select min(day) from tickets").fetchone()[0]
    if first is None or first >= today:
        return []
    cursor = date.fromisoformat(first).replace(day=1)
    covered = {
        r[0]
        for r in conn.execute(
            "select day from stats_days where day >= ? and day < ?", (cursor.isoformat(), today)
        )
    }
    end = date.fromisoformat(today)
    missing = []
    while cursor < end:
        if cursor.isoformat() not in covered:
            missing.append(cursor.isoformat())
        cursor += timedelta(days=1)
    return missing


def missing_months(conn: sqlite3.Connection, today: str) -> list[str]:
    """Months that have ended, every day of them rolled up, and no month rollup yet."""
    days = [r[0] for r in conn.execute("select day from stats_days where day < ? order by day", (today[:7],))]
    built = {r[0] for r in conn.execute("select month from stats_months")}
    by_month: dict[str, int] = {}
    for day in days:
        by_month[day[:7]] = by_month.get(day[:7], 0) + 1
    out = []
    for month, count in sorted(by_month.items()):
        first, last = _month_days(month)
        if month not in built and count == (last - first).days + 1:
            out.append(month)
    return out


def backfill(conn: sqlite3.Connection, config: HallConfig, today: str, now: float) -> tuple[int, int]:
    """Build every missing rollup on this connection, a day per transaction (for tools and benchmarks;
    the daemon builds through its writer, see hallctl/store/stats_store.py). Returns (days, months)."""
    days = months = 0
    for day in missing_days(conn, today):
        ops = day_ops(conn, config, day, now)
        if ops is not None:
            _run(conn, ops)
            days += 1
    for month in missing_months(conn, today):
        _run(conn, month_ops(conn, month, now))
        months += 1
    for month in missing_spans(conn):
        _run(conn, span_ops(conn, month, now))
    return days, months


def _run(conn: sqlite3.Connection, ops: list[Op]) -> None:
    conn.execute("begin immediate")
    try:
        for sql, params in ops:
            conn.execute(sql, params)
    except BaseException:
        conn.execute("rollback")
        raise
    conn.execute("commit")


# -- reading ------------------------------------------------------------------------------------------
def read_rows(conn: sqlite3.Connection, grain: str, dimension: str, first: str, last: str) -> list[RollupRow]:
    """Stored rows of one grain and dimension with ``first <= period <= last`` (histograms left encoded)."""
    return [
        RollupRow(
            period=r[2],
            dimension=r[1],
            key=r[3],
            issued=r[4],
            served=r[5],
            no_show=r[6],
            voided=r[7],
            within_target=r[8],
            ratings=tuple(r[9:14]),
            unrated=r[14],
            wait_count=r[15],
            wait_ms=r[16],
            wait_max=r[17],
            wait_exact=None if r[18] is None else (r[18], r[19]),
            wait_bins=r[20] or b"",
            service_count=r[21],
            service_ms=r[22],
            service_max=r[23],
            service_exact=None if r[24] is None else (r[24], r[25]),
            service_bins=r[26] or b"",
        )
        for r in conn.execute(SELECT_ROLLUPS, (grain, dimension, first, last))
    ]


def coverage(
    conn: sqlite3.Connection, first_day: str, last_day: str
) -> tuple[list[str], list[str], dict[str, tuple[str | None, str | None]]]:
    """The rolled-up days, months and month spans (heads through, tails from) between two days."""
    days = [
        r[0]
        for r in conn.execute("select day from stats_days where day >= ? and day <= ?", (first_day, last_day))
    ]
    months = [
        r[0]
        for r in conn.execute(
            "select month from stats_months where month >= ? and month <= ?", (first_day[:7], last_day[:7])
        )
    ]
    spans = {
        r[0]: (r[1], r[2])
        for r in conn.execute(
            "select month, heads_through, tails_from from stats_spans where month >= ? and month <= ?",
            (first_day[:7], last_day[:7]),
        )
    }
    return days, months, spans
