"""The hall's broker as config/mosquitto/ describes it: no anonymous clients, a user per device, and an ACL
that lets each device publish only its own topics and read only what it needs. The broker runs from the
checked-in hall.conf and hall.acl (port, paths and hall id put in), with a password file made by
mosquitto_passwd in the test's tmp dir."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiomqtt
import pytest

from .halltest import FakeClock
from .mosquitto import (
    TIMEOUT,
    Broker,
    Listener,
    MqttHall,
    eventually,
    hall_config,
    hall_on_broker,
    passwd_file,
    retained,
    unique_hall_id,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "mosquitto"
EXAMPLE_HALL = "demo-district"  # the hall id the example ACL is written for
INBOUND = ("keypad", "terminal", "device")  # the first level of every topic devices publish on


class SecureBroker(Broker):
    """A broker from the example files, for the hall ``hall_id``; ``passwords`` has every ACL user's."""

    def __init__(self, workdir: Path, hall_id: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        acl_text = (EXAMPLES / "hall.acl").read_text(encoding="utf-8")
        users = re.findall(r"^user (\S+)$", acl_text, flags=re.MULTILINE)
        self.passwords = {user: secrets.token_urlsafe(12) for user in users}
        acl = workdir / "hall.acl"
        acl.write_text(acl_text.replace(EXAMPLE_HALL, hall_id), encoding="utf-8")
        passwords = passwd_file(workdir / "hall.passwd", self.passwords)
        (workdir / "persistence").mkdir(exist_ok=True)
        local = {
            "password_file": str(passwords),
            "acl_file": str(acl),
            "persistence_location": f"{workdir / 'persistence'}/",
        }
        settings = []
        for line in (EXAMPLES / "hall.conf").read_text(encoding="utf-8").splitlines():
            key = line.split(" ", 1)[0]
            if key == "listener":
                continue  # the test's own loopback port instead
            settings.append(f"{key} {local.pop(key)}" if key in local else line)
        assert not local, f"config/mosquitto/hall.conf no longer sets {sorted(local)}"
        super().__init__(workdir, settings="\n".join(settings))

    def login(self, user: str) -> dict[str, str]:
        return {"username": user, "password": self.passwords[user]}


def example_settings() -> dict[str, str]:
    lines = (EXAMPLES / "hall.conf").read_text(encoding="utf-8").splitlines()
    return dict(line.split(" ", 1) for line in lines if line and not line.startswith("#"))


def test_the_example_broker_config_has_what_a_hall_needs() -> None:
    settings = example_settings()
    assert settings["allow_anonymous"] == "false"
    assert settings["persistence"] == "true"  # retained displays survive a broker restart
    # Not the default 1000: beyond it Mosquitto drops QoS 1 messages after acknowledging them.
    assert int(settings["max_queued_messages"]) >= 2000
    assert "password_file" in settings and "acl_file" in settings


@pytest.fixture
def hall_id() -> str:
    return unique_hall_id()


@pytest.fixture
def secure_broker(tmp_path: Path, hall_id: str) -> Iterator[SecureBroker]:
    broker = SecureBroker(tmp_path / "mosquitto", hall_id)
    broker.start()
    yield broker
    broker.close()


@pytest.fixture
async def hall(
    secure_broker: SecureBroker, hall_id: str, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[MqttHall]:
    """The hall's daemon logged in as ``hallctl``; keypads kp-2, kp-3, term-2, term-3; clerks at windows 2
    and 3, each with a ticket it served (so both satisfaction keypads are armed) and four people waiting."""
    password = tmp_path / "daemon-mqtt-password"
    password.write_text(secure_broker.passwords["hallctl"] + "\n", encoding="utf-8")
    devices = {
        "mqtt": {"username": "hallctl", "password_file": str(password)},
        "rating_keypads": [{"id": "kp-2", "window": 2}, {"id": "kp-3", "window": 3}],
        "call_keypads": [{"id": "term-2", "window": 2}, {"id": "term-3", "window": 3}],
    }
    config = hall_config(hall_id, devices)
    async with hall_on_broker(config, tmp_path / "hall.db", clock, secure_broker) as hall:
        for _ in range(6):
            await hall.api("POST", "/api/v1/tickets", hall.tokens["kiosk"], {"matter": "CBDJ"}, status=201)
        for n in (2, 3):
            token = hall.tokens[f"c{n}"]
            await hall.api("POST", f"/api/v1/windows/{n}/login", token)
            for action in ("call-next", "start", "finish"):
                await hall.api("POST", f"/api/v1/windows/{n}/{action}", token, {})
        yield hall


def press(device: str, level: int) -> bytes:
    return json.dumps({"v": 1, "device": device, "level": level}).encode()


def call_key(device: str, seq: int) -> bytes:
    return json.dumps({"v": 1, "device": device, "key": "call", "seq": seq}).encode()


async def test_the_daemon_works_with_its_user_and_nobody_gets_in_without_one(
    hall: MqttHall, secure_broker: SecureBroker
) -> None:
    status = await retained(secure_broker, hall.root, "status", **secure_broker.login("hallctl"))
    assert status is not None and status.payload == b"online"
    await hall.api("POST", "/api/v1/windows/3/call-next", hall.tokens["c3"], {})
    async with Listener(secure_broker, hall.root, "window/3/display", **secure_broker.login("led-3")) as led:
        await led.wait_for("window/3/display", lambda m: m.json()["number"] == "A0003")

    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client(secure_broker.host, secure_broker.port, timeout=TIMEOUT):
            pass
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client(
            secure_broker.host, secure_broker.port, username="kp-3", password="wrong", timeout=TIMEOUT
        ):
            pass


async def test_a_keypad_cannot_publish_for_another_window(
    hall: MqttHall, secure_broker: SecureBroker
) -> None:
    async with (
        Listener(secure_broker, hall.root, "#", **secure_broker.login("hallctl")) as wiretap,
        Listener(secure_broker, hall.root, **secure_broker.login("kp-3")) as keypad_3,
    ):
        await wiretap.settle()
        mark = wiretap.mark()
        # Keypad 3 tries to rate window 2, once as itself and once claiming to be window 2's keypad (which
        # the daemon alone could not tell from the real one), and to press a call key.
        await keypad_3.publish("keypad/2/rating", press("kp-2", 1))
        await keypad_3.publish("keypad/2/rating", press("kp-3", 1))
        await keypad_3.publish("terminal/3/key", call_key("term-3", 1))
        await keypad_3.publish("device/kp-2/status", b"offline", retain=True)
        # Its own press goes through, and after the ones above: the broker keeps one sender's order.
        await keypad_3.publish("keypad/3/rating", press("kp-3", 4))
        await wiretap.wait_for("keypad/3/rating", since=mark)
        await eventually(lambda: hall.rows("ratings") == 1, what="keypad 3's own rating")

    sent_by_devices = [m.topic for m in wiretap.messages[mark:] if m.topic.split("/")[0] in INBOUND]
    assert sent_by_devices == ["keypad/3/rating"]
    rows = hall.service.read("select window, level, device from ratings")
    assert [tuple(r) for r in rows] == [(3, 4, "kp-3")]
    assert not hall.devices.rejected, "the daemon received something it should never have"
    assert not hall.service.state.armed[2].rated
    assert hall.service.state.windows[3].current is None  # no call key reached window 3
    kept = await retained(secure_broker, hall.root, "device/kp-2/status", **secure_broker.login("hallctl"))
    assert kept is None


async def test_devices_read_only_their_own_topics(hall: MqttHall, secure_broker: SecureBroker) -> None:
    login = secure_broker.login
    async with (
        Listener(secure_broker, hall.root, "#", **secure_broker.login("kp-3")) as keypad_3,
        Listener(secure_broker, hall.root, "window/+/display", **secure_broker.login("led-3")) as led_3,
        Listener(secure_broker, hall.root, "window/+/display", "board", **login("board")) as board,
        Listener(secure_broker, hall.root, "terminal/+/reply", **secure_broker.login("term-3")) as term_3,
        Listener(secure_broker, hall.root, **secure_broker.login("term-2")) as term_2,
    ):
        for client in (keypad_3, led_3, board):
            await client.settle()
        # The board may read every display and the board; the same subscriptions give the others less.
        assert {m.topic for m in board.messages} == {f"window/{n}/display" for n in range(1, 9)} | {"board"}
        assert {m.topic for m in led_3.messages} == {"window/3/display"}
        assert keypad_3.messages == []

        # Window 2's reply is not for keypad 3's eyes; its own is. The daemon answers in order, so once
        # term-3 has its own reply it would have had window 2's before it.
        await term_2.publish("terminal/2/key", call_key("term-2", 1))
        await eventually(lambda: hall.service.state.windows[2].current is not None, what="window 2 to call")
        await term_3.publish("terminal/3/key", call_key("term-3", 1))
        reply = await term_3.wait_for("terminal/3/reply")
        assert reply.json()["ok"] is True and reply.json()["number"] is not None
        assert [m.topic for m in term_3.messages] == ["terminal/3/reply"]
        await keypad_3.settle()
        assert keypad_3.messages == [], "a keypad read what it may not"
