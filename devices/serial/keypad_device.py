"""What the call keypad and the satisfaction keypad drivers share: polling, and presses handled one at a
time, each once, each answered."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from hallctl.config_devices import CallKeypad, RatingKeypad

from .bus import FrameBus, SerialBuses
from .device import SerialDevice
from .keypad_frames import AckFrame, Function, KeyFrame, KeypadFrame, PollFrame, RatingFrame
from .timing import SerialTiming

log = logging.getLogger(__name__)

P = TypeVar("P", KeyFrame, RatingFrame)
A = TypeVar("A")


class KeypadDevice(SerialDevice[KeypadFrame], Generic[P]):
    """A keypad at one address of a keypad bus. It sends presses of type ``P`` (on its own, or as the
    answer to a poll) and repeats each until answered; the driver runs each distinct press once, in
    order, and answers repeats with the answer already given."""

    def __init__(
        self,
        press_type: type[P],
        config: CallKeypad | RatingKeypad,
        *,
        buses: SerialBuses | None,
        timing: SerialTiming | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if config.port is None:
            raise ValueError(f"{self.kind} {config.id} has no port: it is on MQTT, not RS-485")
        super().__init__(
            device_id=config.id,
            window=config.window,
            port=config.port,
            address=config.address,
            baudrate=config.baudrate,
            buses=buses,
            timing=timing,
            clock=clock,
        )
        self.presses = 0  # distinct presses handled
        self.repeats = 0  # presses sent again by the keypad, answered without running them again
        self.handler_errors = 0  # presses whose handler raised (answered as a failure)
        self._press_type: type[P] = press_type
        # Unbounded: presses come at a clerk's or a citizen's pace, and every one must be answered.
        self._presses: asyncio.Queue[P] = asyncio.Queue()
        self._repeats: RepeatFilter[KeypadFrame] = RepeatFilter(self.timing.repeat_window)

    async def _answer(self, press: P) -> KeypadFrame:
        """Run the press (call the handler) and return the frame that answers it."""
        raise NotImplementedError

    async def _after_poll(self) -> None:
        """Put back what the keypad lost while it was away (the satisfaction keypad: its arming)."""

    async def _open_bus(self, buses: SerialBuses) -> FrameBus[KeypadFrame]:
        return await buses.keypad_bus(self.port, self.baudrate)

    async def _started(self) -> None:
        self._start_task("presses", self._handle_presses())

    def _is_poll_answer(self, frame: KeypadFrame) -> bool:
        # A polled keypad answers with the press it holds, or with an ACK when it has none.
        return isinstance(frame, self._press_type) or (
            isinstance(frame, AckFrame) and frame.function is Function.POLL
        )

    async def _probe(self) -> None:
        if await self._request(PollFrame(self.address), self._is_poll_answer) is not None:
            await self._after_poll()

    def _on_frame(self, frame: KeypadFrame) -> None:
        if isinstance(frame, self._press_type):
            self._presses.put_nowait(frame)
        elif not isinstance(frame, AckFrame):
            # Our own kind of frames (an adapter that echoes), or presses of the other keypad kind at
            # this address: counted, never acted on.
            self.unexpected += 1
            self.watch.notify()

    async def _handle_presses(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            press = await self._presses.get()
            answer = self._repeats.answer_for(press, loop.time())
            if answer is not None:
                self.repeats += 1
                log.debug("%s: repeated press %r answered again", self.id, press)
            else:
                answer = await self._answer(press)
                self._repeats.remember(press, loop.time(), answer)
                self.presses += 1
            await self._send(answer)
            self.watch.notify()


class RepeatFilter(Generic[A]):
    """The last press of one keypad and the answer it got, so that the same frame sent again (the keypad
    missed the answer and repeats, same sequence number) is answered again instead of executed again.

    A press is a repeat if it is identical (sequence number and contents) to the last one and comes
    within ``window`` seconds of the last time it was seen.
    """

    def __init__(self, window: float) -> None:
        self.window = window
        self._last: tuple[Hashable, float, A] | None = None

    def answer_for(self, press: Hashable, now: float) -> A | None:
        """The answer already given to ``press`` if it is a repeat, else None."""
        if self._last is None:
            return None
        last, seen, answer = self._last
        if last != press or now - seen > self.window:
            return None
        self._last = (last, now, answer)  # a keypad may repeat several times: each repeat extends the window
        return answer

    def remember(self, press: Hashable, now: float, answer: A) -> None:
        self._last = (press, now, answer)
