"""A day of history as the ordered steps a replay takes: windows log in, tickets are issued, called,
finished, windows log out, and what the day taught the wait model.

The same steps drive the replay (hallctl/history/replay.py) and the learning of the days before the one a
worker process replays, so a day replayed alone sees exactly the model a replay of the whole file would.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from zoneinfo import ZoneInfo

from hallctl.core.calendar import business_day
from hallctl.core.model import Ticket, TicketState
from hallctl.core.servicetimes import WaitModel
from hallctl.history.events import HistoryRecord

# A window whose first call comes this soon after the day's first ticket worked from the start of the day
# (its clerk logged in at opening and called as soon as someone waited); one starting later (a window
# opened for the peak) logs in at its first call. Too small: early tickets see too few windows.
LATE_START_SECONDS = 15 * 60.0


class Kind(IntEnum):
    """What a step does; at one instant, steps run in this order."""

    LOGIN = 0
    FINISH = 1  # before issues at the same instant: a kiosk sees the window free again
    ISSUE = 2
    CALL = 3  # after the issue of the same instant: a ticket may be called the second it is issued
    FINISH_AT_CALL = 4  # a finish at the very instant of its own call comes after the call
    LOGOUT = 5
    DAY_END = 6


@dataclass(frozen=True, slots=True, order=True)
class Step:
    at: float
    kind: Kind
    index: int  # the ticket's place in the whole history (issue order): breaks ties, seeds its forecast
    record: HistoryRecord | None = field(default=None, compare=False)
    window: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Day:
    day: str
    records: tuple[tuple[int, HistoryRecord], ...]  # (index in the whole history, record), issue order
    steps: tuple[Step, ...]


def in_issue_order(records: Iterable[HistoryRecord]) -> list[HistoryRecord]:
    return sorted(records, key=lambda r: (r.issued_at, r.line))


def split_days(records: Iterable[HistoryRecord], zone: ZoneInfo) -> list[Day]:
    """The history by business day of issue, each day planned into steps."""
    by_day: dict[str, list[tuple[int, HistoryRecord]]] = defaultdict(list)
    for index, record in enumerate(in_issue_order(records)):
        by_day[business_day(record.issued_at, zone)].append((index, record))
    return [Day(day, tuple(items), tuple(plan_day(items))) for day, items in sorted(by_day.items())]


def plan_day(items: list[tuple[int, HistoryRecord]]) -> list[Step]:
    steps: list[Step] = []
    first_issue = min(r.issued_at for _, r in items)
    last = first_issue
    spans: dict[int, list[float]] = {}  # window -> [first call, last finish]
    for index, r in items:
        steps.append(Step(r.issued_at, Kind.ISSUE, index, r))
        last = max(last, r.issued_at)
        if r.called_at is None or r.finished_at is None or r.window is None:
            continue
        steps.append(Step(r.called_at, Kind.CALL, index, r, r.window))
        kind = Kind.FINISH if r.finished_at > r.called_at else Kind.FINISH_AT_CALL
        steps.append(Step(r.finished_at, kind, index, r, r.window))
        last = max(last, r.finished_at)
        span = spans.setdefault(r.window, [r.called_at, r.finished_at])
        span[0] = min(span[0], r.called_at)
        span[1] = max(span[1], r.finished_at)
    for window, (first_call, last_finish) in spans.items():
        login = first_issue if first_call - first_issue <= LATE_START_SECONDS else first_call
        steps.append(Step(login, Kind.LOGIN, -1, None, window))
        steps.append(Step(last_finish, Kind.LOGOUT, -1, None, window))
    steps.append(Step(last, Kind.DAY_END, -1))
    steps.sort()
    return steps


def learning_ticket(record: HistoryRecord, zone: ZoneInfo, state: TicketState) -> Ticket:
    """The record as the ticket the wait model learns from: the same for a replayed day and for a day
    only learned, so both teach the model the same thing."""
    return Ticket(
        id=0,
        number=record.ticket_id,
        prefix="",
        seq=0,
        day=business_day(record.issued_at, zone),
        matters=record.matters,
        channel=record.channel,
        issued_at=record.issued_at,
        track_token="",
        state=state,
        queue_key=record.issued_at,
        window=record.window,
        called_at=record.called_at,
        first_called_at=record.called_at,
        started_at=record.called_at,
        finished_at=record.finished_at,
    )


def learn_step(model: WaitModel, step: Step, day: Day, zone: ZoneInfo) -> None:
    """What one step teaches the model. Issues are learned after their own forecast (the replay calls this
    after predicting), finishes at their time, no-shows at the end of their day: when a no-show left is
    not recorded, only inferred."""
    if step.kind is Kind.ISSUE and step.record is not None:
        model.learn_issued(learning_ticket(step.record, zone, TicketState.WAITING))
    elif step.kind in (Kind.FINISH, Kind.FINISH_AT_CALL) and step.record is not None:
        model.learn_finished(learning_ticket(step.record, zone, TicketState.DONE))
    elif step.kind is Kind.DAY_END:
        for _, record in day.records:
            if not record.served:
                model.learn_finished(learning_ticket(record, zone, TicketState.NO_SHOW))


def learn_days(model: WaitModel, days: Iterable[Day], zone: ZoneInfo) -> None:
    """Teach the model whole days, in the order a replay would."""
    for day in days:
        for step in day.steps:
            learn_step(model, step, day, zone)


def learn_history(model: WaitModel, records: Iterable[HistoryRecord], zone: ZoneInfo) -> None:
    """Teach the model a whole history file (e.g. a previous queuing system's export), so a hall starts
    with its own service times, no-show rates and arrival patterns instead of the configured guesses."""
    learn_days(model, split_days(records, zone), zone)
