"""差评整改 as plain data: which ratings open a case, its deadline in working days, and the order of a
manager's steps."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hallkit import MANAGER, NINE, config_with

from hallctl.audit.followups import open_entries, step, working_day_after
from hallctl.config import HallConfig, Hours
from hallctl.core.errors import Conflict, Invalid, NotFound
from hallctl.core.model import Rating

MONDAY = date(2026, 3, 2)


def rating(level: int) -> Rating:
    names = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
    return Rating(7, 1, "c1", level, names[level], "rating-1", NINE, NINE + 3)


def test_working_days_skip_sundays_and_closed_dates(example_config: HallConfig) -> None:
    hours = example_config.hours  # Monday to Saturday
    assert working_day_after(hours, MONDAY, 5) == date(2026, 3, 7)
    assert working_day_after(hours, date(2026, 3, 7), 1) == date(2026, 3, 9)  # Saturday -> Monday
    holiday = config_with({"hours": {"closed_dates": ["2026-03-03", "2026-03-04"]}}).hours
    assert working_day_after(holiday, MONDAY, 1) == date(2026, 3, 5)


def test_a_hall_with_no_working_day_counts_calendar_days() -> None:
    assert working_day_after(Hours(), MONDAY, 5) == date(2026, 3, 7)


@pytest.mark.parametrize(("level", "opens"), [(1, True), (2, True), (3, False), (5, False)])
def test_only_bad_ratings_open_a_case(example_config: HallConfig, level: int, opens: bool) -> None:
    entries = open_entries(example_config, NINE + 3, rating(level))
    assert bool(entries) is opens
    if opens:
        [entry] = entries
        assert (entry.action, entry.ticket, entry.window, entry.after) == ("followup.open", 7, 1, "open")
        assert entry.detail["due_day"] == "2026-03-07" and entry.detail["clerk"] == "c1"


def case(state: str) -> dict[str, Any]:
    return {"state": state, "window": 1, "ticket": 7}


def test_the_steps_go_in_order_and_a_closed_case_stays_closed() -> None:
    called = step(case("open"), 3, NINE, MANAGER, "callback", "已回访").journal[0]
    assert (called.action, called.before, called.after, called.detail) == (
        "followup.callback",
        "open",
        "called_back",
        {"case": 3, "text": "已回访"},
    )
    assert step(case("rectified"), 3, NINE, MANAGER, "callback", "再次回访").journal[0].after == "rectified"
    assert step(case("called_back"), 3, NINE, MANAGER, "rectify", "整改").journal[0].after == "rectified"
    assert step(case("rectified"), 3, NINE, MANAGER, "close", "销号").journal[0].after == "closed"
    with pytest.raises(Conflict, match="rectification"):
        step(case("called_back"), 3, NINE, MANAGER, "close", "销号")
    with pytest.raises(Conflict, match="closed"):
        step(case("closed"), 3, NINE, MANAGER, "rectify", "整改")
    with pytest.raises(Invalid):
        step(case("open"), 3, NINE, MANAGER, "callback", "   ")
    with pytest.raises(NotFound):
        step(None, 3, NINE, MANAGER, "callback", "x")
