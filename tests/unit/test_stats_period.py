"""A period query's parameters (errors name the parameter) and its plan: which months and days come from
rollups and which spans are read from the tickets."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from itertools import takewhile

import pytest
from hallkit import SHANGHAI, at
from hypothesis import given, settings
from hypothesis import strategies as st

from hallctl.core.period import (
    BadParameter,
    PeriodQuery,
    day_start,
    is_period_query,
    month_days,
    parse,
    plan,
)
from hallctl.core.stats import percentile

NOW = at("2026-03-04 10:00")


def query(**params: str) -> PeriodQuery:
    return parse(params, list(params), NOW, SHANGHAI)


def test_no_parameters_or_lang_alone_keep_the_live_answer() -> None:
    assert not is_period_query([]) and not is_period_query(["lang"])
    assert is_period_query(["group_by"]) and is_period_query(["nonsense"])


def test_defaults_are_today_and_dates_are_local_midnights() -> None:
    today = query(group_by="matter")
    assert (today.start, today.end) == (at("2026-03-04 00:00"), at("2026-03-05 00:00"))
    year = query(**{"from": "2025-01-01", "to": "2026-01-01"})
    assert (year.start, year.end) == (at("2025-01-01 00:00"), at("2026-01-01 00:00"))
    assert year.group_by == () and year.format == "json"
    assert query(**{"from": "2026-03-02T09:30"}).start == at("2026-03-02 09:30")
    assert query(**{"from": "2026-03-02T01:30Z"}).start == at("2026-03-02 09:30")
    assert query(**{"from": "2026-03-02T09:30 08:00"}).start == at("2026-03-02 09:30")  # an unencoded "+"


def test_group_by_puts_the_time_first() -> None:
    assert query(group_by="matter,day").group_by == ("day", "matter")
    assert query(group_by=" hour ").group_by == ("hour",)
    assert query(group_by="month,clerk").dimension == "clerk"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-02-30"}, "from"),
        ({"from": "2026-03-02", "to": "2026-03-02"}, "to"),
        ({"from": "2030-01-01"}, "from"),  # after today, and no end given
        ({"to": "3001-01-01"}, "to"),
        ({"group_by": "matter,clerk"}, "group_by"),
        ({"group_by": "day,month"}, "group_by"),
        ({"group_by": "Matter"}, "group_by"),
        ({"format": "XLSX"}, "format"),
        ({"token": "x"}, "token"),
    ],
)
def test_bad_parameters_are_named(params: dict[str, str], field: str) -> None:
    with pytest.raises(BadParameter) as caught:
        query(**params)
    assert caught.value.status == 400 and caught.value.context["field"] == field
    assert field in caught.value.message("en") and field in caught.value.message("zh")


def test_a_repeated_parameter_is_refused() -> None:
    with pytest.raises(BadParameter) as caught:
        parse({"from": "2026-03-01"}, ["from", "from"], NOW, SHANGHAI)
    assert caught.value.context["field"] == "from"


def days(first: str, count: int) -> list[str]:
    start = date.fromisoformat(first)
    return [(start + timedelta(days=i)).isoformat() for i in range(count)]


def test_a_year_takes_whole_months_and_reads_only_what_is_not_rolled_up() -> None:
    covered = days("2025-01-01", 365 + 62)  # through 2026-03-03: today (the 4th) is never rolled up
    months = [f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01", "2026-02"]
    year = plan(query(**{"from": "2025-01-01", "to": "2026-01-01"}), SHANGHAI, covered, months)
    assert year.months == tuple(f"2025-{m:02d}" for m in range(1, 13)) and year.days == () and year.raw == ()
    # mid-month edges: the partial months by day, the partial days at the ends raw
    edges = plan(query(**{"from": "2025-03-15T12:00", "to": "2025-06-10"}), SHANGHAI, covered, months)
    assert edges.months == ("2025-04", "2025-05")
    assert edges.days == (*days("2025-03-16", 16), *days("2025-06-01", 9))
    assert edges.raw == ((at("2025-03-15 12:00"), at("2025-03-16 00:00")),)
    # grouped by day, months cannot answer: every day apart; today is read raw
    by_day = plan(query(**{"from": "2026-02-01", "group_by": "day"}), SHANGHAI, covered, months)
    assert by_day.months == () and by_day.days == tuple(days("2026-02-01", 31))
    assert by_day.raw == ((at("2026-03-04 00:00"), at("2026-03-05 00:00")),)


def test_a_missing_day_is_read_from_the_tickets() -> None:
    covered = [d for d in days("2025-01-01", 31) if d != "2025-01-10"]
    january = plan(query(**{"from": "2025-01-01", "to": "2025-02-01"}), SHANGHAI, covered, ["2025-01"])
    assert january.months == ()  # the month rollup needs every day
    assert "2025-01-10" not in january.days and len(january.days) == 30
    assert january.raw == ((at("2025-01-10 00:00"), at("2025-01-11 00:00")),)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 120),
    st.integers(1, 120 * 24),
    st.sets(st.integers(0, 150), max_size=150),
    st.sampled_from(((), ("day",), ("month",), ("matter",))),
)
def test_a_plan_covers_the_period_exactly_once(
    start_hours: int, length_hours: int, covered_offsets: set[int], group_by: tuple[str, ...]
) -> None:
    first = date(2025, 12, 1)
    start = day_start(first, SHANGHAI) + start_hours * 3600
    q = PeriodQuery(start, start + length_hours * 3600, group_by, "json")
    covered = [(first + timedelta(days=i)).isoformat() for i in covered_offsets]
    months = sorted({d[:7] for d in covered})
    p = plan(q, SHANGHAI, covered, months, heads_and_tails(covered))
    spans = [*p.raw]
    for head in p.heads:
        spans.append((day_start(date.fromisoformat(head[:8] + "01"), SHANGHAI), _end_of(head)))
    for tail in p.tails:
        calendar = month_days(tail[:7])
        spans.append((day_start(date.fromisoformat(tail), SHANGHAI), _end_of(calendar[-1])))
    for month in p.months:
        m0 = date.fromisoformat(f"{month}-01")
        m1 = (m0 + timedelta(days=32)).replace(day=1)
        spans.append((day_start(m0, SHANGHAI), day_start(m1, SHANGHAI)))
    for d in p.days:
        d0 = date.fromisoformat(d)
        spans.append((day_start(d0, SHANGHAI), day_start(d0 + timedelta(days=1), SHANGHAI)))
    spans.sort()
    assert spans[0][0] == q.start and spans[-1][1] == q.end
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))  # no gap, no overlap
    assert set(p.days) <= set(covered)
    if "day" in group_by:
        assert p.months == p.heads == p.tails == ()


def _end_of(day: str) -> float:
    return day_start(date.fromisoformat(day) + timedelta(days=1), SHANGHAI)


def heads_and_tails(covered: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """What the store builds: heads through the last day of the month's first run of rolled-up days,
    tails from the first day of its last run."""
    spans: dict[str, tuple[str | None, str | None]] = {}
    for month in sorted({d[:7] for d in covered}):
        calendar = month_days(month)
        heads = list(takewhile(set(covered).__contains__, calendar))
        tails = list(takewhile(set(covered).__contains__, reversed(calendar)))
        spans[month] = (heads[-1] if heads else None, tails[-1] if tails else None)
    return spans


def test_a_year_from_mid_month_to_mid_month_takes_a_tail_months_and_a_head() -> None:
    covered = days("2025-01-01", 365 + 62)
    months = [f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01", "2026-02"]
    spans = heads_and_tails(covered)
    rolling = plan(query(**{"from": "2025-03-04", "to": "2026-03-04"}), SHANGHAI, covered, months, spans)
    assert rolling.tails == ("2025-03-04",) and rolling.heads == ("2026-03-03",)
    assert len(rolling.months) == 11 and rolling.days == () and rolling.raw == ()
    inside = plan(query(**{"from": "2025-03-04", "to": "2025-03-20"}), SHANGHAI, covered, months, spans)
    assert inside.heads == inside.tails == () and len(inside.days) == 16  # neither edge of the month


def test_percentile_is_nearest_rank() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0 and percentile([], 50) is None
