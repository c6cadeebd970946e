"""The window LED (窗口屏) driver: shows a window's screen on its RS-485 LED and shows it again after the
LED or its port was away.

``async with LedDisplay(config) as led: await led.show(screen)``. ``show`` waits for the LED's ack and
returns whether it came; a silent LED is counted and marked offline, never raised. The last screen is
kept and sent again as soon as the LED answers a status query after an outage.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from devices.contracts import WindowScreen
from hallctl.config_devices import WindowDisplay

from . import led_codec
from .bus import FrameBus, SerialBuses
from .device import SerialDevice
from .led_codec import Ack, Clear, Command, LedFrame, ShowText, Status, StatusQuery
from .timing import SerialTiming


def _ack_of(command: Command) -> Callable[[LedFrame], bool]:
    return lambda frame: isinstance(frame, Ack) and frame.command == command


class LedDisplay(SerialDevice[LedFrame]):
    kind = "window_display"

    def __init__(
        self,
        config: WindowDisplay,
        *,
        buses: SerialBuses | None = None,
        timing: SerialTiming | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
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
        self.config = config
        self.screen: WindowScreen | None = None  # the last screen asked for
        self.faults = 0  # acks that said REJECTED or FAULT
        # What the LED acked last, and on which opening of the port: after a reopen it is unknown.
        self._shown: tuple[int, WindowScreen] | None = None

    async def _open_bus(self, buses: SerialBuses) -> FrameBus[LedFrame]:
        return await buses.led_bus(self.port, self.baudrate)

    async def show(self, screen: WindowScreen) -> bool:
        """Show ``screen`` now; True once the LED acked it. Kept and shown again after an outage."""
        if screen.window != self.window:
            raise ValueError(f"{self.id} is the LED of window {self.window}, not of window {screen.window}")
        self.screen = screen
        if self._known_silent:
            # The LED missed its last request: do not hold the bus for another timeout on every call.
            # The supervisor's probe finds it when it is back and sends this screen then.
            self._failed("offline: the screen waits until the LED answers again", silent=False)
            return False
        return await self._send_screen(screen)

    async def _send_screen(self, screen: WindowScreen) -> bool:
        text = led_codec.fit_text(screen.text)
        frame: LedFrame = ShowText(self.address, text) if text else Clear(self.address)
        opens = self.link.opens
        reply = await self._request(frame, _ack_of(Command.SHOW_TEXT if text else Command.CLEAR))
        if not isinstance(reply, Ack):
            return False
        # Any ack means the LED has the screen; one it cannot show is reported, not sent again every
        # poll (it would refuse it again).
        self._shown = (opens, screen)
        self.watch.notify()
        if reply.status is not Status.OK:
            self.faults += 1
            self.last_error = f"the LED answered {reply.status.name} to {frame!r}"
            return False
        return True

    async def _probe(self) -> None:
        await self._request(StatusQuery(self.address), _ack_of(Command.STATUS_QUERY))
        screen = self.screen
        if self.online and screen is not None and self._shown != (self.link.opens, screen):
            await self._send_screen(screen)

    def _on_frame(self, frame: LedFrame) -> None:
        if not isinstance(frame, Ack):
            # An LED only ever sends acks; anything else is another master or an adapter echoing.
            self.unexpected += 1

    def _failed(self, error: str, *, silent: bool) -> None:
        if silent:
            self._shown = None  # it may have been powered off: it no longer shows what it showed
        super()._failed(error, silent=silent)
