"""A new local business day: windows open afresh and clerks log in again, except where a ticket is at
the window; numbering starts again (see test_numbering.py)."""

from __future__ import annotations

import pytest
from hallkit import MANAGER, at, clerk, issue, new_hall, staff

from hallctl.config import HallConfig
from hallctl.core import admin, counter
from hallctl.core.errors import Forbidden
from hallctl.core.model import TicketState, WindowState
from hallctl.core.state import HallState

EVENING = at("2026-03-02 17:00")
MIDNIGHT = at("2026-03-03 00:00")


def test_same_day_changes_nothing(staffed_hall: HallState) -> None:
    # 08:00 in Shanghai is UTC midnight: not a new business day here
    assert staffed_hall.roll_day(at("2026-03-02 08:00")).empty
    assert staffed_hall.roll_day(at("2026-03-02 23:59:59")).empty
    assert staffed_hall.day == "2026-03-02"
    assert all(w.clerk is not None for w in staffed_hall.windows.values())


def test_new_day_reopens_windows_and_logs_clerks_out(staffed_hall: HallState) -> None:
    admin.close_window(staffed_hall, EVENING, MANAGER, 2)
    counter.pause(staffed_hall, EVENING, clerk(3), 3)
    change = staffed_hall.roll_day(MIDNIGHT)
    assert staffed_hall.day == "2026-03-03"
    for window in staffed_hall.windows.values():
        assert (window.state, window.clerk, window.idle_since, window.day) == (
            WindowState.OPEN,
            None,
            MIDNIGHT,
            "2026-03-03",
        )
    assert set(change.windows) == set(staffed_hall.windows)
    assert [(e.window, e.action, e.before, e.after) for e in change.journal if e.window in (2, 3)] == [
        (2, "window.day_open", "closed", "open"),
        (3, "window.day_open", "paused", "open"),
    ]
    assert {e.kind for e in change.events} == {"window.changed"}
    assert staffed_hall.roll_day(MIDNIGHT + 1).empty  # once a day


def test_a_clerk_serving_at_midnight_keeps_the_window(example_config: HallConfig) -> None:
    hall = new_hall(example_config, at("2026-03-02 23:00"), always_open=True)
    staff(hall, at("2026-03-02 23:00"), 1, 2)
    ticket = issue(hall, at("2026-03-02 23:30"), "CBDJ")
    counter.call_next(hall, at("2026-03-02 23:40"), clerk(1), 1)
    counter.start(hall, at("2026-03-02 23:41"), clerk(1), 1)
    hall.roll_day(MIDNIGHT)
    serving = hall.windows[1]
    assert (serving.clerk, serving.current, serving.day) == ("c1", ticket.id, "2026-03-03")
    assert hall.windows[2].clerk is None
    counter.finish(hall, MIDNIGHT + 60, clerk(1), 1)  # the clerk can still finish the case
    assert ticket.state is TicketState.DONE


def test_after_the_roll_a_clerk_may_log_in_anywhere(staffed_hall: HallState) -> None:
    staffed_hall.roll_day(at("2026-03-03 08:00"))
    counter.login(staffed_hall, at("2026-03-03 08:20"), clerk(1), 5)
    assert staffed_hall.windows[5].clerk == "c1"
    assert staffed_hall.windows[5].idle_since == at("2026-03-03 08:20")


def test_clerks_must_log_in_again_after_the_roll(staffed_hall: HallState) -> None:
    staffed_hall.roll_day(at("2026-03-03 08:31"))
    with pytest.raises(Forbidden) as refused:
        counter.call_next(staffed_hall, at("2026-03-03 08:31"), clerk(1), 1)
    assert refused.value.code == "not_logged_in"
