"""What devices send in — satisfaction-keypad presses, call-keypad keys, device status — turned into the
same commands the API runs, as the clerk logged in to that window, with the same checks. Messages that do
not parse or do not fit are refused and counted by reason; they change nothing."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

from devices.contracts import Key, KeyReply, RatingReply
from devices.mqtt import payloads
from hallctl.core import counter, ratings
from hallctl.core.errors import HallError
from hallctl.core.model import Actor, Role, TicketState, WindowState
from hallctl.hub.health import Health
from hallctl.service import Command, HallService

log = logging.getLogger(__name__)


class DeviceInput:
    def __init__(
        self, service: HallService, health: Health, root: str, publish: Callable[[str, bytes], None]
    ) -> None:
        self.service = service
        self.health = health
        self.root = root  # the hall's MQTT topic root: hallctl/{hall_id}
        self._publish = publish  # a reply to a keypad, when a broker is there to carry it
        devices = service.config.devices
        self.rejected: Counter[str] = Counter()  # inbound messages refused, by reason (for /metrics)
        self._bound_keypads = {(k.id, k.window) for k in devices.call_keypads}
        self._bound_raters = {(k.id, k.window) for k in devices.rating_keypads}
        self._last_seq: dict[str, tuple[int, bytes]] = {}  # device -> its last seq and the reply to it

    async def on_message(self, topic: str, payload: bytes) -> None:
        local = topic.removeprefix(self.root + "/")
        try:
            if local.startswith("device/") and local.endswith("/status"):
                self._device_status(local, payload)
            elif local.startswith("keypad/"):
                press = payloads.parse_rating(local, payload)
                self._known_window(press.window)
                if (press.device, press.window) not in self._bound_raters:
                    raise payloads.PayloadError(
                        "not_bound", f"{press.device} is not the keypad of {press.window}"
                    )
                rated = await self.rate(press.device, press.window, press.level)
                if not rated.accepted:
                    self.rejected[f"rating_{rated.reason}"] += 1
            elif local.startswith("terminal/"):
                key = payloads.parse_key(local, payload)
                self._known_window(key.window)
                if (key.device, key.window) not in self._bound_keypads:
                    raise payloads.PayloadError(
                        "not_bound", f"{key.device} is not the keypad of {key.window}"
                    )
                last = self._last_seq.get(key.device)
                if key.seq is not None and last is not None and last[0] == key.seq:
                    # The same press sent again (the keypad missed the reply): done once already, so
                    # only the reply goes out again.
                    self._publish(f"terminal/{key.window}/reply", last[1])
                    return
                reply = await self.key(key.window, key.key, key.arg)
                answer = payloads.dumps(
                    {
                        "v": 1,
                        "ok": reply.ok,
                        "number": reply.number,
                        "waiting": reply.waiting,
                        "message": reply.message,
                        "seq": key.seq,
                    }
                )
                if key.seq is not None:
                    self._last_seq[key.device] = (key.seq, answer)
                self._publish(f"terminal/{key.window}/reply", answer)
        except payloads.PayloadError as exc:
            self.rejected[exc.reason] += 1
            log.warning("refused MQTT message on %s: %s", topic, exc)

    def _known_window(self, window_id: int) -> None:
        if window_id not in self.service.state.windows:
            raise payloads.PayloadError("unknown_window", f"the hall has no window {window_id}")

    def _device_status(self, local: str, payload: bytes) -> None:
        device_id = local.split("/")[1]
        device = self.health.get(device_id)
        if device is None:
            self.rejected["unknown_device"] += 1
            return
        if payload == b"online":
            device.seen()
        elif payload == b"offline":
            device.online = False
        else:
            self.rejected["bad_status"] += 1

    async def rate(self, device: str, window: int, level: int) -> RatingReply:
        """A satisfaction-keypad press (MQTT or serial): stored once, or refused with a reason."""
        entry = self.health.get(device)
        if entry is not None:
            entry.seen()
        try:
            await self.service.execute(lambda s, now: ratings.rate(s, now, device, window, level))
        except HallError as exc:
            return RatingReply(False, exc.code)
        return RatingReply(True, "")

    async def key(self, window_id: int, key: Key, arg: int | None) -> KeyReply:
        """A call-keypad key: the same command as the API's, as the clerk logged in to that window."""
        state = self.service.state
        window = state.windows.get(window_id)
        if window is None or window.clerk is None:
            return self._reply(window_id, False, "请先登录窗口")
        actor = Actor(Role.CLERK, f"keypad@{window_id}", window.clerk)
        commands: list[Command] = []
        if key == "call":
            # The keypad has no finish key: 呼叫 ends the service at the window and calls the next one.
            current = state.tickets.get(window.current) if window.current is not None else None
            if current is not None and current.state is TicketState.CALLED:
                commands.append(lambda s, now: counter.start(s, now, actor, window_id))
            if current is not None:
                commands.append(lambda s, now: counter.finish(s, now, actor, window_id))
            commands.append(lambda s, now: counter.call_next(s, now, actor, window_id))
        elif key == "recall":
            commands.append(lambda s, now: counter.recall(s, now, actor, window_id))
        elif key == "rate":
            commands.append(lambda s, now: ratings.request_rating(s, now, actor, window_id))
        elif key == "pause":
            if window.state is WindowState.PAUSED:
                commands.append(lambda s, now: counter.unpause(s, now, actor, window_id))
            else:
                commands.append(lambda s, now: counter.pause(s, now, actor, window_id))
        elif key == "transfer":
            if arg is None:
                return self._reply(window_id, False, "请输入转往的窗口号")
            commands.append(lambda s, now: counter.transfer(s, now, actor, window_id, to_window=arg))
        elif key == "no_show":
            commands.append(lambda s, now: counter.no_show(s, now, actor, window_id))
        elif key == "suspend":
            commands.append(lambda s, now: counter.suspend(s, now, actor, window_id))
        elif key == "resume":
            commands.append(lambda s, now: counter.resume(s, now, actor, window_id))
        try:
            for command in commands:
                await self.service.execute(command)
        except HallError as exc:
            return self._reply(window_id, False, exc.zh)
        return self._reply(window_id, True, "")

    def _reply(self, window_id: int, ok: bool, message: str) -> KeyReply:
        state = self.service.state
        window = state.windows.get(window_id)
        number = None
        if window is not None and window.current is not None:
            number = state.tickets[window.current].number
        waiting = state.waiting_for(window_id) if window is not None else 0
        return KeyReply(ok, number, waiting, message)
