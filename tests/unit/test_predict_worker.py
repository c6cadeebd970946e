"""The forecaster's worker side (forecast/worker.py), run in this process: the mirror it keeps from the
changes the daemon sends must predict exactly what the live hall would, and learn as the day goes."""

from __future__ import annotations

from hallkit import MINUTE, NINE, OPENING, clerk, issue, new_hall, staff

from hallctl.config import HallConfig
from hallctl.core import counter
from hallctl.core.model import AT_WINDOW, QUEUED, Change
from hallctl.core.predict import predict_ranges
from hallctl.core.servicetimes import WaitModel
from hallctl.core.state import HallState
from hallctl.forecast.worker import Mirror, Snapshot, ticket_rows, tickets_from_rows


def snapshot(hall: HallState, now: float, ids: list[int] | None, version: int) -> Snapshot:
    """What the forecaster sends: every live ticket (``ids`` None), or those that changed."""
    if ids is None:
        tickets = [t for t in hall.tickets.values() if t.state in QUEUED or t.state in AT_WINDOW]
    else:
        tickets = [hall.tickets[i] for i in ids]
    return Snapshot(
        version=version,
        full=ids is None,
        now=now,
        day=hall.day,
        next_id=hall.next_id,
        windows=list(hall.windows.values()),
        ticket_parts=[ticket_rows(tickets)],
        gone=[],
        forced=set(hall.forced),
        runs=5,
    )


def test_ticket_rows_round_trip(hall_with_queue: HallState) -> None:
    tickets = list(hall_with_queue.tickets.values())
    assert tickets_from_rows(ticket_rows(tickets)) == tickets


def test_a_mirror_fed_changes_predicts_what_the_hall_would(example_config: HallConfig) -> None:
    hall = new_hall(example_config, OPENING)
    staff(hall, OPENING, 1, 2, 6)
    for i, matter in enumerate(["CBDJ", "JFJS", "ZX", "SBKBH", "CBZM", "CBDJ"]):
        issue(hall, NINE + i * 30, matter)
    mirror = Mirror(example_config, WaitModel.from_config(example_config), issued_up_to=0)
    mirror.apply(snapshot(hall, NINE + 200, None, 1))
    assert mirror.model.days == {hall.day}  # the arrivals it had not seen are learned

    changes: list[Change] = [counter.call_next(hall, NINE + 300, clerk(1), 1)]
    changes.append(counter.start(hall, NINE + 310, clerk(1), 1))
    changes.append(counter.finish(hall, NINE + 300 + 7 * MINUTE, clerk(1), 1))
    changes.append(counter.call_next(hall, NINE + 300 + 7 * MINUTE, clerk(1), 1))
    late = issue(hall, NINE + 800, "CBDJ", channel="green")
    now = NINE + 820
    changed = sorted({i for c in changes for i in c.tickets} | {late.id})
    mirror.apply(snapshot(hall, now, changed, 2))

    assert mirror.model.finished == 1  # the finished ticket taught its window time
    assert mirror.model.services[("CBDJ",)].n == 1
    assert mirror.model.hourly_arrivals()  # the green arrival counts toward overtaking rates
    assert set(mirror.state.queues.ids()) == set(hall.queues.ids())
    assert predict_ranges(mirror.state, now, mirror.model, runs=5) == predict_ranges(
        hall, now, mirror.model, runs=5
    )
    # the same change sent twice teaches nothing twice
    mirror.apply(snapshot(hall, now, changed, 3))
    assert mirror.model.finished == 1


def test_a_full_snapshot_starts_the_mirror_afresh(example_config: HallConfig) -> None:
    hall = new_hall(example_config, OPENING)
    staff(hall, OPENING, 1)
    first = issue(hall, NINE, "CBDJ")
    mirror = Mirror(example_config, WaitModel.from_config(example_config), issued_up_to=first.id)
    mirror.apply(snapshot(hall, NINE, None, 1))
    assert mirror.model.days == set()  # learned from the store already: not counted again
    counter.call_next(hall, NINE + 60, clerk(1), 1)
    second = issue(hall, NINE + 70, "CBDJ")
    mirror.apply(snapshot(hall, NINE + 80, None, 2))
    assert set(mirror.state.queues.ids()) == {second.id}
    assert mirror.state.tickets[first.id].window == 1  # at its window: its service so far counts
