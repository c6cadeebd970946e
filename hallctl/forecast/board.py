"""The latest predicted waits, and what a ticket's view shows from them (eta_minutes, its range).

The forecaster pins its answers to the live :class:`HallState` they were computed from, so every view
that already receives the state (ticket JSON, the phone page, the kiosk, the printed slip, the
dashboard) reads them without a new parameter, and a state rebuilt after a failed commit starts with
none. A ticket the forecaster has not seen yet (just issued) gets a fast estimate from the prediction of
the ticket just ahead of it in its queue, else the simple one.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from hallctl.core.eta import ahead_and_eta, serving_windows
from hallctl.core.model import QUEUED, Ticket
from hallctl.core.queues import Queues, bucket_key, entry
from hallctl.core.state import HallState

_ATTRIBUTE = "_hallctl_wait_board"
# How far back in its queue a new ticket looks for one with a prediction. A burst at the kiosk can put
# many unpredicted tickets in a row; beyond this the simple estimate is as good.
LOOK_BACK = 64
# How many tickets before that point are tried for one with a prediction.
NEAR = 4

Range = tuple[float, float, float]  # (p10, median, p90) seconds


class PackedWaits:
    """Ticket id -> (p10, median, p90), as the worker sends them: two flat arrays, looked up by bisection.

    Unpickling arrays is a copy of bytes: a dict of 20,000 tuples would cost the daemon ~10 ms of
    holding the interpreter on every prediction of a huge queue; this costs ~0.1 ms."""

    __slots__ = ("ids", "values")

    def __init__(self, ids: array[int], values: array[float]) -> None:
        self.ids = ids  # sorted
        self.values = values  # three per id

    @classmethod
    def pack(cls, waits: Mapping[int, Range]) -> PackedWaits:
        ids = array("q", sorted(waits))
        values = array("d", (x for i in ids for x in waits[i]))
        return cls(ids, values)

    def get(self, ticket_id: int) -> Range | None:
        i = bisect_left(self.ids, ticket_id)
        if i == len(self.ids) or self.ids[i] != ticket_id:
            return None
        v = self.values
        return v[3 * i], v[3 * i + 1], v[3 * i + 2]

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)


class Waits(Protocol):
    def get(self, ticket_id: int, /) -> Range | None: ...


@dataclass(frozen=True, slots=True)
class WaitBoard:
    """Predictions made from the hall as it was at ``at``."""

    at: float
    waits: Waits | Mapping[int, Range]


@dataclass(frozen=True, slots=True)
class Expected:
    """What a ticket shows: people ahead, the wait in whole minutes (rounded up), seconds, a range."""

    ahead: int
    minutes: int
    seconds: int
    low_minutes: int | None = None
    high_minutes: int | None = None


def publish(state: HallState, board: WaitBoard) -> None:
    setattr(state, _ATTRIBUTE, board)


def board_of(state: HallState) -> WaitBoard | None:
    board: WaitBoard | None = getattr(state, _ATTRIBUTE, None)
    return board


def ticket_eta(state: HallState, ticket: Ticket) -> Expected:
    """The expected wait of a ticket: the forecaster's, a fast estimate from it, or the simple one."""
    ahead, simple = ahead_and_eta(state, ticket)
    if ticket.state not in QUEUED:
        return Expected(0, 0, 0)
    board = board_of(state)
    predicted = None if board is None else board.waits.get(ticket.id)
    if predicted is None and board is not None:
        predicted = _from_ticket_ahead(state, ticket, board)
    if predicted is None:
        return Expected(ahead, simple, simple * 60)
    low, median, high = predicted
    minutes, seconds = math.ceil(median / 60), round(median)
    if high - low < 1.0:  # one deterministic run (thin history): no range to speak of
        return Expected(ahead, minutes, seconds)
    return Expected(ahead, minutes, seconds, math.floor(low / 60), math.ceil(high / 60))


def _from_ticket_ahead(
    state: HallState, ticket: Ticket, board: WaitBoard
) -> tuple[float, float, float] | None:
    """The prediction of the nearest predicted ticket ahead in the same queue, moved on to the moment this
    ticket was issued, plus one share of the pool's windows per ticket in between."""
    key = bucket_key(ticket)
    bucket = next((b for k, b in state.queues.buckets() if k == key), None)
    if bucket is None:
        return None
    position = Queues.before(bucket, entry(ticket))
    # Tickets queued before the prediction's moment were in its snapshot: the nearest such ticket ahead is
    # found by bisection, not by walking back past every ticket issued since (a kiosk burst issues hundreds
    # between two predictions, and this runs on every ticket view).
    known = min(position, bisect_right(bucket, (board.at, math.inf)))
    if position - known > LOOK_BACK:
        return None
    pool = state.pool(key)
    step = state.service_minutes(key[0]) * 60 / serving_windows(state, pool) if pool else 0.0
    for i in range(known - 1, max(known - 1 - NEAR, -1), -1):  # transfers and returns may lack one
        found = board.waits.get(bucket[i][1])
        if found is not None:
            shift = max(ticket.issued_at - board.at, 0.0)
            gap = (position - i) * step
            low, median, high = (max(x - shift, 0.0) + gap for x in found)
            return low, median, high
    return None
