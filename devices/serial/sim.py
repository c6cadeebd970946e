"""Simulated RS-485 devices on the far end of a pty: window LEDs, call keypads, satisfaction keypads.

The driver opens ``PtyPort.path`` as if it were /dev/ttyUSB0; the virtual devices read and write the
pty's master end through a ``SimBus``. Used by the tests and the demo::

    async with SimBus.led(tmp / "ttyLED") as bus:
        led = VirtualLed(bus, address=3)
        ...  # LedDisplay(WindowDisplay(port=str(bus.path), address=3, ...))
        await led.wait_for_text("A012 请到3号窗口")

``bus.unplug()`` and ``bus.plug()`` pull the cable and put it back (the path stays the same, as a udev
``/dev/serial/by-id`` link does); ``device.responding = False`` switches one device off.
"""

from __future__ import annotations

import asyncio
import errno
import os
import tty
import unicodedata
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Generic, Self

from devices.contracts import Key

from .bus import KEYPAD_PROTOCOL, LED_PROTOCOL, F, FrameProtocol
from .framing import ReaderStats
from .keypad_frames import (
    MAX_SEQ,
    AckFrame,
    ArmFrame,
    Function,
    KeyFrame,
    KeypadFrame,
    KeyReplyFrame,
    PollFrame,
    RatingFrame,
    RatingReplyFrame,
)
from .led_codec import Ack, Clear, Command, LedFrame, SetBrightness, ShowText, Status, StatusQuery
from .watch import Watch, wait_until

READ_SIZE = 4096


class PtyPort:
    """A serial port made of a pty pair, reachable at a fixed path (a symlink to the pty's slave end).

    The slave end stays open here too, so the master end keeps working while the driver has the port
    closed between its reopen attempts (a pty master whose slave nobody holds reads only errors).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.master_fd: int | None = None
        self._slave_fd: int | None = None

    @property
    def plugged(self) -> bool:
        return self.master_fd is not None

    def plug(self) -> int:
        """Create a new pty pair behind ``path``; returns the master end (non-blocking)."""
        if self.master_fd is not None:
            return self.master_fd
        master, slave = os.openpty()
        # Raw: no echo, no line editing, no CR/LF translation; frames are binary.
        tty.setraw(slave)
        os.set_blocking(master, False)
        staged = self.path.with_name(self.path.name + ".new")
        staged.unlink(missing_ok=True)
        staged.symlink_to(os.ttyname(slave))
        staged.replace(self.path)  # atomic: the driver never sees a half-made link
        self.master_fd, self._slave_fd = master, slave
        return master

    def unplug(self) -> None:
        """Remove the port: the driver's open port fails at once, and reopening it fails until ``plug``."""
        self.path.unlink(missing_ok=True)
        for fd in (self.master_fd, self._slave_fd):
            if fd is not None:
                os.close(fd)
        self.master_fd = self._slave_fd = None


class SimBus(Generic[F]):
    """The devices' end of a bus: decodes what the daemon sends, hands each frame to the virtual device
    at its address, and sends the devices' frames back."""

    def __init__(self, path: Path | str, protocol: FrameProtocol[F]) -> None:
        self.port = PtyPort(path)
        self.protocol = protocol
        self.watch = Watch()
        self.heard: list[F] = []  # every good frame the daemon sent, for any address
        self.dropped_writes = 0  # device frames lost because nobody had the port open
        self._reader = protocol.new_reader()
        self._devices: dict[int, Callable[[F], None]] = {}

    @classmethod
    def led(cls, path: Path | str) -> SimBus[LedFrame]:
        return SimBus(path, LED_PROTOCOL)

    @classmethod
    def keypad(cls, path: Path | str) -> SimBus[KeypadFrame]:
        return SimBus(path, KEYPAD_PROTOCOL)

    @property
    def path(self) -> Path:
        return self.port.path

    @property
    def stats(self) -> ReaderStats:
        return self._reader.stats

    async def __aenter__(self) -> Self:
        self.plug()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.unplug()

    def attach(self, address: int, on_frame: Callable[[F], None]) -> None:
        if address in self._devices:
            raise ValueError(f"two virtual devices at address {address}")
        self._devices[address] = on_frame

    def plug(self) -> None:
        """Put the cable in: a new pty at the same path."""
        if self.port.plugged:
            return
        fd = self.port.plug()
        self._reader = self.protocol.new_reader()
        asyncio.get_running_loop().add_reader(fd, self._readable, fd)
        self.watch.notify()

    def unplug(self) -> None:
        """Pull the cable: the driver's port fails, and cannot be opened until ``plug``."""
        if self.port.master_fd is not None:
            asyncio.get_running_loop().remove_reader(self.port.master_fd)
        self.port.unplug()
        self.watch.notify()

    def send(self, frame: F) -> None:
        self.write_raw(self.protocol.encode(frame))

    def write_raw(self, data: bytes) -> None:
        """Put bytes on the line as a device would (or as noise does)."""
        fd = self.port.master_fd
        if fd is None:
            self.dropped_writes += 1
            return
        try:
            while data:
                data = data[os.write(fd, data) :]
        except OSError:
            # The pty's buffer is full because nobody reads the port: on a real bus these bytes would
            # be gone too.
            self.dropped_writes += 1

    def _readable(self, fd: int) -> None:
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno == errno.EIO:  # nobody holds the slave end; PtyPort prevents it, but be safe
                asyncio.get_running_loop().remove_reader(fd)
                return
            raise
        for frame in self._reader.feed(data):
            self.heard.append(frame)
            on_frame = self._devices.get(frame.address)
            if on_frame is not None:  # as on RS-485, a frame for nobody here goes unanswered
                on_frame(frame)
        self.watch.notify()


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _boxed(lines: list[str]) -> str:
    width = max(_width(line) for line in lines)
    body = [f"│ {line}{' ' * (width - _width(line))} │" for line in lines]
    return "\n".join([f"┌{'─' * (width + 2)}┐", *body, f"└{'─' * (width + 2)}┘"])


class VirtualLed:
    """A window LED: shows what it is sent and acks it. ``responding = False`` switches it off."""

    def __init__(self, bus: SimBus[LedFrame], address: int) -> None:
        self.bus = bus
        self.address = address
        self.text = ""
        self.brightness = 15
        self.history: list[str] = []  # every text shown, "" for a clear
        self.responding = True
        self.status = Status.OK  # what its acks say (set FAULT to simulate a broken module)
        bus.attach(address, self._on_frame)

    def render(self) -> str:
        """The LED as a box of text, for logs and the demo."""
        return _boxed([f"窗口屏 #{self.address}", self.text or "（空）"])

    async def wait_for_text(self, text: str) -> None:
        """Return once the LED shows ``text``; wrap in ``asyncio.timeout``."""
        await wait_until(lambda: self.text == text, self.bus.watch)

    def _on_frame(self, frame: LedFrame) -> None:
        if not self.responding:
            return  # switched off: it hears nothing and says nothing
        match frame:
            case ShowText(text=text):
                self.text = text
                self.history.append(text)
            case Clear():
                self.text = ""
                self.history.append("")
            case SetBrightness(level=level):
                self.brightness = level
            case StatusQuery():
                pass
            case Ack():
                return  # another LED's answer (or an echo): not for us to answer
        self.bus.send(Ack(self.address, _command_of(frame), self.status))


def _command_of(frame: LedFrame) -> Command:
    return {
        ShowText: Command.SHOW_TEXT,
        Clear: Command.CLEAR,
        SetBrightness: Command.BRIGHTNESS,
        StatusQuery: Command.STATUS_QUERY,
    }[type(frame)]


class _VirtualKeypad:
    """A keypad's sequence numbers, repeats and polls. With ``speaks_first`` it sends a press at once
    (as most hall keypads do); without, it holds the press until the daemon polls it."""

    def __init__(self, bus: SimBus[KeypadFrame], address: int, *, speaks_first: bool, first_seq: int) -> None:
        self.bus = bus
        self.address = address
        self.speaks_first = speaks_first
        self.responding = True
        self.polls = 0
        self._seq = first_seq % (MAX_SEQ + 1)
        self._last: KeypadFrame | None = None
        self._held: list[KeypadFrame] = []
        bus.attach(address, self._on_frame)

    def _next_seq(self) -> int:
        seq = self._seq
        self._seq = (self._seq + 1) % (MAX_SEQ + 1)
        return seq

    def _press(self, frame: KeypadFrame) -> None:
        self._last = frame
        if self.speaks_first:
            self.bus.send(frame)
        else:
            self._held.append(frame)

    def repeat(self) -> None:
        """Send the last press again, same sequence number: what a keypad does when no answer came."""
        if self._last is None:
            raise RuntimeError("nothing pressed yet")
        self.bus.send(self._last)

    def _on_frame(self, frame: KeypadFrame) -> None:
        if not self.responding:
            return
        if isinstance(frame, PollFrame):
            self.polls += 1
            self.bus.send(self._held.pop(0) if self._held else AckFrame(self.address, Function.POLL))
        else:
            self._received(frame)

    def _received(self, frame: KeypadFrame) -> None:
        raise NotImplementedError


class VirtualCallKeypad(_VirtualKeypad):
    """A clerk's call keypad: ``press`` a key, read the daemon's answers from ``replies`` and the display."""

    def __init__(
        self, bus: SimBus[KeypadFrame], address: int, *, speaks_first: bool = True, first_seq: int = 1
    ) -> None:
        super().__init__(bus, address, speaks_first=speaks_first, first_seq=first_seq)
        self.replies: list[KeyReplyFrame] = []
        self.number: str | None = None
        self.waiting = 0
        self.message = ""

    def press(self, key: Key, target: int | None = None) -> int:
        """Press a key (``transfer`` with the target window); returns the press's sequence number."""
        seq = self._next_seq()
        self._press(KeyFrame(self.address, seq, key, target))
        return seq

    async def wait_reply(self, seq: int, count: int = 1) -> KeyReplyFrame:
        """The answer to press ``seq`` once ``count`` answers to it came; wrap in ``asyncio.timeout``."""
        await wait_until(lambda: len(self.replies_to(seq)) >= count, self.bus.watch)
        return self.replies_to(seq)[-1]

    def replies_to(self, seq: int) -> list[KeyReplyFrame]:
        return [reply for reply in self.replies if reply.seq == seq]

    def render(self) -> str:
        number = self.number or "----"
        return _boxed([f"呼叫器 #{self.address}  {number}", f"等候 {self.waiting}", self.message])

    def _received(self, frame: KeypadFrame) -> None:
        if isinstance(frame, KeyReplyFrame):
            self.replies.append(frame)
            self.number, self.waiting, self.message = frame.number, frame.waiting, frame.message


class VirtualRatingKeypad(_VirtualKeypad):
    """A satisfaction keypad: acks arming, ``press`` a level 1..5, read the daemon's answers."""

    def __init__(
        self, bus: SimBus[KeypadFrame], address: int, *, speaks_first: bool = True, first_seq: int = 1
    ) -> None:
        super().__init__(bus, address, speaks_first=speaks_first, first_seq=first_seq)
        self.armed: ArmFrame | None = None
        self.arms: list[ArmFrame] = []
        self.results: list[RatingReplyFrame] = []

    def press(self, level: int) -> int:
        seq = self._next_seq()
        self._press(RatingFrame(self.address, seq, level))
        return seq

    async def wait_armed(self, number: str) -> ArmFrame:
        await wait_until(lambda: self.armed is not None and self.armed.number == number, self.bus.watch)
        assert self.armed is not None
        return self.armed

    async def wait_result(self, seq: int) -> RatingReplyFrame:
        await wait_until(lambda: any(r.seq == seq for r in self.results), self.bus.watch)
        return [r for r in self.results if r.seq == seq][-1]

    def render(self) -> str:
        state = f"请评价 {self.armed.number}" if self.armed else "（待机）"
        return _boxed([f"评价器 #{self.address}", state])

    def _received(self, frame: KeypadFrame) -> None:
        if isinstance(frame, ArmFrame):
            self.armed = frame
            self.arms.append(frame)
            self.bus.send(AckFrame(self.address, Function.ARM))
        elif isinstance(frame, RatingReplyFrame):
            self.results.append(frame)
            if frame.reason != "bad_level":
                self.armed = None
