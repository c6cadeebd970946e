"""The device hub: the daemon's side of every device.

It listens on the event bus (after commit), keeps each window's screen and the hall board current on MQTT
(retained) and on serial LEDs, has calls announced, arms satisfaction keypads, and turns what devices send
in (ratings, call-keypad keys) into the same commands the API runs, with the same checks. A device that
fails is counted and marked offline; it never holds up the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any

from devices.contracts import WindowScreen
from devices.mqtt import payloads
from devices.mqtt.link import BrokerAddress, MqttLink
from devices.printer.driver import PrinterDriver, PrintError
from devices.printer.sim import SimulatedPrinter
from devices.printer.ticket import render
from devices.serial.bus import SerialBuses
from devices.serial.call_keypad import CallKeypadDriver
from devices.serial.device import SerialDevice
from devices.serial.led import LedDisplay
from devices.serial.rating_keypad import RatingKeypadDriver
from devices.voice.announcer import Announcer
from devices.voice.sim import SimSpeaker
from hallctl.bus import Subscription
from hallctl.core.calendar import iso
from hallctl.core.model import Event, Ticket
from hallctl.hub.health import DeviceHealth, Health
from hallctl.hub.inbound import DeviceInput
from hallctl.hub.printing import ticket_print
from hallctl.hub.screens import board, screen_of
from hallctl.service import HallService

log = logging.getLogger(__name__)

# The hall board is redrawn at most this often: every issued ticket changes its waiting counts, and a busy
# kiosk burst must not turn into a stream of board messages; 0.2 s still shows a call at once to a person.
BOARD_INTERVAL = 0.2


class DeviceHub:
    def __init__(self, service: HallService, *, mqtt_url: str | None = None, narrate: bool = False) -> None:
        self.service = service
        self.narrate = narrate  # the demo: say on the console what the simulated devices show and speak
        self.config = service.config
        self.devices = self.config.devices
        url = mqtt_url if mqtt_url is not None else self.devices.mqtt.url
        self.address = BrokerAddress.parse(url) if url else None
        self.root = f"hallctl/{self.config.hall.id}"
        self.health = Health()
        self.screens: dict[int, WindowScreen] = {}
        self.recent: deque[dict[str, Any]] = deque(maxlen=self.devices.board.recent_calls)
        self.announcements: deque[dict[str, Any]] = deque(maxlen=50)  # the simulated speaker's log
        self.link: MqttLink | None = None
        self.announcer: Announcer | None = None
        self._spawned: set[asyncio.Task[None]] = set()
        self.board: dict[str, Any] = {}
        self._board_dirty = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._subscription: Subscription | None = None
        self._stack = contextlib.AsyncExitStack()
        # What devices send in (ratings, keys, status): the same commands the API runs.
        self.input = DeviceInput(service, self.health, self.root, self._publish)
        self.printers: dict[str, PrinterDriver] = {}  # by the kiosk token's name
        self.leds: dict[int, list[LedDisplay]] = {}  # serial window LEDs by window
        self.raters: dict[int, list[RatingKeypadDriver]] = {}  # serial satisfaction keypads by window
        self._serial: list[tuple[DeviceHealth, SerialDevice[Any]]] = []
        self._password = None
        if self.devices.mqtt.password_file:  # read once at start; the file keeps it out of the config
            self._password = Path(self.devices.mqtt.password_file).read_text(encoding="utf-8").strip()

    # -- life cycle ---------------------------------------------------------------------------------
    async def __aenter__(self) -> DeviceHub:
        if self.address is not None:
            self.link = await self._stack.enter_async_context(
                MqttLink(
                    self.address,
                    root=self.root,
                    client_id=self.devices.mqtt.client_id or f"hallctl-{self.config.hall.id}",
                    username=self.devices.mqtt.username or None,
                    password=self._password,
                    subscriptions=("keypad/+/rating", "terminal/+/key", "device/+/status"),
                    on_message=self.input.on_message,
                )
            )
            self.health.add(
                DeviceHealth("broker", "broker", f"mqtt://{self.address.host}:{self.address.port}")
            )
        for w in self.config.windows:
            self.health.add(
                DeviceHealth(
                    f"display-{w.id}",
                    "window_display",
                    "mqtt" if self.link else "simulated",
                    w.id,
                    online=True,
                )
            )
        for k in self.devices.call_keypads:
            self.health.add(DeviceHealth(k.id, "call_keypad", "serial" if k.port else "mqtt", k.window))
        for r in self.devices.rating_keypads:
            self.health.add(DeviceHealth(r.id, "rating_keypad", "serial" if r.port else "mqtt", r.window))
        await self._open_serial()
        voice = self.devices.voice
        self.announcer = await self._stack.enter_async_context(
            Announcer(
                voice,
                directory=self.service.db_path.parent / voice.directory,
                publish=self._publish_voice if self.link is not None else None,
                speaker=None if "sound" in voice.outputs else SimSpeaker(),
            )
        )
        self.health.add(DeviceHealth("voice", "voice", ",".join(voice.outputs), online=True))
        output = self.service.db_path.parent / "printer"
        for p in self.devices.printers:
            simulator = SimulatedPrinter(output_dir=output) if p.connection == "simulated" else None
            self.printers[p.kiosk] = await self._stack.enter_async_context(
                PrinterDriver(p, simulator=simulator)
            )
            self.health.add(DeviceHealth(p.id, "printer", p.connection.split(":")[0], online=True))
        self.health.add(
            DeviceHealth("hall-board", "hall_board", "mqtt" if self.link else "simulated", online=True)
        )
        self._subscription = self.service.bus.subscribe()
        self.resync()
        self._tasks = [
            asyncio.create_task(self._consume(self._subscription), name="hub-events"),
            asyncio.create_task(self._board_loop(), name="hub-board"),
        ]
        if self.link is not None:
            self._tasks.append(asyncio.create_task(self._watch_broker(self.link), name="hub-broker"))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._subscription is not None:
            self._subscription.close()
        await self._stack.aclose()

    async def _open_serial(self) -> None:
        """The RS-485 devices: each port opened once and shared; a port that fails is retried by its link
        and counted on its devices, never stopping the start."""
        serial_keypads = [k for k in self.devices.call_keypads if k.port]
        serial_raters = [r for r in self.devices.rating_keypads if r.port]
        if not (self.devices.displays or serial_keypads or serial_raters):
            return
        buses = await self._stack.enter_async_context(SerialBuses())
        for d in self.devices.displays:
            led = await self._stack.enter_async_context(LedDisplay(d, buses=buses))
            self.leds.setdefault(d.window, []).append(led)
            self._serial.append(
                (self.health.add(DeviceHealth(d.id, "window_display", "serial", d.window)), led)
            )
        for k in serial_keypads:
            keypad = await self._stack.enter_async_context(CallKeypadDriver(k, self.input.key, buses=buses))
            entry = self.health.get(k.id)
            if entry is not None:
                self._serial.append((entry, keypad))
        for r in serial_raters:
            rater = await self._stack.enter_async_context(RatingKeypadDriver(r, self.input.rate, buses=buses))
            self.raters.setdefault(r.window, []).append(rater)
            entry = self.health.get(r.id)
            if entry is not None:
                self._serial.append((entry, rater))

    # -- events out ---------------------------------------------------------------------------------
    def resync(self) -> None:
        """Every screen and the board from the live state (at start, and after the bus dropped events)."""
        for window_id in self.service.state.windows:
            self._show(window_id)
        self._board_dirty.set()

    async def _consume(self, subscription: Subscription) -> None:
        while True:
            event = await subscription.get()
            if subscription.overflowed:
                subscription.overflowed = False
                self.resync()
            try:
                self._handle(event)
            except Exception:  # a device problem must never stop the hub
                log.exception("device hub failed on %s", event.kind)

    def _handle(self, event: Event) -> None:
        window_id = None
        if event.window is not None:
            window_id = event.window["id"]
        elif event.ticket is not None and event.ticket.get("window") is not None:
            window_id = event.ticket["window"]
        if window_id is not None and window_id in self.service.state.windows:
            self._show(window_id)  # first: the screen goes out before the voice caller starts work
        if event.kind in ("ticket.called", "ticket.recalled") and event.ticket and event.window:
            number, window_id = event.ticket["number"], event.window["id"]
            self.recent.appendleft(
                {
                    "number": number,
                    "window": window_id,
                    "at": iso(event.at, self.service.state.zone),
                    "recall": event.kind == "ticket.recalled",
                }
            )
            self._announce(event.window["zone"], number, window_id, recall=event.kind == "ticket.recalled")
        if event.kind.startswith(("ticket.", "window.")):
            self._board_dirty.set()
        armed = event.kind == "rating.armed" or (
            event.kind == "ticket.changed" and event.detail.get("action") == "finish"
        )
        if armed and event.ticket and window_id in self.raters:
            seconds = self.devices.ratings.arm_seconds
            for rater in self.raters[window_id]:
                self._spawn(_quietly(rater.arm(event.ticket["number"], seconds)))

    def _show(self, window_id: int) -> None:
        screen = screen_of(self.service.state, window_id)
        if self.screens.get(window_id) == screen:
            return
        self.screens[window_id] = screen
        if self.narrate:
            log.info("窗口屏 %d号窗口: %s", window_id, screen.text)
        for led in self.leds.get(window_id, []):
            self._spawn(_quietly(led.show(screen)))  # an LED that does not answer is counted by its driver
        if self.link is not None:
            at = iso(time.time(), self.service.state.zone) or ""
            self.link.set_retained(f"window/{window_id}/display", payloads.display(screen, at))

    def _announce(self, zone: str, number: str, window: int, *, recall: bool) -> None:
        self.announcements.appendleft({"zone": zone, "number": number, "window": window, "recall": recall})
        if self.narrate:
            text = self.devices.voice.template.format(number=number, window=window)
            log.info("语音叫号 [%s]: %s%s", zone, text, "（重呼）" if recall else "")
        if self.announcer is not None:
            # announce() only queues; as a task per call they still run in call order (FIFO).
            self._spawn(self.announcer.announce(zone, number, window, recall=recall))

    async def _publish_voice(self, zone: str, payload: dict[str, Any]) -> None:
        if self.link is not None:
            self.link.publish(f"voice/{zone}", payloads.dumps(payload), qos=1)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._spawned.add(task)  # keep a reference until done, or the task may vanish mid-way
        task.add_done_callback(self._spawned.discard)

    async def _board_loop(self) -> None:
        while True:
            await self._board_dirty.wait()
            self._board_dirty.clear()
            data = board(self.service.state, list(self.recent), time.time())
            self.board = data
            if self.link is not None:
                self.link.set_retained("board", payloads.dumps(data))
            await asyncio.sleep(BOARD_INTERVAL)

    async def _watch_broker(self, link: MqttLink) -> None:
        broker = self.health.get("broker")
        assert broker is not None
        counted = 0  # link.drops already recorded as failures

        def count_drops() -> None:
            # Every lost connection is one failure, also one lost and back between two looks of this watch.
            nonlocal counted
            for _ in range(link.drops - counted):
                broker.failed(link.last_error or "disconnected")
            counted = link.drops

        while True:
            await link.connected.wait()
            broker.seen()
            while link.connected.is_set():
                broker.seen()
                count_drops()
                await asyncio.sleep(1.0)
            broker.online = False
            count_drops()

    def _publish(self, topic: str, payload: bytes) -> None:
        if self.link is not None:
            self.link.publish(topic, payload)

    @property
    def rejected(self) -> Counter[str]:
        """Inbound messages refused, by reason (for /metrics and the devices API)."""
        return self.input.rejected

    # -- printing -----------------------------------------------------------------------------------
    def printer_for(self, kiosk: str) -> PrinterDriver | None:
        return self.printers.get(kiosk)

    async def print_ticket(self, printer: PrinterDriver, ticket: Ticket) -> None:
        """Print at the kiosk; raises PrintError (paper out, offline, timeout …), counted on the device."""
        config = printer.config
        data = render(
            ticket_print(
                self.service.state,
                ticket,
                public_url=self.devices.public_url,
                paper_width_mm=config.paper_width_mm,
                with_materials=config.print_materials,
            )
        )
        entry = self.health.get(config.id)
        try:
            await printer.print_ticket(data)
        except PrintError as exc:
            if entry is not None:
                entry.online = False
                entry.failed(exc.reason)
            raise
        if entry is not None:
            entry.seen()

    # -- for the API and /metrics -------------------------------------------------------------------
    def current_health(self) -> list[DeviceHealth]:
        """Every device's health now (serial drivers keep their own counts; they are read here)."""
        for entry, driver in self._serial:
            entry.online = driver.online
            entry.last_seen = driver.last_seen
            entry.failures = driver.failures
        return self.health.all()

    def view(self) -> list[dict[str, Any]]:
        return [d.view() for d in self.current_health()]


async def _quietly(work: Coroutine[Any, Any, object]) -> None:
    """Run a device's work for its effect; its result (sent or not) is counted by the driver itself."""
    await work
