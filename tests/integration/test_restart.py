"""A restarted daemon rebuilds the hall from its file: windows, clerks, profiles, queue and numbering."""

from __future__ import annotations

from pathlib import Path

from hallctl.config import HallConfig

from .halltest import MINUTE, FakeClock, run_hall


async def test_a_restart_picks_up_where_the_hall_left_off(
    example_config: HallConfig, db_path: Path, clock: FakeClock
) -> None:
    async with run_hall(example_config, db_path, clock) as hall:
        tokens = hall.tokens
        kiosk, manager, c1, c2 = tokens["kiosk"], tokens["manager"], tokens["c1"], tokens["c2"]
        for matter in ("CBDJ", "CBDJ", "JFJS", "ZX"):
            clock.advance(MINUTE)
            await hall.api("POST", "/api/v1/tickets", kiosk, {"matter": matter}, status=201)
        await hall.api("POST", "/api/v1/windows/1/login", c1)
        await hall.api("POST", "/api/v1/windows/2/login", c2)
        await hall.api("POST", "/api/v1/windows/1/call-next", c1)
        await hall.api("POST", "/api/v1/windows/1/start", c1)
        await hall.api("POST", "/api/v1/windows/1/suspend", c1, {"reason": "取材料"})  # A0001 parked at 1
        await hall.api("POST", "/api/v1/windows/2/call-next", c2)  # A0002 at 2
        await hall.api("PUT", "/api/v1/windows/3/profile", manager, {"profile": "consultation"})
        await hall.api("POST", "/api/v1/windows/5/close", manager, {"reason": "维修"})
        windows = await hall.api("GET", "/api/v1/windows", manager)
        tickets = await hall.api("GET", "/api/v1/tickets", manager)

    clock.advance(MINUTE)
    async with run_hall(example_config, db_path, clock, tokens=tokens) as again:
        assert await again.api("GET", "/api/v1/windows", manager) == windows
        assert await again.api("GET", "/api/v1/tickets", manager) == tickets
        # It carries on: numbering continues, the parked ticket comes back to its window, and the
        # rebalanced window 3 takes the question.
        ticket = await again.api("POST", "/api/v1/tickets", kiosk, {"matter": "CBDJ"}, status=201)
        assert ticket["number"] == "A0004" and ticket["id"] == 5
        resumed = await again.api("POST", "/api/v1/windows/1/resume", c1)
        assert resumed["ticket"]["number"] == "A0001" and resumed["ticket"]["state"] == "called"
        await again.api("POST", "/api/v1/windows/3/login", tokens["c3"])
        question = await again.api("POST", "/api/v1/windows/3/call-next", tokens["c3"])
        assert question["ticket"]["number"] == "Z0001"
        starts = (await again.api("GET", "/api/v1/journal", manager))["journal"]
        assert [r["detail"] for r in starts if r["action"] == "daemon.start"] == [
            {"tickets_live": 0},
            {"tickets_live": 4},
        ]
