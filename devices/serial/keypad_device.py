"""What the call keypad and the satisfaction keypad drivers share: polling, and presses handled one at a
time, each once, each answered."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from hallctl.config_devices import CallKeypad, RatingKeypad

from .bus import FrameBus, SerialBuses
from .device import SerialDevice
from .keypad_codec import AckFrame, Function, KeyFrame, KeypadFrame, PollFrame, RatingFrame, RepeatFilter
from .timing import SerialTiming

log = logging.getLogger(__name__)

P = TypeVar("P", KeyFrame, RatingFrame)


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
