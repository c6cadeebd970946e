"""The dashboard's what-if: the rest of today simulated as it stands and with more windows."""

from __future__ import annotations

import pytest
from hallkit import MINUTE, NINE, at, clerk, config_with, example_data, fingerprint, issue, new_hall, staff

from hallctl.config import HallConfig
from hallctl.core import counter
from hallctl.core.state import HallState
from hallctl.sim.demand import parse_profile
from hallctl.staffing.demand import PastTicket
from hallctl.staffing.whatif import WhatIf, learned_demand, what_if


def test_demand_is_learned_per_stream_and_hour_from_the_same_weekday(example_config: HallConfig) -> None:
    monday, tuesday = at("2026-02-23 09:10"), at("2026-02-24 09:10")
    past = [
        PastTicket(monday, "2026-02-23", ("CBDJ",), "normal", 1, True, False, 300.0),
        PastTicket(monday + 60, "2026-02-23", ("CBDJ",), "normal", 1, True, False, 500.0),
        PastTicket(monday + 3600, "2026-02-23", ("CBDJ",), "normal", 1, True, True, None),  # 10:10, a no-show
        PastTicket(
            at("2026-02-16 09:30"), "2026-02-16", ("CBDJ",), "normal", 1, True, False, 400.0
        ),  # a Monday
        PastTicket(tuesday, "2026-02-24", ("SBKBH",), "normal", 1, True, False, 100.0),  # a Tuesday: left out
        PastTicket(
            monday, "2026-02-23", ("NOPE",), "normal", 1, True, False, 100.0
        ),  # a matter the hall no longer has
    ]
    demand = learned_demand(example_config, past, weekday=0)
    assert demand is not None
    (stream,) = demand.streams
    assert stream.matters == ("CBDJ",) and stream.channel == "normal"
    assert stream.rate(9) == 1.5 and stream.rate(10) == 0.5  # three at 09:xx and one at 10:xx over 2 days
    assert demand.service["CBDJ"].mean_seconds == 400.0
    assert demand.no_show.probability == 0.25
    assert learned_demand(example_config, past, weekday=4) is None  # no Friday in the history


def _busy_hall(config: HallConfig) -> HallState:
    hall = new_hall(config, NINE)
    staff(hall, NINE, 1, 2)  # two of the five integrated windows staffed
    for i in range(30):
        issue(hall, NINE + i * 20, "CBDJ")
    counter.call_next(hall, NINE + 10 * MINUTE, clerk(1), 1)
    return hall


def test_one_more_window_shortens_the_waits_and_the_live_hall_is_untouched(
    example_config: HallConfig,
) -> None:
    hall = _busy_hall(example_config)
    before = fingerprint(hall)
    demand = parse_profile(
        {"arrivals": [{"matters": "CBDJ", "rate_per_hour": 12}], "service": {"CBDJ": {"mean_minutes": 6}}},
        example_config,
    )
    now = NINE + 10 * MINUTE
    answer = what_if(hall, now, demand, WhatIf("integrated", 1, "09:30"), runs=3)
    assert fingerprint(hall) == before
    assert answer["windows"] == [3]  # the first integrated window nobody works at
    mean = answer["mean_wait_minutes"]
    assert mean["with_change"] < mean["now"]
    assert [h["hour"] for h in answer["hours"]][:2] == [9, 10]
    assert all(h["with_change"] <= h["now"] for h in answer["hours"] if h["now"] and h["with_change"])


def test_windows_beyond_the_hall_are_added_for_the_run_only(example_config: HallConfig) -> None:
    hall = _busy_hall(example_config)
    staff(hall, NINE, 3, 4, 5)  # every integrated window already staffed
    demand = parse_profile({"arrivals": [{"matters": "CBDJ", "rate_per_hour": 30}]}, example_config)
    answer = what_if(hall, NINE + 10 * MINUTE, demand, WhatIf("integrated", 2, "10:00"), runs=2)
    assert answer["windows"] == [9, 10]  # after the hall's last window, 8
    assert set(hall.windows) == set(range(1, 9)) and len(hall.config.windows) == 8


def test_a_kind_the_hall_lacks_is_refused_by_name() -> None:
    data = example_data()
    for w in data["windows"]:
        if w["kind"] == "dedicated":
            w["kind"], w["profile"] = "integrated", "integrated"  # a hall without dedicated windows
    config = config_with(windows=data["windows"])
    hall = _busy_hall(config)
    demand = parse_profile({"arrivals": [{"matters": "CBDJ", "rate_per_hour": 10}]}, config)
    with pytest.raises(ValueError, match="no dedicated window"):
        what_if(hall, NINE + 10 * MINUTE, demand, WhatIf("dedicated", 1, "10:00"), runs=1)


def test_a_lunch_break_lengthens_the_waits_and_takes_the_highest_numbers(example_config: HallConfig) -> None:
    hall = _busy_hall(example_config)
    staff(hall, NINE, 3)  # windows 1, 2 and 3 of the integrated ones have a clerk
    demand = parse_profile({"arrivals": [{"matters": "CBDJ", "rate_per_hour": 20}]}, example_config)
    answer = what_if(hall, NINE + 10 * MINUTE, demand, WhatIf("integrated", -2, "09:30"), runs=3)
    assert answer["windows"] == [2, 3]
    mean = answer["mean_wait_minutes"]
    assert mean["with_change"] > mean["now"]
    with pytest.raises(ValueError, match="only 3 integrated"):
        what_if(hall, NINE + 10 * MINUTE, demand, WhatIf("integrated", -4, "09:30"), runs=1)
    with pytest.raises(ValueError, match="changes nothing"):
        what_if(hall, NINE + 10 * MINUTE, demand, WhatIf("integrated", 0, "09:30"), runs=1)


def test_a_refusal_survives_the_trip_back_from_the_worker_process() -> None:
    import pickle

    from hallctl.staffing.whatif import WhatIfError

    again = pickle.loads(
        pickle.dumps(WhatIfError("本厅没有专窗", "the hall has no dedicated window to copy"))
    )
    assert (again.zh, str(again)) == ("本厅没有专窗", "the hall has no dedicated window to copy")
