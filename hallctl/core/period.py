"""A stats query over a period (``from``/``to``/``group_by``/``format``) and the plan that answers it:
which whole months and days come from rollups, and which spans of time are read raw.

The period is half-open, ``[from, to)``, in the hall's zone: ``from=2026-01-01&to=2027-01-01`` is the
year 2026. Bad parameters raise :class:`BadParameter` (HTTP 400) naming the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hallctl.core.errors import HallError
from hallctl.core.rollup import DIMENSIONS, TIME_GROUPS

PARAMETERS = ("from", "to", "group_by", "format", "lang")
FORMATS = ("json", "csv", "xlsx")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# A "+08:00" offset arrives as " 08:00" when the client did not percent-encode the plus sign.
_SPACED_OFFSET = re.compile(r" (\d{2}(:?\d{2})?)$")


# The years a period may span: wide enough for any hall's history, narrow enough that every date
# arithmetic on it stays in range.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC).timestamp()
LATEST = datetime(3000, 1, 1, tzinfo=UTC).timestamp()


class BadParameter(HallError):
    """A query parameter the stats cannot use (HTTP 400); the error names it."""

    status = 400


def _bad(name: str, zh: str, en: str) -> BadParameter:
    return BadParameter("bad_parameter", f"参数 {name} 有误：{zh}", f"{name}: {en}", field=name)


@dataclass(frozen=True, slots=True)
class PeriodQuery:
    start: float  # epoch seconds, inclusive
    end: float  # epoch seconds, exclusive
    group_by: tuple[str, ...]  # the time group (if any) first, then the dimension (if any)
    format: str

    @property
    def dimension(self) -> str:
        """The non-time dimension grouped by, or "" for none."""
        return next((g for g in self.group_by if g in DIMENSIONS), "")

    @property
    def time_group(self) -> str:
        return next((g for g in self.group_by if g in TIME_GROUPS), "")


def is_period_query(names: Iterable[str]) -> bool:
    """Without parameters (or with ``lang`` alone), GET /api/v1/stats keeps its live-and-today shape."""
    return any(name != "lang" for name in names)


def day_start(day: date, zone: ZoneInfo) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()


def _instant(name: str, raw: str, zone: ZoneInfo) -> float:
    text = _SPACED_OFFSET.sub(r"+\1", raw.strip())
    try:
        if _DATE.match(text):
            instant = day_start(date.fromisoformat(text), zone)
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone)
            instant = moment.timestamp()
    except (ValueError, OverflowError, OSError):
        raise _bad(
            name,
            "应为日期（2026-03-02）或时间（2026-03-02T09:00，或带时区 2026-03-02T09:00+08:00）",
            "expected a date (2026-03-02) or a date and time (2026-03-02T09:00, optionally with an offset)",
        ) from None
    if not EARLIEST <= instant <= LATEST:
        raise _bad(name, "应在 1970 年至 2999 年之间", "must lie between 1970 and 2999")
    return instant


def parse(params: Mapping[str, str], names: Iterable[str], now: float, zone: ZoneInfo) -> PeriodQuery:
    """The query from the request's parameters (``names``: every parameter name as given, repeats kept)."""
    seen: set[str] = set()
    for name in names:
        if name not in PARAMETERS:
            raise _bad(
                name, f"未知参数，可用：{'、'.join(PARAMETERS)}", f"unknown; use {', '.join(PARAMETERS)}"
            )
        if name in seen:
            raise _bad(name, "只能给出一次", "given more than once")
        seen.add(name)
    today = datetime.fromtimestamp(now, zone).date()
    start = _instant("from", params["from"], zone) if "from" in params else day_start(today, zone)
    if "to" in params:
        end = _instant("to", params["to"], zone)
    else:
        end = day_start(today + timedelta(days=1), zone)  # the end of today
        if end <= start:
            raise _bad("from", "晚于今天，请同时给出 to", "is after today; give to as well")
    if end <= start:
        raise _bad("to", "应晚于 from（区间为 [from, to)）", "must be after from (the period is [from, to))")
    return PeriodQuery(start, end, _group_by(params.get("group_by", "")), _format(params.get("format")))


def _group_by(raw: str) -> tuple[str, ...]:
    names = [part.strip() for part in raw.split(",") if part.strip()]
    allowed = (*DIMENSIONS, *TIME_GROUPS)
    for name in names:
        if name not in allowed:
            raise _bad(
                "group_by",
                f"“{name}”不可用，可用：{'、'.join(allowed)}",
                f"cannot group by {name!r}; use {', '.join(allowed)}",
            )
    times = [n for n in names if n in TIME_GROUPS]
    others = [n for n in names if n in DIMENSIONS]
    if len(times) > 1 or len(others) > 1 or len(set(names)) != len(names):
        raise _bad(
            "group_by",
            "最多组合一个时间（day、month）和一个其他维度，如 day,matter",
            "combine at most one of day/month with one other dimension, e.g. day,matter",
        )
    return (*times, *others)


def _format(raw: str | None) -> str:
    if raw is None:
        return "json"
    if raw not in FORMATS:
        raise _bad("format", f"应为 {'、'.join(FORMATS)} 之一", f"must be one of {', '.join(FORMATS)}")
    return raw


@dataclass(frozen=True, slots=True)
class Plan:
    months: tuple[str, ...]  # whole months answered by monthly rollups ("2026-03")
    days: tuple[str, ...]  # whole days answered by daily rollups
    raw: tuple[tuple[float, float], ...]  # [start, end) spans read from the tickets themselves
    heads: tuple[str, ...] = ()  # a month's days 1..d answered by the head rollup of day d
    tails: tuple[str, ...] = ()  # a month's days d..last answered by the tail rollup of day d


#: month -> (the last day with a head rollup, the first day with a tail rollup), either None
Spans = Mapping[str, tuple[str | None, str | None]]


def month_days(month: str) -> list[str]:
    first = date.fromisoformat(f"{month}-01")
    following = (first + timedelta(days=32)).replace(day=1)
    return [(first + timedelta(days=i)).isoformat() for i in range((following - first).days)]


def plan(
    query: PeriodQuery,
    zone: ZoneInfo,
    covered_days: Iterable[str],
    covered_months: Iterable[str],
    spans: Spans | None = None,
) -> Plan:
    """Rollups for every covered day wholly inside the period, raw reads for everything else: the
    partial days at the edges, today, and any day whose rollup is missing or stale.

    Unless grouped by day, whole covered months come from month rows, and a run of days at the start or
    the end of a month from one head or tail row, so a year starting and ending mid-month still merges
    at most 14 rows per group."""
    whole: list[tuple[str, float, float]] = []
    for day in sorted(set(covered_days)):
        start = day_start(date.fromisoformat(day), zone)
        end = day_start(date.fromisoformat(day) + timedelta(days=1), zone)
        if query.start <= start and end <= query.end:
            whole.append((day, start, end))
    months: list[str] = []
    by_month = query.time_group != "day"
    inside = {d for d, _, _ in whole}
    if by_month:
        for month in sorted(set(covered_months)):
            if all(d in inside for d in month_days(month)):
                months.append(month)
    in_months = set(months)
    rest = [d for d, _, _ in whole if d[:7] not in in_months]
    days: list[str] = []
    heads: list[str] = []
    tails: list[str] = []
    for run in _runs_by_month(rest):
        month = run[0][:7]
        heads_through, tails_from = (spans or {}).get(month, (None, None)) if by_month else (None, None)
        calendar = month_days(month)
        if heads_through is not None and run[0] == calendar[0] and run[-1] <= heads_through:
            heads.append(run[-1])
        elif tails_from is not None and run[-1] == calendar[-1] and run[0] >= tails_from:
            tails.append(run[0])
        else:
            days.extend(run)
    raw: list[tuple[float, float]] = []
    cursor = query.start
    for _, start, end in whole:
        if start > cursor:
            raw.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < query.end:
        raw.append((cursor, query.end))
    return Plan(tuple(months), tuple(days), tuple(raw), tuple(heads), tuple(tails))


def _runs_by_month(days: list[str]) -> list[list[str]]:
    """Sorted days as runs of consecutive days within one month."""
    runs: list[list[str]] = []
    for day in days:
        if runs and runs[-1][-1][:7] == day[:7] and _next(runs[-1][-1]) == day:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def _next(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()
