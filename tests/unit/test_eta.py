"""People ahead and the expected wait shown on a ticket (eta.ahead_and_eta)."""

from __future__ import annotations

from hallkit import MANAGER, MINUTE, NINE, clerk, credit_code, issue

from hallctl.core import admin, counter, issuing
from hallctl.core.eta import ahead_and_eta, ahead_and_work
from hallctl.core.state import HallState


def test_counts_older_tickets_that_the_same_windows_serve(hall_with_queue: HallState) -> None:
    a1, a2, b1, e1, z1 = (hall_with_queue.tickets[i] for i in range(1, 6))
    assert ahead_and_eta(hall_with_queue, a1) == (0, 0)
    assert ahead_and_eta(hall_with_queue, a2)[0] == 1
    # 参保登记 6 + 缴费基数申报 8 + 社保卡补换 4 minutes, over the six open windows that serve 参保证明打印
    assert ahead_and_work(hall_with_queue, e1) == (3, 18.0)
    assert ahead_and_eta(hall_with_queue, e1) == (3, 3)
    # the question is served at the consultation window only: nobody who went before it stands in its way
    assert ahead_and_eta(hall_with_queue, z1) == (0, 0)
    assert ahead_and_eta(hall_with_queue, b1) == (2, 3)  # 14 minutes over 6 windows, rounded up


def test_only_overlapping_pools_count(hall_with_queue: HallState) -> None:
    big = issue(hall_with_queue, NINE + 10 * MINUTE, "JFJS", channel="enterprise", credit_code=credit_code())
    assert ahead_and_eta(hall_with_queue, big) == (0, 0)  # five older tickets, none for window 7
    later = issue(hall_with_queue, NINE + 11 * MINUTE, "CBDJ")
    assert ahead_and_eta(hall_with_queue, later)[0] == 4  # not the question, not the enterprise


def test_zero_for_tickets_no_longer_waiting(hall_with_queue: HallState) -> None:
    last = hall_with_queue.tickets[4]
    counter.call_next(hall_with_queue, NINE + 10 * MINUTE, clerk(8), 8)
    called = hall_with_queue.tickets[1]
    assert called.window == 8
    assert ahead_and_eta(hall_with_queue, called) == (0, 0)
    assert ahead_and_work(hall_with_queue, called) == (0, 0.0)
    assert ahead_and_eta(hall_with_queue, last)[0] == 2  # A0001 has left the queue
    issuing.void(hall_with_queue, NINE + 11 * MINUTE, MANAGER, last.id, "重复取号")
    assert ahead_and_eta(hall_with_queue, last) == (0, 0)


def test_wait_spreads_over_open_windows_only(hall_with_queue: HallState) -> None:
    last = hall_with_queue.tickets[4]
    for window in (2, 3, 4, 5, 8):
        admin.close_window(hall_with_queue, NINE, MANAGER, window)
    assert ahead_and_eta(hall_with_queue, last) == (3, 18)  # the one open window of the pool does it all
    admin.close_window(hall_with_queue, NINE, MANAGER, 1)
    # every window of the pool closed: spread over the pool (they are expected back), not divided by zero
    assert ahead_and_eta(hall_with_queue, last) == (3, 3)


def test_a_bundle_counts_the_service_time_of_each_matter(staffed_hall: HallState) -> None:
    issue(staffed_hall, NINE, "YLZY", "TXHD")  # 12 + 15 minutes
    after = issue(staffed_hall, NINE + 1, "CBZM")
    assert ahead_and_work(staffed_hall, after) == (1, 27.0)


def test_transferred_ticket_counts_where_it_now_waits(staffed_hall: HallState) -> None:
    first = issue(staffed_hall, NINE, "CBDJ")
    second = issue(staffed_hall, NINE + 1, "CBDJ")
    counter.call_next(staffed_hall, NINE + 2, clerk(1), 1)
    counter.transfer(staffed_hall, NINE + 3, clerk(1), 1, to_window=3)
    assert ahead_and_eta(staffed_hall, first) == (0, 0)  # it kept its place: oldest of all
    assert ahead_and_eta(staffed_hall, second)[0] == 1  # window 3 serves both, so it stands ahead
