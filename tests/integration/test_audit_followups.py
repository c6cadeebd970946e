"""差评整改: a bad rating opens a follow-up case with a deadline in working days; a manager calls back,
rectifies and closes it; clerks see their own cases only; overdue cases show in /metrics."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hallctl.audit import chain
from hallctl.audit.export import export_ratings
from hallctl.cli import main
from hallctl.config import HallConfig, parse_config
from hallctl.core import ratings
from hallctl.core.model import Rating

from .halltest import MINUTE, SHANGHAI, FakeClock, Hall, at, run_hall
from .test_audit_chain import read_only
from .test_live import stream


async def served_and_rated(hall: Hall, window: int, level: int) -> dict[str, Any]:
    """Clerk cN serves the next ticket at window N and the citizen presses ``level`` on the keypad."""
    token = hall.tokens[f"c{window}"]
    await hall.api("POST", f"/api/v1/windows/{window}/login", token)
    hall.clock.advance(MINUTE)
    ticket = await hall.api("POST", "/api/v1/tickets", hall.tokens["kiosk"], {"matter": "CBDJ"}, status=201)
    await hall.api("POST", f"/api/v1/windows/{window}/call-next", token)
    await hall.api("POST", f"/api/v1/windows/{window}/start", token)
    hall.clock.advance(5 * MINUTE)
    await hall.api("POST", f"/api/v1/windows/{window}/finish", token, {"outcome": "completed"})
    hall.clock.advance(5)
    change = await hall.service.execute(
        lambda s, now: ratings.rate(s, now, f"rating-{window}", window, level)
    )
    assert isinstance(change.result, Rating)
    return ticket


async def cases(hall: Hall, token: str, state: str = "all") -> list[dict[str, Any]]:
    answer = await hall.api("GET", f"/api/v1/followups?state={state}", token)
    found: list[dict[str, Any]] = answer["followups"]
    return found


@pytest.fixture
async def bad_rating(fresh_hall: Hall) -> Hall:
    """Window 1's citizen pressed 不满意 at about 09:10 on Monday 2026-03-02; window 2's pressed 非常满意."""
    await served_and_rated(fresh_hall, 1, 2)
    await served_and_rated(fresh_hall, 2, 5)
    return fresh_hall


async def test_a_bad_rating_opens_a_case_due_in_five_working_days(bad_rating: Hall) -> None:
    [case] = await cases(bad_rating, bad_rating.tokens["auditor"])
    assert (case["window"], case["clerk"], case["level_name"], case["state"]) == (1, "c1", "不满意", "open")
    # Tuesday to Saturday: the example hall opens Saturday mornings, so Saturday is a working day
    assert case["due_day"] == "2026-03-07" and case["overdue"] is False
    assert case["number"] == "A0001"


async def test_a_clerk_sees_their_own_cases_only(bad_rating: Hall) -> None:
    assert [c["clerk"] for c in await cases(bad_rating, bad_rating.tokens["c1"])] == ["c1"]
    assert await cases(bad_rating, bad_rating.tokens["c2"]) == []


async def test_a_manager_calls_back_rectifies_and_closes_a_case(bad_rating: Hall) -> None:
    hall, manager = bad_rating, bad_rating.tokens["manager"]
    [case] = await cases(hall, manager)
    base = f"/api/v1/followups/{case['id']}"
    await hall.refused("POST", f"{base}/close", manager, {"text": "已处理"}, status=409, code="not_rectified")
    called = await hall.api("POST", f"{base}/callback", manager, {"text": "已电话回访，群众反映等候时间长"})
    assert called["followup"]["state"] == "called_back"
    assert called["followup"]["callback"]["by"] == "test manager"
    fixed = await hall.api("POST", f"{base}/rectify", manager, {"text": "高峰时段增开2号窗口"})
    assert fixed["followup"]["rectification"]["text"] == "高峰时段增开2号窗口"
    closed = await hall.api("POST", f"{base}/close", manager, {"text": "群众表示满意，销号"})
    assert (
        closed["followup"]["state"] == "closed"
        and closed["followup"]["closure"]["text"] == "群众表示满意，销号"
    )
    await hall.refused(
        "POST", f"{base}/callback", manager, {"text": "again"}, status=409, code="followup_closed"
    )
    # every step is a chained journal row, and the closure is a key-audit event
    conn = read_only(hall.db_path)
    steps = [
        r[0] for r in conn.execute("select action from journal where action like 'followup.%' order by seq")
    ]
    assert chain.verify(conn, SHANGHAI).ok
    conn.close()
    assert steps == ["followup.open", "followup.callback", "followup.rectify", "followup.close"]
    report = await hall.api("GET", "/api/v1/audit", hall.tokens["auditor"])
    assert "followup.close" in [e["action"] for e in report["key_events"]]
    assert (report["followups"]["opened"], report["followups"]["closed"]) == (1, 1)


@pytest.mark.parametrize("role", ["auditor", "clerk", "kiosk"])
async def test_only_a_manager_works_a_case(bad_rating: Hall, role: str) -> None:
    [case] = await cases(bad_rating, bad_rating.tokens["manager"])
    token = bad_rating.tokens["c1" if role == "clerk" else role]
    await bad_rating.refused(
        "POST",
        f"/api/v1/followups/{case['id']}/callback",
        token,
        {"text": "x"},
        status=403,
        code="role_forbidden",
    )


async def test_an_unknown_case_or_an_empty_note_is_refused(bad_rating: Hall) -> None:
    manager = bad_rating.tokens["manager"]
    await bad_rating.refused(
        "POST",
        "/api/v1/followups/999/callback",
        manager,
        {"text": "x"},
        status=404,
        code="followup_not_found",
    )
    [case] = await cases(bad_rating, manager)
    await bad_rating.refused(
        "POST", f"/api/v1/followups/{case['id']}/rectify", manager, {"text": ""}, status=422, code="bad_field"
    )


def metric(text: str, name: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(name + " "))
    return float(line.split()[1])


async def test_an_overdue_case_is_flagged_in_the_list_and_in_metrics(bad_rating: Hall) -> None:
    hall, manager = bad_rating, bad_rating.tokens["manager"]
    status, text = await hall.request("GET", "/metrics")
    assert status == 200 and (
        metric(text, "hallctl_followups_open"),
        metric(text, "hallctl_followups_overdue"),
    ) == (1, 0)
    hall.clock.now = at("2026-03-09 09:00")  # the Monday after the Saturday deadline
    [late] = await cases(hall, manager, "overdue")
    assert late["overdue"] is True
    _, text = await hall.request("GET", "/metrics")
    assert metric(text, "hallctl_followups_overdue") == 1
    base = f"/api/v1/followups/{late['id']}"
    await hall.api("POST", f"{base}/rectify", manager, {"text": "已整改"})
    await hall.api("POST", f"{base}/close", manager, {"text": "销号"})
    _, text = await hall.request("GET", "/metrics")
    assert (metric(text, "hallctl_followups_open"), metric(text, "hallctl_followups_overdue")) == (0, 0)
    assert await cases(hall, manager, "overdue") == [] and len(await cases(hall, manager, "closed")) == 1


async def test_the_deadline_and_the_levels_are_settings(
    example_config: HallConfig, db_path: Path, clock: FakeClock
) -> None:
    data = example_config.model_dump(mode="json")
    data["audit"]["followup"] = {"deadline_working_days": 15, "levels": [1, 2, 3]}
    async with run_hall(parse_config(data), db_path, clock) as hall:
        await served_and_rated(hall, 1, 3)  # 基本满意 counts as bad in this province
        [case] = await cases(hall, hall.tokens["manager"])
    # 15 working days after Monday 2 March, Saturdays included: Thursday 19 March
    assert case["level_name"] == "基本满意" and case["due_day"] == "2026-03-19"


# -- the export for the provincial platform ----------------------------------------------------------------


def exported(hall: Hall, now: float, unrated_level: str = "基本满意") -> list[dict[str, Any]]:
    conn = read_only(hall.db_path)
    try:
        data = export_ratings(
            conn,
            SHANGHAI,
            date(2026, 3, 2),
            date(2026, 3, 2),
            hall="demo-district",
            now=now,
            unrated_level=unrated_level,
            unrated_after_days=7,
        )
    finally:
        conn.close()
    assert data["version"] == 1 and data["hall"] == "demo-district"
    items: list[dict[str, Any]] = data["ratings"]
    return items


async def test_the_export_carries_each_rating_with_its_follow_up(bad_rating: Hall) -> None:
    bad, good = exported(bad_rating, at("2026-03-03 09:00"))
    assert (bad["handling_id"], bad["level_name"], bad["window"], bad["clerk"]) == (
        "2026-03-02-A0001",
        "不满意",
        1,
        "c1",
    )
    assert bad["followup"]["state"] == "open" and bad["followup"]["due_day"] == "2026-03-07"
    assert (good["level"], good["source"], good["followup"]) == (5, "keypad", None)
    assert bad["matters"] == ["CBDJ"] and bad["rated_at"].startswith("2026-03-02T09:")


async def test_an_unrated_service_counts_as_the_default_once_its_delay_has_passed(bad_rating: Hall) -> None:
    hall, c3 = bad_rating, bad_rating.tokens["c3"]
    await hall.api("POST", "/api/v1/windows/3/login", c3)
    await hall.api("POST", "/api/v1/tickets", hall.tokens["kiosk"], {"matter": "CBDJ"}, status=201)
    await hall.api("POST", "/api/v1/windows/3/call-next", c3)
    await hall.api("POST", "/api/v1/windows/3/start", c3)
    await hall.api("POST", "/api/v1/windows/3/finish", c3, {"outcome": "completed"})  # and no rating
    assert len(exported(hall, at("2026-03-05 09:00"))) == 2  # three days on: not counted yet
    *_, unrated = exported(hall, at("2026-03-10 09:00"))
    assert (unrated["window"], unrated["level_name"], unrated["level"], unrated["source"]) == (
        3,
        "基本满意",
        3,
        "default",
    )
    assert len(exported(hall, at("2026-03-10 09:00"), unrated_level="none")) == 2


async def test_ratings_export_prints_the_json(bad_rating: Hall) -> None:
    answer = CliRunner().invoke(
        main, ["ratings-export", "--db", str(bad_rating.db_path), "--from", "2026-03-02"]
    )
    assert answer.exit_code == 0, answer.output
    data = json.loads(answer.stdout)
    assert [r["level"] for r in data["ratings"]][:2] == [2, 5]


async def test_the_dashboard_snapshot_counts_open_and_overdue_cases(bad_rating: Hall) -> None:
    hall, manager = bad_rating, bad_rating.tokens["manager"]
    async with stream(hall, "/api/v1/live", manager) as dashboard:
        snapshot = (await dashboard.next()).data
    assert snapshot["view"] == "dashboard"
    assert snapshot["stats"]["followups"] == {"open": 1, "overdue": 0}
    hall.clock.now = at("2026-03-09 09:00")  # the Monday after the Saturday deadline
    async with stream(hall, "/api/v1/live", hall.tokens["auditor"]) as dashboard:
        snapshot = (await dashboard.next()).data
    assert snapshot["stats"]["followups"] == {"open": 1, "overdue": 1}
