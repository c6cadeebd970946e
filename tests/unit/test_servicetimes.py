"""What the wait model learns from history (core/servicetimes.py) and the simple predictors it is measured
against (core/eta.py): priors, shrinkage, bundles, no-shows, arrival rates."""

from __future__ import annotations

import math
import random

from hallkit import MINUTE, NINE, OPENING, clerk, issue, new_hall, staff

from hallctl.config import HallConfig
from hallctl.core import counter
from hallctl.core.eta import (
    head_of_line_estimate,
    last_to_enter_service_estimate,
    people_ahead_estimate,
)
from hallctl.core.model import Ticket, TicketState
from hallctl.core.servicetimes import PRIOR_WEIGHT, THIN_HISTORY, LogNormal, WaitModel, sum_of_lognormals


def done(
    ticket_id: int, matters: tuple[str, ...], seconds: float, *, state: TicketState = TicketState.DONE
) -> Ticket:
    t = Ticket(
        id=ticket_id,
        number="A001",
        prefix="A",
        seq=1,
        day="2026-03-01",
        matters=matters,
        channel="normal",
        issued_at=NINE - 86_400,
        track_token="",
        state=state,
    )
    t.first_called_at = t.called_at = t.issued_at + 120
    if state is TicketState.DONE:
        t.finished_at = t.called_at + seconds
    else:
        t.no_show_at = t.called_at + seconds
    return t


def test_priors_are_the_configured_service_minutes(example_config: HallConfig) -> None:
    model = WaitModel.from_config(example_config)
    assert math.isclose(model.service(("CBDJ",)).mean, 6 * MINUTE)
    assert model.thin
    # a bundle (打包“一件事”) takes the sum of its matters
    assert math.isclose(model.service(("YLZY", "TXHD")).mean, 27 * MINUTE)


def test_thin_history_shrinks_toward_the_prior(example_config: HallConfig) -> None:
    model = WaitModel.from_config(example_config)
    model.learn_finished(done(1, ("CBDJ",), 600.0))
    one = model.service(("CBDJ",)).mean
    assert 360.0 < one < 600.0  # one ticket moves the fit a little way toward what it saw
    assert one < 400.0
    for i in range(int(PRIOR_WEIGHT) - 1):
        model.learn_finished(done(2 + i, ("CBDJ",), 600.0))
    # as many observations as the prior's weight: the log-mean is half-way
    fit = model.service(("CBDJ",))
    prior = LogNormal.with_mean(360.0, 0.5)
    assert math.isclose(fit.mu, (prior.mu + math.log(600.0)) / 2)


def test_plenty_of_history_wins_over_the_prior(example_config: HallConfig) -> None:
    model = WaitModel.from_config(example_config)
    rng = random.Random(5)
    true = LogNormal.with_mean(600.0, 0.4)
    for i in range(3000):
        model.learn_finished(done(i, ("CBDJ",), math.exp(rng.gauss(true.mu, true.sigma))))
    fit = model.service(("CBDJ",))
    assert abs(fit.mean - 600.0) < 20.0
    assert abs(fit.sigma - 0.4) < 0.03
    assert not model.thin


def test_a_bundle_learns_from_its_matters_and_then_from_itself(example_config: HallConfig) -> None:
    model = WaitModel.from_config(example_config)
    for i in range(500):
        model.learn_finished(done(i, ("YLZY",), 20 * MINUTE))
    assert 29 * MINUTE < model.service(("YLZY", "TXHD")).mean < 36 * MINUTE  # 20 learned + 15 prior
    for i in range(500):
        model.learn_finished(done(1000 + i, ("YLZY", "TXHD"), 25 * MINUTE))
    assert abs(model.service(("YLZY", "TXHD")).mean - 25 * MINUTE) < 30


def test_sum_of_lognormals_keeps_mean_and_variance() -> None:
    parts = [LogNormal.with_mean(300.0, 0.5), LogNormal.with_mean(600.0, 0.3)]
    total = sum_of_lognormals(parts)
    assert math.isclose(total.mean, 900.0)
    variance = sum((math.exp(p.sigma**2) - 1) * p.mean**2 for p in parts)
    assert math.isclose((math.exp(total.sigma**2) - 1) * total.mean**2, variance)


def test_no_shows_are_learned_per_matter_with_the_hall_as_prior(example_config: HallConfig) -> None:
    model = WaitModel.from_config(example_config)
    assert math.isclose(model.no_show_probability(("CBDJ",)), 0.05)
    for i in range(200):
        model.learn_finished(done(i, ("CBDJ",), 300.0))
    for i in range(200):
        model.learn_finished(done(1000 + i, ("ZX",), 80.0, state=TicketState.NO_SHOW))
    assert model.no_show_probability(("CBDJ",)) < model.no_show_probability(("JFJS",))
    assert model.no_show_probability(("ZX",)) > 0.8
    assert 80.0 < model.no_show_seconds() < 85.0  # 200 no-shows of 80 s outweigh the 90 s prior


def test_implausible_window_times_are_not_learned(example_config: HallConfig) -> None:
    model = WaitModel.from_config(example_config)
    model.learn_finished(done(1, ("CBDJ",), 1.0))  # a slip of the finger
    model.learn_finished(done(2, ("CBDJ",), 9 * 3600.0))  # left open over lunch and the afternoon
    assert model.service(("CBDJ",)) == WaitModel.from_config(example_config).service(("CBDJ",))
    assert model.finished == 2  # they still count as served, for the no-show rate


def test_overtaking_arrivals_are_counted_per_hour_and_day(example_config: HallConfig) -> None:
    model = WaitModel.from_config(example_config)
    for day in range(1, 5):
        for k in range(3):
            t = done(day * 10 + k, ("CBDJ",), 300.0)
            t.channel = "green"
            t.day = f"2026-02-0{day}"
            t.issued_at = NINE + k * 60  # 09:00 local
            model.learn_issued(t)
        plain = done(day * 10 + 9, ("CBDJ",), 300.0)
        plain.day = f"2026-02-0{day}"
        model.learn_issued(plain)  # normal tickets never overtake: not counted
    assert model.hourly_arrivals() == {9: [(("CBDJ",), "green", 3.0)]}


def test_thin_means_fewer_than_the_threshold(example_config: HallConfig) -> None:
    model = WaitModel.from_config(example_config)
    for i in range(THIN_HISTORY - 1):
        model.learn_finished(done(i, ("CBDJ",), 300.0))
    assert model.thin
    model.learn_finished(done(THIN_HISTORY, ("CBDJ",), 300.0))
    assert not model.thin


def test_the_simple_predictors(example_config: HallConfig) -> None:
    hall = new_hall(example_config, OPENING)
    staff(hall, OPENING, 1, 2)
    model = WaitModel.from_config(example_config)
    first = issue(hall, NINE, "CBDJ")
    second = issue(hall, NINE + 60, "JFJS")
    third = issue(hall, NINE + 120, "CBDJ")
    now = NINE + 300
    # two people ahead, 6 + 8 minutes, over the two staffed windows
    assert math.isclose(people_ahead_estimate(hall, now, model, third), 7 * MINUTE)
    assert people_ahead_estimate(hall, now, model, first) == 0.0
    # head of line: the oldest waiting in its pool has waited 5 minutes
    assert head_of_line_estimate(hall, now, model, third) == 300.0
    assert head_of_line_estimate(hall, now, model, second) == 300.0
    # last to enter service: none of its kind called yet, then the one just called
    assert last_to_enter_service_estimate(hall, now, model, third) == 0.0
    counter.call_next(hall, now, clerk(1), 1)
    assert last_to_enter_service_estimate(hall, now + 1, model, third) == 300.0
    assert last_to_enter_service_estimate(hall, now + 1, model, second) == 0.0  # another matter
    assert people_ahead_estimate(hall, now, model, first) == 0.0  # no longer waiting
