"""Rollups merge exactly: counts, means and maxima rolled up by day and month equal those of the raw
tickets, and percentiles read from merged histograms stay within the documented bin error."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from hallctl.core import histogram
from hallctl.core.rollup import Aggregate, Facts, RollupRow, day_rollup, group, month_rollup
from hallctl.core.stats import percentile
from hallctl.store.rollups import _blob

STATES = ("done", "no_show", "voided", "done", "done")
MATTERS = ("CBDJ", "JFJS", "SBKBH")
durations = st.one_of(
    st.floats(min_value=0, max_value=0.999), st.floats(min_value=1, max_value=40_000), st.integers(0, 7200)
).map(float)


@st.composite
def tickets(draw: st.DrawFn) -> Facts:
    first = date(2026, 1, 30)
    state = draw(st.sampled_from(STATES))
    called = state != "voided" and draw(st.booleans())
    served = state == "done" and called
    return Facts(
        day=(first + timedelta(days=draw(st.integers(0, 40)))).isoformat(),
        hour=draw(st.integers(8, 17)),
        matters=tuple(draw(st.lists(st.sampled_from(MATTERS), min_size=1, max_size=2, unique=True))),
        channel=draw(st.sampled_from(("normal", "green", "enterprise"))),
        window=draw(st.none() | st.integers(1, 4)),
        clerk=draw(st.none() | st.sampled_from(("c1", "c2"))),
        state=state,
        wait=draw(durations) if called else None,
        service=draw(durations) if served else None,
        target=draw(st.none() | st.sampled_from((600.0, 1200.0))),
        rating=draw(st.none() | st.integers(1, 5)) if served else None,
    )


def within_bin_error(estimate: float | None, true: float | None) -> bool:
    if true is None:
        return estimate is None
    assert estimate is not None
    bound = max(histogram.ABSOLUTE_ERROR_BELOW_1S, true * histogram.RELATIVE_ERROR) + 0.05  # +0.05: rounding
    return abs(estimate - true) <= bound


def merged_from_rollups(facts: list[Facts], dimension: str) -> dict[str, Aggregate]:
    """Each day rolled up, whole months merged from their days (through the stored bytes), then all
    months merged: the path a year's query takes."""
    by_day: dict[str, list[Facts]] = {}
    for f in facts:
        by_day.setdefault(f.day, []).append(f)
    by_month: dict[str, list[RollupRow]] = {}
    for day, day_facts in by_day.items():
        rows = day_rollup(day, day_facts)
        stored = [r._replace(wait_bins=_blob(r.wait_bins), service_bins=_blob(r.service_bins)) for r in rows]
        by_month.setdefault(day[:7], []).extend(stored)
    merged: dict[str, Aggregate] = {}
    for month, rows in by_month.items():
        for row in month_rollup(month, rows):
            if row.dimension == dimension:
                merged.setdefault(row.key, Aggregate()).add_row(row)
    return merged


@settings(max_examples=150, deadline=None)
@given(
    st.lists(tickets(), max_size=120), st.sampled_from(("", "matter", "window", "clerk", "channel", "hour"))
)
def test_merged_rollups_equal_the_raw_figures(facts: list[Facts], dimension: str) -> None:
    raw = group(facts, dimension)
    merged = merged_from_rollups(facts, dimension)
    assert set(merged) == set(raw)
    for key, agg in raw.items():
        exact, rolled = agg.figures(), merged[key].figures()
        for name in ("issued", "served", "no_show", "voided", "no_show_rate", "service_level", "ratings"):
            assert rolled[name] == exact[name], name
        for part in ("wait_seconds", "service_seconds"):
            for stat in ("count", "mean", "max"):
                assert rolled[part][stat] == exact[part][stat], (part, stat)
            for stat in ("p50", "p90"):
                assert within_bin_error(rolled[part][stat], exact[part][stat]), (part, stat)


@settings(max_examples=100, deadline=None)
@given(st.lists(durations, min_size=1, max_size=300), st.sampled_from((50, 90, 99)))
def test_a_histogram_percentile_is_within_the_bin_error(values: list[float], p: int) -> None:
    bins: list[int] = []
    for v in values:
        histogram.add(bins, v)
    assert histogram.decode(histogram.encode(bins)) == bins
    assert histogram.unpack(histogram.packed_from(histogram.encode(bins))) == bins
    assert histogram.unpack(histogram.pack(bins) + histogram.pack(bins)) == [2 * n for n in bins]
    true = percentile(sorted(values), p)
    assert within_bin_error(histogram.percentile(bins, p, max(values)), true)


def test_a_day_rollup_is_the_same_every_time_and_keeps_exact_percentiles() -> None:
    facts = [
        Facts("2026-03-02", 9, ("CBDJ",), "normal", 1, "c1", "done", w, 300.0, 600.0, None)
        for w in (10.0, 20.0, 30.0, 700.0)
    ]
    first, again = day_rollup("2026-03-02", facts), day_rollup("2026-03-02", list(facts))
    assert first == again
    hall = next(r for r in first if r.dimension == "")
    assert hall.wait_exact == (20.0, 700.0) and hall.within_target == 3
    one = Aggregate()
    one.add_row(hall)
    assert one.figures()["wait_seconds"]["p50"] == 20.0 and one.figures()["percentiles_exact"]
    two = Aggregate()
    two.add_row(hall)
    two.add_row(hall)  # two rows merged: percentiles come from the histogram
    figures = two.figures()
    assert not figures["percentiles_exact"]
    assert within_bin_error(figures["wait_seconds"]["p50"], 20.0)


def test_bins_cover_the_line_without_gaps() -> None:
    for index in range(1, histogram.BIN_COUNT - 1):
        lo, hi = histogram.bin_bounds(index)
        assert histogram.bin_bounds(index + 1)[0] == hi
        assert histogram.bin_of(lo) == index and (hi - lo) <= lo / histogram.SUB_BINS
    assert histogram.bin_of(0.0) == 0 and histogram.bin_of(1.0) == 1
    assert histogram.bin_of(10.0**9) == histogram.BIN_COUNT - 1
