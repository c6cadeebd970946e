"""The RS-485 drivers against simulated devices on real pseudo-terminals (devices/serial/sim.py): the window
LED, the call keypad and the satisfaction keypad, devices sharing a bus, and a suite every serial driver
passes (availability, reconnect, malformed input).

Nothing sleeps: every test waits for the event it needs, bounded by ``WAIT``. The timing is ``FAST``
so that a silent device is noticed in a fraction of a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devices.contracts import Key, KeyReply, RatingReply, WindowScreen
from devices.serial import keypad_codec as kc
from devices.serial import keypad_frames as kf
from devices.serial import led_codec as lc
from devices.serial.bus import AddressInUse, BusConflict, SerialBuses
from devices.serial.call_keypad import HANDLER_FAILED, CallKeypadDriver
from devices.serial.device import SerialDevice
from devices.serial.led import LedDisplay
from devices.serial.link import PortOffline, SerialLink
from devices.serial.rating_keypad import RatingKeypadDriver
from devices.serial.sim import SimBus, VirtualCallKeypad, VirtualLed, VirtualRatingKeypad
from devices.serial.timing import SerialTiming
from devices.serial.watch import wait_until
from hallctl.config_devices import CallKeypad, RatingKeypad, WindowDisplay

# Fast enough that a dead device is found within ~0.4 s. The ack timeout still leaves a wide margin
# over a pty round trip (~0.15 ms) for a loaded CI machine.
FAST = SerialTiming(
    ack_timeout=0.15,
    attempts=2,
    poll_interval=0.05,
    reopen_min=0.02,
    reopen_max=0.2,
    stable_after=1.0,
    frame_gap=0.1,
    repeat_window=10.0,
    write_timeout=1.0,
)
WAIT = 5.0  # how long any awaited event may take before the test fails; they take milliseconds

ANSWER = KeyReply(ok=True, number="A012", waiting=5, message="")
TAKEN = RatingReply(accepted=True, reason="")
CALLING = WindowScreen(window=3, mode="calling", number="A012", text="A012 请到3号窗口")
NEXT = WindowScreen(window=3, mode="calling", number="A013", text="A013 请到3号窗口")


@pytest.fixture(autouse=True)
async def no_task_outlives_its_test() -> AsyncIterator[None]:
    yield
    current = asyncio.current_task()
    leaked = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    assert not leaked, f"tasks left running: {leaked}"


class Keys:
    """A ``KeyHandler`` that records its calls and answers ``reply``."""

    def __init__(self, reply: KeyReply = ANSWER) -> None:
        self.reply = reply
        self.calls: list[tuple[int, Key, int | None]] = []
        self.fail = False

    async def __call__(self, window: int, key: Key, target: int | None) -> KeyReply:
        self.calls.append((window, key, target))
        if self.fail:
            raise RuntimeError("the store is gone")
        return self.reply


class Ratings:
    """A ``RatingHandler`` that records its calls and answers ``reply``."""

    def __init__(self, reply: RatingReply = TAKEN) -> None:
        self.reply = reply
        self.calls: list[tuple[str, int, int]] = []

    async def __call__(self, device_id: str, window: int, level: int) -> RatingReply:
        self.calls.append((device_id, window, level))
        return self.reply


async def online(driver: SerialDevice[Any], value: bool = True) -> None:
    async with asyncio.timeout(WAIT):
        await driver.wait_online(value)


# -- a window LED at address 3 of its own bus, and its driver


@pytest.fixture
async def led_cable(tmp_path: Path) -> AsyncIterator[SimBus[lc.LedFrame]]:
    async with SimBus.led(tmp_path / "ttyLED") as cable:
        yield cable


@pytest.fixture
def virtual_led(led_cable: SimBus[lc.LedFrame]) -> VirtualLed:
    return VirtualLed(led_cable, address=3)


@pytest.fixture
async def led(led_cable: SimBus[lc.LedFrame], virtual_led: VirtualLed) -> AsyncIterator[LedDisplay]:
    """The driver of window 3's LED, which answers."""
    config = WindowDisplay(id="led-3", window=3, port=str(led_cable.path), address=3)
    async with LedDisplay(config, timing=FAST) as driver:
        await online(driver)
        yield driver


async def test_the_led_shows_the_screens_text(led: LedDisplay, virtual_led: VirtualLed) -> None:
    assert await led.show(CALLING)
    assert virtual_led.text == "A012 请到3号窗口"
    assert "A012 请到3号窗口" in virtual_led.render()
    assert led.failures == 0


async def test_an_empty_screen_clears_the_led(led: LedDisplay, virtual_led: VirtualLed) -> None:
    await led.show(CALLING)
    assert await led.show(WindowScreen(window=3, mode="idle", number=None, text=""))
    assert virtual_led.history == ["A012 请到3号窗口", ""]


async def test_a_silent_led_is_counted_offline_and_gets_the_last_screen_when_back(
    led: LedDisplay, virtual_led: VirtualLed
) -> None:
    virtual_led.responding = False
    assert not await led.show(CALLING)
    assert (led.online, led.failures) == (False, 1)
    assert "no answer" in led.last_error
    # Known silent: the next screen is kept without holding the bus for another timeout.
    assert not await led.show(NEXT)
    assert led.failures == 2

    virtual_led.responding = True
    async with asyncio.timeout(WAIT):
        await virtual_led.wait_for_text(NEXT.text)
    assert led.online
    assert virtual_led.history == [NEXT.text]  # the screen it missed in between is not replayed


async def test_the_led_shows_its_last_screen_again_after_its_port_comes_back(
    led: LedDisplay, led_cable: SimBus[lc.LedFrame], virtual_led: VirtualLed
) -> None:
    await led.show(CALLING)
    led_cable.unplug()
    virtual_led.text = ""  # the power went with the cable
    await online(led, False)
    led_cable.plug()
    async with asyncio.timeout(WAIT):
        await virtual_led.wait_for_text(CALLING.text)
    assert led.link.opens == 2


async def test_an_led_fault_is_reported_not_retried(led: LedDisplay, virtual_led: VirtualLed) -> None:
    virtual_led.status = lc.Status.FAULT
    assert not await led.show(CALLING)
    assert (led.online, led.faults) == (True, 1)
    assert "FAULT" in led.last_error


async def test_a_screen_of_another_window_is_refused(led: LedDisplay) -> None:
    with pytest.raises(ValueError, match="window 3"):
        await led.show(WindowScreen(window=4, mode="idle", number=None, text="欢迎光临"))


# -- a call keypad at address 3 of its own bus, bound to window 3, and its driver


@pytest.fixture
async def keypad_cable(tmp_path: Path) -> AsyncIterator[SimBus[kf.KeypadFrame]]:
    async with SimBus.keypad(tmp_path / "ttyKEYS") as cable:
        yield cable


@pytest.fixture
def virtual_keypad(keypad_cable: SimBus[kf.KeypadFrame]) -> VirtualCallKeypad:
    return VirtualCallKeypad(keypad_cable, address=3)


@pytest.fixture
def keys() -> Keys:
    return Keys()


@pytest.fixture
async def keypad(
    keypad_cable: SimBus[kf.KeypadFrame], virtual_keypad: VirtualCallKeypad, keys: Keys
) -> AsyncIterator[CallKeypadDriver]:
    """The driver of window 3's call keypad, which answers polls."""
    config = CallKeypad(id="keypad-3", window=3, port=str(keypad_cable.path), address=3)
    async with CallKeypadDriver(config, keys, timing=FAST) as driver:
        await online(driver)
        yield driver


async def test_a_key_reaches_the_handler_and_the_reply_reaches_the_keypad(
    keypad: CallKeypadDriver, virtual_keypad: VirtualCallKeypad, keys: Keys
) -> None:
    async with asyncio.timeout(WAIT):
        reply = await virtual_keypad.wait_reply(virtual_keypad.press("call"))
        assert keys.calls == [(3, "call", None)]
        assert (reply.ok, reply.number, reply.waiting) == (True, "A012", 5)
        assert (virtual_keypad.number, virtual_keypad.waiting) == ("A012", 5)
        assert "A012" in virtual_keypad.render()

        await virtual_keypad.wait_reply(virtual_keypad.press("transfer", 12))
        assert keys.calls[-1] == (3, "transfer", 12)
    assert keypad.presses == 2


async def test_a_repeated_press_is_answered_again_but_run_once(
    keypad: CallKeypadDriver, virtual_keypad: VirtualCallKeypad, keys: Keys
) -> None:
    async with asyncio.timeout(WAIT):
        seq = virtual_keypad.press("call")
        first = await virtual_keypad.wait_reply(seq)
        virtual_keypad.repeat()  # the keypad missed the reply and sends the same frame again
        again = await virtual_keypad.wait_reply(seq, count=2)
        assert again == first
        assert keys.calls == [(3, "call", None)]
        assert (keypad.presses, keypad.repeats) == (1, 1)

        await virtual_keypad.wait_reply(virtual_keypad.press("call"))  # a new press: a new seq
    assert keys.calls == [(3, "call", None), (3, "call", None)]


async def test_garbage_bad_frames_and_strangers_are_counted_and_ignored(
    keypad: CallKeypadDriver,
    keypad_cable: SimBus[kf.KeypadFrame],
    virtual_keypad: VirtualCallKeypad,
    keys: Keys,
) -> None:
    corrupted = bytearray(kc.encode(kf.KeyFrame(3, 50, "call")))
    corrupted[-2] ^= 0xFF  # the sum
    keypad_cable.write_raw(b"\x00\x13noise")
    keypad_cable.write_raw(bytes(corrupted))
    keypad_cable.write_raw(kc.encode(kf.KeyFrame(9, 51, "call")))  # a keypad nobody configured
    keypad_cable.write_raw(kc.encode(kf.RatingFrame(3, 52, 5)))  # at its address, but not a key
    keypad_cable.write_raw(bytes.fromhex("68 30 30 68"))  # a stray header, "54 bytes follow"

    async with asyncio.timeout(WAIT):
        await virtual_keypad.wait_reply(virtual_keypad.press("recall"))
    assert keys.calls == [(3, "recall", None)]
    stats = keypad.bus_stats
    assert stats.garbage_bytes >= len(b"\x00\x13noise")
    assert stats.rejected.get("checksum", 0) >= 1
    assert stats.unrouted == 1
    assert keypad.unexpected == 1
    assert keypad.online


async def test_a_keypad_that_only_speaks_when_polled(
    keypad_cable: SimBus[kf.KeypadFrame], keys: Keys
) -> None:
    quiet = VirtualCallKeypad(keypad_cable, address=4, speaks_first=False)
    config = CallKeypad(id="keypad-4", window=4, port=str(keypad_cable.path), address=4)
    async with CallKeypadDriver(config, keys, timing=FAST):
        async with asyncio.timeout(WAIT):
            await quiet.wait_reply(quiet.press("no_show"))
    assert keys.calls == [(4, "no_show", None)]


async def test_a_failing_handler_still_answers_the_keypad(
    keypad: CallKeypadDriver, virtual_keypad: VirtualCallKeypad, keys: Keys
) -> None:
    keys.fail = True
    async with asyncio.timeout(WAIT):
        reply = await virtual_keypad.wait_reply(virtual_keypad.press("call"))
    assert (reply.ok, reply.message) == (False, HANDLER_FAILED)
    assert keypad.handler_errors == 1


# -- a satisfaction keypad at address 7 of its own bus, bound to window 3, and its driver


@pytest.fixture
def virtual_rating_keypad(keypad_cable: SimBus[kf.KeypadFrame]) -> VirtualRatingKeypad:
    return VirtualRatingKeypad(keypad_cable, address=7)


@pytest.fixture
def ratings() -> Ratings:
    return Ratings()


@pytest.fixture
async def rating_keypad(
    keypad_cable: SimBus[kf.KeypadFrame], virtual_rating_keypad: VirtualRatingKeypad, ratings: Ratings
) -> AsyncIterator[RatingKeypadDriver]:
    """The driver of window 3's satisfaction keypad, which answers polls."""
    config = RatingKeypad(id="rating-3", window=3, port=str(keypad_cable.path), address=7)
    async with RatingKeypadDriver(config, ratings, timing=FAST) as driver:
        await online(driver)
        yield driver


async def test_an_armed_keypad_passes_the_rating_to_the_handler(
    rating_keypad: RatingKeypadDriver, virtual_rating_keypad: VirtualRatingKeypad, ratings: Ratings
) -> None:
    assert await rating_keypad.arm("A012", 30)
    assert virtual_rating_keypad.armed is not None
    assert virtual_rating_keypad.armed.number == "A012"
    assert 29 <= virtual_rating_keypad.armed.seconds <= 30
    assert rating_keypad.armed == "A012"

    async with asyncio.timeout(WAIT):
        result = await virtual_rating_keypad.wait_result(virtual_rating_keypad.press(5))
    assert ratings.calls == [("rating-3", 3, 5)]
    assert (result.accepted, result.reason) == (True, "")
    assert virtual_rating_keypad.armed is None
    assert rating_keypad.armed is None


async def test_a_refused_rating_is_told_to_the_keypad(
    rating_keypad: RatingKeypadDriver, virtual_rating_keypad: VirtualRatingKeypad, ratings: Ratings
) -> None:
    ratings.reply = RatingReply(accepted=False, reason="nothing_armed")
    async with asyncio.timeout(WAIT):
        seq = virtual_rating_keypad.press(1)
        result = await virtual_rating_keypad.wait_result(seq)
        virtual_rating_keypad.repeat()
        await wait_until(lambda: len(virtual_rating_keypad.results) == 2, virtual_rating_keypad.bus.watch)
    assert (result.accepted, result.reason) == (False, "nothing_armed")
    assert ratings.calls == [("rating-3", 3, 1)]  # the repeat was answered, not run


async def test_an_arming_missed_while_away_is_sent_when_the_keypad_is_back(
    rating_keypad: RatingKeypadDriver, virtual_rating_keypad: VirtualRatingKeypad
) -> None:
    virtual_rating_keypad.responding = False
    assert not await rating_keypad.arm("A013", 60)
    assert not rating_keypad.online
    virtual_rating_keypad.responding = True
    async with asyncio.timeout(WAIT):
        armed = await virtual_rating_keypad.wait_armed("A013")
    assert 1 <= armed.seconds <= 60


# -- devices sharing a bus


async def test_leds_on_one_bus_each_show_their_own_screen(tmp_path: Path) -> None:
    async with SimBus.led(tmp_path / "ttyLEDS") as cable, SerialBuses(timing=FAST) as buses:
        three, four = VirtualLed(cable, 3), VirtualLed(cable, 4)
        configs = [WindowDisplay(id=f"led-{n}", window=n, port=str(cable.path), address=n) for n in (3, 4)]
        async with LedDisplay(configs[0], buses=buses) as led3, LedDisplay(configs[1], buses=buses) as led4:
            await online(led3)
            await online(led4)
            shown = await asyncio.gather(
                led3.show(CALLING), led4.show(WindowScreen(4, "paused", None, "暂停服务"))
            )
            assert all(shown)
        assert (three.text, four.text) == ("A012 请到3号窗口", "暂停服务")
        assert len(buses.all()) == 1


async def test_call_and_rating_keypads_share_one_bus(tmp_path: Path) -> None:
    keys, ratings = Keys(), Ratings()
    async with SimBus.keypad(tmp_path / "ttyKEYS") as cable, SerialBuses(timing=FAST) as buses:
        clerk, citizen = VirtualCallKeypad(cable, 1), VirtualRatingKeypad(cable, 2)
        port = str(cable.path)
        async with (
            CallKeypadDriver(
                CallKeypad(id="keys-3", window=3, port=port, address=1), keys, buses=buses
            ) as call,
            RatingKeypadDriver(
                RatingKeypad(id="rating-3", window=3, port=port, address=2), ratings, buses=buses
            ) as rating,
            asyncio.timeout(WAIT),
        ):
            await call.wait_online()
            await rating.wait_online()
            await clerk.wait_reply(clerk.press("pause"))
            assert await rating.arm("A012", 60)
            await citizen.wait_result(citizen.press(4))
    assert keys.calls == [(3, "pause", None)]
    assert ratings.calls == [("rating-3", 3, 4)]


async def test_a_port_carries_one_protocol_and_an_address_one_device(tmp_path: Path) -> None:
    async with SimBus.keypad(tmp_path / "ttyKEYS") as cable, SerialBuses(timing=FAST) as buses:
        port = str(cable.path)
        await buses.keypad_bus(port, 9600)
        with pytest.raises(BusConflict, match="led"):
            await buses.led_bus(port, 9600)
        with pytest.raises(BusConflict, match="baud"):
            await buses.keypad_bus(port, 19200)
        async with CallKeypadDriver(CallKeypad(id="a", window=1, port=port, address=1), Keys(), buses=buses):
            with pytest.raises(AddressInUse):
                async with CallKeypadDriver(
                    CallKeypad(id="b", window=2, port=port, address=1), Keys(), buses=buses
                ):
                    pass


# -- the port


async def test_a_missing_port_is_retried_until_it_appears(tmp_path: Path) -> None:
    path = tmp_path / "ttyLATER"
    async with SerialLink(str(path), timing=FAST) as link:
        async with asyncio.timeout(WAIT):
            await wait_until(lambda: link.failures >= 2, link.watch)
        assert not link.online
        assert "cannot open" in link.last_error
        with pytest.raises(PortOffline):
            await link.send(b"x")

        async with SimBus.led(path) as cable, asyncio.timeout(WAIT):
            await link.wait_online()
            chunks = link.received()
            cable.write_raw(b"hello")
            assert await anext(chunks) == b"hello"
            await chunks.aclose()
        assert link.last_seen is not None


async def test_a_port_is_opened_by_one_link_only(tmp_path: Path) -> None:
    """Two drivers that each open the same port (instead of sharing ``SerialBuses``) would split the
    bytes between them; the second link is refused instead, and keeps trying."""
    async with SimBus.led(tmp_path / "ttyLED") as cable, SerialLink(str(cable.path), timing=FAST) as first:
        async with asyncio.timeout(WAIT):
            await first.wait_online()
            async with SerialLink(str(cable.path), timing=FAST) as second:
                await wait_until(lambda: second.failures >= 1, second.watch)
                assert not second.online
                assert "lock" in second.last_error


# -- what every serial driver does: the shared suite


@dataclass
class Rig:
    """A driver, the virtual device it drives, and the cable between them."""

    cable: SimBus[Any]
    device: VirtualLed | VirtualCallKeypad | VirtualRatingKeypad
    driver: SerialDevice[Any]
    exercise: Callable[[], Awaitable[None]]  # one full exchange, asserting that it worked
    stranger: bytes  # a good frame of the bus's protocol from an address nobody is configured at


@asynccontextmanager
async def led_rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with SimBus.led(tmp_path / "ttyLED") as cable:
        device = VirtualLed(cable, 3)
        config = WindowDisplay(id="led-3", window=3, port=str(cable.path), address=3)
        async with LedDisplay(config, timing=FAST) as driver:
            calls = iter(range(1, 1000))

            async def exercise() -> None:
                text = f"A{next(calls):03d} 请到3号窗口"
                assert await driver.show(WindowScreen(3, "calling", None, text))
                assert device.text == text

            yield Rig(cable, device, driver, exercise, lc.encode(lc.Ack(200, lc.Command.STATUS_QUERY)))


@asynccontextmanager
async def call_keypad_rig(tmp_path: Path) -> AsyncIterator[Rig]:
    keys = Keys()
    async with SimBus.keypad(tmp_path / "ttyKEYS") as cable:
        device = VirtualCallKeypad(cable, 3)
        config = CallKeypad(id="keypad-3", window=3, port=str(cable.path), address=3)
        async with CallKeypadDriver(config, keys, timing=FAST) as driver:

            async def exercise() -> None:
                before = len(keys.calls)
                async with asyncio.timeout(WAIT):
                    reply = await device.wait_reply(device.press("call"))
                assert reply.ok and keys.calls[before:] == [(3, "call", None)]

            yield Rig(cable, device, driver, exercise, kc.encode(kf.AckFrame(200, kf.Function.POLL)))


@asynccontextmanager
async def rating_keypad_rig(tmp_path: Path) -> AsyncIterator[Rig]:
    ratings = Ratings()
    async with SimBus.keypad(tmp_path / "ttyRATE") as cable:
        device = VirtualRatingKeypad(cable, 7)
        config = RatingKeypad(id="rating-3", window=3, port=str(cable.path), address=7)
        async with RatingKeypadDriver(config, ratings, timing=FAST) as driver:

            async def exercise() -> None:
                assert await driver.arm("A012", 30)
                async with asyncio.timeout(WAIT):
                    result = await device.wait_result(device.press(4))
                assert result.accepted and ratings.calls[-1] == ("rating-3", 3, 4)

            yield Rig(cable, device, driver, exercise, kc.encode(kf.AckFrame(200, kf.Function.POLL)))


RIGS: dict[str, Callable[[Path], AbstractAsyncContextManager[Rig]]] = {
    "window_display": led_rig,
    "call_keypad": call_keypad_rig,
    "rating_keypad": rating_keypad_rig,
}


@pytest.fixture(params=sorted(RIGS))
async def rig(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    """Each kind of serial driver, online, with its virtual device answering."""
    async with RIGS[request.param](tmp_path) as rig:
        await online(rig.driver)
        await rig.exercise()
        yield rig


async def test_every_serial_driver_tells_when_its_device_goes_and_comes_back(rig: Rig) -> None:
    rig.device.responding = False
    await online(rig.driver, False)
    assert rig.driver.failures >= 1
    assert rig.driver.last_error

    rig.device.responding = True
    await online(rig.driver)
    await rig.exercise()


async def test_every_serial_driver_reopens_its_port_after_an_unplug(rig: Rig) -> None:
    rig.cable.unplug()
    await online(rig.driver, False)
    link = rig.driver.link
    async with asyncio.timeout(WAIT):
        await wait_until(lambda: link.failures >= 1, link.watch)

    rig.cable.plug()
    await online(rig.driver)
    assert link.opens == 2
    await rig.exercise()


async def test_every_serial_driver_ignores_malformed_input(rig: Rig) -> None:
    corrupted = bytearray(rig.stranger)
    corrupted[len(corrupted) // 2] ^= 0x01
    rig.cable.write_raw(b"\x00\x68\x02 line noise \xff\xfe")
    rig.cable.write_raw(bytes(corrupted))
    rig.cable.write_raw(rig.stranger)

    await rig.exercise()  # its frames come after the bad ones, so those have been read by now
    stats = rig.driver.bus_stats
    assert stats.malformed >= 1
    assert stats.garbage_bytes >= 1
    assert stats.unrouted == 1
    assert rig.driver.online
