"""What devices send the daemon over a real Mosquitto: satisfaction-keypad presses (keypad/{n}/rating),
call-keypad keys (terminal/{n}/key) and device availability (device/{id}/status). A valid message does
exactly one thing; anything else is refused, counted by reason in /metrics, and changes nothing."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from .halltest import FakeClock
from .mosquitto import (
    DEVICES,
    MOSQUITTO,
    Broker,
    Listener,
    MqttHall,
    broker_fixture,  # noqa: F401  (the ``broker`` fixture)
    eventually,
    hall_config,
    hall_on_broker,
    unique_hall_id,
)

#: Windows with a clerk in this module's hall; window 4 has none.
STAFFED = (1, 2, 3, 5)


@pytest.fixture
async def hall(broker: Broker, tmp_path: Path, clock: FakeClock) -> AsyncIterator[MqttHall]:
    """The example hall with MQTT keypads kp-N and term-N at windows 1-5, clerks at 1, 2, 3 and 5, and
    six people waiting (A0001 … A0006)."""
    config = hall_config(unique_hall_id(), DEVICES)
    async with hall_on_broker(config, tmp_path / "hall.db", clock, broker) as hall:
        for n in STAFFED:
            await hall.api("POST", f"/api/v1/windows/{n}/login", hall.tokens[f"c{n}"])
        for _ in range(6):
            await hall.api("POST", "/api/v1/tickets", hall.tokens["kiosk"], {"matter": "CBDJ"}, status=201)
        yield hall


@pytest.fixture
async def device(hall: MqttHall, broker: Broker) -> AsyncIterator[Listener]:
    """A client that publishes as the hall's devices do (anonymous broker) and hears their replies."""
    async with Listener(broker, hall.root, "terminal/+/reply") as client:
        yield client


async def act(hall: MqttHall, window: int, action: str) -> Any:
    return await hall.api("POST", f"/api/v1/windows/{window}/{action}", hall.tokens[f"c{window}"], {})


async def serve_one(hall: MqttHall, window: int) -> str:
    """Call, start and finish a ticket at the window (which arms its satisfaction keypad); its number."""
    called = await act(hall, window, "call-next")
    await act(hall, window, "start")
    await act(hall, window, "finish")
    number: str = called["ticket"]["number"]
    return number


def press(device: str, level: int) -> bytes:
    return json.dumps({"v": 1, "device": device, "level": level}).encode()


def key(device: str, name: str, **extra: Any) -> bytes:
    return json.dumps({"v": 1, "device": device, "key": name, **extra}).encode()


async def rejected(hall: MqttHall, total: int) -> Counter[str]:
    """The hub's refusals once ``total`` messages have been refused (the broker keeps one sender's order)."""
    await eventually(lambda: sum(hall.devices.rejected.values()) >= total, what=f"{total} refusals")
    return hall.devices.rejected


async def metrics(hall: MqttHall) -> str:
    text: str = await hall.api("GET", "/metrics", None)
    return text


# -- ratings ----------------------------------------------------------------------------------------


async def test_a_press_after_a_finish_is_stored_once_and_every_other_press_is_refused(
    hall: MqttHall, device: Listener
) -> None:
    served = await serve_one(hall, 3)
    await device.publish("keypad/3/rating", press("kp-3", 5))
    await eventually(lambda: hall.rows("ratings") == 1, what="the rating in the file")

    await device.publish("keypad/3/rating", press("kp-3", 1))  # a second press
    await device.publish("keypad/4/rating", press("kp-4", 1))  # nothing armed at window 4
    await serve_one(hall, 5)
    hall.clock.advance(hall.service.config.devices.ratings.arm_seconds + 1)
    await device.publish("keypad/5/rating", press("kp-5", 1))  # too late
    refused = await rejected(hall, 3)

    assert refused == Counter(rating_already_rated=1, rating_nothing_armed=1, rating_expired=1)
    rows = hall.service.read(
        "select t.number, r.window, r.clerk, r.level, r.level_name, r.device"
        " from ratings r join tickets t on t.id = r.ticket"
    )
    assert [tuple(r) for r in rows] == [(served, 3, "c3", 5, "非常满意", "kp-3")]
    text = await metrics(hall)
    for reason in ("rating_already_rated", "rating_nothing_armed", "rating_expired"):
        assert f'hallctl_inbound_rejected_total{{reason="{reason}"}} 1' in text, text


# -- refused messages -------------------------------------------------------------------------------

OK_PRESS = {"v": 1, "device": "kp-3", "level": 5}

#: (topic, payload, the reason it is refused with)
MALFORMED: list[tuple[str, bytes, str]] = [
    ("keypad/3/rating", b"", "bad_json"),
    ("keypad/3/rating", b"{not json", "bad_json"),
    ("keypad/3/rating", b"[1, 2]", "bad_json"),
    ("keypad/3/rating", b"\xff\xfe\x00", "bad_json"),
    ("keypad/3/rating", json.dumps({**OK_PRESS, "v": 2}).encode(), "bad_version"),
    ("keypad/3/rating", json.dumps({**OK_PRESS, "v": "1"}).encode(), "bad_version"),
    ("keypad/3/rating", json.dumps({**OK_PRESS, "v": True}).encode(), "bad_version"),
    ("keypad/3/rating", json.dumps({**OK_PRESS, "v": 1.0}).encode(), "bad_version"),
    ("keypad/3/rating", json.dumps({"device": "kp-3", "level": 5}).encode(), "bad_version"),
    ("keypad/3/rating", json.dumps({**OK_PRESS, "colour": "red"}).encode(), "unknown_field"),
    ("keypad/3/rating", json.dumps({**OK_PRESS, "pad": "x" * 100_000}).encode(), "too_large"),
    ("keypad/3/rating", json.dumps({**OK_PRESS, "level": "5"}).encode(), "bad_level"),
    ("keypad/3/rating", json.dumps({**OK_PRESS, "level": True}).encode(), "bad_level"),
    ("keypad/3/rating", json.dumps({**OK_PRESS, "level": 6}).encode(), "bad_level"),
    ("keypad/3/rating", json.dumps({**OK_PRESS, "level": None}).encode(), "bad_level"),
    ("keypad/3/rating", json.dumps({**OK_PRESS, "device": 3}).encode(), "bad_device"),
    ("keypad/3/rating", json.dumps({**OK_PRESS, "device": "KP 3"}).encode(), "bad_device"),
    ("keypad/3/rating", json.dumps({"v": 1, "level": 5}).encode(), "bad_device"),
    ("keypad/99/rating", json.dumps(OK_PRESS).encode(), "unknown_window"),
    ("keypad/4/rating", json.dumps(OK_PRESS).encode(), "not_bound"),
    ("keypad/x/rating", json.dumps(OK_PRESS).encode(), "bad_topic"),
    ("keypad/03/rating", json.dumps(OK_PRESS).encode(), "bad_topic"),
    ("keypad/３/rating", json.dumps(OK_PRESS).encode(), "bad_topic"),  # a full-width digit
    ("terminal/3/key", key("term-3", "explode"), "bad_key"),
    ("terminal/3/key", key("term-3", "transfer", arg="2"), "bad_arg"),
    ("terminal/3/key", key("term-3", "transfer", arg=0), "bad_arg"),
    ("terminal/3/key", key("term-3", "call", seq=-1), "bad_seq"),
    ("terminal/3/key", key("term-3", "call", seq=1.5), "bad_seq"),
    ("terminal/3/key", key("term-3", "call", window=2), "unknown_field"),
    ("terminal/3/key", b"call", "bad_json"),
    ("terminal/42/key", key("term-3", "call"), "unknown_window"),
    ("terminal/4/key", key("term-3", "call"), "not_bound"),
    ("terminal/3/key", key("term-2", "call"), "not_bound"),
    ("device/kp-3/status", b"maybe", "bad_status"),
    ("device/nobody/status", b"online", "unknown_device"),
]


async def test_malformed_messages_are_counted_by_reason_and_change_nothing(
    hall: MqttHall, device: Listener
) -> None:
    await serve_one(hall, 3)  # window 3's keypad is armed: a press that got through would be stored
    before = {t: hall.rows(t) for t in ("tickets", "journal", "ratings")}
    at_window_3 = hall.service.state.windows[3].current
    mark = device.mark()

    for topic, payload, _ in MALFORMED:
        await device.publish(topic, payload)
    refused = await rejected(hall, len(MALFORMED))

    assert refused == Counter(reason for _, _, reason in MALFORMED)
    assert {t: hall.rows(t) for t in before} == before
    assert hall.service.state.windows[3].current == at_window_3
    assert not hall.service.state.armed[3].rated
    assert device.on("terminal/3/reply", since=mark) == [], "a refused key was answered"
    text = await metrics(hall)
    for reason, n in refused.items():
        assert f'hallctl_inbound_rejected_total{{reason="{reason}"}} {n}' in text
    # ... and the daemon carries on: the next good press is stored, the next good key is done.
    await device.publish("keypad/3/rating", press("kp-3", 4))
    await eventually(lambda: hall.rows("ratings") == 1, what="the good rating")
    await device.publish("terminal/3/key", key("term-3", "call", seq=7))
    reply = await device.wait_for("terminal/3/reply", since=mark)
    assert reply.json()["ok"] is True and reply.json()["number"] is not None


async def test_devices_bound_to_another_window_are_refused(hall: MqttHall, device: Listener) -> None:
    await serve_one(hall, 3)
    current_at_3 = hall.service.state.windows[3].current
    await device.publish("keypad/3/rating", press("kp-2", 1))  # window 2's keypad on window 3's topic
    await device.publish("terminal/3/key", key("term-2", "call", seq=1))
    refused = await rejected(hall, 2)

    assert refused == Counter(not_bound=2)
    assert hall.rows("ratings") == 0 and not hall.service.state.armed[3].rated
    assert hall.service.state.windows[3].current == current_at_3


# -- call keypads -----------------------------------------------------------------------------------


async def test_the_call_key_calls_the_next_ticket_and_the_reply_says_which(
    hall: MqttHall, device: Listener
) -> None:
    await device.publish("terminal/3/key", key("term-3", "call", seq=1))
    first = await device.wait_for("terminal/3/reply")
    assert first.json() == {"v": 1, "ok": True, "number": "A0001", "waiting": 5, "message": "", "seq": 1}
    assert hall.service.state.windows[3].clerk == "c3"

    # The keypad did not hear the reply and sends the same press again: answered again, done once.
    mark = device.mark()
    await device.publish("terminal/3/key", key("term-3", "call", seq=1))
    again = await device.wait_for("terminal/3/reply", since=mark)
    assert again.json() == first.json()
    # The next press (its own seq) finishes A0001 and calls A0002: had the repeat run, this would be A0003.
    await device.publish("terminal/3/key", key("term-3", "call", seq=2))
    second = await device.wait_for("terminal/3/reply", lambda m: m.json()["seq"] == 2)
    assert second.json()["number"] == "A0002" and second.json()["waiting"] == 4
    tickets = {t.number: t.state.value for t in hall.service.state.tickets.values()}
    assert tickets["A0001"] == "done" and tickets["A0002"] == "called" and tickets["A0003"] == "waiting"


async def test_a_key_at_a_window_nobody_is_logged_in_to_is_answered_with_a_refusal(
    hall: MqttHall, device: Listener
) -> None:
    await device.publish("terminal/4/key", key("term-4", "call", seq=1))
    reply = await device.wait_for("terminal/4/reply")
    assert reply.json()["ok"] is False and reply.json()["message"] == "请先登录窗口"
    assert reply.json()["number"] is None
    assert all(t.state.value == "waiting" for t in hall.service.state.tickets.values())


# -- availability -----------------------------------------------------------------------------------


def listed(answer: dict[str, Any], device_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(d for d in answer["devices"] if d["id"] == device_id)
    return found


async def test_device_status_online_and_offline_show_in_the_devices_api(
    hall: MqttHall, device: Listener
) -> None:
    manager = hall.tokens["manager"]
    answer = await hall.api("GET", "/api/v1/devices", manager)
    assert listed(answer, "kp-3")["online"] is False
    assert answer["broker"]["connected"] is True and answer["broker"]["connects"] == 1

    await device.publish("device/kp-3/status", b"online", retain=True)
    health = hall.devices.health.get("kp-3")
    assert health is not None
    await eventually(lambda: health.online, what="kp-3 online")
    shown = listed(await hall.api("GET", "/api/v1/devices", manager), "kp-3")
    assert shown["online"] is True and shown["last_seen_iso"] and shown["transport"] == "mqtt"

    await device.publish("device/kp-3/status", b"offline", retain=True)
    await eventually(lambda: not health.online, what="kp-3 offline")
    assert listed(await hall.api("GET", "/api/v1/devices", manager), "kp-3")["online"] is False
    assert 'hallctl_device_online{device="kp-3",kind="rating_keypad"} 0' in await metrics(hall)


@pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto is not installed")
async def test_a_device_that_loses_power_goes_offline_through_its_last_will(
    hall: MqttHall, broker: Broker, device: Listener
) -> None:
    """A real client with a last will (mosquitto_sub) killed with SIGKILL: the broker says it for it."""
    status = f"{hall.root}/device/term-3/status"
    await device.publish("device/term-3/status", b"online", retain=True)
    health = hall.devices.health.get("term-3")
    assert health is not None
    await eventually(lambda: health.online, what="term-3 online")
    keypad = await asyncio.create_subprocess_exec(
        "mosquitto_sub",
        *("-h", broker.host, "-p", str(broker.port), "-i", "term-3"),
        *("--will-topic", status, "--will-payload", "offline", "--will-qos", "1", "--will-retain"),
        *("-t", status),  # it hears its own retained "online": it is connected, its will registered
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert keypad.stdout is not None
        assert await asyncio.wait_for(keypad.stdout.readline(), 5) == b"online\n"
        keypad.kill()
        await eventually(lambda: not health.online, what="term-3 offline by its last will")
    finally:
        if keypad.returncode is None:
            keypad.kill()
        await keypad.wait()
