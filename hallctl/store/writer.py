"""The single writer: commands' rows go to one thread that commits them in groups (group commit).

A commit with ``synchronous=FULL`` waits for the disk (an fsync). Giving each command its own commit caps
the hall at the disk's fsync rate; instead, whatever commands arrive while one commit is on its way are
written together in the next transaction. Each command's future resolves only after its transaction is
on disk, so nothing is acknowledged before it is durable, and transactions commit in submission order, so
a command never becomes durable before one it followed.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from pathlib import Path
from types import TracebackType

from hallctl.store.rows import Op
from hallctl.store.schema import connect

log = logging.getLogger(__name__)

# Upper bound on commands per transaction: keeps one commit's latency bounded under a burst, while 256
# commands already amortise the fsync to well under a tenth of its cost each.
MAX_BATCH = 256

_STOP = object()


class StoreError(Exception):
    """A transaction failed (disk full, file gone); nothing of it was committed."""


class Writer:
    """``async with Writer(path) as writer: await writer.submit(ops)``."""

    def __init__(self, path: Path | str, *, synchronous: str = "FULL") -> None:
        self._path = path
        self._synchronous = synchronous
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # After a failed transaction the live state no longer matches the file: everything queued behind
        # it was decided on that state, so it is refused too until the owner rebuilds and calls reset().
        self._generation = 0
        self._poisoned = -1
        self.commits = 0  # transactions committed (for /metrics and the benchmark)
        self.commands = 0  # commands committed

    async def __aenter__(self) -> Writer:
        self._loop = asyncio.get_running_loop()
        conn = connect(self._path, synchronous=self._synchronous)
        self._thread = threading.Thread(target=self._run, args=(conn,), name="hallctl-writer", daemon=True)
        self._thread.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self._queue.put(_STOP)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)

    def submit_nowait(self, ops: list[Op]) -> asyncio.Future[None]:
        """Queue a command's statements; the future resolves once they are committed."""
        assert self._loop is not None, "Writer used outside its context"
        future: asyncio.Future[None] = self._loop.create_future()
        self._queue.put((ops, future, self._generation))
        return future

    def reset(self) -> None:
        """The owner has rebuilt its state from the file: accept commands again."""
        self._generation += 1

    async def submit(self, ops: list[Op]) -> None:
        await self.submit_nowait(ops)

    # -- the writer thread --------------------------------------------------------------------------
    def _run(self, conn: sqlite3.Connection) -> None:
        try:
            while True:
                first = self._queue.get()
                if first is _STOP:
                    return
                batch = [first]
                stop = False
                while len(batch) < MAX_BATCH:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stop = True
                        break
                    batch.append(item)
                self._commit(conn, batch)  # type: ignore[arg-type]
                if stop:
                    return
        finally:
            conn.close()

    def _commit(self, conn: sqlite3.Connection,
                batch: list[tuple[list[Op], asyncio.Future[None], int]]) -> None:
        assert self._loop is not None
        refused = [f for _, f, gen in batch if gen <= self._poisoned]
        if refused:
            self._loop.call_soon_threadsafe(_resolve, refused, StoreError("an earlier transaction failed"))
            batch = [item for item in batch if item[2] > self._poisoned]
            if not batch:
                return
        error: BaseException | None = None
        try:
            conn.execute("begin immediate")
            for ops, _, _ in batch:
                for sql, params in ops:
                    conn.execute(sql, params)
            conn.execute("commit")
            self.commits += 1
            self.commands += len(batch)
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the waiting commands
            log.exception("transaction of %d commands failed; none of them is committed", len(batch))
            error = exc
            self._poisoned = max(gen for _, _, gen in batch)
            try:
                conn.execute("rollback")
            except sqlite3.Error:
                pass
        self._loop.call_soon_threadsafe(_resolve, [f for _, f, _ in batch], error)


def _resolve(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():  # the waiting request went away; the commit stands regardless
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(StoreError(str(error)))
