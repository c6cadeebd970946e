"""The device hub with RS-485 devices on real pty pairs: a window LED shows the call, a clerk's call
keypad calls and finishes, and the window's satisfaction keypad is armed on finish and rates once."""

from __future__ import annotations

import asyncio
import sqlite3
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devices.serial.sim import SimBus, VirtualCallKeypad, VirtualLed, VirtualRatingKeypad
from hallctl.config import parse_config
from hallctl.core import counter, issuing
from hallctl.core.model import Actor, Role
from hallctl.hub.hub import DeviceHub
from hallctl.service import HallService

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "hall.example.toml"
KIOSK = Actor(Role.KIOSK, "kiosk")
CLERK = Actor(Role.CLERK, "张三", "c1")
WAIT = 10.0


@dataclass
class SerialHall:
    service: HallService
    hub: DeviceHub
    led: VirtualLed
    keypad: VirtualCallKeypad
    rater: VirtualRatingKeypad
    db: Path


@pytest.fixture
async def serial_hall(tmp_path: Path) -> AsyncIterator[SerialHall]:
    """The example hall with window 1's LED on one RS-485 cable and its two keypads on another; clerk c1
    logged in at window 1 and two people waiting."""
    async with SimBus.led(tmp_path / "ttyLED") as led_cable, SimBus.keypad(tmp_path / "ttyKEYS") as key_cable:
        data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
        data["devices"] = {
            "voice": {"outputs": ["wav"]},
            "displays": [{"id": "led-1", "window": 1, "port": str(led_cable.path), "address": 1}],
            "call_keypads": [{"id": "term-1", "window": 1, "port": str(key_cable.path), "address": 33}],
            "rating_keypads": [{"id": "rate-1", "window": 1, "port": str(key_cable.path), "address": 34}],
        }
        config = parse_config(data, "serial hall")
        led = VirtualLed(led_cable, address=1)
        keypad = VirtualCallKeypad(key_cable, address=33)
        rater = VirtualRatingKeypad(key_cable, address=34)
        db = tmp_path / "hall.db"
        async with HallService(config, db, always_open=True) as service, DeviceHub(service) as hub:
            for leds in hub.leds.values():
                for driver in leds:
                    async with asyncio.timeout(WAIT):
                        await driver.wait_online(True)
            await service.execute(lambda s, now: counter.login(s, now, CLERK, 1))
            for matter in ("CBDJ", "JFJS"):
                request = issuing.IssueRequest(matters=(matter,))
                await service.execute(lambda s, now, r=request: issuing.issue(s, now, KIOSK, r))
            yield SerialHall(service, hub, led, keypad, rater, db)


async def test_the_call_keypad_calls_and_the_led_shows_it(serial_hall: SerialHall) -> None:
    seq = serial_hall.keypad.press("call")
    async with asyncio.timeout(WAIT):
        reply = await serial_hall.keypad.wait_reply(seq)
        await serial_hall.led.wait_for_text("A0001 请到1号窗口")
    assert (reply.ok, reply.number, reply.waiting) == (True, "A0001", 1)
    window = serial_hall.service.state.windows[1]
    assert serial_hall.service.state.tickets[window.current or 0].number == "A0001"


async def test_the_next_call_finishes_the_last_and_arms_the_rating_keypad_once(
    serial_hall: SerialHall,
) -> None:
    keypad, rater = serial_hall.keypad, serial_hall.rater
    async with asyncio.timeout(WAIT):
        await keypad.wait_reply(keypad.press("call"))
        second = await keypad.wait_reply(keypad.press("call"))  # 呼叫 ends A0001 and calls A0002
        assert second.number == "A0002"
        await rater.wait_armed("A0001")
        first = await rater.wait_result(rater.press(5))
        again = await rater.wait_result(rater.press(1))
    assert first.accepted and not again.accepted
    with sqlite3.connect(serial_hall.db) as db:
        rows = db.execute("select ticket, window, clerk, level, level_name, device from ratings").fetchall()
    a0001 = next(t.id for t in serial_hall.service.state.tickets.values() if t.number == "A0001")
    assert rows == [(a0001, 1, "c1", 5, "非常满意", "rate-1")]


async def test_a_keypad_of_a_window_without_a_clerk_is_told_to_log_in(serial_hall: SerialHall) -> None:
    await serial_hall.service.execute(lambda s, now: counter.logout(s, now, CLERK, 1))
    async with asyncio.timeout(WAIT):
        reply = await serial_hall.keypad.wait_reply(serial_hall.keypad.press("call"))
    assert not reply.ok and reply.message == "请先登录窗口"
    assert serial_hall.service.state.windows[1].current is None
