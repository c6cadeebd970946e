"""What a ticket shows from the forecaster's answers (forecast/board.py): its own prediction rounded up,
an estimate from the ticket ahead when it is newer than the prediction, the simple one without any."""

from __future__ import annotations

import pickle

from hallkit import NINE, OPENING, clerk, issue, new_hall, staff

from hallctl.config import HallConfig
from hallctl.core import counter
from hallctl.core.eta import ahead_and_eta
from hallctl.forecast.board import Expected, PackedWaits, WaitBoard, board_of, publish, ticket_eta


def test_without_predictions_the_simple_estimate(example_config: HallConfig) -> None:
    hall = new_hall(example_config, OPENING)
    issue(hall, NINE, "CBDJ")
    second = issue(hall, NINE + 1, "CBDJ")
    assert board_of(hall) is None
    ahead, minutes = ahead_and_eta(hall, second)
    assert ticket_eta(hall, second) == Expected(ahead, minutes, minutes * 60)


def test_a_prediction_is_shown_in_whole_minutes_rounded_up(example_config: HallConfig) -> None:
    hall = new_hall(example_config, OPENING)
    staff(hall, OPENING, 1)
    first = issue(hall, NINE, "CBDJ")
    second = issue(hall, NINE + 1, "CBDJ")
    publish(hall, WaitBoard(NINE + 1, {first.id: (0.0, 0.0, 0.0), second.id: (200.0, 361.0, 500.0)}))
    assert ticket_eta(hall, second) == Expected(1, 7, 361, 3, 9)
    assert ticket_eta(hall, first) == Expected(0, 0, 0)  # no spread: no range
    counter.call_next(hall, NINE + 2, clerk(1), 1)
    assert ticket_eta(hall, first) == Expected(0, 0, 0)  # called: nothing to wait for


def test_a_ticket_newer_than_the_prediction_builds_on_the_one_ahead(example_config: HallConfig) -> None:
    hall = new_hall(example_config, OPENING)
    staff(hall, OPENING, 1, 2)  # two windows serve 参保登记 now
    first = issue(hall, NINE, "CBDJ")
    publish(hall, WaitBoard(NINE, {first.id: (100.0, 400.0, 700.0)}))
    second = issue(hall, NINE + 60, "CBDJ")
    third = issue(hall, NINE + 61, "CBDJ")
    # the first's prediction a minute on, plus half of a 6-minute service (two windows) per place behind
    assert ticket_eta(hall, second).seconds == 400 - 60 + 180
    assert ticket_eta(hall, third).seconds == 400 - 61 + 2 * 180
    low, high = ticket_eta(hall, third).low_minutes, ticket_eta(hall, third).high_minutes
    assert (low, high) == ((100 - 61 + 360) // 60, -(-(700 - 61 + 360) // 60))
    other = issue(hall, NINE + 62, "JFJS")  # first of its queue: nothing ahead to build on
    ahead, minutes = ahead_and_eta(hall, other)
    assert ticket_eta(hall, other) == Expected(ahead, minutes, minutes * 60)


def test_packed_waits_find_what_was_packed() -> None:
    waits = {7: (1.0, 2.0, 3.0), 3: (0.0, 0.5, 9.0), 12: (4.0, 5.0, 6.0)}
    packed = PackedWaits.pack(waits)
    assert {i: packed.get(i) for i in packed} == waits
    assert len(packed) == 3
    assert packed.get(5) is None and packed.get(13) is None and packed.get(0) is None
    assert pickle.loads(pickle.dumps(packed)).get(12) == (4.0, 5.0, 6.0)
