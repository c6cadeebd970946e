"""The daemon (``hallctl serve --mqtt``) and a real Mosquitto, both as processes, and both killed with -9.

A broker outage never stops the queue: calls made while it is away succeed over HTTP, and once it is back
(without persistence, so it remembers nothing) every window display is right again within 5 s and every
announcement made meanwhile is said, none lost. A daemon killed with -9 is shown ``offline`` by its will.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Generator
from pathlib import Path

import pytest

from .daemonkit import EXAMPLE_CONFIG, Daemon, Tokens, hallctl_command

# The broker and listener helpers live with the integration tests, as the package ``integration``
# (pytest's importlib mode names it so, and does not put tests/ on sys.path for this module).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from integration.mosquitto import Broker, Listener, Received, retained

HEAL_SECONDS = 5.0  # the hall's promise: displays right again within 5 s of the broker's return


class MqttDaemon(Daemon):
    """The daemon of daemonkit, started with ``--mqtt``; it can also be frozen (SIGSTOP) and thawed."""

    def __init__(self, db: Path, log_path: Path, *, config: Path, mqtt_url: str) -> None:
        super().__init__(db, log_path, config=config)
        self.mqtt_url = mqtt_url

    def start(self, *, timeout: float = 20.0) -> None:
        assert not self.running, "the daemon is already running"
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"---- start {self.starts} on port {self.port} ----\n".encode())
            self.process = subprocess.Popen(
                [
                    *hallctl_command(),
                    *("serve", "--config", str(self.config), "--db", str(self.db)),
                    *("--host", "127.0.0.1", "--port", str(self.port), "--always-open"),
                    *("--mqtt", self.mqtt_url),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_until_responds(timeout)

    def freeze(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGCONT)

    def close(self) -> None:
        self.thaw()  # a frozen process ignores nothing, but let it die awake
        super().close()


@pytest.fixture
def hall_id() -> str:
    return f"e{uuid.uuid4().hex[:12]}"


@pytest.fixture
def broker(tmp_path: Path, request: pytest.FixtureRequest) -> Generator[Broker, None, None]:
    """A Mosquitto without persistence on a free loopback port."""
    broker = Broker(tmp_path / "mosquitto")
    broker.start()
    yield broker
    broker.close()
    if getattr(getattr(request.node, "report_call", None), "failed", False):
        print(f"\n==== mosquitto log ({broker.log_path}) ====\n{broker.log()}")


@pytest.fixture
def mqtt_daemon(
    hall_db: Path,
    tokens: Tokens,
    tmp_path: Path,
    broker: Broker,
    hall_id: str,
    request: pytest.FixtureRequest,
) -> Generator[MqttDaemon, None, None]:
    """The example hall under its own id (its own topic root), serving, on the broker."""
    del tokens
    config = tmp_path / "hall.toml"
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    config.write_text(text.replace('id = "demo-district"', f'id = "{hall_id}"', 1), encoding="utf-8")
    daemon = MqttDaemon(hall_db, tmp_path / "daemon.log", config=config, mqtt_url=broker.url)
    daemon.start()
    yield daemon
    daemon.close()
    if getattr(getattr(request.node, "report_call", None), "failed", False):
        print(f"\n==== daemon log ({daemon.log_path}) ====\n{daemon.log()}")


def number(message: Received) -> str | None:
    found: str | None = message.json()["number"]
    return found


async def test_calls_during_a_broker_outage_are_shown_and_said_once_it_is_back(
    broker: Broker, mqtt_daemon: MqttDaemon, tokens: Tokens, hall_id: str
) -> None:
    root = f"hallctl/{hall_id}"
    clerk = tokens.clerk
    async with mqtt_daemon.client() as api:
        async with Listener(broker, root, "window/1/display", "voice/main", "board", "status") as watch:
            await watch.wait_for("status", lambda m: m.payload == b"online")
            for n in (1, 2, 3):
                await api.ok("POST", f"/api/v1/windows/{n}/login", clerk[f"c{n}"])
            for _ in range(5):
                await api.ok("POST", "/api/v1/tickets", tokens.kiosk, {"matter": "CBDJ"})
            before = await api.ok("POST", "/api/v1/windows/1/call-next", clerk["c1"])
            assert before["ticket"]["number"] == "A0001"
            await watch.wait_for("window/1/display", lambda m: number(m) == "A0001")
            await watch.wait_for("voice/main", lambda m: number(m) == "A0001")
            # The daemon sends one message at a time, each once the broker acknowledged the one before:
            # a board made after that call arriving means the call's announcement is acknowledged too
            # (QoS 1 is at least once: one the broker had not acknowledged would be sent again).
            await api.ok("POST", "/api/v1/tickets", tokens.kiosk, {"matter": "CBDJ"})
            await watch.wait_for("board", lambda m: m.json()["waiting"]["total"] == 5)

        broker.kill()
        during = [
            await api.ok("POST", "/api/v1/windows/2/call-next", clerk["c2"]),
            await api.ok("POST", "/api/v1/windows/3/call-next", clerk["c3"]),
        ]
        assert [c["ticket"]["number"] for c in during] == ["A0002", "A0003"]
        await api.ok("POST", "/api/v1/windows/1/recall", clerk["c1"])
        ticket = await api.ok("GET", f"/api/v1/tickets/{during[1]['ticket']['id']}", tokens.manager)
        assert ticket["state"] == "called" and ticket["window"] == 3

    # Frozen while the broker comes back, so the speaker below is listening before the daemon
    # reconnects: with persistence off, the broker holds nothing for a speaker that is not there yet.
    mqtt_daemon.freeze()
    broker.start()
    back = time.monotonic()
    async with Listener(broker, root, "voice/+") as speaker:
        mqtt_daemon.thaw()
        await speaker.wait_for("voice/main", lambda m: m.json()["recall"] is True, within=HEAL_SECONDS)
        async with Listener(broker, root, "window/+/display") as fresh:
            await fresh.settle()
            shown = {m.topic: m.json() for m in fresh.messages if m.retain}
        await speaker.settle()
    healed = time.monotonic() - back
    assert healed < HEAL_SECONDS, f"healed after {healed:.1f} s"
    assert {n: shown[f"window/{n}/display"]["number"] for n in (1, 2, 3)} == {
        1: "A0001",
        2: "A0002",
        3: "A0003",
    }, shown
    assert shown["window/2/display"]["text"] == "A0002 请到2号窗口"
    said = [(m.json()["number"], m.json()["window"], m.json()["recall"]) for m in speaker.on("voice/main")]
    assert said == [("A0002", 2, False), ("A0003", 3, False), ("A0001", 1, True)]
    assert all(m.qos == 1 for m in speaker.messages)


async def test_a_daemon_killed_with_sigkill_is_offline_by_its_last_will(
    broker: Broker, mqtt_daemon: MqttDaemon, hall_id: str
) -> None:
    root = f"hallctl/{hall_id}"
    async with Listener(broker, root, "status") as watch:
        await watch.wait_for("status", lambda m: m.payload == b"online")  # /healthz answers first
        online = await retained(broker, root, "status")
        assert online is not None and online.payload == b"online"
        mark = watch.mark()
        mqtt_daemon.kill()
        await watch.wait_for("status", lambda m: m.payload == b"offline", since=mark)
    kept = await retained(broker, root, "status")
    assert kept is not None and kept.payload == b"offline"
