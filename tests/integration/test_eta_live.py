"""The live expected wait through the HTTP API: a real forecaster with its worker process, a real file.

The ETA a ticket shows must follow the calls at the windows; a ticket issued between two predictions gets
an estimate at once; the worker learns the hall's history from the file when it starts.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hallctl.config import Forecast, HallConfig
from hallctl.forecast.board import board_of
from hallctl.forecast.forecaster import Forecaster
from hallctl.web.app import create_app

from .halltest import MINUTE, FakeClock, Hall, run_hall

# Fast enough for a test; the worker still runs in its own process as in the daemon.
SETTINGS = Forecast(interval_seconds=0.05, refresh_seconds=600, runs=9)
WAIT = 60.0  # seconds a test waits for the worker (its first start imports the whole package)


async def next_prediction(forecaster: Forecaster, after: int) -> None:
    """Until the forecaster has pinned a prediction newer than ``after`` (the count seen before)."""

    async def newer() -> None:
        async with forecaster.updated:
            await forecaster.updated.wait_for(lambda: forecaster.predictions > after)

    await asyncio.wait_for(newer(), WAIT)


@pytest.fixture
async def one_window(example_config: HallConfig, tmp_path: Any, clock: FakeClock) -> AsyncIterator[Hall]:
    """Only window 1 staffed; it has served 32 参保证明打印 tickets of 2 minutes this morning (history
    enough for the forecaster to sample rather than fall back on means); four 参保登记 tickets waiting."""
    async with run_hall(example_config, tmp_path / "hall.db", clock) as hall:
        await hall.api("POST", "/api/v1/windows/1/login", hall.tokens["c1"])
        for _ in range(32):
            await hall.api("POST", "/api/v1/tickets", hall.tokens["kiosk"], {"matter": "CBZM"}, status=201)
            for action in ("call-next", "start"):
                await hall.api("POST", f"/api/v1/windows/1/{action}", hall.tokens["c1"])
            clock.advance(2 * MINUTE)
            await hall.api("POST", "/api/v1/windows/1/finish", hall.tokens["c1"])
        for _ in range(4):
            clock.advance(10)
            hall.queue.append(
                await hall.api(
                    "POST", "/api/v1/tickets", hall.tokens["kiosk"], {"matter": "CBDJ"}, status=201
                )
            )
        yield hall


def waits(hall: Hall) -> set[int]:
    board = board_of(hall.service.state)
    return set() if board is None else set(board.waits)


async def ticket(hall: Hall, ticket_id: int) -> dict[str, Any]:
    answer: dict[str, Any] = await hall.api("GET", f"/api/v1/tickets/{ticket_id}", hall.tokens["manager"])
    return answer


async def test_the_eta_follows_the_calls(one_window: Hall) -> None:
    hall = one_window
    last = hall.queue[-1]
    async with Forecaster(hall.service, SETTINGS) as forecaster:
        await next_prediction(forecaster, 0)
        assert waits(hall) == {t["id"] for t in hall.queue}
        before = await ticket(hall, last["id"])
        # three ahead at the one window: about three services of 6 minutes (the median of nine runs)
        assert before["ahead"] == 3
        assert 14 <= before["eta_minutes"] <= 22
        assert before["eta_minutes"] * 60 >= before["eta_seconds"] > (before["eta_minutes"] - 1) * 60
        low, high = before["eta_range_minutes"]
        assert low <= before["eta_minutes"] <= high

        # window 1 serves the first for 5 minutes, then calls the second
        seen = forecaster.predictions
        c1 = hall.tokens["c1"]
        for action in ("call-next", "start"):
            await hall.api("POST", f"/api/v1/windows/1/{action}", c1)
        hall.clock.advance(5 * MINUTE)
        for action in ("finish", "call-next"):
            await hall.api("POST", f"/api/v1/windows/1/{action}", c1)
        await next_prediction(forecaster, seen)
        while hall.queue[1]["id"] in waits(hall):  # that one was made before the last call
            await next_prediction(forecaster, forecaster.predictions)
        after = await ticket(hall, last["id"])
        assert after["ahead"] == 1
        assert after["eta_minutes"] < before["eta_minutes"] - 3  # two fewer ahead, five minutes on
        public = await hall.api("GET", f"/api/v1/track/{last['track_token']}", None)
        assert public["eta_minutes"] == after["eta_minutes"]
        called = await ticket(hall, hall.queue[1]["id"])
        assert (called["state"], called["eta_minutes"], called["eta_range_minutes"]) == ("called", 0, None)


async def test_a_new_ticket_gets_an_estimate_at_once(one_window: Hall) -> None:
    hall = one_window
    async with Forecaster(hall.service, SETTINGS) as forecaster:
        await next_prediction(forecaster, 0)
        predicted_last = await ticket(hall, hall.queue[-1]["id"])
        # issued before the forecaster hears of it: estimated from the ticket just ahead of it
        new = await hall.api("POST", "/api/v1/tickets", hall.tokens["kiosk"], {"matter": "CBDJ"}, status=201)
        assert new["ahead"] == 4
        assert new["eta_minutes"] >= predicted_last["eta_minutes"] + 5  # one more 6-minute service
        assert new["eta_range_minutes"] is not None


async def test_without_a_forecaster_tickets_show_the_simple_estimate(one_window: Hall) -> None:
    last = await ticket(one_window, one_window.queue[-1]["id"])
    # 18 minutes of work for the one window with a clerk (the other open windows nobody works at)
    assert (last["ahead"], last["eta_minutes"], last["eta_seconds"]) == (3, 18, 18 * 60)
    assert last["eta_range_minutes"] is None


async def test_the_worker_learns_the_history_in_the_file(
    example_config: HallConfig, tmp_path: Any, clock: FakeClock
) -> None:
    db = tmp_path / "hall.db"
    async with run_hall(example_config, db, clock) as yesterday:
        await yesterday.api("POST", "/api/v1/windows/1/login", yesterday.tokens["c1"])
        for _ in range(3):
            await yesterday.api(
                "POST", "/api/v1/tickets", yesterday.tokens["kiosk"], {"matter": "CBZM"}, status=201
            )
            for action in ("call-next", "start"):
                await yesterday.api("POST", f"/api/v1/windows/1/{action}", yesterday.tokens["c1"])
            clock.advance(2 * MINUTE)
            await yesterday.api("POST", "/api/v1/windows/1/finish", yesterday.tokens["c1"])
        tokens = yesterday.tokens
    clock.advance(24 * 60 * MINUTE)
    async with run_hall(example_config, db, clock, tokens=tokens) as today:
        await today.api("POST", "/api/v1/windows/1/login", today.tokens["c1"])
        await today.api("POST", "/api/v1/tickets", today.tokens["kiosk"], {"matter": "CBZM"}, status=201)
        async with Forecaster(today.service, SETTINGS) as forecaster:
            await next_prediction(forecaster, 0)
            assert forecaster.learned == 3


async def test_metrics_say_whether_the_predictor_keeps_up(one_window: Hall) -> None:
    hall = one_window
    async with (
        Forecaster(hall.service, SETTINGS) as forecaster,
        TestClient(TestServer(create_app(hall.service, None, forecaster))) as client,
    ):
        await next_prediction(forecaster, 0)
        async with client.get("/metrics") as resp:
            text = await resp.text()
    made = re.search(r"^hallctl_forecast_predictions_total (\d+)$", text, re.M)
    assert made is not None and int(made.group(1)) >= 1
    assert re.search(r"^hallctl_forecast_last_seconds [0-9.]+$", text, re.M)
    assert "hallctl_forecast_learned_tickets" in text
    async with hall.client.get("/metrics") as resp:  # the app without a forecaster says nothing of it
        assert "hallctl_forecast" not in await resp.text()
