"""Erlang C by the stable recursion: the published reference case, the textbook formula, big halls."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hallctl.core.erlang import erlang_b, erlang_c, windows_needed


def textbook_p_wait(load: Fraction, c: int) -> Fraction:
    """The factorial formula, in exact fractions: fine for small halls, the yardstick for the recursion."""
    top = load**c / math.factorial(c) * Fraction(c) / (c - load)
    bottom = sum(load**k / math.factorial(k) for k in range(c)) + top
    return top / bottom


def test_the_published_reference_case() -> None:
    # 1000 arrivals an hour, 120 s each, 40 windows, 20 s target
    r = erlang_c(1000, 120, 40)
    assert round(r.p_wait, 4) == 0.1907
    assert round(r.service_level(20), 4) == 0.9372
    assert round(r.asa_seconds, 2) == 3.43
    assert r.offered_load == pytest.approx(33.333333, rel=1e-6)


@given(
    st.integers(min_value=1, max_value=60),
    st.fractions(min_value=Fraction(1, 100), max_value=Fraction(99, 100)).map(
        lambda f: f.limit_denominator(1000)
    ),
)
def test_the_recursion_agrees_with_the_factorial_formula(c: int, utilisation: Fraction) -> None:
    load = utilisation * c
    arrivals_per_hour = float(load) * 3600 / 60  # 60-second services
    assert erlang_c(arrivals_per_hour, 60, c).p_wait == pytest.approx(
        float(textbook_p_wait(load, c)), rel=1e-9
    )


def test_thousands_of_windows_do_not_overflow() -> None:
    # 170! is the largest factorial a double holds: the formula would fail here, the recursion does not
    r = erlang_c(arrivals_per_hour=5000 * 3600 / 120 * 0.98, service_seconds=120, windows=5000)
    assert 0.0 < r.p_wait < 1.0
    assert math.isfinite(r.asa_seconds)
    assert 0.0 < erlang_b(4900.0, 5000) < 1.0


@given(
    st.floats(min_value=1, max_value=5000),
    st.floats(min_value=10, max_value=1800),
    st.integers(min_value=1, max_value=300),
)
def test_one_more_window_never_makes_waiting_likelier(arrivals: float, service: float, c: int) -> None:
    now, more = erlang_c(arrivals, service, c), erlang_c(arrivals, service, c + 1)
    assert more.p_wait <= now.p_wait + 1e-12
    assert more.asa_seconds <= now.asa_seconds
    assert more.service_level(20) >= now.service_level(20) - 1e-12
    assert 0.0 <= now.p_wait <= 1.0


def test_an_overloaded_hall_always_waits() -> None:
    r = erlang_c(1000, 180, 50)  # 50 erlangs on 50 windows
    assert not r.stable
    assert r.p_wait == 1.0
    assert r.asa_seconds == math.inf
    assert r.service_level(600) == 0.0


def test_windows_needed_is_the_fewest_that_meet_the_target() -> None:
    r = windows_needed(1000, 120, target_seconds=20, service_level=0.8)
    assert r.service_level(20) >= 0.8
    assert erlang_c(1000, 120, r.windows - 1).service_level(20) < 0.8
    assert r.windows == 38
    capped = windows_needed(1000, 120, target_seconds=20, service_level=0.8, max_occupancy=0.8)
    assert capped.occupancy <= 0.8 < erlang_c(1000, 120, capped.windows - 1).occupancy


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 120, 4), "arrivals_per_hour"),
        ((10, 0, 4), "service_seconds"),
        ((10, 120, 0), "windows"),
        ((math.nan, 120, 4), "arrivals_per_hour"),
    ],
)
def test_bad_input_is_named(args: tuple[float, float, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        erlang_c(*args)
