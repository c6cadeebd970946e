"""What every RS-485 device driver shares: its place on a bus, whether the device answers, its counts,
and the loop that keeps asking an idle device whether it is still there."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any, ClassVar, Generic, Self

from .bus import BusStats, F, FrameBus, SerialBuses
from .link import PortOffline, SerialLink
from .timing import DEFAULT_TIMING, SerialTiming
from .watch import Watch, wait_until

log = logging.getLogger(__name__)


class SerialDevice(Generic[F]):
    """A device at one address of one bus. Subclasses say how to open their bus, what an idle probe is,
    and what to do with the frames the device sends.

    ``online`` is true while the port is open and the device has answered since the port was last
    (re)opened, and has not missed a request since. ``failures`` counts requests that went unanswered
    or could not be sent. Nothing here raises into the caller once the driver is running.
    """

    kind: ClassVar[str]

    def __init__(
        self,
        *,
        device_id: str,
        window: int,
        port: str,
        address: int,
        baudrate: int,
        buses: SerialBuses | None,
        timing: SerialTiming | None,
        clock: Callable[[], float],
    ) -> None:
        if buses is not None and timing is not None and buses.timing is not timing:
            raise ValueError(f"{device_id}: pass the timing to the shared SerialBuses, not to the device")
        self.id = device_id
        self.window = window
        self.port = port
        self.address = address
        self.baudrate = baudrate
        self.timing = timing or (buses.timing if buses is not None else DEFAULT_TIMING)
        self.watch = Watch()
        self.failures = 0
        self.last_seen: float | None = None  # when the device last sent a good frame (``clock()``)
        self.last_error = ""
        self.unexpected = 0  # good frames from this address that this kind of device never sends
        self._clock = clock
        self._buses = buses
        self._bus_or_none: FrameBus[F] | None = None
        # The link's ``opens`` when the device last answered (None: it has not, or it missed one since).
        # Tied to the connection so that after a reopen the device counts as online only once it has
        # answered again.
        self._answering_on: int | None = None
        self._silent_on: int | None = None  # the link's ``opens`` when the device last missed a request
        self._stack = AsyncExitStack()

    # -- what subclasses provide

    async def _open_bus(self, buses: SerialBuses) -> FrameBus[F]:
        raise NotImplementedError

    async def _probe(self) -> None:
        """Ask the idle device whether it is there (and put back what it lost, if it was away)."""
        raise NotImplementedError

    def _on_frame(self, frame: F) -> None:
        """A good frame from this device (called on the loop; must not block)."""
        raise NotImplementedError

    async def _started(self) -> None:
        """Start the subclass's own tasks (with ``self._start_task``)."""

    # -- state

    @property
    def _bus(self) -> FrameBus[F]:
        if self._bus_or_none is None:
            raise RuntimeError(f"{self.id}: use the driver inside `async with`")
        return self._bus_or_none

    @property
    def link(self) -> SerialLink:
        return self._bus.link

    @property
    def online(self) -> bool:
        link = self._bus.link
        return link.online and self._answering_on == link.opens

    @property
    def _known_silent(self) -> bool:
        """The device missed a request on this connection and has not spoken since."""
        link = self._bus.link
        return self._answering_on is None and self._silent_on == link.opens

    @property
    def bus_stats(self) -> BusStats:
        return self._bus.stats

    async def wait_online(self, online: bool = True) -> None:
        """Return once ``online`` has this value; wrap in ``asyncio.timeout``."""
        await wait_until(lambda: self.online == online, self.watch, self._bus.link.watch)

    def _answered(self) -> None:
        link = self._bus.link
        if self._answering_on != link.opens:
            if self.failures:
                log.info("%s (%s address %d) answers again", self.id, self.port, self.address)
            self._answering_on = link.opens
            self._silent_on = None
        self.last_seen = self._clock()
        self.watch.notify()

    def _failed(self, error: str, *, silent: bool) -> None:
        self.failures += 1
        self.last_error = error
        if silent:
            if self._answering_on is not None:
                log.warning("%s (%s address %d) is offline: %s", self.id, self.port, self.address, error)
            self._answering_on = None
            self._silent_on = self._bus.link.opens
        log.debug("%s: %s (failure %d)", self.id, error, self.failures)
        self.watch.notify()

    # -- talking to the device

    async def _request(self, frame: F, answers: Callable[[F], bool]) -> F | None:
        """Send a request and return its answer; None (counted, never raised) if none came."""
        try:
            reply = await self._bus.request(
                frame, answers, reply_within=self.timing.ack_timeout, attempts=self.timing.attempts
            )
        except PortOffline as exc:
            self._failed(str(exc), silent=False)
            return None
        if reply is None:
            self._failed(f"no answer to {type(frame).__name__} in {self.timing.attempts} tries", silent=True)
        return reply

    async def _send(self, frame: F) -> bool:
        """Send a frame that has no answer; False (counted, never raised) if the port is not open."""
        try:
            await self._bus.send(frame)
        except PortOffline as exc:
            self._failed(str(exc), silent=False)
            return False
        return True

    def _heard(self, frame: F) -> None:
        self._answered()
        self._on_frame(frame)

    # -- lifetime

    def _start_task(self, name: str, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run ``coroutine`` until the driver closes."""
        task = asyncio.create_task(coroutine, name=f"{self.id} {name}")
        self._stack.push_async_callback(_cancel, task)

    async def __aenter__(self) -> Self:
        try:
            buses = self._buses
            if buses is None:
                buses = await self._stack.enter_async_context(
                    SerialBuses(timing=self.timing, clock=self._clock)
                )
            self._bus_or_none = await self._open_bus(buses)
            self._bus_or_none.attach(self.address, self._heard)
            self._stack.callback(self._bus_or_none.detach, self.address)
            self._start_task("supervisor", self._supervise())
            await self._started()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    async def _supervise(self) -> None:
        link = self._bus.link
        while True:
            # Probe every poll interval, and at once when the port comes back or goes away.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.timing.poll_interval):
                    await wait_until(_changed(link), link.watch)
            self.watch.notify()
            if link.online:
                try:
                    await self._probe()
                except Exception:
                    # A bug in one probe must not end the supervision of the device for the day.
                    log.exception("%s: probe failed", self.id)


def _changed(link: SerialLink) -> Callable[[], bool]:
    """Whether the port opened again or went away since this was called."""
    opens, was_open = link.opens, link.online
    return lambda: link.opens != opens or link.online != was_open


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
