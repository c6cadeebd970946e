"""A real Mosquitto for the MQTT tests, an independent client to watch it, and the hall wired to it.

``Broker`` runs ``mosquitto`` on a free loopback port from a config file the test writes (anonymous,
no persistence, unless the test gives its own settings) and can be killed with SIGKILL and started
again on the same port. ``Listener`` is a client of its own (never the daemon's) that records every
message it gets and lets a test wait for the one it expects, with a timeout. ``hall_on_broker`` runs
the service, the device hub and the aiohttp app in process against the broker. Every test gets its
own hall id, hence its own topic root, so no test sees another's retained messages.

Fixtures are defined here with ``name=``; a test module imports them (``broker_fixture``).
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import tomllib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import aiomqtt
import pytest
from aiohttp.test_utils import TestClient, TestServer

from hallctl.config import HallConfig, parse_config
from hallctl.hub.hub import DeviceHub
from hallctl.service import HallService
from hallctl.web.app import create_app

from .halltest import EXAMPLE_CONFIG, ROLES, WINDOWS, FakeClock, Hall, new_token

MOSQUITTO = shutil.which("mosquitto") or next(
    (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
)
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd")

#: The broker of the plain tests: anyone may connect, nothing survives a restart (so a restart shows
#: what the daemon itself heals), and the per-client queue is bounded as FACTS.md says it must be.
PLAIN_SETTINGS = """\
allow_anonymous true
persistence false
max_queued_messages 1000
"""

#: How long a test waits for a message before it fails; loopback round trips are well under 1 ms.
TIMEOUT = 5.0


def free_port() -> int:
    """A loopback port nobody listens on right now (the kernel picks it; the broker binds it next)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_mosquitto() -> str:
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (scripts/test installs it when run as root)")
    return MOSQUITTO


class BrokerFailed(AssertionError):
    """Mosquitto did not start; the message carries its log."""


class Broker:
    """One Mosquitto process on ``127.0.0.1:port``, configured by ``settings`` (mosquitto.conf lines)."""

    def __init__(self, workdir: Path, *, settings: str = PLAIN_SETTINGS, port: int | None = None) -> None:
        self.executable = require_mosquitto()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.config_path = workdir / "mosquitto.conf"
        self.log_path = workdir / "mosquitto.log"
        lines = [f"listener {self.port} 127.0.0.1", settings.rstrip("\n")]
        if os.geteuid() == 0:
            # As root, mosquitto drops to the `mosquitto` user, who cannot read a test's private tmp dir.
            lines.append(f"user {getpass.getuser()}")
        self.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else "(no log)"

    def start(self, *, timeout: float = TIMEOUT) -> None:
        """Start mosquitto and return once it accepts connections on its port."""
        assert not self.running, "the broker is already running"
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"---- start {self.starts} on port {self.port} ----\n".encode())
            self.process = subprocess.Popen(
                [self.executable, "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: a signal to it never reaches the test runner
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrokerFailed(f"mosquitto exited with {self.process.returncode}:\n{self.log()}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=0.5):
                return
            time.sleep(0.01)  # polling a port: there is no event to wait for
        self.kill()
        raise BrokerFailed(f"mosquitto did not listen on {self.port} within {timeout} s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: the broker vanishes without a word to its clients (a crash or a power cut)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def restart(self) -> None:
        """Kill -9 and start again on the same port, from the same config."""
        self.kill()
        self.start()

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()


def passwd_file(path: Path, users: dict[str, str]) -> Path:
    """A Mosquitto password file made by ``mosquitto_passwd -b`` (hashed, never a real password)."""
    if MOSQUITTO_PASSWD is None:
        pytest.skip("mosquitto_passwd is not installed (Debian package mosquitto)")
    path.unlink(missing_ok=True)
    for i, (user, password) in enumerate(users.items()):
        create = ["-c"] if i == 0 else []
        subprocess.run(
            [MOSQUITTO_PASSWD, *create, "-b", str(path), user, password],
            check=True,
            capture_output=True,
        )
    path.chmod(0o600)
    return path


@pytest.fixture(name="broker")
def broker_fixture(tmp_path: Path) -> Iterator[Broker]:
    """A running anonymous Mosquitto on a free loopback port, killed at teardown."""
    broker = Broker(tmp_path / "mosquitto")
    broker.start()
    yield broker
    broker.close()


# -- an independent client ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Received:
    topic: str  # below the listener's root: ``window/3/display``
    payload: bytes
    retain: bool  # true for a retained message sent on subscribe
    qos: int

    def json(self) -> Any:
        return json.loads(self.payload)


class Listener:
    """``async with Listener(broker, root, "window/+/display") as watch: await watch.wait_for(...)``.

    A client of its own (anonymous, or ``username``/``password``) that subscribes with QoS 1 to the topics
    below ``root`` and keeps every message in arrival order. Messages are recorded the moment the client
    reads them (aiomqtt's ``queue_type`` hook), so once a later request is answered everything the broker
    sent before that answer is in :attr:`messages` (see :meth:`settle`).
    """

    def __init__(
        self,
        broker: Broker,
        root: str,
        *topics: str,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.broker = broker
        self.root = root
        self.topics = topics
        self.messages: list[Received] = []
        self._arrived = asyncio.Event()
        record = self._record

        class Recorder(asyncio.Queue[aiomqtt.Message]):
            def put_nowait(self, item: aiomqtt.Message) -> None:
                record(item)

        self._client = aiomqtt.Client(
            broker.host,
            broker.port,
            username=username,
            password=password,
            identifier=f"test-listener-{uuid.uuid4().hex[:8]}",
            queue_type=Recorder,
            timeout=TIMEOUT,
        )

    async def __aenter__(self) -> Listener:
        await self._client.__aenter__()
        for topic in self.topics:
            await self.subscribe(topic)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with contextlib.suppress(aiomqtt.MqttError):
            await self._client.__aexit__(exc_type, exc, tb)

    def _record(self, message: aiomqtt.Message) -> None:
        payload = message.payload if isinstance(message.payload, bytes) else b""
        topic = str(message.topic).removeprefix(self.root + "/")
        self.messages.append(Received(topic, payload, bool(message.retain), int(message.qos)))
        self._arrived.set()

    def full(self, topic: str) -> str:
        return f"{self.root}/{topic}"

    async def subscribe(self, topic: str) -> None:
        await self._client.subscribe(self.full(topic), qos=1)

    async def publish(self, topic: str, payload: bytes | str, *, qos: int = 1, retain: bool = False) -> None:
        await self._client.publish(self.full(topic), payload, qos=qos, retain=retain)

    def mark(self) -> int:
        """A point in the message log: ``wait_for(..., since=mark)`` only looks at later messages."""
        return len(self.messages)

    def on(self, topic: str, *, since: int = 0) -> list[Received]:
        return [m for m in self.messages[since:] if m.topic == topic]

    async def wait_for(
        self,
        topic: str,
        where: Callable[[Received], bool] = lambda m: True,
        *,
        since: int = 0,
        within: float = TIMEOUT,
        what: str = "",
    ) -> Received:
        """The first message on ``topic`` (after ``since``) that satisfies ``where``; fails after ``within``
        seconds."""
        deadline = time.monotonic() + within
        while True:
            found = next((m for m in self.on(topic, since=since) if where(m)), None)
            if found is not None:
                return found
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                seen = [f"{m.topic} {m.payload[:120]!r}" for m in self.messages[since:]][-15:]
                raise AssertionError(
                    f"no message on {topic} {what} within {within} s; got meanwhile:\n  " + "\n  ".join(seen)
                ) from None

    async def settle(self) -> None:
        """Return once the broker has sent this client everything it owed it so far: the broker answers
        requests in order on one connection, so the retained messages of an earlier subscription come
        before the answer to a later one (which needs no read right: the answer comes anyway)."""
        await self._client.subscribe(f"{self.root}/settle/{uuid.uuid4().hex}", qos=1)


async def retained(broker: Broker, root: str, topic: str, **login: str) -> Received | None:
    """What a client subscribing now gets as the retained message of ``topic`` (None: nothing)."""
    async with Listener(broker, root, topic, **login) as fresh:
        await fresh.settle()
        found = fresh.on(topic)
        return found[0] if found else None


async def eventually(condition: Callable[[], bool], *, within: float = TIMEOUT, what: str) -> None:
    """Poll a cheap in-process condition (a counter of the hub) until it holds, or fail."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.005)


# -- the hall on the broker -----------------------------------------------------------------------------


def unique_hall_id() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


def hall_config(hall_id: str, devices: dict[str, Any] | None = None) -> HallConfig:
    """The example hall under its own id (its own topic root), with these ``[devices]``."""
    data = tomllib.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    data["hall"]["id"] = hall_id
    if devices is not None:
        data["devices"] = devices
    return parse_config(data, f"{EXAMPLE_CONFIG.name} as hall {hall_id}")


#: The devices of the MQTT tests: a satisfaction keypad and a call keypad at each of windows 1-5, over MQTT.
DEVICES: dict[str, Any] = {
    "rating_keypads": [{"id": f"kp-{n}", "window": n} for n in range(1, 6)],
    "call_keypads": [{"id": f"term-{n}", "window": n} for n in range(1, 6)],
    "voice": {"outputs": ["mqtt"]},
}


@dataclass
class MqttHall(Hall):
    """The in-process hall of halltest with its device hub on a real broker."""

    hub: DeviceHub | None = None

    @property
    def root(self) -> str:
        return f"hallctl/{self.service.config.hall.id}"

    @property
    def devices(self) -> DeviceHub:
        assert self.hub is not None
        return self.hub


@asynccontextmanager
async def hall_on_broker(
    config: HallConfig, db_path: Path, clock: FakeClock, broker: Broker
) -> AsyncIterator[MqttHall]:
    """The service, its device hub on ``broker`` and the app; yields once the hub is connected. Tokens as
    in halltest: one per role and ``c1``..``c8`` for the clerks of windows 1-8."""
    async with (
        HallService(config, db_path, always_open=True, clock=clock) as service,
        DeviceHub(service, mqtt_url=broker.url) as hub,
        TestClient(TestServer(create_app(service, hub))) as client,
    ):
        hall = MqttHall(service, client, db_path, clock, hub=hub)
        for role in ROLES:
            if role != "clerk":
                hall.tokens[role] = new_token(db_path, role, name=f"test {role}")
        for n in WINDOWS:
            hall.tokens[f"c{n}"] = new_token(db_path, "clerk", clerk=f"c{n}", name=f"柜员{n}")
        assert hub.link is not None
        await asyncio.wait_for(hub.link.connected.wait(), TIMEOUT)
        yield hall
