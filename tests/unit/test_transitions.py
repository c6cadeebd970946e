"""The ticket life cycle at a window: every allowed step works, every other one is refused and changes
nothing. Also the rules around it: recalls, no-show returns, transfer, suspend/resume, pause, login."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hallkit import KIOSK, MANAGER, MINUTE, NINE, clerk, config_with, fingerprint, issue, new_hall, staff

from hallctl.config import Profile
from hallctl.core import admin, counter, issuing
from hallctl.core.errors import Conflict, Forbidden, HallError, Invalid, NotFound
from hallctl.core.model import Actor, Change, Role, Ticket, TicketState, WindowState
from hallctl.core.state import HallState

LATER = NINE + 10 * MINUTE  # when the step under test happens

# -- building a ticket in each state, at window 1 ---------------------------------------------------


def ticket_in(hall: HallState, state: TicketState) -> Ticket:
    """A 参保登记 ticket brought into ``state`` by the usual steps at window 1 (clerk c1)."""
    ticket = issue(hall, NINE, "CBDJ")
    if state is TicketState.WAITING:
        return ticket
    if state is TicketState.VOIDED:
        issuing.void(hall, NINE + 30, MANAGER, ticket.id, "取错号")
        return ticket
    assert counter.call_next(hall, NINE + MINUTE, clerk(1), 1).result == ticket
    if state is TicketState.CALLED:
        return ticket
    if state is TicketState.NO_SHOW:
        counter.no_show(hall, NINE + 2 * MINUTE, clerk(1), 1)
    elif state is TicketState.SUSPENDED:
        counter.suspend(hall, NINE + 2 * MINUTE, clerk(1), 1, "回去拿户口簿")
    elif state is TicketState.TRANSFERRED:
        counter.transfer(hall, NINE + 2 * MINUTE, clerk(1), 1, matters=("JFJS",))
    else:
        counter.start(hall, NINE + 2 * MINUTE, clerk(1), 1)
        if state is TicketState.DONE:
            counter.finish(hall, NINE + 5 * MINUTE, clerk(1), 1)
    assert ticket.state is state
    return ticket


Action = Callable[[HallState, Ticket], Change]

ACTIONS: dict[str, Action] = {
    # a manager's out-of-order call to idle window 2 is the call that names a ticket
    "call": lambda h, t: admin.call_ticket(h, LATER, MANAGER, 2, t.id, "老人行动不便"),
    "recall": lambda h, t: counter.recall(h, LATER, clerk(1), 1),
    "no_show": lambda h, t: counter.no_show(h, LATER, clerk(1), 1),
    "start": lambda h, t: counter.start(h, LATER, clerk(1), 1),
    "finish": lambda h, t: counter.finish(h, LATER, clerk(1), 1),
    "transfer": lambda h, t: counter.transfer(h, LATER, clerk(1), 1, matters=("ZJY",)),
    "suspend": lambda h, t: counter.suspend(h, LATER, clerk(1), 1),
    "resume": lambda h, t: counter.resume(h, LATER, clerk(1), 1, t.id),
    "return": lambda h, t: issuing.return_no_show(h, LATER, KIOSK, t.id),
    "void": lambda h, t: issuing.void(h, LATER, MANAGER, t.id, "打印失败"),
}

S = TicketState
ALLOWED: dict[tuple[TicketState, str], TicketState] = {
    (S.WAITING, "call"): S.CALLED,
    (S.WAITING, "void"): S.VOIDED,
    (S.TRANSFERRED, "call"): S.CALLED,
    (S.TRANSFERRED, "void"): S.VOIDED,
    (S.CALLED, "recall"): S.CALLED,
    (S.CALLED, "no_show"): S.NO_SHOW,
    (S.CALLED, "start"): S.SERVING,
    (S.CALLED, "transfer"): S.TRANSFERRED,
    (S.CALLED, "suspend"): S.SUSPENDED,
    (S.SERVING, "finish"): S.DONE,
    (S.SERVING, "transfer"): S.TRANSFERRED,
    (S.SERVING, "suspend"): S.SUSPENDED,
    (S.SUSPENDED, "resume"): S.CALLED,
    (S.SUSPENDED, "void"): S.VOIDED,
    (S.NO_SHOW, "return"): S.WAITING,
    (S.NO_SHOW, "void"): S.VOIDED,
}
ALL_STEPS = [(state, action) for state in TicketState for action in ACTIONS]


@pytest.mark.parametrize(
    ("state", "action"),
    [step for step in ALL_STEPS if step in ALLOWED],
    ids=lambda v: v.value if isinstance(v, TicketState) else v,
)
def test_allowed_transition(staffed_hall: HallState, state: TicketState, action: str) -> None:
    ticket = ticket_in(staffed_hall, state)
    change = ACTIONS[action](staffed_hall, ticket)
    assert ticket.state is ALLOWED[(state, action)]
    assert change.tickets[ticket.id] is ticket
    entry = next(e for e in change.journal if e.ticket == ticket.id)
    assert (entry.before, entry.after) == (state.value, ticket.state.value)
    # a ticket is in a queue exactly when its state says it waits
    assert (ticket.id in staffed_hall.queues) == (ticket.state in (S.WAITING, S.TRANSFERRED))
    at_window = [w.id for w in staffed_hall.windows.values() if w.current == ticket.id]
    assert at_window == ([ticket.window] if ticket.state in (S.CALLED, S.SERVING) else [])


@pytest.mark.parametrize(
    ("state", "action"),
    [step for step in ALL_STEPS if step not in ALLOWED],
    ids=lambda v: v.value if isinstance(v, TicketState) else v,
)
def test_disallowed_transition_is_refused_and_changes_nothing(
    staffed_hall: HallState, state: TicketState, action: str
) -> None:
    ticket = ticket_in(staffed_hall, state)
    before = fingerprint(staffed_hall)
    with pytest.raises(HallError) as refused:
        ACTIONS[action](staffed_hall, ticket)
    assert isinstance(refused.value, Conflict)
    assert refused.value.status == 409
    assert refused.value.zh and refused.value.en
    assert fingerprint(staffed_hall) == before


def test_wrong_state_error_speaks_both_languages(staffed_hall: HallState) -> None:
    ticket = ticket_in(staffed_hall, S.DONE)
    with pytest.raises(Conflict) as refused:
        issuing.void(staffed_hall, LATER, MANAGER, ticket.id, "x")
    assert refused.value.code == "invalid_transition"
    assert refused.value.message("zh") == "号票 A0001 当前状态为“已办结”，不能作废"
    assert refused.value.message("en").startswith("ticket A0001 is done; void needs")


def test_unknown_ticket_and_window_are_not_found(staffed_hall: HallState) -> None:
    with pytest.raises(NotFound) as no_ticket:
        issuing.void(staffed_hall, LATER, MANAGER, 999, "x")
    assert (no_ticket.value.code, no_ticket.value.status) == ("ticket_not_found", 404)
    with pytest.raises(NotFound) as no_window:
        counter.call_next(staffed_hall, LATER, clerk(1), 42)
    assert no_window.value.code == "window_not_found"


# -- recall -----------------------------------------------------------------------------------------


def test_recall_is_bounded_by_max_recalls(staffed_hall: HallState) -> None:
    ticket = ticket_in(staffed_hall, S.CALLED)
    limit = staffed_hall.config.rules.max_recalls
    for n in range(1, limit + 1):
        counter.recall(staffed_hall, LATER + n, clerk(1), 1)
        assert ticket.recalls == n
        assert ticket.called_at == LATER + n
    before = fingerprint(staffed_hall)
    with pytest.raises(Conflict) as refused:
        counter.recall(staffed_hall, LATER + 99, clerk(1), 1)
    assert refused.value.code == "recall_limit"
    assert fingerprint(staffed_hall) == before
    counter.no_show(staffed_hall, LATER + 100, clerk(1), 1)  # what the refusal tells the clerk to do
    assert ticket.state is S.NO_SHOW


def test_max_recalls_zero_allows_no_recall() -> None:
    hall = new_hall(config_with({"rules": {"max_recalls": 0}}))
    staff(hall, NINE, 1)
    issue(hall, NINE, "CBDJ")
    counter.call_next(hall, NINE + 1, clerk(1), 1)
    with pytest.raises(Conflict, match="recalled 0 times"):
        counter.recall(hall, NINE + 2, clerk(1), 1)


def test_resume_starts_the_recall_count_afresh(staffed_hall: HallState) -> None:
    ticket = ticket_in(staffed_hall, S.CALLED)
    counter.recall(staffed_hall, LATER, clerk(1), 1)
    counter.suspend(staffed_hall, LATER + 1, clerk(1), 1)
    counter.resume(staffed_hall, LATER + 2, clerk(1), 1)
    assert ticket.recalls == 0
    assert ticket.first_called_at == NINE + MINUTE
    assert ticket.called_at == LATER + 2


# -- no-show and its one return ---------------------------------------------------------------------


def test_no_show_may_return_once_and_joins_at_the_back(staffed_hall: HallState) -> None:
    ticket = ticket_in(staffed_hall, S.NO_SHOW)
    later_ticket = issue(staffed_hall, NINE + 5 * MINUTE, "CBDJ")
    issuing.return_no_show(staffed_hall, LATER, KIOSK, ticket.id)
    assert (ticket.state, ticket.queue_key, ticket.no_show_returns) == (S.WAITING, LATER, 1)
    assert counter.call_next(staffed_hall, LATER + 1, clerk(2), 2).result is later_ticket
    assert counter.call_next(staffed_hall, LATER + 2, clerk(3), 3).result is ticket
    counter.no_show(staffed_hall, LATER + 3, clerk(3), 3)
    before = fingerprint(staffed_hall)
    with pytest.raises(Conflict) as refused:
        issuing.return_no_show(staffed_hall, LATER + 4, KIOSK, ticket.id)
    assert refused.value.code == "no_show_returns_used"
    assert fingerprint(staffed_hall) == before


def test_no_show_returns_only_within_the_time_allowed(staffed_hall: HallState) -> None:
    ticket = ticket_in(staffed_hall, S.NO_SHOW)
    marked = ticket.no_show_at
    assert marked is not None
    limit = staffed_hall.config.rules.no_show_return_minutes * MINUTE
    before = fingerprint(staffed_hall)
    with pytest.raises(Conflict) as refused:
        issuing.return_no_show(staffed_hall, marked + limit + 1, KIOSK, ticket.id)
    assert refused.value.code == "no_show_expired"
    assert fingerprint(staffed_hall) == before
    issuing.return_no_show(staffed_hall, marked + limit, KIOSK, ticket.id)  # the last allowed second
    assert ticket.state is S.WAITING


def test_no_returns_when_the_rule_allows_none() -> None:
    hall = new_hall(config_with({"rules": {"no_show_returns": 0}}))
    staff(hall, NINE, 1)
    ticket = issue(hall, NINE, "CBDJ")
    counter.call_next(hall, NINE + 1, clerk(1), 1)
    counter.no_show(hall, NINE + 2, clerk(1), 1)
    with pytest.raises(Conflict, match="already came back"):
        issuing.return_no_show(hall, NINE + 3, KIOSK, ticket.id)


def test_no_show_frees_the_window(staffed_hall: HallState) -> None:
    ticket_in(staffed_hall, S.NO_SHOW)
    window = staffed_hall.windows[1]
    assert window.current is None
    assert window.idle_since == NINE + 2 * MINUTE


# -- transfer keeps the ticket's place --------------------------------------------------------------


def test_transfer_keeps_its_place_by_original_issue_time(staffed_hall: HallState) -> None:
    first = issue(staffed_hall, NINE, "CBDJ")
    second = issue(staffed_hall, NINE + MINUTE, "JFJS")
    third = issue(staffed_hall, NINE + 2 * MINUTE, "JFJS")
    assert counter.call_next(staffed_hall, NINE + 3 * MINUTE, clerk(1), 1).result is first
    assert counter.call_next(staffed_hall, NINE + 3 * MINUTE, clerk(2), 2).result is second
    # first turns out to need 缴费基数申报 instead: it goes back ahead of third, issued after it
    counter.transfer(staffed_hall, NINE + 8 * MINUTE, clerk(1), 1, matters=("JFJS",), reason="业务选错")
    assert first.queue_key == first.issued_at == NINE
    assert (first.state, first.matters, first.transfers) == (S.TRANSFERRED, ("JFJS",), 1)
    assert counter.call_next(staffed_hall, NINE + 9 * MINUTE, clerk(3), 3).result is first
    assert counter.call_next(staffed_hall, NINE + 9 * MINUTE, clerk(4), 4).result is third


def test_transfer_to_a_window_waits_for_that_window_only(staffed_hall: HallState) -> None:
    first = issue(staffed_hall, NINE, "CBDJ")
    second = issue(staffed_hall, NINE + MINUTE, "CBDJ")
    counter.call_next(staffed_hall, NINE + 2 * MINUTE, clerk(1), 1)
    counter.transfer(staffed_hall, NINE + 3 * MINUTE, clerk(1), 1, to_window=3, reason="需3号窗口复核")
    assert first.target_window == 3
    assert counter.call_next(staffed_hall, NINE + 4 * MINUTE, clerk(2), 2).result is second
    assert counter.call_next(staffed_hall, NINE + 4 * MINUTE, clerk(1), 1).result is None
    assert counter.call_next(staffed_hall, NINE + 4 * MINUTE, clerk(3), 3).result is first
    assert first.target_window is None  # once called, the target has done its job


@pytest.mark.parametrize(
    ("kwargs", "error", "code"),
    [
        ({}, Invalid, "transfer_target_required"),
        ({"matters": ()}, Invalid, "bad_matters"),
        ({"matters": ("JFJS", "JFJS")}, Invalid, "bad_matters"),
        ({"matters": ("NOPE",)}, Invalid, "unknown_matter"),
        ({"to_window": 1}, Invalid, "transfer_to_self"),
        ({"to_window": 6}, Conflict, "window_cannot_serve"),  # consultation only
        ({"to_window": 99}, NotFound, "window_not_found"),
    ],
)
def test_bad_transfers_are_refused_and_change_nothing(
    staffed_hall: HallState, kwargs: dict[str, Any], error: type[HallError], code: str
) -> None:
    ticket_in(staffed_hall, S.CALLED)
    before = fingerprint(staffed_hall)
    with pytest.raises(error) as refused:
        counter.transfer(staffed_hall, LATER, clerk(1), 1, **kwargs)
    assert refused.value.code == code
    assert fingerprint(staffed_hall) == before


def test_transfer_to_matters_no_window_serves_on_the_ticket_channel(staffed_hall: HallState) -> None:
    issue(staffed_hall, NINE, "CBDJ", channel="green")
    counter.call_next(staffed_hall, NINE + 1, clerk(8), 8)
    admin.set_profile(staffed_hall, NINE + 2, MANAGER, 6, name="enterprise")  # nobody takes green ZX now
    with pytest.raises(Conflict) as refused:
        counter.transfer(staffed_hall, NINE + 3, clerk(8), 8, matters=("ZX",))
    assert refused.value.code == "no_window_serves"


# -- suspend and resume (挂起 / 回呼) -----------------------------------------------------------------


def test_suspended_ticket_is_called_back_without_a_new_ticket(staffed_hall: HallState) -> None:
    parked = ticket_in(staffed_hall, S.SUSPENDED)
    other = issue(staffed_hall, NINE + 3 * MINUTE, "JFJS")
    assert parked.window == 1
    assert parked.id not in staffed_hall.queues  # nobody else can call it
    assert counter.call_next(staffed_hall, NINE + 4 * MINUTE, clerk(2), 2).result is other
    assert counter.call_next(staffed_hall, NINE + 4 * MINUTE, clerk(1), 1).result is None
    counter.resume(staffed_hall, LATER, clerk(1), 1)
    assert (parked.state, parked.window, staffed_hall.windows[1].current) == (S.CALLED, 1, parked.id)
    assert parked.number == "A0001"
    counter.start(staffed_hall, LATER + 1, clerk(1), 1)
    counter.finish(staffed_hall, LATER + 2, clerk(1), 1)
    assert parked.state is S.DONE


def test_resume_takes_the_oldest_parked_ticket_unless_one_is_named(staffed_hall: HallState) -> None:
    older = issue(staffed_hall, NINE, "CBDJ")
    newer = issue(staffed_hall, NINE + 1, "CBDJ")
    for _ in range(2):
        counter.call_next(staffed_hall, NINE + 2, clerk(1), 1)
        counter.suspend(staffed_hall, NINE + 3, clerk(1), 1)
    counter.resume(staffed_hall, NINE + 4, clerk(1), 1, newer.id)
    assert newer.state is S.CALLED
    counter.suspend(staffed_hall, NINE + 5, clerk(1), 1)
    assert counter.resume(staffed_hall, NINE + 6, clerk(1), 1).result is older


def test_resume_refusals(staffed_hall: HallState) -> None:
    parked = ticket_in(staffed_hall, S.SUSPENDED)
    before = fingerprint(staffed_hall)
    with pytest.raises(Conflict) as elsewhere:
        counter.resume(staffed_hall, LATER, clerk(2), 2, parked.id)
    assert elsewhere.value.code == "suspended_elsewhere"
    with pytest.raises(Conflict) as nothing:
        counter.resume(staffed_hall, LATER, clerk(2), 2)
    assert nothing.value.code == "nothing_suspended"
    issue(staffed_hall, LATER, "CBDJ")
    counter.call_next(staffed_hall, LATER + 1, clerk(1), 1)
    before = fingerprint(staffed_hall)
    with pytest.raises(Conflict) as busy:
        counter.resume(staffed_hall, LATER + 2, clerk(1), 1)
    assert busy.value.code == "window_busy"
    assert fingerprint(staffed_hall) == before


# -- start / finish ---------------------------------------------------------------------------------


def test_finish_records_the_outcome_and_frees_the_window(staffed_hall: HallState) -> None:
    ticket = ticket_in(staffed_hall, S.SERVING)
    counter.finish(staffed_hall, LATER, clerk(1), 1, outcome="incomplete")
    assert (ticket.outcome, ticket.started_at, ticket.finished_at) == ("incomplete", NINE + 2 * MINUTE, LATER)
    assert staffed_hall.windows[1].current is None
    assert staffed_hall.windows[1].idle_since == LATER


def test_finish_with_an_unknown_outcome_is_invalid(staffed_hall: HallState) -> None:
    ticket_in(staffed_hall, S.SERVING)
    before = fingerprint(staffed_hall)
    with pytest.raises(Invalid) as refused:
        counter.finish(staffed_hall, LATER, clerk(1), 1, outcome="great")
    assert refused.value.code == "bad_outcome"
    assert fingerprint(staffed_hall) == before


def test_void_needs_a_reason(staffed_hall: HallState) -> None:
    ticket = issue(staffed_hall, NINE, "CBDJ")
    with pytest.raises(Invalid) as refused:
        issuing.void(staffed_hall, LATER, MANAGER, ticket.id, "  ")
    assert refused.value.code == "reason_required"
    assert ticket.state is S.WAITING


# -- pause ------------------------------------------------------------------------------------------


def test_paused_window_takes_no_calls_but_finishes_its_ticket(staffed_hall: HallState) -> None:
    ticket = ticket_in(staffed_hall, S.SERVING)
    issue(staffed_hall, NINE + 3 * MINUTE, "JFJS")
    counter.pause(staffed_hall, NINE + 4 * MINUTE, clerk(1), 1, "午间交接")
    counter.finish(staffed_hall, NINE + 5 * MINUTE, clerk(1), 1)
    assert ticket.state is S.DONE
    before = fingerprint(staffed_hall)
    with pytest.raises(Conflict) as refused:
        counter.call_next(staffed_hall, NINE + 6 * MINUTE, clerk(1), 1)
    assert refused.value.code == "window_paused"
    with pytest.raises(Conflict) as twice:
        counter.pause(staffed_hall, NINE + 6 * MINUTE, clerk(1), 1)
    assert twice.value.code == "window_not_open"
    assert fingerprint(staffed_hall) == before
    counter.unpause(staffed_hall, NINE + 7 * MINUTE, clerk(1), 1)
    assert staffed_hall.windows[1].state is WindowState.OPEN
    assert staffed_hall.windows[1].idle_since == NINE + 7 * MINUTE
    assert counter.call_next(staffed_hall, NINE + 8 * MINUTE, clerk(1), 1).result is not None


def test_unpause_of_an_open_window_is_refused(staffed_hall: HallState) -> None:
    with pytest.raises(Conflict) as refused:
        counter.unpause(staffed_hall, NINE, clerk(1), 1)
    assert refused.value.code == "window_not_paused"


# -- who may act where ------------------------------------------------------------------------------

CLERK_ACTIONS: dict[str, Callable[[HallState], Change]] = {
    "call_next": lambda h: counter.call_next(h, LATER, clerk(2), 1),
    "recall": lambda h: counter.recall(h, LATER, clerk(2), 1),
    "no_show": lambda h: counter.no_show(h, LATER, clerk(2), 1),
    "start": lambda h: counter.start(h, LATER, clerk(2), 1),
    "finish": lambda h: counter.finish(h, LATER, clerk(2), 1),
    "transfer": lambda h: counter.transfer(h, LATER, clerk(2), 1, matters=("JFJS",)),
    "suspend": lambda h: counter.suspend(h, LATER, clerk(2), 1),
    "resume": lambda h: counter.resume(h, LATER, clerk(2), 1),
    "pause": lambda h: counter.pause(h, LATER, clerk(2), 1),
    "unpause": lambda h: counter.unpause(h, LATER, clerk(2), 1),
    "logout": lambda h: counter.logout(h, LATER, clerk(2), 1),
}


@pytest.mark.parametrize("action", CLERK_ACTIONS)
def test_a_clerk_may_act_only_at_their_own_window(staffed_hall: HallState, action: str) -> None:
    ticket_in(staffed_hall, S.CALLED)  # window 1 (clerk c1) has a ticket; clerk c2 tries to act on it
    before = fingerprint(staffed_hall)
    with pytest.raises(Forbidden) as refused:
        CLERK_ACTIONS[action](staffed_hall)
    assert (refused.value.code, refused.value.status) == ("not_logged_in", 403)
    assert refused.value.context == {"window": 1}
    assert fingerprint(staffed_hall) == before


def test_login_rules(fresh_hall: HallState) -> None:
    counter.login(fresh_hall, NINE, clerk(1), 1)
    assert fresh_hall.windows[1].clerk == "c1"
    assert counter.login(fresh_hall, NINE, clerk(1), 1).empty  # twice is harmless
    before = fingerprint(fresh_hall)
    with pytest.raises(Conflict) as taken:
        counter.login(fresh_hall, NINE, clerk(2), 1)
    assert taken.value.code == "window_taken"
    with pytest.raises(Conflict) as elsewhere:
        counter.login(fresh_hall, NINE, clerk(1), 2)
    assert (elsewhere.value.code, elsewhere.value.context) == ("clerk_elsewhere", {"window": 1})
    with pytest.raises(Invalid) as not_a_clerk:
        counter.login(fresh_hall, NINE, MANAGER, 2)
    assert not_a_clerk.value.code == "clerk_required"
    admin.close_window(fresh_hall, NINE, MANAGER, 3)
    before = fingerprint(fresh_hall)
    with pytest.raises(Conflict) as closed:
        counter.login(fresh_hall, NINE, clerk(3), 3)
    assert closed.value.code == "window_closed"
    assert fingerprint(fresh_hall) == before


def test_logout_needs_a_free_window_and_frees_the_clerk(staffed_hall: HallState) -> None:
    ticket_in(staffed_hall, S.CALLED)
    with pytest.raises(Conflict) as busy:
        counter.logout(staffed_hall, LATER, clerk(1), 1)
    assert busy.value.code == "window_busy"
    counter.no_show(staffed_hall, LATER, clerk(1), 1)
    counter.logout(staffed_hall, LATER + 1, clerk(1), 1)
    assert staffed_hall.windows[1].clerk is None
    counter.logout(staffed_hall, LATER + 1, clerk(2), 2)
    counter.login(staffed_hall, LATER + 2, clerk(1), 2)  # c1 may now sit at another window
    assert staffed_hall.window_of_clerk("c1") is staffed_hall.windows[2]


def test_login_resets_the_idle_clock(fresh_hall: HallState) -> None:
    counter.login(fresh_hall, LATER, clerk(1), 1)
    assert fresh_hall.windows[1].idle_since == LATER


# -- the hall manager ---------------------------------------------------------------------------------


def test_manager_closes_and_opens_a_window(staffed_hall: HallState) -> None:
    admin.close_window(staffed_hall, LATER, MANAGER, 2, reason="人手不足")
    window = staffed_hall.windows[2]
    assert (window.state, window.clerk) == (WindowState.CLOSED, None)
    assert admin.close_window(staffed_hall, LATER, MANAGER, 2).empty  # closing twice does nothing
    with pytest.raises(Forbidden):  # the clerk was logged out with the close
        counter.call_next(staffed_hall, LATER, clerk(2), 2)
    admin.open_window(staffed_hall, LATER + MINUTE, MANAGER, 2)
    assert (window.state, window.idle_since) == (WindowState.OPEN, LATER + MINUTE)
    assert admin.open_window(staffed_hall, LATER + 2 * MINUTE, MANAGER, 2).empty
    assert window.idle_since == LATER + MINUTE


def test_manager_cannot_close_a_window_with_a_ticket(staffed_hall: HallState) -> None:
    ticket = ticket_in(staffed_hall, S.SERVING)
    before = fingerprint(staffed_hall)
    with pytest.raises(Conflict) as refused:
        admin.close_window(staffed_hall, LATER, MANAGER, 1)
    assert (refused.value.code, refused.value.context) == ("window_busy", {"ticket": ticket.id})
    assert fingerprint(staffed_hall) == before


def test_closed_window_takes_no_calls(staffed_hall: HallState) -> None:
    ticket = issue(staffed_hall, NINE, "CBDJ")
    admin.close_window(staffed_hall, NINE + 1, MANAGER, 1)
    with pytest.raises(Conflict) as unstaffed:  # closing logged the clerk out
        admin.call_ticket(staffed_hall, NINE + 2, MANAGER, 1, ticket.id, "x")
    assert unstaffed.value.code == "window_unstaffed"
    staffed_hall.windows[1].clerk = "c1"  # a clerk left behind by a store written before the close
    with pytest.raises(Conflict) as closed:
        counter.call_next(staffed_hall, NINE + 3, clerk(1), 1)
    assert closed.value.code == "window_closed"
    assert ticket.state is S.WAITING


def test_set_profile_applies_from_the_next_call(staffed_hall: HallState) -> None:
    registration = issue(staffed_hall, NINE, "CBDJ")
    assert counter.call_next(staffed_hall, NINE + 1, clerk(7), 7).result is None  # enterprises only
    admin.set_profile(staffed_hall, NINE + 2, MANAGER, 7, name="integrated", reason="普通业务人多")
    window = staffed_hall.windows[7]
    assert window.profile_name == "integrated"
    assert 7 in staffed_hall.pool((("CBDJ",), "normal", 0))
    assert counter.call_next(staffed_hall, NINE + 3, clerk(7), 7).result is registration


def test_set_profile_inline(staffed_hall: HallState) -> None:
    card = issue(staffed_hall, NINE, "SBKBH")
    proof = issue(staffed_hall, NINE + 1, "CBZM")
    admin.set_profile(staffed_hall, NINE + 2, MANAGER, 1, profile=Profile(matters=("CBZM",)))
    assert staffed_hall.windows[1].profile_name == "custom"
    assert counter.call_next(staffed_hall, NINE + 3, clerk(1), 1).result is proof
    assert card.state is S.WAITING


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({}, "profile_required"),
        ({"name": "green", "profile": Profile(matters=("ZX",))}, "profile_required"),
        ({"name": "vip"}, "unknown_profile"),
        ({"profile": Profile(matters=("NOPE",))}, "unknown_matter"),
    ],
)
def test_set_profile_refusals(staffed_hall: HallState, kwargs: dict[str, Any], code: str) -> None:
    before = fingerprint(staffed_hall)
    with pytest.raises(Invalid) as refused:
        admin.set_profile(staffed_hall, NINE, MANAGER, 1, **kwargs)
    assert refused.value.code == code
    assert fingerprint(staffed_hall) == before


def test_manager_calls_a_ticket_out_of_order_with_a_reason(hall_with_queue: HallState) -> None:
    last = hall_with_queue.tickets[4]  # E0001, the fourth in line
    with pytest.raises(Invalid) as no_reason:
        admin.call_ticket(hall_with_queue, LATER, MANAGER, 2, last.id, " ")
    assert no_reason.value.code == "reason_required"
    change = admin.call_ticket(hall_with_queue, LATER, MANAGER, 2, last.id, "孕妇，行动不便")
    assert (last.state, last.window, last.clerk) == (S.CALLED, 2, "c2")
    assert change.journal[-1].action == "ticket.call_out_of_order"
    assert change.journal[-1].detail == {"reason": "孕妇，行动不便"}
    # the manager's call is an explicit exception: it does not count against those it went ahead of
    assert all(t.bypassed == 0 for t in hall_with_queue.tickets.values())


def test_manager_call_refusals(hall_with_queue: HallState) -> None:
    question = hall_with_queue.tickets[5]  # Z0001 业务咨询
    before = fingerprint(hall_with_queue)
    # the large-enterprise window takes no questions, not even by a rule: a manager cannot send one there
    with pytest.raises(Conflict) as cannot:
        admin.call_ticket(hall_with_queue, LATER, MANAGER, 7, question.id, "x")
    assert cannot.value.code == "window_cannot_serve"
    assert fingerprint(hall_with_queue) == before
    counter.logout(hall_with_queue, LATER, clerk(6), 6)
    before = fingerprint(hall_with_queue)
    with pytest.raises(Conflict) as unstaffed:
        admin.call_ticket(hall_with_queue, LATER, MANAGER, 6, question.id, "x")
    assert unstaffed.value.code == "window_unstaffed"
    assert fingerprint(hall_with_queue) == before
    counter.login(hall_with_queue, LATER, clerk(6), 6)
    counter.pause(hall_with_queue, LATER, clerk(6), 6)
    before = fingerprint(hall_with_queue)
    with pytest.raises(Conflict) as paused:
        admin.call_ticket(hall_with_queue, LATER, MANAGER, 6, question.id, "x")
    assert paused.value.code == "window_paused"
    assert fingerprint(hall_with_queue) == before
    admin.call_ticket(hall_with_queue, LATER, MANAGER, 1, hall_with_queue.tickets[1].id, "复核件")
    with pytest.raises(Conflict) as busy:
        admin.call_ticket(hall_with_queue, LATER, MANAGER, 1, question.id, "x")
    assert busy.value.code == "window_busy"
    assert question.state is S.WAITING


def test_a_clerk_without_a_clerk_id_acts_nowhere(fresh_hall: HallState) -> None:
    issue(fresh_hall, NINE, "CBDJ")
    nameless = Actor(Role.CLERK, "临时")
    assert fresh_hall.windows[1].clerk is None
    with pytest.raises(Forbidden) as refused:
        counter.call_next(fresh_hall, NINE + 1, nameless, 1)
    assert refused.value.code == "not_logged_in"


def test_a_manager_may_send_a_ticket_where_an_overflow_rule_would(hall_with_queue: HallState) -> None:
    # An idle integrated window answers questions (consultation_overflow): a manager need not wait for it.
    question = hall_with_queue.tickets[5]  # Z0001 业务咨询, served at the consultation window by profile
    change = admin.call_ticket(hall_with_queue, LATER, MANAGER, 2, question.id, "咨询排长队")
    assert change.result is question and question.state is S.CALLED and question.window == 2
    assert [e.action for e in change.journal] == ["ticket.call_out_of_order"]
