"""Arrival profiles (客流) for the simulator: the example loads, a bad profile is refused naming its key,
and the default demand derived from a config keeps every window busy about three quarters of the day."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hallkit import EXAMPLE_CONFIG, example_data

from hallctl.config import HallConfig, parse_config
from hallctl.sim.default_demand import DEFAULT_LOAD, default_demand, open_fraction_by_hour
from hallctl.sim.demand import DemandError, load_profile, parse_profile

EXAMPLE_PROFILE = EXAMPLE_CONFIG.parent / "arrivals.example.toml"


def profile_data() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE_PROFILE.read_text(encoding="utf-8"))


def test_the_example_profile_loads_against_the_example_hall(example_config: HallConfig) -> None:
    demand = load_profile(EXAMPLE_PROFILE, example_config)
    channels = {s.channel for s in demand.streams}
    assert channels == {"normal", "enterprise", "green", "appointment"}
    assert any(len(s.matters) == 2 for s in demand.streams), "the example shows a bundled matter"
    assert demand.weekdays == frozenset(range(5))
    assert 400 < demand.arrivals_per_day() < 600
    # BJSQ's own mean and spread, CBZM's own spread with the config's mean, the rest from the defaults
    assert (demand.service["BJSQ"].mean_seconds, demand.service["BJSQ"].cv) == (900.0, 1.0)
    assert (demand.service["CBZM"].mean_seconds, demand.service["CBZM"].cv) == (120.0, 0.3)
    assert (demand.service["SYJ"].mean_seconds, demand.service["SYJ"].cv) == (480.0, 0.7)


def test_a_stream_rate_is_read_per_clock_hour_or_for_every_hour(example_config: HallConfig) -> None:
    demand = parse_profile(
        {
            "arrivals": [
                {"matters": "CBDJ", "per_hour": {"9": 12, "10:00": 6}},
                {"matters": ["ZX"], "rate_per_hour": 4},
            ]
        },
        example_config,
    )
    first, second = demand.streams
    assert (first.rate(9), first.rate(10), first.rate(11)) == (12, 6, 0)
    assert all(second.rate(h) == 4 for h in range(24))
    assert demand.arrivals_per_day() == 12 + 6 + 24 * 4


def _with(change: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(profile_data())
    for key, value in change.items():
        target: Any = data
        *path, last = key.split(".")
        for part in path:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value
    return data


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"arrivals.0.matters": ["NOPE"]}, "arrivals[0].matters: unknown matter 'NOPE'"),
        ({"arrivals.1.per_hur": {"9": 1}}, "arrivals[1].per_hur: unknown key"),
        ({"arrivals.2.rate_per_hour": 3}, "arrivals[2]: give exactly one of per_hour and rate_per_hour"),
        ({"arrivals.3.per_hour": {"25": 1}}, "arrivals[3].per_hour"),
        ({"arrivals.4.per_hour": {"09": -1}}, "arrivals[4].per_hour[9]"),
        ({"arrivals.5.channel": "vip"}, "arrivals[5].channel"),
        ({"arrivals.6.matters": ["CBDJ", "CBDJ"]}, "arrivals[6].matters: a matter is listed twice"),
        ({"no_show.probability": 1.5}, "no_show.probability"),
        ({"abandonment.patience": "sometimes"}, "abandonment.patience"),
        ({"service.XYZ": {"cv": 1}}, "service.XYZ: unknown matter"),
        ({"service.CBDJ": {"mean_minutes": 0}}, "service.CBDJ.mean_minutes"),
        ({"service_defaults.distribution": "gamma"}, "service_defaults.distribution"),
        ({"weekdays": ["mon"]}, "weekdays[0]"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_bad_profile_is_refused_naming_the_key(
    example_config: HallConfig, change: dict[str, Any], key: str
) -> None:
    with pytest.raises(DemandError) as refused:
        parse_profile(_with(change), example_config, "arrivals.toml")
    message = str(refused.value)
    assert message.startswith("arrivals.toml: ") and key in message, message


def test_a_stream_no_window_serves_is_refused_naming_its_channel() -> None:
    data = example_data()
    data["windows"] = [w for w in data["windows"] if w["profile"] != "enterprise"]
    data["devices"] = {}
    hall = parse_config(data, "no-enterprise-window.toml")
    with pytest.raises(DemandError, match=r"arrivals\[13\]\.channel: no window of the hall serves JFJS"):
        parse_profile(profile_data(), hall)


@pytest.mark.parametrize(
    ("content", "says"),
    [(None, "cannot read"), ("arrivals = [", "not valid TOML"), (b"\xff\xfe", "not UTF-8")],
    ids=["missing", "not TOML", "not UTF-8"],
)
def test_a_profile_file_that_cannot_be_read_is_named(
    tmp_path: Path, example_config: HallConfig, content: str | bytes | None, says: str
) -> None:
    path = tmp_path / "arrivals.toml"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(DemandError, match=says) as refused:
        load_profile(path, example_config)
    assert str(path) in str(refused.value)


def test_the_default_demand_loads_each_window_about_three_quarters(example_config: HallConfig) -> None:
    demand = default_demand(example_config)
    open_hours = sum(open_fraction_by_hour(example_config, always_open=False))
    assert open_hours == 8.0  # 08:30-12:00 and 13:00-17:30
    work_seconds = sum(
        s.rate(h) * sum(demand.service[m].mean_seconds for m in s.matters)
        for s in demand.streams
        for h in range(24)
    )
    capacity = len(example_config.windows) * open_hours * 3600
    assert work_seconds / capacity == pytest.approx(DEFAULT_LOAD, rel=0.02)
    # nobody is sent to a closed hall: no arrivals in hours the hall never opens
    assert all(s.rate(h) == 0 for s in demand.streams for h in (7, 12, 18))
    assert {s.channel for s in demand.streams} == {"normal", "enterprise", "green", "appointment"}


def test_an_always_open_default_demand_is_flat(example_config: HallConfig) -> None:
    demand = default_demand(example_config, always_open=True)
    for stream in demand.streams:
        assert len({stream.rate(h) for h in range(24)}) == 1
