"""The dashboard's staffing advice: what the last weeks' tickets say each hour of today needs."""

from __future__ import annotations

from pathlib import Path

from hallctl.config import HallConfig
from hallctl.core.erlang import windows_needed

from .halltest import MINUTE, FakeClock, Hall, at, run_hall


async def _serve(hall: Hall, count: int, minutes: float) -> None:
    await hall.api("POST", "/api/v1/windows/1/login", hall.tokens["c1"])  # clerks log in afresh each day
    for _ in range(count):
        await hall.api("POST", "/api/v1/tickets", hall.tokens["kiosk"], {"matter": "CBDJ"}, status=201)
        await hall.api("POST", "/api/v1/windows/1/call-next", hall.tokens["c1"])
        await hall.api("POST", "/api/v1/windows/1/start", hall.tokens["c1"])
        hall.clock.advance(minutes * MINUTE)
        await hall.api("POST", "/api/v1/windows/1/finish", hall.tokens["c1"])


async def test_advice_learns_from_the_same_weekday(example_config: HallConfig, db_path: Path) -> None:
    clock = FakeClock(at("2026-02-23 09:00"))  # the Monday before
    async with run_hall(example_config, db_path, clock) as hall:
        await _serve(hall, 10, 5)  # ten tickets from 09:00, five minutes each
        clock.now = at("2026-02-25 14:00")  # a Wednesday: not the weekday of the advice
        await _serve(hall, 3, 5)
        clock.now = at("2026-03-02 08:45")
        got = await hall.api("GET", "/api/v1/advice/staffing?service_level=0.9", hall.tokens["manager"])
    assert got["day"] == "2026-03-02"
    assert got["learned_from"] == {"from": "2026-02-02", "to": "2026-03-01", "days": 1, "basis": "weekday"}
    (hour,) = got["hours"]
    assert (hour["pool"], hour["hour"], hour["arrivals_per_hour"]) == ("integrated", 9, 10)
    assert hour["service_seconds"] == 300
    assert (
        hour["recommended"]["windows"]
        == windows_needed(10, 300, target_seconds=1200, service_level=0.9).windows
    )
    assert hour["staffed"]["windows"] == got["open_now"]["integrated"] == 5
    # the green-channel window (8) does ordinary work too: said beside the integrated windows
    assert got["helping"] == {"integrated": 1}


async def test_advice_without_history_is_empty_and_bad_levels_are_refused(fresh_hall: Hall) -> None:
    got = await fresh_hall.api("GET", "/api/v1/advice/staffing", fresh_hall.tokens["auditor"])
    assert got["hours"] == [] and got["learned_from"]["days"] == 0
    for bad in ("1.5", "0", "x"):
        error = await fresh_hall.refused(
            "GET", f"/api/v1/advice/staffing?service_level={bad}", fresh_hall.tokens["manager"],
            status=422, code="bad_query",
        )  # fmt: skip
        assert "service_level" in error["message"]


async def test_what_if_simulates_the_rest_of_today_with_one_more_window(
    example_config: HallConfig, db_path: Path
) -> None:
    clock = FakeClock(at("2026-02-23 09:00"))  # last Monday: 24 tickets of 参保登记 in an hour, at one window
    async with run_hall(example_config, db_path, clock) as hall:
        for _ in range(2):
            await _serve(hall, 12, 2.5)
        clock.now = at("2026-03-02 09:05")
        for _ in range(15):  # this Monday morning: fifteen waiting, one window staffed
            await hall.api("POST", "/api/v1/tickets", hall.tokens["kiosk"], {"matter": "CBDJ"}, status=201)
        await hall.api("POST", "/api/v1/windows/1/login", hall.tokens["c1"])
        before = hall.rows("tickets"), hall.rows("journal")
        got = await hall.api(
            "GET", "/api/v1/advice/what-if?kind=integrated&extra=2&from=09:30", hall.tokens["manager"]
        )
        assert (hall.rows("tickets"), hall.rows("journal")) == before  # a what-if changes nothing
    assert got["windows"] == [2, 3] and got["from"] == "09:30" and got["extra"] == 2
    mean = got["mean_wait_minutes"]
    assert mean["with_change"] < mean["now"]
    assert got["hours"][0]["hour"] == 9


async def test_what_if_needs_history_and_good_parameters(fresh_hall: Hall) -> None:
    manager = fresh_hall.tokens["manager"]
    await fresh_hall.refused(
        "GET", "/api/v1/advice/what-if?from=10:00", manager, status=409, code="no_history"
    )
    for query, name in (
        ("kind=window&from=10:00", "kind"),
        ("from=25:00", "from"),
        ("", "from"),
        ("extra=0&from=10:00", "extra"),
    ):
        error = await fresh_hall.refused(
            "GET", f"/api/v1/advice/what-if?{query}", manager, status=422, code="bad_query"
        )
        assert name in error["message"]
