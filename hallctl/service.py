"""The running hall: the core's state, the store and the event bus, put together.

Every command goes through :meth:`HallService.execute`: it runs on the event loop (so commands never
interleave), its rows go to the group-commit writer, and only when they are on disk is the caller
answered and are the events published.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from hallctl.audit.settings import config_entries
from hallctl.bus import EventBus
from hallctl.config import HallConfig
from hallctl.core.errors import HallError
from hallctl.core.model import SYSTEM, Change, Event, JournalEntry, Ticket
from hallctl.core.state import HallState
from hallctl.store import tokens
from hallctl.store.load import load_state
from hallctl.store.rows import Op, change_ops, ticket_from_row
from hallctl.store.schema import connect, open_db
from hallctl.store.stats_store import StatsStore
from hallctl.store.writer import StoreError, Writer

log = logging.getLogger(__name__)

Command = Callable[[HallState, float], Change]

# How long a looked-up token is trusted before the file is asked again: a revoked token stops working
# within this time. Longer saves a query per request; shorter makes revocation quicker.
TOKEN_CACHE_SECONDS = 5.0

# SQLite's integers are 64-bit; a Python int outside this range cannot even be bound to a query.
SQLITE_MIN_INT, SQLITE_MAX_INT = -(2**63), 2**63 - 1


class Unavailable(HallError):
    status = 503


class HallService:
    def __init__(
        self,
        config: HallConfig,
        db_path: Path | str,
        *,
        clock: Callable[[], float] = time.time,
        always_open: bool = False,
        synchronous: str = "FULL",
    ) -> None:
        self.config = config
        self.db_path = Path(db_path)
        self.clock = clock
        self.always_open = always_open
        self.bus = EventBus()
        self.started_at = clock()
        self._synchronous = synchronous
        self._writer = Writer(self.db_path, synchronous=synchronous)
        self._reader: sqlite3.Connection | None = None
        self._state: HallState | None = None
        self._tokens: dict[str, tuple[tokens.TokenInfo, float]] = {}
        self.tickets_issued = 0  # since start, for /metrics
        # Period stats and their rollups (docs/stats.md): read on a thread of their own, written here.
        self.stats = StatsStore(
            self.db_path, config, submit=self.store_derived, clock=clock, synchronous=synchronous
        )

    # -- life cycle ---------------------------------------------------------------------------------
    async def __aenter__(self) -> HallService:
        open_db(self.db_path).conn.close()  # create the file and apply migrations
        self._reader = connect(self.db_path, synchronous=self._synchronous)
        self._state = self._load()
        await self._writer.__aenter__()
        # Windows and the start itself are recorded, so the file always holds every window's state.
        start = Change()
        for w in self.state.windows.values():
            start.touch(w)
        assert self._reader is not None
        start.journal.extend(config_entries(self._reader, self.config, self.clock()))  # key audit
        start.journal.append(
            JournalEntry(
                self.clock(),
                SYSTEM.label,
                SYSTEM.role.value,
                "daemon.start",
                detail={"tickets_live": len(self.state.tickets)},
            )
        )
        await self._commit([start])
        await self.stats.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stats.__aexit__(exc_type, exc, tb)
        await self._writer.__aexit__(exc_type, exc, tb)
        if self._reader is not None:
            self._reader.close()

    def _load(self) -> HallState:
        assert self._reader is not None
        return load_state(self._reader, self.config, self.clock(), always_open=self.always_open)

    @property
    def state(self) -> HallState:
        assert self._state is not None, "HallService used outside its context"
        return self._state

    @property
    def writer(self) -> Writer:
        return self._writer

    # -- commands -----------------------------------------------------------------------------------
    async def execute(self, command: Command) -> Change:
        """Run one command; return its change once it is durable. A refusal (HallError) changes nothing."""
        now = self.clock()
        roll = self.state.roll_day(now)
        if not roll.empty:
            self.stats.request()  # the day that just closed can be rolled up
        try:
            change = command(self.state, now)
        except HallError:
            if not roll.empty:
                await self._commit([roll])
            raise
        await self._commit([roll, change])
        return change

    async def _commit(self, changes: list[Change]) -> None:
        ops = [op for change in changes for op in change_ops(change)]
        if not ops:
            return
        await self._submit(ops, [event for change in changes for event in change.events])

    async def store_derived(self, ops: list[Op]) -> None:
        """Statements for tables derived from the others (the stats rollups): no live state, no events,
        committed by the one writer in turn with the commands, but isolated from them: a failed derived
        write raises StoreError to its caller and leaves the commands of its batch, and the live state,
        alone."""
        await self._writer.submit_nowait(ops, isolated=True)

    async def _submit(self, ops: list[Op], events: list[Event]) -> None:
        future = self._writer.submit_nowait(ops)
        # Published from the future's callback, in commit order, even if the caller has gone away.
        future.add_done_callback(lambda f: self._after_commit(f, events))
        try:
            await asyncio.shield(future)
        except StoreError:
            raise Unavailable(
                "store_failed",
                "系统暂时无法保存，请稍后重试",
                "the hall's database could not save this; try again",
            ) from None

    def _after_commit(self, future: asyncio.Future[None], events: list[Event]) -> None:
        if future.cancelled():
            return
        if future.exception() is not None:
            self._recover()
            return
        for event in events:
            if event.kind == "ticket.issued":
                self.tickets_issued += 1
        self.bus.publish(events)

    def _recover(self) -> None:
        """A transaction failed: the live state ran ahead of the file. Rebuild it from the file."""
        log.error("rebuilding the live state from %s after a failed transaction", self.db_path)
        try:
            self._state = self._load()
        except sqlite3.Error:
            log.exception("cannot reload the state; commands will keep failing until the file is fixed")
            return
        self._writer.reset()

    # -- reads --------------------------------------------------------------------------------------
    def authenticate(self, token: str) -> tokens.TokenInfo | None:
        now = time.monotonic()
        cached = self._tokens.get(token)
        if cached is not None and cached[1] > now:
            return cached[0]
        assert self._reader is not None
        info = tokens.lookup(self._reader, token)
        if info is None or info.revoked_at is not None:
            self._tokens.pop(token, None)
            return None
        if len(self._tokens) > 10_000:  # bounded: a flood of distinct tokens must not grow memory
            self._tokens.clear()
        self._tokens[token] = (info, now + TOKEN_CACHE_SECONDS)
        return info

    def find_ticket(self, ticket_id: int) -> Ticket | None:
        """A ticket from the live state, or from the file for an older day."""
        live = self.state.tickets.get(ticket_id)
        if live is not None:
            return live
        if not SQLITE_MIN_INT <= ticket_id <= SQLITE_MAX_INT:
            return None  # names no ticket; SQLite would raise OverflowError on it (a 500, not a 404)
        assert self._reader is not None
        self._reader.row_factory = sqlite3.Row
        try:
            row = self._reader.execute("select * from tickets where id = ?", (ticket_id,)).fetchone()
        finally:
            self._reader.row_factory = None
        return None if row is None else ticket_from_row(row)

    def find_by_track_token(self, track_token: str) -> Ticket | None:
        for t in self.state.tickets.values():
            if t.track_token == track_token:
                return t
        return None

    def read(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        assert self._reader is not None
        self._reader.row_factory = sqlite3.Row
        try:
            return list(self._reader.execute(sql, params))
        finally:
            self._reader.row_factory = None
