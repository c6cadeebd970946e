"""How many people stand before a ticket, and the simple wait estimates.

People ahead: queued tickets older than this one that windows able to serve this one could take first.
``ahead_and_eta``: their expected service time spread over the open windows of that pool — what a ticket
shows until the forecaster (core/predict.py, docs/prediction.md) has predicted it. The three simple
predictors below are what the forecast is measured against (the history replay and the tests).
"""

from __future__ import annotations

import math

from hallctl.core.model import QUEUED, Ticket, WindowState
from hallctl.core.queues import Queues, bucket_key, entry
from hallctl.core.servicetimes import WaitModel
from hallctl.core.state import HallState


def ahead_and_work(state: HallState, ticket: Ticket) -> tuple[int, float]:
    """(tickets ahead, minutes of their expected service)."""
    if ticket.state not in QUEUED:
        return 0, 0.0
    mine = state.pool(bucket_key(ticket))
    mark = entry(ticket)
    ahead = 0
    work = 0.0
    for key, bucket in state.queues.buckets():
        if not (state.pool(key) & mine):
            continue
        n = Queues.before(bucket, mark)
        if n:
            ahead += n
            work += n * state.service_minutes(key[0])
    return ahead, work


def ahead_and_eta(state: HallState, ticket: Ticket) -> tuple[int, int]:
    """(people ahead, expected wait in whole minutes, rounded up)."""
    ahead, work = ahead_and_work(state, ticket)
    if ticket.state not in QUEUED:
        return 0, 0
    # Over the windows that can call now (open, a clerk logged in): dividing by every open window promised
    # a wait several times too short in the morning, when the hall is open but few clerks have sat down.
    return ahead, math.ceil(work / serving_windows(state, state.pool(bucket_key(ticket))))


# -- the simple predictors (issue 5): what the forward simulation is measured against ------------------
# Each takes (state, now, model, ticket) and returns seconds until the ticket is first called. The history
# replay and the tests share them, so "better than head-of-line" means the same thing everywhere.


def serving_windows(state: HallState, pool: frozenset[int]) -> int:
    """Windows of a pool that can call now (open, a clerk logged in); else the open ones; else the pool."""
    staffed = sum(1 for w in pool if state.windows[w].state is WindowState.OPEN and state.windows[w].clerk)
    if staffed:
        return staffed
    return sum(1 for w in pool if state.windows[w].state is WindowState.OPEN) or max(1, len(pool))


def people_ahead_estimate(state: HallState, now: float, model: WaitModel, ticket: Ticket) -> float:
    """People ahead × their mean service time (learned) ÷ the windows serving this ticket's pool."""
    del now
    if ticket.state not in QUEUED:
        return 0.0
    mine = state.pool(bucket_key(ticket))
    mark = entry(ticket)
    work = 0.0
    for key, bucket in state.queues.buckets():
        if state.pool(key) & mine:
            n = Queues.before(bucket, mark)
            if n:
                work += n * model.service(key[0]).mean
    return work / serving_windows(state, mine)


def head_of_line_estimate(state: HallState, now: float, model: WaitModel, ticket: Ticket) -> float:
    """How long the oldest ticket waiting in this ticket's pool (itself included) has waited so far."""
    del model
    if ticket.state not in QUEUED:
        return 0.0
    mine = state.pool(bucket_key(ticket))
    oldest = ticket.queue_key
    for key, bucket in state.queues.buckets():
        if bucket[0][0] < oldest and state.pool(key) & mine:
            oldest = bucket[0][0]
    return max(now - oldest, 0.0)


def last_to_enter_service_estimate(state: HallState, now: float, model: WaitModel, ticket: Ticket) -> float:
    """The wait of the ticket of the same matters and channel called most recently (at a window now, or
    finished and learned by the model); 0 when none has been called yet."""
    del now
    if ticket.state not in QUEUED:
        return 0.0
    key = (ticket.matters, ticket.channel)
    best = model.last_called.get(key)
    for window in state.windows.values():
        current = state.tickets.get(window.current) if window.current is not None else None
        if current is None or current.first_called_at is None or (current.matters, current.channel) != key:
            continue
        if best is None or current.first_called_at > best[0]:
            best = (current.first_called_at, current.first_called_at - current.issued_at)
    return 0.0 if best is None else max(best[1], 0.0)
