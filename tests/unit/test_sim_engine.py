"""The simulator drives the real core on a virtual clock: the same seed gives the same day, arrivals follow
the profile, the routing rules show (green first), the pooled hall beats the siloed one, a window plan
opens a window at its hour, and a run from a live hall leaves that hall untouched."""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hallkit import EXAMPLE_CONFIG, MANAGER, MINUTE, NINE, clerk, fingerprint, issue

from hallctl.config import HallConfig, parse_config
from hallctl.core import admin, counter
from hallctl.core.state import HallState
from hallctl.history.events import read_history
from hallctl.sim import default_demand, load_profile, parse_profile, shift, simulate, summarize
from hallctl.sim.demand import Demand
from hallctl.sim.report import write_events
from hallctl.sim.results import ABANDONED, NO_SHOW, SERVED
from hallctl.sim.setups import add_windows, apportion, difference, siloed

EXAMPLE_PROFILE = EXAMPLE_CONFIG.parent / "arrivals.example.toml"


def _matter(code: str, name: str, prefix: str) -> dict[str, Any]:
    return {"code": code, "name": name, "prefix": prefix, "target_wait_minutes": 10, "service_minutes": 5}


def small_hall(windows: int = 3, **profile: Any) -> HallConfig:
    """A hall of identical integrated windows serving two matters, with the green-first rule."""
    return parse_config(
        {
            "hall": {"id": "small", "name": "小厅", "number_digits": 5},
            "groups": [{"prefix": "A", "name": "综合"}, {"prefix": "B", "name": "社保卡"}],
            "matters": [_matter("CBDJ", "参保登记", "A"), _matter("SBKBH", "社保卡补换", "B")],
            "profiles": {
                "integrated": {
                    "matters": ["CBDJ", "SBKBH"],
                    "channels": ["normal", "green"],
                    "rules": [{"rule": "green_first"}],
                    **profile,
                }
            },
            "windows": [
                {"id": i, "kind": "integrated", "profile": "integrated"} for i in range(1, windows + 1)
            ],
        },
        "small.toml",
    )


@pytest.fixture(scope="module")
def example_demand(example_config: HallConfig) -> Demand:
    return load_profile(EXAMPLE_PROFILE, example_config)


def test_the_same_seed_gives_the_same_days_and_another_seed_other_days(
    example_config: HallConfig, example_demand: Demand
) -> None:
    first = summarize(simulate(example_config, example_demand, days=2, seed=7))
    again = summarize(simulate(example_config, example_demand, days=2, seed=7))
    other = summarize(simulate(example_config, example_demand, days=2, seed=8))
    assert first == again
    assert first["overall"] != other["overall"]


def test_the_example_day_issues_every_channel_through_the_core(
    example_config: HallConfig, example_demand: Demand
) -> None:
    result = simulate(example_config, example_demand, days=3, seed=1)
    figures = summarize(result)
    assert result.dates == ["2026-03-02", "2026-03-03", "2026-03-04"]  # a Monday and on
    assert set(figures["by_channel"]) == {"normal", "enterprise", "green", "appointment"}
    assert set(figures["refused"]) <= {"hall_closed"}  # credit codes and appointments all accepted
    numbers = Counter(
        (datetime.fromtimestamp(t.issued_at, result.zone).date(), t.number) for t in result.tickets
    )
    assert max(numbers.values()) == 1, "a number is never issued twice on a day"
    enterprise = [t for t in result.tickets if t.channel == "enterprise"]
    assert enterprise and all(t.number.startswith("Q") for t in enterprise)  # the channel's own prefix
    for t in result.tickets:
        assert t.outcome in (SERVED, NO_SHOW, ABANDONED)  # the windows serve everyone before going home
        if t.outcome == SERVED:
            assert t.issued_at <= t.called_at <= t.started_at < t.finished_at  # type: ignore[operator]
            assert t.window is not None
    # nobody takes a ticket while the hall is closed: before 08:30, at lunch, after 17:30
    for t in result.tickets:
        clock = datetime.fromtimestamp(t.issued_at, result.zone).strftime("%H:%M")
        assert "08:30" <= clock < "12:00" or "13:00" <= clock < "17:30"


def test_arrivals_per_hour_follow_the_profile(example_config: HallConfig) -> None:
    rates = {9: 30.0, 10: 60.0, 14: 10.0}
    demand = parse_profile(
        {"arrivals": [{"matters": "CBDJ", "per_hour": {str(h): r for h, r in rates.items()}}]}, example_config
    )
    days = 30
    result = simulate(example_config, demand, days=days, seed=3)
    by_hour = Counter(datetime.fromtimestamp(t.issued_at, result.zone).hour for t in result.tickets)
    assert set(by_hour) == set(rates)
    for hour, rate in rates.items():
        expected = rate * days  # Poisson: the count's standard deviation is its square root
        assert abs(by_hour[hour] - expected) < 4 * math.sqrt(expected), (hour, by_hour[hour], expected)


def test_a_green_ticket_waits_less_than_normal_ones_under_load() -> None:
    hall = small_hall(3)
    demand = parse_profile(
        {
            "service_defaults": {"distribution": "exponential"},
            "arrivals": [
                {"matters": "CBDJ", "rate_per_hour": 30},  # with the green ones, 95% of three windows
                {"matters": "SBKBH", "channel": "green", "rate_per_hour": 4},
            ],
        },
        hall,
    )
    figures = summarize(simulate(hall, demand, days=3, seed=2, always_open=True))
    green, normal = figures["by_channel"]["green"], figures["by_channel"]["normal"]
    assert normal["wait_mean_s"] > 300, "the hall must be under load for the test to mean anything"
    assert green["wait_mean_s"] < normal["wait_mean_s"] / 3


def test_the_pooled_hall_waits_less_than_the_siloed_one(
    example_config: HallConfig, example_demand: Demand
) -> None:
    old = siloed(example_config, example_demand)
    profiles = sorted(w.profile for w in old.windows if w.profile.startswith("siloed-"))
    assert profiles == ["siloed-A", "siloed-B", "siloed-C", "siloed-D", "siloed-E"]  # 5 windows, 5 blocks
    assert set(old.profiles["siloed-B"].matters) == {"SBKBH", "SBKXX"}
    pooled = summarize(simulate(example_config, example_demand, days=5, seed=4))
    split = summarize(simulate(old, example_demand, days=5, seed=4, setup="siloed"))
    assert pooled["overall"]["tickets"] == split["overall"]["tickets"]  # the same citizens came
    assert pooled["overall"]["wait_mean_s"] <= split["overall"]["wait_mean_s"]
    diff = difference(pooled, split)
    assert diff["overall"]["wait_mean_s"] == pytest.approx(
        split["overall"]["wait_mean_s"] - pooled["overall"]["wait_mean_s"], abs=0.11
    )


def test_windows_are_apportioned_by_workload_and_every_busy_block_gets_one() -> None:
    assert apportion(10, {"A": 6.0, "B": 3.0, "C": 1.0}) == {"A": 6, "B": 3, "C": 1}
    assert apportion(5, {"A": 100.0, "B": 1.0, "C": 0.0}) == {"A": 4, "B": 1, "C": 0}
    assert apportion(1, {"A": 2.0, "B": 1.0}) == {"A": 1, "B": 0}
    assert sum(apportion(7, {"A": 1.0, "B": 1.0, "C": 1.0}).values()) == 7


def test_a_window_plan_opens_one_more_window_from_ten(
    example_config: HallConfig, example_demand: Demand
) -> None:
    bigger, (extra,) = add_windows(example_config, "integrated")
    assert extra == 9
    plan = {extra: [shift("10:00")]}
    before = simulate(example_config, example_demand, days=2, seed=5)
    after = simulate(bigger, example_demand, days=2, seed=5, window_plan=plan)
    record = after.windows[extra]
    assert record.served > 0
    for start, _ in record.staffed:
        assert datetime.fromtimestamp(start, after.zone).strftime("%H:%M") >= "10:00"
    served_there = [t for t in after.tickets if t.window == extra]
    assert all(datetime.fromtimestamp(t.called_at or 0, after.zone).hour >= 10 for t in served_there)
    assert summarize(after)["overall"]["wait_mean_s"] < summarize(before)["overall"]["wait_mean_s"]
    with pytest.raises(ValueError, match="no window 99"):
        simulate(example_config, example_demand, window_plan={99: [shift("10:00")]})


def test_a_run_from_a_live_hall_copies_it_and_serves_the_people_inside(
    hall_with_queue: HallState, example_config: HallConfig
) -> None:
    hall = hall_with_queue
    for i in range(20):
        issue(hall, NINE + 10 * MINUTE + i, "JFJS")
    before = fingerprint(hall)
    demand = default_demand(example_config)
    now = NINE + 11 * MINUTE
    result = simulate(example_config, demand, seed=1, start=(hall, now))
    assert fingerprint(hall) == before, "the live hall must not change"
    live = [t for t in result.tickets if t.live]
    assert len(live) == 25 and all(t.outcome == SERVED for t in live)
    assert all(t.called_at is not None and t.called_at >= now for t in live)
    assert any(not t.live for t in result.tickets), "the day's later arrivals come too"
    assert result.dates == ["2026-03-02"]


def test_no_shows_and_abandonment_are_counted_and_have_no_window() -> None:
    hall = small_hall(2)
    demand = parse_profile(
        {
            "no_show": {"probability": 0.2, "recall_wait_seconds": 90},
            "abandonment": {"patience": "exponential", "mean_minutes": 10},
            "arrivals": [{"matters": "CBDJ", "rate_per_hour": 30}],  # overloaded: 2.5 windows of work
        },
        hall,
    )
    result = simulate(hall, demand, days=1, seed=6, always_open=True)
    figures = summarize(result)["overall"]
    assert figures["abandoned"] > 50
    assert 0.12 < figures["no_shows"] / figures["tickets"] < 0.28
    for t in result.tickets:
        if t.outcome in (NO_SHOW, ABANDONED):
            assert t.window is None and t.started_at is None and t.called_at is not None


def test_the_events_file_is_the_history_format_the_replay_reads(
    tmp_path: Path, example_config: HallConfig, example_demand: Demand
) -> None:
    result = simulate(example_config, example_demand, days=1, seed=9)
    path = tmp_path / "events.csv"
    rows = write_events(result, path)
    header = path.read_text(encoding="utf-8").splitlines()[0]
    assert header == "ticket_id,matter,channel,issued_at,called_at,finished_at,window"
    records = read_history(path, result.zone)
    assert len(records) == rows == len(result.tickets)
    by_id = {str(t.id): t for t in result.tickets}
    for r in records:
        t = by_id[r.ticket_id]
        assert r.matters == t.matters and r.channel == t.channel
        assert r.issued_at == pytest.approx(t.issued_at, abs=0.001)
        if t.outcome == SERVED:
            assert r.wait == pytest.approx(t.wait, abs=0.002) and r.window == t.window
        else:
            assert r.called_at is None and r.window is None
    assert any("+" in line for line in path.read_text(encoding="utf-8").splitlines()), "a bundle row"
    assert "+08:00" in path.read_text(encoding="utf-8").splitlines()[1]


def test_idle_integrated_windows_take_overflow_only_when_the_rules_allow(example_config: HallConfig) -> None:
    # Only questions and large enterprises come: the integrated windows have nothing of their own, so
    # they help with questions after standing idle 2 minutes, and with enterprises waiting 30 minutes.
    demand = parse_profile(
        {
            "arrivals": [
                {"matters": "ZX", "rate_per_hour": 30},  # twice what the consultation window handles
                {"matters": "BJSQ", "channel": "enterprise", "rate_per_hour": 8},  # 2 hours of work an hour
            ]
        },
        example_config,
    )
    result = simulate(example_config, demand, days=1, seed=11)
    integrated = {w.id for w in example_config.windows if w.kind == "integrated"}
    questions = [t for t in result.tickets if t.matters == ("ZX",) and t.window in integrated]
    enterprises = [t for t in result.tickets if t.channel == "enterprise" and t.window in integrated]
    assert questions and enterprises
    assert all((t.wait or 0) >= 30 * MINUTE for t in enterprises)  # enterprise_overflow, minutes = 30
    assert all(t.window == 7 for t in result.tickets if t.channel == "enterprise" and (t.wait or 0) < 1800)


def test_a_live_run_opens_a_closed_window_the_plan_staffs_and_keeps_a_paused_one_out(
    hall_with_queue: HallState, example_config: HallConfig
) -> None:
    hall = hall_with_queue
    now = NINE + 10 * MINUTE
    admin.close_window(hall, now, MANAGER, 5, "人手不足")
    counter.pause(hall, now, clerk(4), 4)
    for i in range(30):
        issue(hall, now + i, "SBKBH")
    before = fingerprint(hall)
    result = simulate(example_config, default_demand(example_config), start=(hall, now), window_plan={5: []})
    assert result.windows[5].served == 0  # planned with no shifts: stays closed
    assert result.windows[4].served == 0  # paused: takes no calls
    reopened = simulate(
        example_config, default_demand(example_config), start=(hall, now), window_plan={5: [shift("10:00")]}
    )
    assert reopened.windows[5].served > 0
    assert fingerprint(hall) == before
