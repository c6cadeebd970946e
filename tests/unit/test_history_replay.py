"""Replaying a history through the real core: every ticket gets a forecast made at its issue from what was
known then, the actual waits come out as recorded, no-shows leave when routing reaches them, and the
result is the same however many processes share the work."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from hallkit import EXAMPLE_CONFIG, at

from hallctl.config import Channel, HallConfig, load_config
from hallctl.core.servicetimes import WaitModel
from hallctl.history.accuracy import OVERALL, accuracy, improvement, render_table
from hallctl.history.events import HistoryRecord
from hallctl.history.replay import PREDICTORS, Prediction, replay_history
from hallctl.history.timeline import learn_history

MATTERS = ("CBDJ", "JFJS", "SBKBH", "CBZM", "YLZY")


@pytest.fixture(scope="module")
def example_config() -> HallConfig:
    return load_config(EXAMPLE_CONFIG)


def served(
    ticket_id: str,
    matter: str,
    issued: str,
    called: str,
    finished: str,
    window: int,
    channel: Channel = "normal",
) -> HistoryRecord:
    return HistoryRecord(
        ticket_id, tuple(matter.split("+")), channel, at(issued), at(called), at(finished), window
    )


def no_show(ticket_id: str, matter: str, issued: str, channel: Channel = "normal") -> HistoryRecord:
    return HistoryRecord(ticket_id, (matter,), channel, at(issued))


def fifo_history(days: int, per_day: int = 40, seed: int = 1) -> list[HistoryRecord]:
    """Days of a three-window hall served first come, first served, with a few no-shows."""
    rng = random.Random(seed)
    out: list[HistoryRecord] = []
    for day in range(days):
        start = at(f"2026-03-{2 + day:02d} 08:30")
        free = {1: start, 2: start, 3: start}
        t = start
        for i in range(per_day):
            t += rng.expovariate(1 / 120)
            ticket_id = f"D{day}-{i}"
            matter = rng.choice(MATTERS)
            if rng.random() < 0.08:
                out.append(HistoryRecord(ticket_id, (matter,), "normal", t))
                continue
            window = min(free, key=lambda w: free[w])
            call = max(t, free[window])
            free[window] = finish = call + rng.lognormvariate(5.6, 0.5)
            out.append(HistoryRecord(ticket_id, (matter,), "normal", t, call, finish, window))
    return out


def by_id(predictions: list[Prediction]) -> dict[str, Prediction]:
    return {p.ticket_id: p for p in predictions}


# -- the replay of one small day ---------------------------------------------------------------------------
def test_each_ticket_gets_every_predictor_and_the_actual_wait_it_had(example_config: HallConfig) -> None:
    history = [
        served("a", "CBDJ", "2026-03-02 09:00", "2026-03-02 09:00", "2026-03-02 09:06", 1),
        served("b", "JFJS", "2026-03-02 09:01", "2026-03-02 09:02", "2026-03-02 09:10", 2),
        served("c", "SBKBH", "2026-03-02 09:03", "2026-03-02 09:06", "2026-03-02 09:09", 1),
        served("d", "CBDJ+JFJS", "2026-03-02 09:04", "2026-03-02 09:09", "2026-03-02 09:30", 1),
        no_show("e", "CBZM", "2026-03-02 09:05"),
    ]
    result = replay_history(example_config, history)
    got = by_id(result.predictions)
    assert [p.ticket_id for p in result.predictions] == ["a", "b", "c", "d", "e"]  # issue order
    assert {k: p.actual for k, p in got.items()} == {"a": 0, "b": 60, "c": 180, "d": 300, "e": None}
    assert got["d"].matter == "CBDJ+JFJS"
    for p in result.predictions:
        assert set(p.predicted) == set(PREDICTORS)
        assert all(v >= 0 for v in p.predicted.values()), p
    # a came to an empty hall: nobody ahead, so the simple predictors announce no wait
    assert got["a"].predicted["people_ahead"] == 0 and got["a"].predicted["head_of_line"] == 0
    assert result.counts.tickets == 5


def test_recorded_calls_that_follow_routing_are_plain_calls_and_the_rest_out_of_order(
    example_config: HallConfig,
) -> None:
    history = [
        served("a", "CBDJ", "2026-03-02 09:00", "2026-03-02 09:10", "2026-03-02 09:15", 1),
        # b came later but was called first: routing (oldest first) would have taken a
        served("b", "CBDJ", "2026-03-02 09:01", "2026-03-02 09:05", "2026-03-02 09:08", 1),
        # g is green: green_first puts it before a, as recorded
        served("g", "SBKBH", "2026-03-02 09:02", "2026-03-02 09:08", "2026-03-02 09:09", 1, "green"),
    ]
    counts = replay_history(example_config, history).counts
    assert (counts.out_of_order_calls, counts.routed_calls) == (1, 2)


def test_a_no_show_leaves_when_a_window_that_would_take_it_first_calls_someone_else(
    example_config: HallConfig,
) -> None:
    history = [
        no_show("gone", "CBDJ", "2026-03-02 09:00"),
        served("next", "JFJS", "2026-03-02 09:01", "2026-03-02 09:10", "2026-03-02 09:20", 2),
        # a large enterprise may overflow to integrated windows only after 30 minutes: window 2 never may
        no_show("firm", "CBDJ", "2026-03-02 09:02", channel="enterprise"),
    ]
    counts = replay_history(example_config, history).counts
    assert counts.inferred_no_shows == 1  # "gone" was called at 09:10 and did not come
    assert counts.unreached_no_shows == 1  # "firm" was never routed anywhere: voided at the day's end
    assert counts.routed_calls == 1  # after "gone" left, routing chose "next" itself


def test_appointments_and_large_enterprises_are_issued_through_the_core(example_config: HallConfig) -> None:
    history = [
        served("n", "CBDJ", "2026-03-02 09:00", "2026-03-02 09:04", "2026-03-02 09:10", 1),
        served("ap", "CBDJ", "2026-03-02 09:01", "2026-03-02 09:02", "2026-03-02 09:08", 2, "appointment"),
        served("q", "BJSQ", "2026-03-02 09:01", "2026-03-02 09:03", "2026-03-02 09:40", 7, "enterprise"),
    ]
    result = replay_history(example_config, history)
    assert {p.ticket_id: p.actual for p in result.predictions} == {"n": 240, "ap": 60, "q": 120}
    # the due appointment goes before the older normal ticket at window 2 by appointment_due: a routed call
    assert result.counts.out_of_order_calls == 0


def test_a_window_recorded_calling_again_before_its_ticket_finished_ends_that_ticket(
    example_config: HallConfig,
) -> None:
    history = [
        served("a", "CBDJ", "2026-03-02 09:00", "2026-03-02 09:01", "2026-03-02 09:20", 1),
        served("b", "CBDJ", "2026-03-02 09:02", "2026-03-02 09:05", "2026-03-02 09:09", 1),
    ]
    result = replay_history(example_config, history)
    assert result.counts.overlaps == 1
    assert [p.actual for p in result.predictions] == [60, 180]


# -- what the forecast may know ----------------------------------------------------------------------------
def test_a_day_is_forecast_the_same_whatever_comes_after_it(example_config: HallConfig) -> None:
    history = fifo_history(3)
    two_days = [r for r in history if r.issued_at < at("2026-03-04 00:00")]
    full = replay_history(example_config, history, seed=3).predictions
    assert replay_history(example_config, two_days, seed=3).predictions == full[: len(two_days)]


def test_a_ticket_s_own_outcome_does_not_reach_forecasts_made_before_it(example_config: HallConfig) -> None:
    history = fifo_history(2)
    # a served ticket of day 2 that is not the last at its window (so the window's working span is kept)
    day2 = [r for r in history if r.issued_at >= at("2026-03-03 00:00") and r.served]
    target = day2[len(day2) // 2]
    assert target.called_at is not None and target.finished_at is not None
    shorter = (target.finished_at - target.called_at) / 2
    changed = [
        HistoryRecord(
            r.ticket_id, r.matters, r.channel, r.issued_at, r.called_at, r.called_at + shorter, r.window
        )
        if r is target
        else r
        for r in history
    ]
    known_until = target.called_at + shorter  # the earliest the change can be seen
    before = by_id(replay_history(example_config, history).predictions)
    after = by_id(replay_history(example_config, changed).predictions)
    earlier = [r.ticket_id for r in history if r.issued_at < known_until]
    assert target.ticket_id in earlier
    assert all(before[t] == after[t] for t in earlier)
    later = [r.ticket_id for r in history if r.issued_at > target.finished_at]
    assert later, "the change must have something to influence"


def test_days_replayed_in_parallel_processes_give_the_same_forecasts(example_config: HallConfig) -> None:
    history = fifo_history(4, per_day=25)
    alone = replay_history(example_config, history, seed=7)
    shared = replay_history(example_config, history, seed=7, workers=2)
    assert shared.predictions == alone.predictions
    assert shared.counts == alone.counts
    assert len(alone.predictions) == len(history)


# -- the figures -----------------------------------------------------------------------------------------
def test_figures_score_served_tickets_per_matter_and_overall() -> None:
    predictions = [
        Prediction("1", "CBDJ", 100.0, {"forecast": 120.0, "head_of_line": 0.0}),
        Prediction("2", "CBDJ", 300.0, {"forecast": 240.0, "head_of_line": 600.0}),
        Prediction("3", "ZX", 200.0, {"forecast": 200.0, "head_of_line": 100.0}),
        Prediction("4", "ZX", None, {"forecast": 999.0, "head_of_line": 999.0}),  # a no-show: not scored
    ]
    by_channel = accuracy(
        [*predictions[:2], replace(predictions[2], channel="green")], ("forecast",), by="channel"
    )
    assert [(f.group, f.n) for f in by_channel] == [("green", 1), ("normal", 2), (OVERALL, 3)]
    figures = accuracy(predictions, ("forecast", "head_of_line"))
    assert [f.group for f in figures] == ["CBDJ", "ZX", OVERALL]
    cbdj, zx, overall = figures
    assert (cbdj.n, cbdj.mean_wait) == (2, 200.0)
    assert cbdj.scores["forecast"].mae == 40.0 and cbdj.scores["forecast"].bias == -20.0
    assert cbdj.scores["forecast"].mae_pct == 20.0
    assert zx.n == 1 and zx.scores["forecast"].mae == 0.0
    assert overall.n == 3 and overall.mean_wait == 200.0
    assert overall.scores["head_of_line"].mae == pytest.approx(500 / 3)
    assert improvement(overall, "forecast", "head_of_line") == pytest.approx(
        100 * (500 / 3 - 80 / 3) / (500 / 3)
    )
    table = render_table(figures, ("forecast", "head_of_line"))
    assert "head of line" in table and table.splitlines()[-1].startswith("overall")


def test_a_history_file_teaches_the_model_the_hall_s_own_service_times(example_config: HallConfig) -> None:
    history = [
        served(f"t{i}", "CBDJ", "2026-03-02 09:00", "2026-03-02 09:00", "2026-03-02 09:20", 1 + i % 5)
        for i in range(200)
    ]
    model = WaitModel.from_config(example_config)
    configured = model.service(("CBDJ",)).mean
    learn_history(model, history, example_config.hall.zone)
    assert configured == pytest.approx(6 * 60, rel=0.2)  # the config's guess: 6 minutes
    assert model.service(("CBDJ",)).mean == pytest.approx(20 * 60, rel=0.1)  # what the hall really takes


def test_a_day_that_runs_past_midnight_replays_across_the_day_roll(example_config: HallConfig) -> None:
    history = [
        served("late", "CBDJ", "2026-03-02 23:50", "2026-03-02 23:55", "2026-03-03 00:05", 1),
        served("later", "CBDJ", "2026-03-02 23:58", "2026-03-03 00:06", "2026-03-03 00:12", 1),
        served("last", "JFJS", "2026-03-02 23:59", "2026-03-03 00:07", "2026-03-03 00:09", 2),
    ]
    result = replay_history(example_config, history)
    assert [p.actual for p in result.predictions] == [300, 480, 480]
    assert result.counts.routed_calls == 3
