"""Fixtures named after the state of the hall they give: a loaded config, a hall just opened, one with
clerks logged in, one with people waiting. Time is fixed: every fixture works at a stated moment of
Monday 2026-03-02 in Asia/Shanghai (see hallkit)."""

from __future__ import annotations

import pytest
from hallkit import EXAMPLE_CONFIG, MINUTE, NINE, OPENING, config_with, issue, new_hall, staff

from hallctl.config import HallConfig, load_config
from hallctl.core.state import HallState


@pytest.fixture(scope="session")
def example_config() -> HallConfig:
    return load_config(EXAMPLE_CONFIG)


@pytest.fixture(scope="session")
def two_digit_config() -> HallConfig:
    """The example hall numbering A01..A99, so a prefix can run out in a test."""
    return config_with({"hall": {"number_digits": 2}})


@pytest.fixture
def fresh_hall(example_config: HallConfig) -> HallState:
    """The example hall at opening time on a Monday: every window open, nobody logged in, nobody waiting."""
    return new_hall(example_config, OPENING)


@pytest.fixture
def staffed_hall(fresh_hall: HallState) -> HallState:
    """Clerk cN logged in at window N, for every window; still nobody waiting."""
    staff(fresh_hall, OPENING)
    return fresh_hall


@pytest.fixture
def hall_with_queue(staffed_hall: HallState) -> HallState:
    """The staffed hall with five people who took tickets a minute apart from 09:00 (ticket ids 1-5):
    A0001 参保登记, A0002 缴费基数申报, B0001 社保卡补换, E0001 参保证明打印, Z0001 业务咨询.
    The windows have stood idle since 08:30, long enough for consultation overflow."""
    for i, matter in enumerate(["CBDJ", "JFJS", "SBKBH", "CBZM", "ZX"]):
        issue(staffed_hall, NINE + i * MINUTE, matter)
    return staffed_hall
