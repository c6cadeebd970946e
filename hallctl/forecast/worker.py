"""The forecaster's worker process: a mirror of the hall's waiting tickets and windows, the wait model,
and the predictor run on them. Everything here runs outside the daemon's process.

The daemon sends a :class:`Snapshot` of what changed since the last one (all live tickets after a
start, a lost event or a new day); the mirror learns from tickets that arrive or finish, applies the
change and predicts. Module-level state is the point: a worker process keeps its mirror and model
between calls, so each call ships only the change.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import sqlite3
import time
from dataclasses import dataclass, field, fields
from operator import attrgetter
from pathlib import Path

from hallctl.config import HallConfig
from hallctl.core.model import AT_WINDOW, QUEUED, Ticket, TicketState, WindowStatus
from hallctl.core.predict import predict_ranges
from hallctl.core.servicetimes import WaitModel
from hallctl.core.state import HallState
from hallctl.forecast.board import PackedWaits
from hallctl.store.rows import ticket_from_row

log = logging.getLogger(__name__)

# Rows read from the store when the worker starts, at most: a year of a very busy hall is 1.5 million
# tickets; four weeks of one is ~120,000. The cap keeps the start-up bounded whatever the setting.
MAX_HISTORY_ROWS = 300_000
# Lower scheduling priority of the worker: on a 2-core machine the daemon's event loop must win.
WORKER_NICENESS = 5
ENDED = frozenset({TicketState.DONE, TicketState.NO_SHOW})


_FIELDS = tuple(f.name for f in fields(Ticket))
_STATE = _FIELDS.index("state")
_row = attrgetter(*_FIELDS)

TicketRow = tuple[object, ...]


def ticket_rows(tickets: list[Ticket]) -> bytes:
    """Tickets as pickled plain tuples: three times cheaper for the daemon than pickling the objects."""
    rows = [_row(t) for t in tickets]
    for i, row in enumerate(rows):
        rows[i] = (*row[:_STATE], row[_STATE].value, *row[_STATE + 1 :])
    return pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL)


def tickets_from_rows(data: bytes) -> list[Ticket]:
    out = []
    for row in pickle.loads(data):
        values = list(row)
        values[_STATE] = TicketState(values[_STATE])
        out.append(Ticket(*values))
    return out


@dataclass(slots=True)
class Snapshot:
    version: int
    full: bool
    now: float
    day: str
    next_id: int
    windows: list[WindowStatus]
    ticket_parts: list[bytes]  # ticket_rows() of what changed since the last snapshot (all live: full)
    gone: list[int]  # tickets the live state no longer holds
    forced: set[int]
    runs: int
    seed: int = 0

    @property
    def tickets(self) -> list[Ticket]:
        return [t for part in self.ticket_parts for t in tickets_from_rows(part)]


@dataclass(slots=True)
class Mirror:
    config: HallConfig
    model: WaitModel
    issued_up_to: int  # tickets up to this id are learned as arrivals already
    state: HallState = field(init=False)
    finished_seen: dict[int, float] = field(default_factory=dict)  # id -> end time learned

    def __post_init__(self) -> None:
        self.state = HallState(self.config)

    def apply(self, snap: Snapshot) -> None:
        state = self.state
        if snap.full or snap.day != state.day:
            state = self.state = HallState(self.config)
            if snap.day != state.day:
                self.finished_seen.clear()
        state.day = snap.day
        state.next_id = snap.next_id
        state.windows = {w.id: w for w in snap.windows}
        state.profiles_changed()
        for ticket in sorted(snap.tickets, key=lambda t: t.id):
            self._learn(ticket)
            if ticket.state in QUEUED:
                state.tickets[ticket.id] = ticket
                state.queues.add(ticket)
            else:
                self._drop(ticket.id, keep=ticket if ticket.state in AT_WINDOW else None)
        for ticket_id in snap.gone:
            self._drop(ticket_id)
        state.forced = {i for i in snap.forced if i in state.queues}

    def _drop(self, ticket_id: int, keep: Ticket | None = None) -> None:
        if ticket_id in self.state.queues:
            self.state.queues.remove(ticket_id)
        if keep is None:
            self.state.tickets.pop(ticket_id, None)
        else:
            self.state.tickets[ticket_id] = keep  # at a window: its service so far counts

    def _learn(self, ticket: Ticket) -> None:
        if ticket.id > self.issued_up_to:
            self.issued_up_to = ticket.id
            self.model.learn_issued(ticket)
        if ticket.state in ENDED:
            end = ticket.finished_at if ticket.state is TicketState.DONE else ticket.no_show_at
            if end is not None and self.finished_seen.get(ticket.id) != end:
                self.finished_seen[ticket.id] = end
                self.model.learn_finished(ticket)


def learn_history(model: WaitModel, db_path: Path, since: float, until: float) -> tuple[int, int]:
    """Teach the model the tickets issued in [since, until) from the store: (tickets read, highest id)."""
    if not db_path.exists():
        return 0, 0
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    read = highest = 0
    try:
        rows = conn.execute(
            "select * from tickets where issued_at >= ? and issued_at < ? order by issued_at limit ?",
            (since, until, MAX_HISTORY_ROWS),
        )
        for row in rows:
            ticket = ticket_from_row(row)
            model.learn_issued(ticket)
            if ticket.state in ENDED:
                model.learn_finished(ticket)
            read += 1
            highest = max(highest, ticket.id)
    finally:
        conn.close()
    return read, highest


_MIRROR: Mirror | None = None


def lower_priority() -> None:
    """The worker process's initializer: the daemon's event loop must win the CPU.

    On Linux the worker runs under SCHED_IDLE: only on CPU time nobody else wants. A prediction is
    best-effort (a ticket without one shows the fast estimate), so in a burst that saturates the machine
    the worker waits rather than taking a slice from the event loop (with a plain nice value it still took
    enough to lift the issue p99 by a few milliseconds). Elsewhere, a nice value.
    """
    idle = getattr(os, "SCHED_IDLE", None)
    if idle is not None:
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, idle, os.sched_param(0))
            return
    with contextlib.suppress(OSError):  # not permitted here: run at the daemon's priority
        os.nice(WORKER_NICENESS)


def learn_imported(model: WaitModel, config: HallConfig, path: Path) -> int:
    """Learn a history CSV (e.g. an older queuing system's); rows of matters unknown here are skipped.
    A file that does not parse raises HistoryError naming its line and column."""
    from hallctl.history.events import read_history
    from hallctl.history.timeline import learn_history as learn_records

    zone = config.hall.zone
    known = [r for r in read_history(path, zone) if all(m in config.matters_by_code for m in r.matters)]
    learn_records(model, known, zone)
    return len(known)


def start(config: HallConfig, db_path: str, now: float, history_days: int) -> tuple[int, float]:
    """Run first in the worker: learn the imported history, then the store. Returns (tickets learned,
    seconds it took)."""
    global _MIRROR
    began = time.perf_counter()
    model = WaitModel.from_config(config)
    imported = config.forecast.history_file
    learned = learn_imported(model, config, imported) if imported is not None else 0
    read, highest = learn_history(model, Path(db_path), now - history_days * 86_400.0, now)
    read += learned
    _MIRROR = Mirror(config, model, highest)
    return read, time.perf_counter() - began


def forecast(payload: bytes) -> tuple[int, float, PackedWaits]:
    """Apply a pickled :class:`Snapshot` and predict: (its version, its time, id -> (p10, median, p90))."""
    if _MIRROR is None:
        raise RuntimeError("forecast worker used before start()")
    snap: Snapshot = pickle.loads(payload)
    _MIRROR.apply(snap)
    ranges = predict_ranges(_MIRROR.state, snap.now, _MIRROR.model, seed=snap.seed, runs=snap.runs)
    return snap.version, snap.now, PackedWaits.pack({i: (r.low, r.median, r.high) for i, r in ranges.items()})
