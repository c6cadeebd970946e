"""An RS-485 bus: one serial port, one frame protocol, every device on it found by its address.

The daemon is the bus master. ``FrameBus`` decodes what arrives once and hands each frame to the device
registered at its address; requests (a frame and the answer it expects) take turns, because on a
half-duplex line only one device may answer at a time. ``SerialBuses`` opens each port once for the
whole hall, so the LEDs (or keypads) wired to one port share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar

from . import keypad_codec, keypad_frames, led_codec
from .framing import ReaderStats
from .link import SerialError, SerialLink
from .timing import DEFAULT_TIMING, SerialTiming, wire_seconds

log = logging.getLogger(__name__)


class Addressed(Protocol):
    @property
    def address(self) -> int: ...


F = TypeVar("F", bound=Addressed)


class FrameReaderLike(Protocol[F]):
    @property
    def stats(self) -> ReaderStats: ...

    @property
    def pending(self) -> bool: ...

    def feed(self, chunk: bytes) -> list[F]: ...

    def flush(self) -> list[F]: ...


@dataclass(frozen=True, slots=True)
class FrameProtocol(Generic[F]):
    """A codec as the bus needs it."""

    name: str
    encode: Callable[[F], bytes]
    new_reader: Callable[[], FrameReaderLike[F]]
    max_reply_bytes: int  # the longest answer on the wire, for the wire-time part of a request's timeout


LED_PROTOCOL: FrameProtocol[led_codec.LedFrame] = FrameProtocol(
    "led", led_codec.encode, led_codec.FrameReader, max_reply_bytes=12
)
KEYPAD_PROTOCOL: FrameProtocol[keypad_frames.KeypadFrame] = FrameProtocol(
    "keypad", keypad_codec.encode, keypad_codec.FrameReader, max_reply_bytes=16
)


class AddressInUse(SerialError):
    """Two devices configured at one address of one bus: neither could be told apart."""


class BusConflict(SerialError):
    """One port configured with two protocols or two baud rates."""


@dataclass(frozen=True, slots=True)
class BusStats:
    """What a bus has seen, for health pages and tests."""

    frames: int
    malformed: int  # candidates that failed their checks
    rejected: dict[str, int]  # malformed by reason (``FrameError.reason``)
    garbage_bytes: int  # bytes outside any frame
    unrouted: int  # good frames from addresses no device is registered at


@dataclass(slots=True)
class _Request(Generic[F]):
    address: int
    answers: Callable[[F], bool]
    reply: asyncio.Future[F]


class FrameBus(Generic[F]):
    """``async with FrameBus(SerialLink(port), LED_PROTOCOL) as bus``; usually got from ``SerialBuses``."""

    def __init__(self, link: SerialLink, protocol: FrameProtocol[F]) -> None:
        self.link = link
        self.protocol = protocol
        self.unrouted = 0
        self._reader = protocol.new_reader()
        self._devices: dict[int, Callable[[F], None]] = {}
        self._turn = asyncio.Lock()  # half duplex: one request and its answer at a time
        self._request: _Request[F] | None = None
        self._stack = AsyncExitStack()

    @property
    def port(self) -> str:
        return self.link.port

    @property
    def stats(self) -> BusStats:
        reader = self._reader.stats
        return BusStats(
            frames=reader.frames,
            malformed=reader.malformed,
            rejected=dict(reader.rejected),
            garbage_bytes=reader.garbage_bytes,
            unrouted=self.unrouted,
        )

    async def __aenter__(self) -> Self:
        await self._stack.enter_async_context(self.link)
        task = asyncio.create_task(self._receive(), name=f"{self.protocol.name} bus {self.port}")
        self._stack.push_async_callback(_cancel, task)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    def attach(self, address: int, on_frame: Callable[[F], None]) -> None:
        """Send every good frame from ``address`` to ``on_frame`` (called on the loop; must not block)."""
        if address in self._devices:
            raise AddressInUse(self.port, f"two devices at address {address}")
        self._devices[address] = on_frame

    def detach(self, address: int) -> None:
        self._devices.pop(address, None)

    async def send(self, frame: F) -> None:
        """Send a frame that expects no answer; ``PortOffline`` if the port is not open."""
        async with self._turn:
            await self.link.send(self.protocol.encode(frame))

    async def request(
        self, frame: F, answers: Callable[[F], bool], *, reply_within: float, attempts: int = 1
    ) -> F | None:
        """Send ``frame`` and return the first frame from its address that ``answers`` it, or None.

        Tries ``attempts`` times, each waiting ``reply_within`` plus the time both frames spend on the wire,
        holding the bus throughout so no other request can slip in between two tries. Raises
        ``PortOffline`` only if the port is not open; a silent device is None.
        """
        data = self.protocol.encode(frame)
        wait = reply_within + wire_seconds(len(data) + self.protocol.max_reply_bytes, self.link.baudrate)
        loop = asyncio.get_running_loop()
        async with self._turn:
            for _ in range(attempts):
                reply: asyncio.Future[F] = loop.create_future()
                request = _Request(frame.address, answers, reply)
                self._request = request
                try:
                    await self.link.send(data)
                    async with asyncio.timeout(wait):
                        return await reply
                except TimeoutError:
                    continue
                finally:
                    self._request = None
        return None

    async def _receive(self) -> None:
        loop = asyncio.get_running_loop()
        quiet: asyncio.TimerHandle | None = None
        try:
            async for chunk in self.link.received():
                if quiet is not None:
                    quiet.cancel()
                    quiet = None
                for frame in self._reader.feed(chunk):
                    self._route(frame)
                if self._reader.pending:
                    # If the line stays quiet this long, the frame begun will not be completed: give
                    # up on it (a cut-off frame, or a stray byte that looked like a header).
                    quiet = loop.call_later(self.link.timing.frame_gap, self._flush)
        finally:
            if quiet is not None:
                quiet.cancel()

    def _flush(self) -> None:
        for frame in self._reader.flush():
            self._route(frame)

    def _route(self, frame: F) -> None:
        request = self._request
        if (
            request is not None
            and request.address == frame.address
            and not request.reply.done()
            and request.answers(frame)
        ):
            request.reply.set_result(frame)
        on_frame = self._devices.get(frame.address)
        if on_frame is None:
            self.unrouted += 1
            log.debug("%s: frame from unknown address %d: %r", self.port, frame.address, frame)
            return
        try:
            on_frame(frame)
        except Exception:
            # A driver's bug must not stop the bus for the other devices on it.
            log.exception("%s: device at address %d failed on %r", self.port, frame.address, frame)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class SerialBuses:
    """The hall's serial ports, each opened once on first use and shared by every device on it.

    ``async with SerialBuses() as buses: bus = await buses.led_bus("/dev/ttyUSB0", 9600)``; the buses
    close when this closes. A port asked for with another protocol or baud rate is a ``BusConflict``.
    """

    def __init__(
        self, *, timing: SerialTiming = DEFAULT_TIMING, clock: Callable[[], float] = time.time
    ) -> None:
        self.timing = timing
        self._clock = clock
        self._buses: dict[str, FrameBus[Any]] = {}
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._buses.clear()
        await self._stack.aclose()

    def all(self) -> list[FrameBus[Any]]:
        return list(self._buses.values())

    async def led_bus(self, port: str, baudrate: int) -> FrameBus[led_codec.LedFrame]:
        return await self._bus(port, baudrate, LED_PROTOCOL)

    async def keypad_bus(self, port: str, baudrate: int) -> FrameBus[keypad_frames.KeypadFrame]:
        return await self._bus(port, baudrate, KEYPAD_PROTOCOL)

    async def _bus(self, port: str, baudrate: int, protocol: FrameProtocol[F]) -> FrameBus[F]:
        existing = self._buses.get(port)
        if existing is not None:
            if existing.protocol is not protocol:
                raise BusConflict(
                    port, f"used for {existing.protocol.name} devices and {protocol.name} devices"
                )
            if existing.link.baudrate != baudrate:
                raise BusConflict(port, f"configured at {existing.link.baudrate} and {baudrate} baud")
            bus: FrameBus[F] = existing
            return bus
        bus = FrameBus(SerialLink(port, baudrate, timing=self.timing, clock=self._clock), protocol)
        self._buses[port] = bus
        await self._stack.enter_async_context(bus)
        return bus
