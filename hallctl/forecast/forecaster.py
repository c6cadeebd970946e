"""``async with Forecaster(service)``: keeps every waiting ticket's predicted wait current, off the loop.

After committed changes (heard on the event bus) it sends what changed to ONE worker process
(``forkserver``: the daemon itself is never forked) and pins the answer to the live state, where the
views read it (board.py). At most one prediction is in flight; changes that arrive meanwhile are
coalesced into the next one, which waits at least ``interval_seconds`` and at least as long as the last
prediction took, so the worker never takes more than half a core. The loop's own share is building the
change (the tickets touched since the last one) and pickling it: tens of microseconds per ticket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import pickle
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType

from hallctl.config import Forecast
from hallctl.core.model import AT_WINDOW, QUEUED, Event
from hallctl.core.state import HallState
from hallctl.forecast import worker
from hallctl.forecast.board import WaitBoard, publish
from hallctl.service import HallService

log = logging.getLogger(__name__)

#: Published on the bus after each new prediction, so live pages (the phone page) refresh their ETA.
FORECAST_UPDATED = "forecast.updated"
# Tickets serialised per turn of the event loop: ~1.7 µs each, so a chunk holds the loop under a
# millisecond. Larger chunks stall requests longer; smaller ones only add turns.
CHUNK = 500
# After a failed prediction, wait this long before the next: a worker that crashes at once must not spin.
RETRY_SECONDS = 5.0


class Forecaster:
    def __init__(self, service: HallService, settings: Forecast | None = None) -> None:
        self.service = service
        self.settings = settings or service.config.forecast
        self.predictions = 0  # made since start, for tests and /metrics
        self.last_seconds = 0.0  # how long the last one took, worker and transfer
        self.learned = 0  # tickets learned from the store at start
        self._pool: ProcessPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._subscription = service.bus.subscribe()
        self._changed = asyncio.Event()
        self._dirty: set[int] = set()
        self._full = True
        self._sent_state: HallState | None = None
        self._sent_day = ""
        self._version = 0
        self.updated = asyncio.Condition()  # notified after each new prediction is pinned

    # -- life cycle ---------------------------------------------------------------------------------
    async def __aenter__(self) -> Forecaster:
        self._pump_task = asyncio.create_task(self._pump(), name="forecast-events")
        self._task = asyncio.create_task(self._run(), name="forecast")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._subscription.close()
        tasks = [t for t in (self._task, self._pump_task) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._stop_pool()

    async def _start_pool(self) -> None:
        # forkserver: the worker starts from a clean interpreter, never from a fork of the running loop
        # (threads, sockets and the SQLite handles of the daemon must not be inherited).
        pool = self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=worker.lower_priority,
        )
        # The first submit starts the fork server and the worker from the calling thread (~0.1 s of
        # waiting): in a thread, not on the loop, where it stalled requests.
        config, db, now, days = (
            self.service.config,
            str(self.service.db_path),
            self.service.clock(),
            self.settings.history_days,
        )
        try:
            started = await asyncio.to_thread(lambda: pool.submit(worker.start, config, db, now, days))
            learned, took = await asyncio.wrap_future(started)
        except BaseException:
            await self._stop_pool()  # the next attempt starts a fresh worker
            raise
        self.learned = learned
        log.info("forecast worker learned %d tickets of history in %.2f s", learned, took)
        self._full = True

    async def _stop_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            # in a thread: shutting down waits for the worker, which may be mid-prediction
            await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)

    # -- the work -----------------------------------------------------------------------------------
    async def _pump(self) -> None:
        """Note which tickets changed; a lost event means the next change ships everything."""
        while True:
            event = await self._subscription.get()
            if self._subscription.overflowed:
                self._subscription.overflowed = False
                self._full = True
            if event.kind == FORECAST_UPDATED:
                continue
            if event.ticket is not None:
                self._dirty.add(event.ticket["id"])
            self._changed.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        self._changed.set()  # the first prediction as soon as the worker is ready
        while True:
            try:
                if self._pool is None:
                    await self._start_pool()
                await self._wait_for_change()
                began = time.perf_counter()
                state = self.service.state
                payload = await self._snapshot(state)
                assert self._pool is not None
                version, at, waits = await loop.run_in_executor(self._pool, worker.forecast, payload)
                self.last_seconds = time.perf_counter() - began
            except asyncio.CancelledError:
                raise
            except _Superseded:
                self._changed.set()
                continue
            except BrokenProcessPool:
                log.error("the forecast worker died; starting a new one")
                await self._stop_pool()
                await asyncio.sleep(RETRY_SECONDS)
                continue
            except Exception:
                log.exception("prediction failed; tickets show the simple estimate meanwhile")
                self._full = True
                self._changed.set()
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if state is self.service.state and version == self._version:
                publish(state, WaitBoard(at, waits))
                self.predictions += 1
                self.service.bus.publish([Event(FORECAST_UPDATED, at)])
                async with self.updated:
                    self.updated.notify_all()
            await asyncio.sleep(max(self.settings.interval_seconds, self.last_seconds))

    async def _wait_for_change(self) -> None:
        """Until something changed, or ``refresh_seconds`` passed while tickets wait."""
        while not self._changed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), self.settings.refresh_seconds)
            if len(self.service.state.queues):
                break
        self._changed.clear()

    async def _snapshot(self, state: HallState) -> bytes:
        """What changed since the last snapshot, serialised now (the live objects go on changing), a chunk
        at a time with the loop free in between: a kiosk burst or a start with thousands waiting must not
        stall requests. A ticket that changes after its chunk is dirty again and goes in the next one."""
        full = self._full or state is not self._sent_state or state.day != self._sent_day
        self._full = False
        self._sent_state = state
        self._sent_day = state.day  # a new day: the worker starts its mirror afresh, so send it all
        if full:
            ids = [i for i, t in state.tickets.items() if t.state in QUEUED or t.state in AT_WINDOW]
        else:
            ids = list(self._dirty)
        self._dirty.clear()
        parts: list[bytes] = []
        gone: list[int] = []
        for start in range(0, len(ids), CHUNK):
            if start:
                await asyncio.sleep(0)
                if state is not self.service.state:  # rebuilt meanwhile: start over with everything
                    self._full = True
                    raise _Superseded
            chunk = []
            for i in ids[start : start + CHUNK]:
                ticket = state.tickets.get(i)
                if ticket is None:
                    gone.append(i)
                else:
                    chunk.append(ticket)
            parts.append(worker.ticket_rows(chunk))
        self._version += 1
        snap = worker.Snapshot(
            version=self._version,
            full=full,
            now=self.service.clock(),
            day=state.day,
            next_id=state.next_id,
            windows=list(state.windows.values()),
            ticket_parts=parts,
            gone=gone,
            forced=set(state.forced),
            runs=self.settings.runs,
        )
        return pickle.dumps(snap, protocol=pickle.HIGHEST_PROTOCOL)


class _Superseded(Exception):
    """The live state was rebuilt while a snapshot was being made."""
