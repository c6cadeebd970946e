"""The single writer: commands' rows are committed in groups (group commit), the fsync off the loop.

A commit with ``synchronous=FULL`` waits for the disk (an fsync). Giving each command its own commit caps
the hall at the disk's fsync rate; instead, whatever commands arrive while one commit is on its way are
written together in the next transaction.

The statements of a batch run on the event loop's thread (they only touch SQLite's page cache, a few
microseconds each); only the COMMIT, which writes the WAL and waits for the disk, runs in a helper
thread. That thread then takes Python's GIL once per batch rather than once per statement: a writer
thread executing every statement itself fought the loop for the GIL and added tens of milliseconds to
the slowest requests. A batch of one command with nothing behind it commits on the loop itself: the
hall is quiet then, and the two thread switches would cost more than the fsync.

Each command's future resolves only after its transaction is on disk, so nothing is acknowledged before
it is durable; transactions commit in submission order, so a command never becomes durable before one
it followed.

The writer is also the one place that appends to the journal, so it seals each journal row into the
hash chain (hallctl/audit/chain.py) as it executes it: in commit order, from the chain's head it keeps in
memory (loaded from the file at start, about a microsecond and a half per row).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

from hallctl.audit.chain import ChainHead
from hallctl.store.rows import INSERT_JOURNAL, Op
from hallctl.store.schema import connect

log = logging.getLogger(__name__)

# Upper bound on commands per transaction: keeps one transaction's statements (run on the loop) short
# under a burst, while 512 commands already amortise the fsync to a negligible share each.
MAX_BATCH = 512


class StoreError(Exception):
    """A transaction failed (disk full, file gone); nothing of it was committed."""


# (statements, the caller's future, isolated: a derived write that must not take the batch down with it)
_Item = tuple[list[Op], "asyncio.Future[None]", bool]


class Writer:
    """``async with Writer(path) as writer: await writer.submit(ops)``."""

    def __init__(self, path: Path | str, *, synchronous: str = "FULL") -> None:
        self._path = path
        self._synchronous = synchronous
        self._conn: sqlite3.Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[_Item] = []
        self._scheduled = False
        self._in_flight: asyncio.Future[None] | None = None
        self._chain = ChainHead()
        self._chain_before = self._chain.state()  # the head before the batch in flight (for a rollback)
        # After a failed transaction the live state no longer matches the file, and everything queued
        # behind it was decided on that state: refuse it all until the owner rebuilds and calls reset().
        self._poisoned = False
        self._idle = asyncio.Event()  # nothing pending and nothing in flight
        self._idle.set()
        self.commits = 0  # transactions committed (for /metrics and the benchmark)
        self.commands = 0  # commands committed

    async def __aenter__(self) -> Writer:
        self._loop = asyncio.get_running_loop()
        self._conn = connect(self._path, synchronous=self._synchronous)
        self._chain = ChainHead.load(self._conn)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hallctl-commit")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.drain()
        assert self._executor is not None and self._conn is not None
        self._executor.shutdown(wait=True)
        self._conn.close()

    async def drain(self) -> None:
        """Wait until everything submitted so far is committed (or has failed)."""
        await self._idle.wait()

    def submit_nowait(self, ops: list[Op], *, isolated: bool = False) -> asyncio.Future[None]:
        """Queue a command's statements; the future resolves once they are committed.

        ``isolated`` statements (tables derived from the others, such as the stats rollups) run inside a
        savepoint: if one fails, only they are undone and only their future fails; the commands of the
        same batch commit as if they had been alone.
        """
        assert self._loop is not None, "Writer used outside its context"
        future: asyncio.Future[None] = self._loop.create_future()
        if self._poisoned:
            future.set_exception(StoreError("an earlier transaction failed"))
            return future
        self._pending.append((ops, future, isolated))
        self._idle.clear()
        self._schedule()
        return future

    async def submit(self, ops: list[Op]) -> None:
        await self.submit_nowait(ops)

    def reset(self) -> None:
        """The owner has rebuilt its state from the file: accept commands again."""
        self._poisoned = False

    def _schedule(self) -> None:
        # Flush at the end of this loop iteration, so every command that arrived in it shares the commit.
        if not self._scheduled and self._in_flight is None:
            self._scheduled = True
            assert self._loop is not None
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        if self._in_flight is not None or not self._pending:
            return
        batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        conn = self._conn
        assert conn is not None and self._loop is not None and self._executor is not None
        chain = self._chain
        self._chain_before = chain.state()
        try:
            conn.execute("begin immediate")
            chain.follow(conn)
            for ops, future, isolated in batch:
                if isolated:
                    _run_isolated(conn, ops, future)
                    continue
                for sql, params in ops:
                    # `is`, not ==: the statement object itself marks a journal row (a string compare
                    # of every statement would cost more than the sealing).
                    conn.execute(sql, chain.seal(params) if sql is INSERT_JOURNAL else params)
        except sqlite3.Error as exc:
            log.exception("a transaction of %d commands failed; none of them is committed", len(batch))
            if conn.in_transaction:
                conn.execute("rollback")
            self._fail(batch, exc)
            return
        if len(batch) == 1 and not self._pending:
            # A lone command means the hall is quiet: committing here costs the loop one fsync, while the
            # hop to the thread and back would cost two thread switches, more than the fsync itself.
            done: asyncio.Future[None] = self._loop.create_future()
            try:
                conn.execute("commit")
                done.set_result(None)
            except sqlite3.Error as exc:
                done.set_exception(exc)
            self._committed(done, batch)
            return
        self._in_flight = asyncio.wrap_future(self._executor.submit(_commit, conn), loop=self._loop)
        self._in_flight.add_done_callback(lambda f: self._committed(f, batch))

    def _committed(self, done: asyncio.Future[Any], batch: list[_Item]) -> None:
        self._in_flight = None
        error = done.exception()
        if error is not None:
            log.error("commit of %d commands failed: %s", len(batch), error)
            conn = self._conn
            if conn is not None and conn.in_transaction:
                conn.execute("rollback")
            self._fail(batch, error)
            return
        self.commits += 1
        self.commands += len(batch)
        for _, future, _ in batch:
            if not future.done():  # a caller that went away does not undo the commit
                future.set_result(None)
        if self._pending:
            self._schedule()
        else:
            self._idle.set()

    def _fail(self, batch: list[_Item], error: BaseException) -> None:
        self._poisoned = True
        self._chain.restore(self._chain_before)  # the batch's journal rows were rolled back with it
        failed = batch + self._pending
        self._pending = []
        for _, future, _ in failed:
            if not future.done():
                future.set_exception(StoreError(str(error)))
        self._idle.set()


def _commit(conn: sqlite3.Connection) -> None:
    conn.execute("commit")


def _run_isolated(conn: sqlite3.Connection, ops: list[Op], future: asyncio.Future[None]) -> None:
    """Derived statements inside a savepoint: a failure undoes them alone and fails their future only."""
    conn.execute("savepoint derived")
    try:
        for sql, params in ops:
            conn.execute(sql, params)
    except sqlite3.Error as exc:
        log.warning("a derived write failed and was undone alone: %s", exc)
        conn.execute("rollback to derived")
        if not future.done():
            future.set_exception(StoreError(str(exc)))
    conn.execute("release derived")
