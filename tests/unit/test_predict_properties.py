"""Properties of the wait predictor over random halls (hypothesis): a ticket behind another in the same
queue never gets a shorter prediction; every waiting ticket gets a finite, non-negative wait; predicting
changes nothing; and with deterministic services the prediction is what the core then does."""

from __future__ import annotations

import math
from itertools import pairwise

from hallkit import NINE, OPENING, clerk, credit_code, fingerprint, issue, new_hall, staff
from hypothesis import given, settings
from hypothesis import strategies as st
from test_predict import exact_model, serve_exactly, taught_model

from hallctl.config import HallConfig
from hallctl.core import counter
from hallctl.core.predict import predict_ranges, predict_waits
from hallctl.core.queues import bucket_key
from hallctl.core.state import HallState

KINDS: list[tuple[tuple[str, ...], str]] = [
    (("CBDJ",), "normal"),
    (("JFJS",), "normal"),
    (("SBKBH",), "normal"),
    (("CBZM",), "normal"),
    (("YLZY", "TXHD"), "normal"),
    (("ZX",), "normal"),
    (("DYRZ",), "green"),
    (("ZX",), "green"),
    (("BJSQ",), "enterprise"),
]

Drawn = tuple[list[tuple[int, int]], set[int], set[int], int]
halls = st.tuples(
    st.lists(st.tuples(st.sampled_from(range(len(KINDS))), st.integers(1, 90)), min_size=1, max_size=40),
    st.sets(st.integers(1, 8), min_size=1),
    st.sets(st.integers(1, 8)),
    st.integers(0, 2**16),
)


def build(
    config: HallConfig, kinds: list[tuple[int, int]], staffed: set[int], busy: set[int]
) -> tuple[HallState, float]:
    hall = new_hall(config, OPENING)
    staff(hall, OPENING, *sorted(staffed))
    now = NINE
    for kind, gap in kinds:
        now += gap
        matters, channel = KINDS[kind]
        code = credit_code() if channel == "enterprise" else None
        issue(hall, now, *matters, channel=channel, credit_code=code)
    for w in sorted(busy & staffed):
        counter.call_next(hall, now, clerk(w), w)
    return hall, now + 30


@settings(max_examples=100, deadline=None)
@given(halls)
def test_behind_in_the_same_queue_never_means_sooner(example_config: HallConfig, drawn: Drawn) -> None:
    kinds, staffed, busy, seed = drawn
    hall, now = build(example_config, kinds, staffed, busy)
    before = fingerprint(hall)
    ranges = predict_ranges(hall, now, taught_model(example_config), seed=seed, runs=5)
    assert fingerprint(hall) == before
    waiting = [t for t in hall.tickets.values() if t.state.value == "waiting"]
    assert set(ranges) == {t.id for t in waiting}
    for r in ranges.values():
        assert math.isfinite(r.high) and 0.0 <= r.low <= r.median <= r.high
    by_bucket: dict[object, list[tuple[float, int]]] = {}
    for t in waiting:
        by_bucket.setdefault(bucket_key(t), []).append((t.queue_key, t.id))
    for entries in by_bucket.values():
        entries.sort()
        for (_, ahead), (_, behind) in pairwise(entries):
            assert ranges[ahead].median <= ranges[behind].median
            assert ranges[ahead].low <= ranges[behind].low
            assert ranges[ahead].high <= ranges[behind].high


@settings(max_examples=80, deadline=None)
@given(halls)
def test_deterministic_prediction_is_what_the_core_does(example_config: HallConfig, drawn: Drawn) -> None:
    kinds, staffed, busy, _ = drawn
    # window 1 serves every matter but questions, window 6 answers those: nobody waits for ever
    hall, now = build(example_config, kinds, staffed | {1, 6}, busy)
    predicted = predict_waits(hall, now, exact_model(example_config))
    actual = serve_exactly(hall, now)
    for ticket_id, wait in actual.items():
        assert math.isclose(predicted[ticket_id], wait, abs_tol=1e-6), (ticket_id, predicted[ticket_id], wait)
