"""A day's staffing plan turned into a window plan for the simulator, and demand read from a forecast."""

from __future__ import annotations

from hallctl.config import HallConfig
from hallctl.core.erlang import erlang_c
from hallctl.sim.demand import parse_profile
from hallctl.sim.plan import Shift
from hallctl.staffing.check import check, demand_from_profile, staffed_by_plan
from hallctl.staffing.demand import pool_of
from hallctl.staffing.plan import HourAdvice, HourDemand

H = 3600.0


def advice(pool: str, hour: int, windows: int) -> HourAdvice:
    demand = HourDemand(pool, hour, 10.0, 300.0, 600.0)
    return HourAdvice(demand, erlang_c(10.0, 300.0, windows), None)


def test_streams_go_to_the_pool_that_serves_them(example_config: HallConfig) -> None:
    assert pool_of(example_config, ("ZX",), "normal") == "consultation"
    assert pool_of(example_config, ("CBDJ",), "normal") == "integrated"
    assert pool_of(example_config, ("BJSQ",), "enterprise") == "dedicated"  # only the large-enterprise window


def test_the_first_windows_of_a_pool_work_the_hours_that_need_them(example_config: HallConfig) -> None:
    plan = [advice("integrated", 9, 2), advice("integrated", 10, 3), advice("integrated", 11, 1)]
    config, shifts = staffed_by_plan(example_config, plan)
    assert config is example_config  # five integrated windows are enough
    assert shifts[1] == [Shift(9 * H, 12 * H)]
    assert shifts[2] == [Shift(9 * H, 11 * H)]
    assert shifts[3] == [Shift(10 * H, 11 * H)]
    assert shifts[4] == shifts[5] == []  # not needed: closed for the check
    assert 6 not in shifts and 8 not in shifts  # other pools keep the hall's hours


def test_windows_are_added_when_the_plan_needs_more_than_the_hall_has(example_config: HallConfig) -> None:
    config, shifts = staffed_by_plan(example_config, [advice("consultation", 14, 3)])
    assert [w.id for w in config.windows if w.kind == "consultation"] == [6, 9, 10]
    assert shifts[9] == shifts[10] == [Shift(14 * H, 15 * H)]
    assert len(example_config.windows) == 8  # the hall's own config is untouched


def test_a_forecast_gives_each_pool_its_arrivals_service_and_target(example_config: HallConfig) -> None:
    forecast = parse_profile(
        {
            "service": {"CBDJ": {"mean_minutes": 5}, "SBKBH": {"mean_minutes": 10}},
            "arrivals": [
                {"matters": "CBDJ", "per_hour": {"9": 30}},
                {"matters": "SBKBH", "per_hour": {"9": 10, "10": 20}},
                {"matters": "ZX", "rate_per_hour": 6},
            ],
        },
        example_config,
    )
    demand = {(d.pool, d.hour): d for d in demand_from_profile(example_config, forecast)}
    nine = demand[("integrated", 9)]
    assert nine.arrivals_per_hour == 40
    assert nine.service_seconds == (30 * 300 + 10 * 600) / 40
    targets = {m: example_config.matter(m).target_wait_minutes * 60 for m in ("CBDJ", "SBKBH")}
    assert nine.target_seconds == (30 * targets["CBDJ"] + 10 * targets["SBKBH"]) / 40
    assert demand[("integrated", 10)].arrivals_per_hour == 20
    assert len([k for k in demand if k[0] == "consultation"]) == 24  # the same rate every hour


def test_the_check_reports_what_the_simulated_day_gave_each_hour(example_config: HallConfig) -> None:
    forecast = parse_profile(
        {
            "arrivals": [{"matters": "CBDJ", "per_hour": {"9": 20, "10": 20}}],
            "service": {"CBDJ": {"mean_minutes": 6}},
        },
        example_config,
    )
    one = check(
        example_config, forecast, [advice("integrated", 9, 1), advice("integrated", 10, 1)], days=2, seed=3
    )
    three = check(
        example_config, forecast, [advice("integrated", 9, 3), advice("integrated", 10, 3)], days=2, seed=3
    )
    assert set(one) == {("integrated", 9), ("integrated", 10)}
    assert one[("integrated", 9)].tickets == three[("integrated", 9)].tickets > 0  # the same citizens
    # one window for 2 erlangs of work falls behind; three keep up
    for hour in (9, 10):
        assert one[("integrated", hour)].mean_wait_seconds > three[("integrated", hour)].mean_wait_seconds
