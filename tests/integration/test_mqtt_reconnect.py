"""The link heals itself: after the broker is killed (-9, no persistence: it forgets every retained
message) and comes back, the daemon reconnects on its own and every window display, the board and its
status are there again within the hall's 5 s, even when nothing happened in the hall meanwhile."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from .halltest import FakeClock
from .mosquitto import (
    DEVICES,
    Broker,
    Listener,
    broker_fixture,  # noqa: F401  (the ``broker`` fixture)
    eventually,
    hall_config,
    hall_on_broker,
    retained,
    unique_hall_id,
)

HEAL_SECONDS = 5.0  # the hall's promise: displays are right again within 5 s of the broker's return


async def test_a_restarted_broker_gets_every_retained_state_back_without_any_new_event(
    broker: Broker, tmp_path: Path, clock: FakeClock
) -> None:
    config = hall_config(unique_hall_id(), DEVICES)
    async with hall_on_broker(config, tmp_path / "hall.db", clock, broker) as hall:
        await hall.api("POST", "/api/v1/windows/1/login", hall.tokens["c1"])
        await hall.api("POST", "/api/v1/tickets", hall.tokens["kiosk"], {"matter": "CBDJ"}, status=201)
        await hall.api("POST", "/api/v1/windows/1/call-next", hall.tokens["c1"], {})
        async with Listener(broker, hall.root, "window/1/display", "board") as watch:
            await watch.wait_for("window/1/display", lambda m: m.json()["number"] == "A0001")
            await watch.wait_for("board", lambda m: len(m.json()["recent"]) == 1)
        link = hall.devices.link
        assert link is not None and link.connects == 1

        broker.restart()
        back = time.monotonic()
        assert await retained(broker, hall.root, "window/1/display") is None, "the broker kept state"
        async with Listener(broker, hall.root, "window/+/display", "board", "status") as fresh:
            display = await fresh.wait_for(
                "window/1/display", lambda m: m.json()["number"] == "A0001", within=HEAL_SECONDS
            )
            await fresh.wait_for("board", lambda m: m.json()["recent"][0]["number"] == "A0001")
            await fresh.wait_for("status", lambda m: m.payload == b"online")
            for n in range(2, 9):  # every window, not only the one that changed last
                await fresh.wait_for(f"window/{n}/display", lambda m: m.json()["mode"] == "idle")
        assert time.monotonic() - back < HEAL_SECONDS
        assert display.json()["text"] == "A0001 请到1号窗口"
        await eventually(lambda: link.connects == 2, what="the second connection counted")

        devices = await hall.api("GET", "/api/v1/devices", hall.tokens["manager"])
        assert devices["broker"]["connected"] is True and devices["broker"]["connects"] == 2
        broker_health = next(d for d in devices["devices"] if d["id"] == "broker")
        assert broker_health["online"] is True

        # the outage is counted however short it was (a restart often takes well under the 1 s between
        # two looks of the health watch)
        async def failures() -> int:
            answer = await hall.api("GET", "/api/v1/devices", hall.tokens["manager"])
            return int(next(d for d in answer["devices"] if d["id"] == "broker")["failures"])

        counted = 0
        for _ in range(30):
            counted = await failures()
            if counted:
                break
            await asyncio.sleep(0.1)
        assert counted == 1 and link.drops == 1
        metrics = await hall.api("GET", "/metrics", None)
        assert "hallctl_mqtt_connected 1" in metrics


async def test_the_queue_keeps_working_while_the_broker_is_away(
    broker: Broker, tmp_path: Path, clock: FakeClock
) -> None:
    config = hall_config(unique_hall_id(), DEVICES)
    async with hall_on_broker(config, tmp_path / "hall.db", clock, broker) as hall:
        link = hall.devices.link
        assert link is not None
        await hall.api("POST", "/api/v1/windows/2/login", hall.tokens["c2"])
        broker.kill()
        await eventually(lambda: not link.connected.is_set(), what="the link to notice the broker gone")
        ticket = await hall.api(
            "POST", "/api/v1/tickets", hall.tokens["kiosk"], {"matter": "SBKBH"}, status=201
        )
        called = await hall.api("POST", "/api/v1/windows/2/call-next", hall.tokens["c2"], {})
        assert called["ticket"]["number"] == ticket["number"] == "B0001"
        metrics = await hall.api("GET", "/metrics", None)
        assert "hallctl_mqtt_connected 0" in metrics

        broker.start()
        async with Listener(broker, hall.root, "window/2/display") as fresh:
            await fresh.wait_for(
                "window/2/display", lambda m: m.json()["number"] == "B0001", within=HEAL_SECONDS
            )
