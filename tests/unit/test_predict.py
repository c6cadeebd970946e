"""The forward-simulation wait predictor (core/predict.py, core/forward.py) against the real core.

With deterministic service times the prediction must be exactly what the core then does when clerks call
as soon as they are free; the other tests check the parts that make it better than the simple estimates:
overtaking arrivals, the windows' rules, time already spent at a window, and stable, ordered answers.
"""

from __future__ import annotations

import heapq
import math

from hallkit import MANAGER, MINUTE, NINE, OPENING, clerk, credit_code, fingerprint, issue, new_hall, staff

from hallctl.config import HallConfig
from hallctl.core import admin, counter
from hallctl.core.forward import conditional_mean_remaining, conditional_quantile_remaining
from hallctl.core.model import Ticket, TicketState
from hallctl.core.predict import predict_ranges, predict_waits
from hallctl.core.servicetimes import LogNormal, WaitModel
from hallctl.core.state import HallState


def exact_model(config: HallConfig) -> WaitModel:
    """Priors only, no no-shows and (almost) no spread: every ticket takes its configured time."""
    model = WaitModel.from_config(config)
    model.no_show_prior = 0.0
    model.prior_sigma = 1e-6
    return model


def taught_model(config: HallConfig, tickets: int = 200) -> WaitModel:
    """A model that has seen enough finished tickets (each in its configured time) to sample."""
    model = exact_model(config)
    for i in range(tickets):
        t = finished_ticket(10_000 + i, "CBDJ", seconds=360.0)
        model.learn_issued(t)
        model.learn_finished(t)
    return model


def finished_ticket(ticket_id: int, matter: str, seconds: float, channel: str = "normal") -> Ticket:
    issued = NINE - 86_400 + ticket_id % 1000
    t = Ticket(
        id=ticket_id,
        number="A999",
        prefix="A",
        seq=999,
        day="2026-03-01",
        matters=(matter,),
        channel=channel,  # type: ignore[arg-type]
        issued_at=issued,
        track_token="",
        state=TicketState.DONE,
    )
    t.first_called_at = t.called_at = issued + 60
    t.finished_at = issued + 60 + seconds
    return t


def serve_exactly(hall: HallState, now: float, *, step: float = 1.0) -> dict[int, float]:
    """Drive the real core: every staffed window calls the moment it is free (or, idle, checks again every
    ``step`` seconds) and serves each ticket for exactly its matters' configured minutes. Returns the seconds
    from ``now`` until each ticket now waiting was called."""
    waiting = {t.id for t in hall.tickets.values() if t.state.value in ("waiting", "transferred")}
    called: dict[int, float] = {}
    free_at = {w: now for w in hall.windows if hall.windows[w].clerk is not None}
    finishing: list[tuple[float, int]] = []
    for w, window in hall.windows.items():
        if window.current is not None:
            ticket = hall.tickets[window.current]
            assert ticket.first_called_at is not None
            free_at[w] = ticket.first_called_at + hall.service_minutes(ticket.matters) * 60
            heapq.heappush(finishing, (free_at[w], w))
    clock = now
    while waiting - called.keys():
        while finishing and finishing[0][0] <= clock:
            at, w = heapq.heappop(finishing)
            if hall.tickets[hall.windows[w].current or 0].state is TicketState.CALLED:
                counter.start(hall, at, clerk(w), w)
            counter.finish(hall, at, clerk(w), w)
        for w in sorted(free_at):
            window = hall.windows[w]
            if window.current is not None or window.state.value != "open":
                continue
            ticket = counter.call_next(hall, clock, clerk(w), w).result
            if ticket is None:
                continue
            if ticket.id in waiting:
                called[ticket.id] = clock - now
            heapq.heappush(finishing, (clock + hall.service_minutes(ticket.matters) * 60, w))
        clock = min(clock + step, finishing[0][0]) if finishing else clock + step
        assert clock < now + 8 * 3600, "the drive never ends: a ticket nobody may call"
    return called


def busy_hall(config: HallConfig) -> HallState:
    """Every window staffed; some already serving; a mixed queue: bundles, a green ticket, a large
    enterprise, questions, a transfer, all issued on whole seconds."""
    hall = new_hall(config, OPENING)
    staff(hall, OPENING)
    matters = ["CBDJ", "JFJS", "SBKBH", "YLFY", "CBZM", "ZX", "BJSQ", "DYRZ", "SYJ", "TXHD", "ZX", "CBDJ"]
    for i, matter in enumerate(matters * 3):
        issue(hall, NINE + i * 20, matter)
    issue(hall, NINE + 800, "YLZY", "TXHD")
    issue(hall, NINE + 810, "CBDJ", channel="green")
    issue(hall, NINE + 820, "JFJS", channel="enterprise", credit_code=credit_code())
    for w in (1, 2, 3, 6):
        counter.call_next(hall, NINE + 900 + w, clerk(w), w)
    counter.start(hall, NINE + 905, clerk(2), 2)
    return hall


def test_deterministic_services_give_exactly_what_the_core_then_does(example_config: HallConfig) -> None:
    hall = busy_hall(example_config)
    now = NINE + 1000
    predicted = predict_waits(hall, now, exact_model(example_config))
    actual = serve_exactly(hall, now)
    assert set(predicted) == set(actual)
    for ticket_id, wait in actual.items():
        assert math.isclose(predicted[ticket_id], wait, abs_tol=1e-6), (ticket_id, predicted[ticket_id], wait)


def test_prediction_changes_nothing_in_the_hall(example_config: HallConfig) -> None:
    hall = busy_hall(example_config)
    before = fingerprint(hall)
    predict_ranges(hall, NINE + 1000, taught_model(example_config), seed=3)
    assert fingerprint(hall) == before


def test_a_green_arrival_delays_a_normal_ticket(example_config: HallConfig) -> None:
    hall = new_hall(example_config, OPENING)
    staff(hall, OPENING, 8)  # the green window alone: green first, then normal tickets
    for i in range(4):
        issue(hall, NINE + i, "CBDJ")
    last = issue(hall, NINE + 10, "CBDJ")
    quiet = taught_model(example_config)
    busy = taught_model(example_config)
    for i in range(20 * 20):  # twenty green tickets an hour from 09:00, on each of twenty days
        t = finished_ticket(50_000 + i, "SBKBH", seconds=240.0, channel="green")
        t.issued_at = NINE + (i % 20) * 170
        t.day = f"2026-02-{1 + i // 20:02d}"
        busy.learn_issued(t)
    calm = predict_waits(hall, NINE + 20, quiet)[last.id]
    rushed = predict_waits(hall, NINE + 20, busy)[last.id]
    assert calm < rushed


def test_a_dedicated_window_serves_only_its_own(example_config: HallConfig) -> None:
    hall = new_hall(example_config, OPENING)
    staff(hall, OPENING, 1, 7)
    issue(hall, NINE, "CBDJ")
    counter.call_next(hall, NINE + 10, clerk(1), 1)  # window 1 busy for 6 minutes from 09:00:10
    normal = issue(hall, NINE + 20, "CBZM")
    big = issue(hall, NINE + 30, "JFJS", channel="enterprise", credit_code=credit_code())
    waits = predict_waits(hall, NINE + 40, exact_model(example_config))
    assert waits[big.id] == 0.0  # the enterprise window (7) is free and takes it
    # window 7 is free too, but serves only large enterprises: the normal ticket waits for window 1
    assert math.isclose(waits[normal.id], 360 - 30, abs_tol=1e-6)


def test_an_enterprise_ticket_overflows_after_its_minutes(example_config: HallConfig) -> None:
    hall = new_hall(example_config, OPENING)
    staff(hall, OPENING, 1)  # an integrated window; the enterprise window has nobody
    big = issue(hall, NINE, "JFJS", channel="enterprise", credit_code=credit_code())
    waits = predict_waits(hall, NINE + 60, exact_model(example_config))
    # enterprise_overflow: window 1 may take it once it has waited 30 minutes
    assert math.isclose(waits[big.id], 30 * MINUTE - 60, abs_tol=1e-6)


def test_paused_and_closed_windows_serve_nobody(example_config: HallConfig) -> None:
    hall = new_hall(example_config, OPENING)
    staff(hall, OPENING, 1, 2)
    counter.pause(hall, NINE, clerk(2), 2)
    admin.close_window(hall, NINE, MANAGER, 3)
    first = issue(hall, NINE + 1, "CBDJ")
    second = issue(hall, NINE + 2, "CBDJ")
    waits = predict_waits(hall, NINE + 2, exact_model(example_config))
    assert waits[first.id] == 0.0
    assert math.isclose(waits[second.id], 360.0, abs_tol=1e-6)  # after the first, at the one window left


def test_time_already_spent_at_a_window_is_taken_into_account(example_config: HallConfig) -> None:
    model = taught_model(example_config)
    fresh = new_hall(example_config, OPENING)
    staff(fresh, OPENING, 1)
    issue(fresh, NINE, "CBDJ")
    counter.call_next(fresh, NINE + 5 * MINUTE, clerk(1), 1)
    after_fresh = issue(fresh, NINE + 5 * MINUTE, "CBDJ")
    long_ago = new_hall(example_config, OPENING)
    staff(long_ago, OPENING, 1)
    issue(long_ago, NINE, "CBDJ")
    counter.call_next(long_ago, NINE, clerk(1), 1)
    after_long = issue(long_ago, NINE + 5 * MINUTE, "CBDJ")
    now = NINE + 5 * MINUTE
    just_started = predict_waits(fresh, now, model)[after_fresh.id]
    five_minutes_in = predict_waits(long_ago, now, model)[after_long.id]
    assert five_minutes_in < just_started
    assert five_minutes_in > 0  # a service longer than usual is not assumed over


def test_conditional_remaining_time_of_a_lognormal() -> None:
    fit = LogNormal.with_mean(360.0, 0.5)
    assert math.isclose(conditional_mean_remaining(fit, 0.0), 360.0)
    # the expected total grows with the time already spent, and the remainder is never negative
    totals = [e + conditional_mean_remaining(fit, e) for e in (0, 60, 300, 600, 1800, 10_000)]
    assert totals == sorted(totals)
    assert all(conditional_mean_remaining(fit, e) > 0 for e in (60, 600, 10_000, 1e6))
    # quantiles: ordered in u, and P(T <= e + q | T > e) = u
    e = 300.0
    qs = [conditional_quantile_remaining(fit, e, u) for u in (0.1, 0.5, 0.9)]
    assert qs == sorted(qs)
    z = [(math.log(e + q) - fit.mu) / fit.sigma for q in qs]
    from statistics import NormalDist

    cdf = NormalDist().cdf
    f_e = cdf((math.log(e) - fit.mu) / fit.sigma)
    for u, zz in zip((0.1, 0.5, 0.9), z, strict=True):
        assert math.isclose((cdf(zz) - f_e) / (1 - f_e), u, abs_tol=1e-9)


def test_sampled_runs_give_an_ordered_range_and_repeat(example_config: HallConfig) -> None:
    hall = busy_hall(example_config)
    model = taught_model(example_config)
    first = predict_ranges(hall, NINE + 1000, model, seed=7)
    again = predict_ranges(hall, NINE + 1000, model, seed=7)
    assert first == again  # common random numbers: the same hall gives the same answer
    assert all(r.low <= r.median <= r.high for r in first.values())
    assert any(r.low < r.high for r in first.values())
    assert predict_waits(hall, NINE + 1000, model, seed=7) == {i: r.median for i, r in first.items()}


def test_nothing_waiting_predicts_nothing(staffed_hall: HallState, example_config: HallConfig) -> None:
    assert predict_waits(staffed_hall, NINE, exact_model(example_config)) == {}


def test_a_ticket_nobody_serves_now_still_gets_an_estimate(example_config: HallConfig) -> None:
    hall = new_hall(example_config, OPENING)  # nobody logged in anywhere
    ticket = issue(hall, NINE, "CBDJ")
    waits = predict_waits(hall, NINE, exact_model(example_config))
    assert waits[ticket.id] >= 0.0
    later = issue(hall, NINE + 1, "CBDJ")
    assert predict_waits(hall, NINE + 1, exact_model(example_config))[later.id] > 0.0
