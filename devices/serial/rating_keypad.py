"""The satisfaction keypad (评价器) driver on RS-485: arms the keypad for a ticket, turns a press into a
``RatingHandler`` call, once, and answers the keypad with the result.

``async with RatingKeypadDriver(config, handler) as keypad: await keypad.arm("A012", 60)``. An arming
the keypad missed because it was away is sent again, for the time that is left, when it answers again.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import get_args

from devices.contracts import RatingHandler, RatingReply
from hallctl.config_devices import RatingKeypad

from .bus import SerialBuses
from .keypad_device import KeypadDevice
from .keypad_frames import (
    AckFrame,
    ArmFrame,
    Function,
    KeypadFrame,
    RatingFrame,
    RatingReason,
    RatingReplyFrame,
    is_ticket_number,
)
from .timing import SerialTiming

log = logging.getLogger(__name__)

MAX_ARM_SECONDS = 0xFFFF
# Answers after which the keypad's arming is over: the press was taken, or the daemon has nothing (more)
# to rate for it. After "bad_level" the citizen may press again.
_DISARMING = frozenset(("", "nothing_armed", "already_rated", "expired"))


def _is_arm_ack(frame: KeypadFrame) -> bool:
    return isinstance(frame, AckFrame) and frame.function is Function.ARM


def _reason(reply: RatingReply) -> RatingReason:
    for reason in get_args(RatingReason):
        if reply.reason == reason:
            r: RatingReason = reason
            return r
    log.warning("rating reason %r has no code on the wire; sent as 'other'", reply.reason)
    return "other"


class RatingKeypadDriver(KeypadDevice[RatingFrame]):
    kind = "rating_keypad"

    def __init__(
        self,
        config: RatingKeypad,
        handler: RatingHandler,
        *,
        buses: SerialBuses | None = None,
        timing: SerialTiming | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(RatingFrame, config, buses=buses, timing=timing, clock=clock)
        self.config = config
        self._handler = handler
        self._armed: tuple[str, float] | None = None  # ticket number, deadline on the loop's clock
        self._armed_on: tuple[int, str, float] | None = None  # the arming the keypad acked, per opening

    @property
    def armed(self) -> str | None:
        """The ticket the keypad is armed for now (as far as the driver knows), or None."""
        if self._armed is None or self._armed[1] <= asyncio.get_running_loop().time():
            return None
        return self._armed[0]

    async def arm(self, ticket_number: str, seconds: int) -> bool:
        """Ask the keypad to take a rating for ``ticket_number`` for ``seconds``; True once it acked.

        A keypad that does not answer is counted, and armed (for what is left) when it answers again.
        """
        if not is_ticket_number(ticket_number):
            raise ValueError(f"{self.id}: the keypad cannot show the ticket number {ticket_number!r}")
        if seconds < 1:
            raise ValueError(f"{self.id}: arm for at least 1 second, not {seconds}")
        seconds = min(seconds, MAX_ARM_SECONDS)
        self._armed = (ticket_number, asyncio.get_running_loop().time() + seconds)
        if self._known_silent:
            self._failed("offline: the arming waits until the keypad answers again", silent=False)
            return False
        return await self._send_arm()

    async def _send_arm(self) -> bool:
        armed = self._armed
        if armed is None:
            return False
        number, deadline = armed
        left = math.ceil(deadline - asyncio.get_running_loop().time())
        if left < 1:
            self._armed = None
            return False
        opens = self.link.opens
        if await self._request(ArmFrame(self.address, number, left), _is_arm_ack) is None:
            return False
        self._armed_on = (opens, number, deadline)
        self.watch.notify()
        return True

    async def _after_poll(self) -> None:
        armed = self._armed
        if self.online and armed is not None and self._armed_on != (self.link.opens, *armed):
            await self._send_arm()

    def _failed(self, error: str, *, silent: bool) -> None:
        if silent:
            self._armed_on = None  # it may have restarted and forgotten the arming
        super()._failed(error, silent=silent)

    async def _answer(self, press: RatingFrame) -> KeypadFrame:
        try:
            reply = await self._handler(self.id, self.window, press.level)
        except Exception:
            self.handler_errors += 1
            log.exception("%s: the rating handler failed on level %d", self.id, press.level)
            reply = RatingReply(accepted=False, reason="other")
        reason: RatingReason = "" if reply.accepted else _reason(reply)
        if reason in _DISARMING:
            self._armed = None
            self.watch.notify()
        return RatingReplyFrame(self.address, press.seq, reply.accepted, reason)
