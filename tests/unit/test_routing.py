"""Which ticket a window calls next, by example: the profile, the ordered rules of routing.py, bundles, and
the anti-starvation bound. The invariants over random days are in test_routing_properties.py."""

from __future__ import annotations

import pytest
from hallkit import BOOKING, MANAGER, MINUTE, NINE, at, clerk, credit_code, issue, new_hall, staff

from hallctl.config import HallConfig, Profile
from hallctl.core import admin, counter, issuing, routing
from hallctl.core.model import Ticket, TicketState
from hallctl.core.state import HallState


def call(hall: HallState, now: float, window: int) -> Ticket | None:
    ticket = counter.call_next(hall, now, clerk(window), window).result
    assert ticket is None or isinstance(ticket, Ticket)
    return ticket


def serve(hall: HallState, now: float, window: int) -> Ticket | None:
    """Call the next ticket at a window and finish it at once; the window is free again at ``now``."""
    ticket = call(hall, now, window)
    if ticket is not None:
        counter.start(hall, now, clerk(window), window)
        counter.finish(hall, now, clerk(window), window)
    return ticket


def enterprise(hall: HallState, now: float, *matters: str) -> Ticket:
    return issue(hall, now, *matters, channel="enterprise", credit_code=credit_code())


@pytest.fixture
def busy_hall(example_config: HallConfig) -> HallState:
    """Clerks log in at 09:00 (so no window has stood idle yet); nobody is waiting."""
    hall = new_hall(example_config, NINE, always_open=True)
    staff(hall, NINE)
    return hall


def test_oldest_ticket_first_across_matters(hall_with_queue: HallState) -> None:
    # window 8 (green profile) also serves the normal channel, and has no overflow rule
    called = [serve(hall_with_queue, NINE + 5 * MINUTE, 8) for _ in range(5)]
    assert [t.number if t else None for t in called] == ["A0001", "A0002", "B0001", "E0001", None]


def test_window_gets_nothing_it_may_not_serve(busy_hall: HallState) -> None:
    issue(busy_hall, NINE, "CBDJ")
    assert call(busy_hall, NINE + 1, 6) is None  # consultation window
    assert call(busy_hall, NINE + 1, 7) is None  # large-enterprise window
    assert call(busy_hall, NINE + 1, 1) is not None


def test_integrated_windows_share_the_load(busy_hall: HallState) -> None:
    matters = busy_hall.config.profiles["integrated"].matters
    for i in range(50):
        issue(busy_hall, NINE + i, matters[i % len(matters)])
    served: dict[int, int] = dict.fromkeys(range(1, 6), 0)
    now = NINE + MINUTE
    while busy_hall.queues:
        for window in served:
            if serve(busy_hall, now, window) is not None:
                served[window] += 1
        now += MINUTE
    assert served == {1: 10, 2: 10, 3: 10, 4: 10, 5: 10}


# -- bundles (打包“一件事”) ---------------------------------------------------------------------------


def test_bundled_ticket_goes_only_to_a_window_serving_all_its_matters(busy_hall: HallState) -> None:
    admin.set_profile(busy_hall, NINE, MANAGER, 2, profile=Profile(matters=("CBDJ", "JFJS")))
    bundle = issue(busy_hall, NINE, "CBDJ", "SBKBH")
    single = issue(busy_hall, NINE + 1, "CBDJ")
    assert call(busy_hall, NINE + 2, 2) is single
    assert call(busy_hall, NINE + 2, 1) is bundle


def test_bundle_of_common_matters_and_a_question_needs_the_enterprise_window(busy_hall: HallState) -> None:
    with pytest.raises(Exception, match="no window"):
        issue(busy_hall, NINE, "CBDJ", "ZX")  # no normal window takes both
    bundle = enterprise(busy_hall, NINE, "CBDJ", "ZX")
    assert call(busy_hall, NINE + 1, 6) is None
    assert call(busy_hall, NINE + 1, 7) is bundle


def test_serves_matters_wildcard_and_bundles() -> None:
    assert routing.serves_matters(Profile(matters=("*",)), ("CBDJ", "ZX"))
    assert routing.serves_matters(Profile(matters=("CBDJ", "ZX")), ("ZX", "CBDJ"))
    assert not routing.serves_matters(Profile(matters=("CBDJ",)), ("CBDJ", "ZX"))
    assert not routing.serves(Profile(matters=("*",), channels=("enterprise",)), ("CBDJ",), "normal")


# -- green_first ------------------------------------------------------------------------------------


def test_green_channel_goes_first(busy_hall: HallState) -> None:
    normal = issue(busy_hall, NINE, "CBDJ")
    green = issue(busy_hall, NINE + MINUTE, "SBKBH", channel="green")
    assert call(busy_hall, NINE + 2 * MINUTE, 1) is green
    assert call(busy_hall, NINE + 2 * MINUTE, 2) is normal


def test_green_first_at_the_consultation_window(busy_hall: HallState) -> None:
    question = issue(busy_hall, NINE, "ZX")
    green_question = issue(busy_hall, NINE + 1, "ZX", channel="green")
    assert call(busy_hall, NINE + 2, 6) is green_question
    counter.no_show(busy_hall, NINE + 3, clerk(6), 6)
    assert call(busy_hall, NINE + 4, 6) is question


def test_green_window_serves_green_then_normal_but_no_appointments(busy_hall: HallState) -> None:
    issuing.book(busy_hall, NINE, BOOKING, "YY1", ("CBDJ",), NINE, NINE + 30 * MINUTE)
    booked = issue(busy_hall, NINE, channel="appointment", appointment_code="YY1")
    normal = issue(busy_hall, NINE + 1, "CBDJ")
    green = issue(busy_hall, NINE + 2, "CBDJ", channel="green")
    assert [serve(busy_hall, NINE + 3, 8) for _ in range(3)] == [green, normal, None]
    assert booked.state is TicketState.WAITING


# -- appointment_due --------------------------------------------------------------------------------


def test_due_appointment_goes_before_older_tickets(busy_hall: HallState) -> None:
    slot = at("2026-03-02 10:00")
    issuing.book(busy_hall, NINE, BOOKING, "YY1", ("JFJS",), slot, slot + 30 * MINUTE)
    walk_ins = [issue(busy_hall, slot - 40 * MINUTE + i, "CBDJ") for i in range(3)]
    booked = issue(busy_hall, slot - 30 * MINUTE, channel="appointment", appointment_code="YY1")
    assert booked.channel == "appointment"
    assert booked.appointment_start == slot
    # before its slot it waits like anyone else, behind those who came earlier
    assert call(busy_hall, slot - MINUTE, 1) is walk_ins[0]
    # once due, it goes ahead of the older walk-ins
    assert call(busy_hall, slot, 2) is booked
    assert call(busy_hall, slot, 3) is walk_ins[1]


def test_the_earlier_slot_goes_first_among_due_appointments(busy_hall: HallState) -> None:
    late_slot, early_slot = at("2026-03-02 10:00"), at("2026-03-02 09:30")
    issuing.book(busy_hall, NINE, BOOKING, "LATE", ("CBDJ",), late_slot, late_slot + 1800)
    issuing.book(busy_hall, NINE, BOOKING, "EARLY", ("CBDJ",), early_slot, early_slot + 1800)
    late = issue(busy_hall, at("2026-03-02 09:31"), channel="appointment", appointment_code="LATE")
    early = issue(busy_hall, at("2026-03-02 09:32"), channel="appointment", appointment_code="EARLY")
    walk_in = issue(busy_hall, at("2026-03-02 09:20"), "CBDJ")
    # 09:40: only EARLY is due; it goes first, then the walk-in (older), then LATE
    now = at("2026-03-02 09:40")
    assert [serve(busy_hall, now, 1) for _ in range(3)] == [early, walk_in, late]


# -- enterprise_overflow ----------------------------------------------------------------------------


def test_enterprise_ticket_overflows_to_integrated_windows_after_waiting(busy_hall: HallState) -> None:
    big = enterprise(busy_hall, NINE, "BJSQ")
    normal = issue(busy_hall, NINE + MINUTE, "CBDJ")
    assert call(busy_hall, NINE + 29 * MINUTE + 59, 1) is normal  # not yet: 30 minutes in the example
    counter.no_show(busy_hall, NINE + 30 * MINUTE, clerk(1), 1)
    later = issue(busy_hall, NINE + 30 * MINUTE, "CBDJ")
    assert call(busy_hall, NINE + 30 * MINUTE, 1) is big  # lifted above the default tier
    assert call(busy_hall, NINE + 30 * MINUTE, 2) is later


def test_the_enterprise_window_takes_only_enterprise_tickets(busy_hall: HallState) -> None:
    issue(busy_hall, NINE, "JFJS")
    issue(busy_hall, NINE, "JFJS", channel="green")
    big = enterprise(busy_hall, NINE + 1, "JFJS")
    assert call(busy_hall, NINE + 2 * 3600, 7) is big
    counter.no_show(busy_hall, NINE + 2 * 3600, clerk(7), 7)
    assert call(busy_hall, NINE + 2 * 3600, 7) is None


def test_enterprise_overflow_is_judged_ticket_by_ticket_for_starvation(busy_hall: HallState) -> None:
    """Regression: a young large-enterprise ticket behind an overflowing one was counted as passed over at
    integrated windows that may not take it yet, and its ``bypassed`` ran past the starvation bound."""
    bound = busy_hall.config.rules.starvation_bound
    head = enterprise(busy_hall, at("2026-03-02 09:00"), "JFJS")
    young = enterprise(busy_hall, at("2026-03-02 09:20"), "JFJS")
    for i in range(2 * bound):
        issue(busy_hall, at("2026-03-02 09:21") + i, "CBDJ", channel="green")
    now = at("2026-03-02 09:30")  # head may now overflow to window 1; young may not for 20 more minutes
    for _ in range(5):
        serve(busy_hall, now, 1)
    assert young.bypassed == 0
    # the enterprise window sends head back with its place kept (and its bypassed count cleared)
    assert call(busy_hall, now, 7) is head
    counter.transfer(busy_hall, now, clerk(7), 7, matters=("JFJS",))
    for _ in range(bound + 2):
        assert serve(busy_hall, now, 1) is not young
        assert young.bypassed <= bound
    assert young.bypassed == 0


# -- consultation_overflow --------------------------------------------------------------------------


def test_idle_integrated_window_takes_a_question_only_after_the_idle_time(busy_hall: HallState) -> None:
    question = issue(busy_hall, NINE, "ZX")
    idle = busy_hall.config.profiles["integrated"].rules[3].seconds
    assert idle == 120
    assert call(busy_hall, NINE + idle - 1, 1) is None
    assert call(busy_hall, NINE + idle, 1) is question


def test_idle_clock_restarts_when_the_window_is_freed(busy_hall: HallState) -> None:
    issue(busy_hall, NINE, "CBDJ")
    serve(busy_hall, NINE + 1, 1)
    assert busy_hall.windows[1].idle_since == NINE + 1
    later = NINE + 10 * MINUTE
    assert call(busy_hall, later, 1) is None  # a call that finds nobody does not restart the clock
    first_question = issue(busy_hall, later, "ZX")
    assert call(busy_hall, later, 1) is first_question
    counter.start(busy_hall, later, clerk(1), 1)
    counter.finish(busy_hall, later + 30, clerk(1), 1)
    freed = later + 30
    second_question = issue(busy_hall, freed, "ZX")
    assert call(busy_hall, freed + 119, 1) is None
    assert call(busy_hall, freed + 120, 1) is second_question


def test_an_idle_window_takes_its_own_older_and_younger_tickets_before_a_question(
    busy_hall: HallState,
) -> None:
    question = issue(busy_hall, NINE, "ZX")
    ordinary = issue(busy_hall, NINE + MINUTE, "CBDJ")
    idle_enough = NINE + 10 * MINUTE
    assert call(busy_hall, idle_enough, 1) is ordinary  # the question waited longer, but it is not ours
    counter.start(busy_hall, idle_enough, clerk(1), 1)
    counter.finish(busy_hall, idle_enough + 60, clerk(1), 1)
    assert call(busy_hall, idle_enough + 60 + 120, 1) is question


def test_consultation_window_never_overflows_to_common_matters(busy_hall: HallState) -> None:
    issue(busy_hall, NINE, "CBDJ")
    assert call(busy_hall, NINE + 3600, 6) is None


# -- anti-starvation --------------------------------------------------------------------------------


def test_passed_over_ticket_is_taken_at_the_starvation_bound(busy_hall: HallState) -> None:
    bound = busy_hall.config.rules.starvation_bound
    patient = issue(busy_hall, NINE, "CBDJ")
    greens = [issue(busy_hall, NINE + 1 + i, "CBDJ", channel="green") for i in range(bound + 3)]
    called = [serve(busy_hall, NINE + MINUTE, 1) for _ in range(bound + 1)]
    assert called[:bound] == greens[:bound]
    assert patient.bypassed == bound
    assert called[bound] is patient
    assert patient.id not in busy_hall.forced
    assert serve(busy_hall, NINE + MINUTE, 1) is greens[bound]


def test_forced_ticket_goes_to_any_window_that_may_serve_it(busy_hall: HallState) -> None:
    bound = busy_hall.config.rules.starvation_bound
    patient = issue(busy_hall, NINE, "SBKBH")
    for i in range(bound + 1):
        issue(busy_hall, NINE + 1 + i, "SBKBH", channel="green")
    for _ in range(bound):
        serve(busy_hall, NINE + MINUTE, 8)  # the green window, green first
    assert patient.id in busy_hall.forced
    assert call(busy_hall, NINE + MINUTE, 6) is None  # the consultation window still may not take it
    assert call(busy_hall, NINE + MINUTE, 3) is patient


def test_tickets_a_window_may_not_take_are_not_passed_over(busy_hall: HallState) -> None:
    question = issue(busy_hall, NINE, "ZX")
    for i in range(20):
        issue(busy_hall, NINE + 1 + i, "CBDJ")
    for _ in range(20):
        serve(busy_hall, NINE + 1 * MINUTE, 1)  # never idle 120 s between calls
    assert question.bypassed == 0
    assert question.state is TicketState.WAITING
