"""One serial port, kept open by its own reopen loop: bytes out, chunks of received bytes in.

A port that is missing, unplugged or failing is logged, counted and reopened with backoff; it never
raises into the code that uses it except as ``PortOffline`` from ``send``. Everything above this works
on frames (``bus``), not on ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from types import TracebackType
from typing import Self

import serial_asyncio_fast

from .timing import DEFAULT_TIMING, SerialTiming, wire_seconds
from .watch import Watch, wait_until

log = logging.getLogger(__name__)

READ_SIZE = 4096  # a read returns what has arrived, up to this; at 9600 baud that is seconds of data
# How long closing a port may take (pyserial flushes and closes it in a helper thread). A USB adapter
# pulled mid-write can hang close() in the kernel; past this the link goes on without waiting for it.
CLOSE_TIMEOUT = 2.0


class SerialError(Exception):
    """A serial port problem, with the port it happened on."""

    def __init__(self, port: str, detail: str) -> None:
        super().__init__(f"{port}: {detail}")
        self.port = port
        self.detail = detail


class PortOffline(SerialError):
    """The port is not open now (missing, unplugged, or between reopen attempts)."""


class SerialLink:
    """``async with SerialLink("/dev/ttyUSB0", 9600) as link: await link.send(b"...")``.

    ``async for chunk in link`` (or ``link.received()``) gives the bytes as they arrive, across reopens,
    until the link is closed; each iteration has its own queue, so several readers may listen.
    """

    def __init__(
        self,
        port: str,
        baudrate: int = 9600,
        *,
        timing: SerialTiming = DEFAULT_TIMING,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not port:
            raise ValueError("SerialLink needs a port")
        if baudrate <= 0:
            raise ValueError(f"{port}: baudrate {baudrate} must be positive")
        self.port = port
        self.baudrate = baudrate
        self.timing = timing
        self.watch = Watch()
        self.failures = 0  # failed opens and lost connections
        self.opens = 0  # successful opens: a device that answered before a reopen has to answer again
        self.last_seen: float | None = None  # when bytes last arrived (``clock()``)
        self.last_error = ""
        self.bytes_in = 0
        self.bytes_out = 0
        self._clock = clock
        self._writer: asyncio.StreamWriter | None = None
        self._subscribers: set[asyncio.Queue[bytes | None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._in_outage = False  # failed since it was last open: further failures are only debug lines

    @property
    def online(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    async def __aenter__(self) -> Self:
        if self._task is not None:
            raise RuntimeError(f"{self.port}: the link is already open")
        # Returns at once, open or not: a device that is missing at start must not hold up the daemon.
        self._task = asyncio.create_task(self._run(), name=f"serial link {self.port}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for queue in self._subscribers:
            queue.put_nowait(None)  # ends every ``received()`` iteration
        self.watch.notify()

    async def wait_online(self, online: bool = True) -> None:
        """Return once the port is open (or closed); wrap in ``asyncio.timeout``."""
        await wait_until(lambda: self.online == online, self.watch)

    async def send(self, data: bytes) -> None:
        """Write ``data`` and wait until the OS has it; ``PortOffline`` if the port is not open or stuck."""
        writer = self._writer
        if writer is None or writer.is_closing():
            raise PortOffline(self.port, "not open")
        try:
            writer.write(data)
            async with asyncio.timeout(self.timing.write_timeout + wire_seconds(len(data), self.baudrate)):
                await writer.drain()
        except TimeoutError:
            # A wedged adapter: drop the connection, so the reopen loop starts over with a fresh one.
            writer.transport.abort()
            raise PortOffline(self.port, f"write stalled for {self.timing.write_timeout} s") from None
        except (OSError, ConnectionError) as exc:  # pyserial's SerialException is an OSError
            raise PortOffline(self.port, f"write failed: {exc}") from exc
        self.bytes_out += len(data)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.received()

    async def received(self) -> AsyncGenerator[bytes, None]:
        """The chunks received from now on, across reopens, until the link closes."""
        # Unbounded on purpose: input is bounded by the line (960 bytes/s at 9600 baud), and a reader
        # that falls behind should see every byte late rather than frames with holes.
        if self._closed:
            return
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._subscribers.add(queue)
        try:
            while (chunk := await queue.get()) is not None:
                yield chunk
        finally:
            self._subscribers.discard(queue)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = self.timing.reopen_min
        while not self._closed:
            opened_at = loop.time()
            try:
                # exclusive: an flock on the port, so a second opener (a driver given its own buses
                # instead of the shared ones, a stray terminal program) fails loudly here instead of
                # silently taking half of the bytes.
                reader, writer = await serial_asyncio_fast.open_serial_connection(
                    url=self.port, baudrate=self.baudrate, exclusive=True
                )
            except Exception as exc:  # any failure to open is retried, never fatal
                self._failed(f"cannot open: {exc}")
            else:
                await self._serve(reader, writer)
                if loop.time() - opened_at >= self.timing.stable_after:
                    backoff = self.timing.reopen_min
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.timing.reopen_max)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.failures:
            log.info("%s: open again after %d failures", self.port, self.failures)
        self._writer = writer
        self.opens += 1
        self.last_error = ""
        self._in_outage = False
        self.watch.notify()
        try:
            while chunk := await reader.read(READ_SIZE):
                self.last_seen = self._clock()
                self.bytes_in += len(chunk)
                for queue in self._subscribers:
                    queue.put_nowait(chunk)
            self._failed("closed by the other end")
        except Exception as exc:  # an unplugged adapter or a dead pty: reopen
            self._failed(f"lost: {exc}")
        finally:
            self._writer = None
            self.watch.notify()
            writer.close()
            # Waits for pyserial-asyncio's close (run in a thread) so no task or descriptor outlives
            # the link; bounded, because a yanked USB adapter can hang close() in the kernel.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await writer.wait_closed()

    def _failed(self, error: str) -> None:
        self.failures += 1
        self.last_error = error
        # The first failure of an outage is worth a warning; the retries that follow are not.
        level = logging.DEBUG if self._in_outage else logging.WARNING
        self._in_outage = True
        log.log(level, "%s: %s (failure %d)", self.port, error, self.failures)
        self.watch.notify()
