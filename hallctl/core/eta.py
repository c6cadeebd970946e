"""How many people stand before a ticket and roughly how long it will wait (the simple predictor).

People ahead: queued tickets older than this one that windows able to serve this one could take first.
Expected wait: their expected service time spread over the open windows of that pool. A better
predictor (issue 5) replaces the estimate; the people-ahead count stays as it is.
"""

from __future__ import annotations

import math

from hallctl.core.model import QUEUED, Ticket, WindowState
from hallctl.core.queues import Queues, bucket_key, entry
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
    pool = state.pool(bucket_key(ticket))
    open_windows = sum(1 for w in pool if state.windows[w].state is WindowState.OPEN) or max(1, len(pool))
    return ahead, math.ceil(work / open_windows)
