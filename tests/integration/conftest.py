"""Fixtures named after the state of the hall they give, each a real service on a temporary SQLite file
behind the real aiohttp app: a hall just opened, one with clerks at their windows, one with people
waiting. The clock is fake and starts at 09:00 on Monday 2026-03-02 in Asia/Shanghai (see halltest)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hallctl.config import HallConfig, load_config

from .halltest import EXAMPLE_CONFIG, MINUTE, NINE, WINDOWS, FakeClock, Hall, run_hall


@pytest.fixture(scope="session")
def example_config() -> HallConfig:
    return load_config(EXAMPLE_CONFIG)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NINE)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "hall.db"


@pytest.fixture
async def fresh_hall(example_config: HallConfig, db_path: Path, clock: FakeClock) -> AsyncIterator[Hall]:
    """The example hall at 09:00: every window open, nobody logged in, nobody waiting."""
    async with run_hall(example_config, db_path, clock) as hall:
        yield hall


@pytest.fixture
async def staffed_hall(fresh_hall: Hall) -> Hall:
    """Clerk cN logged in at window N, for every window; still nobody waiting."""
    for n in WINDOWS:
        await fresh_hall.api("POST", f"/api/v1/windows/{n}/login", fresh_hall.tokens[f"c{n}"])
    return fresh_hall


#: What ``hall_with_queue`` issues, a minute apart from 09:01, in this order.
QUEUE = ("CBDJ", "JFJS", "SBKBH", "CBZM", "ZX")


@pytest.fixture
async def hall_with_queue(staffed_hall: Hall) -> Hall:
    """The staffed hall with five people waiting, a minute apart from 09:01: A0001 参保登记,
    A0002 缴费基数申报, B0001 社保卡补换, E0001 参保证明打印, Z0001 业务咨询. Their tickets are in
    ``hall.queue``."""
    hall = staffed_hall
    for matter in QUEUE:
        hall.clock.advance(MINUTE)
        ticket: dict[str, Any] = await hall.api(
            "POST", "/api/v1/tickets", hall.tokens["kiosk"], {"matter": matter}, status=201
        )
        hall.queue.append(ticket)
    return hall
