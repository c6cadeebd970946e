"""What the daemon publishes on a real Mosquitto, as an independent client sees it: each window's retained
display, the retained hall board, one QoS 1 announcement per call and recall, and its own status."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from .halltest import FakeClock
from .mosquitto import (
    DEVICES,
    Broker,
    Listener,
    MqttHall,
    broker_fixture,  # noqa: F401  (the ``broker`` fixture)
    hall_config,
    hall_on_broker,
    retained,
    unique_hall_id,
)


@pytest.fixture
async def hall(broker: Broker, tmp_path: Path, clock: FakeClock) -> AsyncIterator[MqttHall]:
    """The example hall on its own topic root, clerks c1-c3 at windows 1-3, nobody waiting."""
    config = hall_config(unique_hall_id(), DEVICES)
    async with hall_on_broker(config, tmp_path / "hall.db", clock, broker) as hall:
        for n in (1, 2, 3):
            await hall.api("POST", f"/api/v1/windows/{n}/login", hall.tokens[f"c{n}"])
        yield hall


async def issue(hall: MqttHall, *matters: str) -> list[dict[str, Any]]:
    return [
        await hall.api("POST", "/api/v1/tickets", hall.tokens["kiosk"], {"matter": m}, status=201)
        for m in matters
    ]


async def act(hall: MqttHall, window: int, action: str) -> Any:
    return await hall.api("POST", f"/api/v1/windows/{window}/{action}", hall.tokens[f"c{window}"], {})


def text_is(text: str) -> Any:
    return lambda m: m.json()["text"] == text


async def test_a_call_is_on_the_window_display_and_stays_there_for_a_new_subscriber(
    hall: MqttHall, broker: Broker
) -> None:
    async with Listener(broker, hall.root, "window/+/display") as watch:
        await issue(hall, "CBDJ")
        await act(hall, 1, "call-next")
        live = await watch.wait_for("window/1/display", text_is("A0001 请到1号窗口"))
    assert live.json() == {
        "v": 1,
        "window": 1,
        "mode": "calling",
        "number": "A0001",
        "text": "A0001 请到1号窗口",
        "at": live.json()["at"],
    }
    assert isinstance(live.json()["at"], str) and live.json()["at"].startswith("20")

    kept = await retained(broker, hall.root, "window/1/display")
    assert kept is not None and kept.retain, "the display is not retained"
    assert kept.json()["number"] == "A0001" and kept.json()["mode"] == "calling"
    # Window 2 called nobody: its display is retained too, and idle.
    idle = await retained(broker, hall.root, "window/2/display")
    assert idle is not None and idle.json()["mode"] == "idle" and idle.json()["number"] is None


async def test_serving_finishing_and_pausing_change_the_display(hall: MqttHall, broker: Broker) -> None:
    await issue(hall, "CBDJ")
    async with Listener(broker, hall.root, "window/1/display") as watch:
        await act(hall, 1, "call-next")
        await watch.wait_for("window/1/display", text_is("A0001 请到1号窗口"))
        await act(hall, 1, "start")
        await watch.wait_for("window/1/display", text_is("A0001 正在办理"))
        await act(hall, 1, "finish")
        idle = await watch.wait_for("window/1/display", text_is("欢迎光临"))
        assert idle.json()["mode"] == "idle" and idle.json()["number"] is None
        await act(hall, 1, "pause")
        paused = await watch.wait_for("window/1/display", text_is("暂停服务"))
        assert paused.json()["mode"] == "paused"
    kept = await retained(broker, hall.root, "window/1/display")
    assert kept is not None and kept.json()["text"] == "暂停服务"
    await act(hall, 1, "unpause")
    kept = await retained(broker, hall.root, "window/1/display")
    assert kept is not None and kept.json()["text"] == "欢迎光临"


async def test_the_board_carries_recent_calls_and_waiting_counts(hall: MqttHall, broker: Broker) -> None:
    await issue(hall, "CBDJ", "JFJS", "SBKBH", "ZX")
    await act(hall, 1, "call-next")
    await act(hall, 2, "call-next")

    def shows_both_calls(message: Any) -> bool:
        return [c["number"] for c in message.json()["recent"]] == ["A0002", "A0001"]

    async with Listener(broker, hall.root, "board") as watch:
        board = (await watch.wait_for("board", shows_both_calls, what="with A0002 and A0001")).json()
    assert board["v"] == 1 and board["hall"] == hall.service.config.hall.name
    assert board["recent"][0]["window"] == 2 and board["recent"][1]["window"] == 1
    assert board["recent"][0]["recall"] is False
    waiting = board["waiting"]
    assert waiting["total"] == 2
    by_matter = {m["code"]: m["waiting"] for m in waiting["matters"]}
    assert by_matter["SBKBH"] == 1 and by_matter["ZX"] == 1 and by_matter["CBDJ"] == 0
    by_group = {g["prefix"]: g["waiting"] for g in waiting["groups"]}
    assert by_group == {**dict.fromkeys(by_group, 0), "B": 1, "Z": 1}
    assert board["notices"] == list(hall.service.config.notices)

    kept = await retained(broker, hall.root, "board")
    assert kept is not None and kept.retain and shows_both_calls(kept)


async def test_every_call_and_recall_is_announced_once_at_qos_1(hall: MqttHall, broker: Broker) -> None:
    await issue(hall, "CBDJ", "JFJS")
    async with Listener(broker, hall.root, "voice/+") as speaker:
        await act(hall, 1, "call-next")
        await act(hall, 2, "call-next")
        await act(hall, 1, "recall")
        recall = await speaker.wait_for("voice/main", lambda m: m.json()["recall"] is True)
        await speaker.settle()
    said = speaker.on("voice/main")
    assert [(m.json()["number"], m.json()["window"], m.json()["recall"]) for m in said] == [
        ("A0001", 1, False),
        ("A0002", 2, False),
        ("A0001", 1, True),
    ]
    assert all(m.qos == 1 and not m.retain for m in said), [(m.qos, m.retain) for m in said]
    ids = [m.json()["id"] for m in said]
    assert len(set(ids)) == 3, ids  # a recall is a new announcement: a speaker dedupes by id, not by content
    said_recall = recall.json()
    said_recall.pop("id")
    audio = {k: said_recall.pop(k) for k in ("wav_sha256", "duration_s")}
    assert said_recall == {
        "v": 1,
        "zone": "main",
        "number": "A0001",
        "window": 1,
        "text": "请A0001号到1号窗口办理",
        "repeat": 2,
        "recall": True,
    }
    # The speech the daemon made of it (null when synthesis failed: the text is published anyway).
    assert audio["wav_sha256"] is None or len(audio["wav_sha256"]) == 64
    assert audio["duration_s"] is None or audio["duration_s"] > 0
    # Not state: a speaker that subscribes later hears nothing of the past.
    assert await retained(broker, hall.root, "voice/main") is None


async def test_status_is_online_while_running_and_offline_after_a_clean_stop(
    broker: Broker, tmp_path: Path, clock: FakeClock
) -> None:
    config = hall_config(unique_hall_id(), DEVICES)
    root = f"hallctl/{config.hall.id}"
    async with hall_on_broker(config, tmp_path / "hall.db", clock, broker):
        online = await retained(broker, root, "status")
        assert online is not None and online.retain and online.payload == b"online"
    # A clean disconnect sends no last will: the daemon said "offline" itself, and it stays.
    offline = await retained(broker, root, "status")
    assert offline is not None and offline.payload == b"offline"
