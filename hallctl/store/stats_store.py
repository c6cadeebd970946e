"""The stats side of the file: a worker thread with its own connection that answers period queries off
the event loop, and a background task that keeps the rollups complete.

The rollups are built on start (any closed day missing them: a new install, an upgrade, a stale day), at
each day roll, and every ``RECHECK_SECONDS`` (a day that was still in play, or changed after its rollup).
Building reads on the worker thread; the statements go through the hall's one writer, in turn with the
commands, so the file keeps a single writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from hallctl.config import HallConfig
from hallctl.core.calendar import business_day
from hallctl.store.rollups import day_ops, missing_days, missing_months, missing_spans, month_ops, span_ops
from hallctl.store.rows import Op
from hallctl.store.schema import connect

log = logging.getLogger(__name__)

T = TypeVar("T")

# How often the keeper looks for days to roll up besides start and the day roll. A day deferred because
# a ticket was still in play or might still be rated waits at most this long; a shorter interval only
# costs a few small reads.
RECHECK_SECONDS = 3600.0


class StatsStore:
    """``async with StatsStore(path, config, submit=..., clock=...) as stats``: ``await stats.run(fn)``
    runs ``fn(connection)`` on the stats thread; ``stats.request()`` asks for a rollup pass."""

    def __init__(
        self,
        db_path: Path | str,
        config: HallConfig,
        *,
        submit: Callable[[list[Op]], Awaitable[None]],
        clock: Callable[[], float],
        synchronous: str = "FULL",
    ) -> None:
        self._path = db_path
        self._config = config
        self._submit = submit
        self._clock = clock
        self._synchronous = synchronous
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._building = asyncio.Lock()
        self.days_built = 0
        self.months_built = 0

    async def __aenter__(self) -> StatsStore:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hallctl-stats")
        self._wake.set()  # a first pass on start: backfill whatever closed day is missing
        self._task = asyncio.create_task(self._keep(), name="hallctl-stats-rollups")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._executor is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
            self._executor.shutdown(wait=True)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            self._conn = connect(self._path, synchronous=self._synchronous)
        return fn(self._conn)

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)`` on the stats thread (reads only: writes go through the hall's writer)."""
        assert self._executor is not None, "StatsStore used outside its context"
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, fn)

    def request(self) -> None:
        """Ask for a rollup pass soon (the day has rolled over)."""
        self._wake.set()

    async def _keep(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=RECHECK_SECONDS)
            self._wake.clear()
            try:
                await self.build_missing()
            except Exception:  # a failed pass is retried at the next one; the figures fall back to tickets
                log.exception("building the stats rollups failed; the next pass retries")

    async def build_missing(self) -> tuple[int, int]:
        """Roll up every closed day and month that lacks it; returns how many of each were built."""
        async with self._building:
            now = self._clock()
            today = business_day(now, self._config.hall.zone)
            days = 0
            for day in await self.run(partial(missing_days, today=today)):
                ops = await self.run(partial(day_ops, config=self._config, day=day, now=now))
                if ops is not None:
                    await self._submit(ops)
                    days += 1
            months = 0
            for month in await self.run(partial(missing_months, today=today)):
                await self._submit(await self.run(partial(month_ops, month=month, now=now)))
                months += 1
            for month in await self.run(missing_spans):
                await self._submit(await self.run(partial(span_ops, month=month, now=now)))
            if days or months:
                log.info("stats rollups built: %d days, %d months", days, months)
            self.days_built += days
            self.months_built += months
            return days, months
