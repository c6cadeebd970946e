"""The clerk's call keypad (呼叫器) driver: key presses from an RS-485 keypad become ``KeyHandler`` calls,
each once, and the daemon's ``KeyReply`` goes back to the keypad's display.

``async with CallKeypadDriver(config, handler) as keypad: ...``. Only frames from the configured address
reach the handler, as ``handler(config.window, key, target)``; malformed frames and frames from other
addresses are counted on the bus (``keypad.bus_stats``) and ignored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from devices.contracts import KeyHandler, KeyReply
from hallctl.config_devices import CallKeypad

from .bus import SerialBuses
from .keypad_device import KeypadDevice
from .keypad_frames import MAX_WAITING, KeyFrame, KeypadFrame, KeyReplyFrame, fit_message, is_ticket_number
from .timing import SerialTiming

log = logging.getLogger(__name__)

# What the keypad shows when the daemon failed to handle a key (a bug or a store failure): the clerk
# presses again, which is a new press (new sequence number) and is run again.
HANDLER_FAILED = "系统故障，请重按"


def reply_frame(address: int, seq: int, reply: KeyReply) -> KeyReplyFrame:
    """The ``KeyReply`` as the keypad can show it: the number if it fits, the count and message clipped."""
    number = reply.number if reply.number is not None and is_ticket_number(reply.number) else None
    if number is None and reply.number:
        log.warning("keypad at address %d cannot show the number %r", address, reply.number)
    return KeyReplyFrame(
        address,
        seq,
        ok=reply.ok,
        number=number,
        waiting=min(max(reply.waiting, 0), MAX_WAITING),
        message=fit_message(reply.message),
    )


class CallKeypadDriver(KeypadDevice[KeyFrame]):
    kind = "call_keypad"

    def __init__(
        self,
        config: CallKeypad,
        handler: KeyHandler,
        *,
        buses: SerialBuses | None = None,
        timing: SerialTiming | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(KeyFrame, config, buses=buses, timing=timing, clock=clock)
        self.config = config
        self._handler = handler

    async def _answer(self, press: KeyFrame) -> KeypadFrame:
        try:
            reply = await self._handler(self.window, press.key, press.target)
        except Exception:
            # The keypad still gets an answer, or it would repeat the press until it gives up.
            self.handler_errors += 1
            log.exception("%s: the key handler failed on %s", self.id, press.key)
            reply = KeyReply(ok=False, number=None, waiting=0, message=HANDLER_FAILED)
        return reply_frame(self.address, press.seq, reply)
