"""GET /api/v1/stats over a period: from/to, group_by, rollups against raw tickets, CSV and XLSX, bad
parameters and roles, through the real app on a temporary SQLite file with a fake clock.

The hall below lives three days (Mon 2 – Wed 4 March 2026); each day the same small script runs at the
windows, so every figure is known in advance.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import zipfile
from typing import Any

import pytest

from hallctl.config import HallConfig
from hallctl.core import ratings
from hallctl.core.stats import hall_stats

from .halltest import MINUTE, NINE, FakeClock, Hall, at, run_hall
from .test_metrics import parse, value

DAY = 24 * 3600.0
DAYS = ("2026-03-02", "2026-03-03", "2026-03-04")
SUMMARY_KEYS = ("issued", "served", "no_show", "voided", "wait_seconds", "service_seconds", "service_level")


async def _run_day(hall: Hall, day_start: float) -> None:
    """From 09:00 the clerks c1 and c2 are at windows 1 and 2; A1 参保登记 (CBDJ), B1 社保卡补换 (SBKBH),
    then A2, A3, A4 (CBDJ) come a minute apart. Window 1 serves A1 (waited 4 min, 5 min service, rated
    非常满意) and A2 (14 min, 3 min, rated 不满意); window 2 serves B1 (8 min, 6 min, not rated) and calls
    A3, who does not come (16 min); A4 is voided while waiting."""
    t = hall.tokens
    hall.clock.now = day_start
    for n in (1, 2):
        await hall.api("POST", f"/api/v1/windows/{n}/login", t[f"c{n}"])
    issued = []
    for matter in ("CBDJ", "SBKBH", "CBDJ", "CBDJ", "CBDJ"):
        hall.clock.advance(MINUTE)
        issued.append(await hall.api("POST", "/api/v1/tickets", t["kiosk"], {"matter": matter}, status=201))

    async def serve(window: int, minutes: float) -> str:
        token = t[f"c{window}"]
        called = await hall.api("POST", f"/api/v1/windows/{window}/call-next", token)
        await hall.api("POST", f"/api/v1/windows/{window}/start", token)
        hall.clock.advance(minutes * MINUTE)
        await hall.api("POST", f"/api/v1/windows/{window}/finish", token)
        return str(called["ticket"]["number"])

    hall.clock.now = day_start + 5 * MINUTE
    assert (await serve(1, 5)).startswith("A")
    await _rate(hall, 1, 5)
    assert (await serve(2, 6)).startswith("B")
    hall.clock.advance(MINUTE)
    await serve(1, 3)
    await _rate(hall, 1, 2)
    await hall.api("POST", "/api/v1/windows/2/call-next", t["c2"])
    await hall.api("POST", "/api/v1/windows/2/no-show", t["c2"])
    await hall.api("POST", f"/api/v1/tickets/{issued[4]['id']}/void", t["manager"], {"reason": "打印失败"})


async def _rate(hall: Hall, window: int, level: int) -> None:
    await hall.service.execute(lambda s, now: ratings.rate(s, now, "keypad-test", window, level))


@pytest.fixture
async def three_days(example_config: HallConfig, db_path: Any) -> Any:
    clock = FakeClock(NINE)
    async with run_hall(example_config, db_path, clock) as hall:
        for i in range(3):
            await _run_day(hall, NINE + i * DAY)
        yield hall


def stats_path(**params: str) -> str:
    return "/api/v1/stats?" + "&".join(f"{k}={v}" for k, v in params.items())


async def test_without_parameters_the_answer_keeps_todays_shape(three_days: Hall) -> None:
    hall = three_days
    answer = await hall.api("GET", "/api/v1/stats", hall.tokens["casesys"])
    assert set(answer) == {"hall", "day", "generated_at", "live", "today", "matters", "channels", "windows"}
    assert answer == hall_stats(hall.service.state, hall.service.clock())
    assert answer["today"]["issued"] == 5


async def test_todays_period_by_matter_has_the_live_figures(three_days: Hall) -> None:
    hall = three_days
    live = await hall.api("GET", "/api/v1/stats", hall.tokens["casesys"])
    period = await hall.api("GET", stats_path(group_by="matter"), hall.tokens["casesys"])
    by_matter = {g["matter"]: g for g in period["groups"]}
    assert set(by_matter) == {"CBDJ", "SBKBH"}
    for code, group in by_matter.items():
        today = live["matters"][code]["today"]
        assert {k: group[k] for k in SUMMARY_KEYS} == {k: today[k] for k in SUMMARY_KEYS}
    assert {k: period["total"][k] for k in SUMMARY_KEYS} == {k: live["today"][k] for k in SUMMARY_KEYS}


async def test_three_days_read_the_same_from_rollups_as_from_tickets(three_days: Hall) -> None:
    hall = three_days
    token = hall.tokens["auditor"]
    path = stats_path(**{"from": "2026-03-02", "to": "2026-03-05", "group_by": "day,matter"})
    await hall.service.stats.build_missing()  # the day rolls asked for it already; this waits for it
    assert _covered(hall) == ["2026-03-01", "2026-03-02", "2026-03-03"]  # from the 1st: whole months
    rolled = await hall.api("GET", path, token)
    assert rolled["sources"]["days"] == 2  # the 2nd and 3rd; the 4th is today, read from its tickets
    head_path = stats_path(**{"from": "2026-03-01", "to": "2026-03-04", "group_by": "matter"})
    head = await hall.api("GET", head_path, token)  # days 1-3 of March: one head row per group
    assert head["sources"]["month_heads_and_tails"] == 1 and head["sources"]["days"] == 0

    conn = sqlite3.connect(hall.db_path)
    with conn:
        conn.execute("delete from stats_days")  # the same question, answered from the tickets alone
    conn.close()
    raw = await hall.api("GET", path, token)
    assert raw["sources"]["days"] == 0 and raw["sources"]["raw_tickets"] == 15
    head_raw = await hall.api("GET", head_path, token)
    assert head_raw["sources"]["month_heads_and_tails"] == 0
    for mine, theirs in zip(head["groups"], head_raw["groups"], strict=True):
        for key in ("matter", "issued", "served", "no_show", "voided", "service_level", "ratings"):
            assert mine[key] == theirs[key]
        assert mine["wait_seconds"]["mean"] == theirs["wait_seconds"]["mean"]
    assert rolled["groups"] == raw["groups"]  # one day per group: even the percentiles are exact
    assert rolled["total"]["issued"] == 15 and rolled["total"]["served"] == 9
    assert rolled["total"]["ratings"] == {"5": 3, "4": 0, "3": 0, "2": 3, "1": 0, "unrated": 3}
    for key in ("issued", "served", "no_show", "voided", "service_level", "no_show_rate", "ratings"):
        assert rolled["total"][key] == raw["total"][key]
    for part in ("wait_seconds", "service_seconds"):
        for stat in ("count", "mean", "max"):
            assert rolled["total"][part][stat] == raw["total"][part][stat]
    cbdj = [g for g in rolled["groups"] if g["matter"] == "CBDJ"]
    assert [g["day"] for g in cbdj] == list(DAYS)
    assert all(g["issued"] == 4 and g["voided"] == 1 and g["no_show"] == 1 for g in cbdj)
    assert cbdj[0]["no_show_rate"] == 0.25 and cbdj[0]["matter_name"]


async def test_a_second_build_changes_nothing_and_a_rebuild_equals_the_first(three_days: Hall) -> None:
    hall = three_days
    await hall.service.stats.build_missing()
    first = _rollup_rows(hall)
    assert await hall.service.stats.build_missing() == (0, 0)
    conn = sqlite3.connect(hall.db_path)
    with conn:
        conn.execute("delete from stats_days")  # as if the rollups had never been built
    conn.close()
    await hall.service.stats.build_missing()
    assert _rollup_rows(hall) == first


def _covered(hall: Hall) -> list[str]:
    conn = sqlite3.connect(hall.db_path)
    try:
        return [r[0] for r in conn.execute("select day from stats_days order by day")]
    finally:
        conn.close()


def _rollup_rows(hall: Hall) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(hall.db_path)
    try:
        return conn.execute("select * from stats_rollups order by grain, dimension, period, key").fetchall()
    finally:
        conn.close()


async def test_a_changed_ticket_of_a_rolled_up_day_falls_back_to_the_tickets(three_days: Hall) -> None:
    hall = three_days
    await hall.service.stats.build_missing()
    conn = sqlite3.connect(hall.db_path)
    with conn:  # a repair of the file: a no-show of the 2nd turns out to have been voided
        conn.execute("update tickets set state = 'voided' where day = '2026-03-02' and state = 'no_show'")
        covered = [r[0] for r in conn.execute("select day from stats_days where day like '2026-03-0%'")]
    conn.close()
    assert "2026-03-02" not in covered and "2026-03-03" in covered
    answer = await hall.api(
        "GET", stats_path(**{"from": "2026-03-02", "to": "2026-03-03"}), hall.tokens["manager"]
    )
    assert answer["sources"]["days"] == 0
    assert (answer["total"]["no_show"], answer["total"]["voided"]) == (0, 2)
    await hall.service.stats.build_missing()
    again = await hall.api(
        "GET", stats_path(**{"from": "2026-03-02", "to": "2026-03-03"}), hall.tokens["manager"]
    )
    assert again["sources"]["days"] == 1 and again["total"] == answer["total"]


async def test_a_partial_period_counts_the_tickets_issued_in_it_to_exclusive(three_days: Hall) -> None:
    hall = three_days
    await hall.service.stats.build_missing()
    token = hall.tokens["casesys"]
    # tickets are issued at 09:01 .. 09:05 each day; [09:02, 09:04) holds two of them on the 3rd
    answer = await hall.api(
        "GET", stats_path(**{"from": "2026-03-03T09:02", "to": "2026-03-03T09:04"}), token
    )
    assert answer["total"]["issued"] == 2 and answer["sources"]["days"] == 0
    assert answer["from"] == "2026-03-03T09:02:00+08:00" and answer["to"] == "2026-03-03T09:04:00+08:00"
    # the same instants with an explicit offset (the "+" percent-encoded, or sent raw as a space)
    encoded = await hall.api(
        "GET", stats_path(**{"from": "2026-03-03T01:02Z", "to": "2026-03-03T09:04%2B08:00"}), token
    )
    assert encoded["total"] == answer["total"]
    # from the middle of the 2nd to the end of the 3rd: part of one day raw, one whole day rolled up
    answer = await hall.api("GET", stats_path(**{"from": "2026-03-02T09:03", "to": "2026-03-04"}), token)
    assert answer["total"]["issued"] == 3 + 5 and answer["sources"]["days"] == 1


async def test_group_by_each_dimension(three_days: Hall) -> None:
    hall = three_days
    await hall.service.stats.build_missing()
    token = hall.tokens["casesys"]
    span = {"from": "2026-03-02", "to": "2026-03-05"}

    async def groups(by: str) -> list[dict[str, Any]]:
        answer: dict[str, Any] = await hall.api("GET", stats_path(**span, group_by=by), token)
        assert sum(g["issued"] for g in answer["groups"]) == 15 or by == "matter"
        return list(answer["groups"])

    windows = {g["window"]: g["served"] for g in await groups("window")}
    assert windows == {1: 6, 2: 3, None: 0}  # the voided ticket was never at a window
    clerks = {g["clerk"]: g["served"] for g in await groups("clerk")}
    assert clerks == {"c1": 6, "c2": 3, None: 0}
    assert [(g["channel"], g["channel_name"], g["issued"]) for g in await groups("channel")] == [
        ("normal", "普通", 15)
    ]
    assert [(g["hour"], g["issued"]) for g in await groups("hour")] == [(9, 15)]
    assert [(g["day"], g["issued"]) for g in await groups("day")] == [(d, 5) for d in DAYS]
    assert [(g["month"], g["issued"]) for g in await groups("month")] == [("2026-03", 15)]
    by_matter = {g["matter"]: g["issued"] for g in await groups("matter")}
    assert by_matter == {"CBDJ": 12, "SBKBH": 3}


async def test_csv_download_in_chinese_and_english(three_days: Hall) -> None:
    hall = three_days
    token = hall.tokens["casesys"]
    params = {"from": "2026-03-02", "to": "2026-03-05", "group_by": "matter"}
    answer = await hall.api("GET", stats_path(**params), token)
    async with hall.client.get(
        stats_path(**params, format="csv"), headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        assert resp.status == 200 and resp.content_type == "text/csv" and resp.charset == "utf-8"
        assert resp.headers["Content-Disposition"].startswith("attachment; filename=")
        assert resp.headers["Content-Disposition"].endswith('.csv"')
        body = await resp.read()
    assert body.startswith(b"\xef\xbb\xbf")  # a BOM: spreadsheet programs then read UTF-8
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["事项编码", "事项名称", "取号数"]
    assert [r[0] for r in rows[1:]] == ["CBDJ", "SBKBH", "合计"]
    assert rows[1][2] == str(answer["groups"][0]["issued"]) and rows[-1][2] == "15"
    async with hall.client.get(
        stats_path(**params, format="csv", lang="en"), headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        english = list(csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
    assert english[0][:3] == ["matter", "matter name", "issued"] and english[-1][0] == "Total"


async def test_xlsx_download_holds_the_numbers(three_days: Hall) -> None:
    hall = three_days
    token = hall.tokens["manager"]
    params = {"from": "2026-03-02", "to": "2026-03-05", "group_by": "day"}
    async with hall.client.get(
        stats_path(**params, format="xlsx"), headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        assert resp.status == 200
        assert resp.content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        assert resp.headers["Content-Disposition"].endswith('.xlsx"')
        body = await resp.read()
    with zipfile.ZipFile(io.BytesIO(body)) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        strings = book.read("xl/sharedStrings.xml").decode()
    assert "日期" in strings and "取号数" in strings and "2026-03-03" in strings and "合计" in strings
    assert sheet.count("<v>5</v>") >= 3  # each day issued 5
    assert "<v>15</v>" in sheet  # the total


BAD = [
    ({"from": "yesterday"}, "from"),
    ({"from": "2026-03-02", "to": "2026-13-01"}, "to"),
    ({"from": "2026-03-04", "to": "2026-03-02"}, "to"),
    ({"from": "1900-01-01"}, "from"),
    ({"group_by": "weather"}, "group_by"),
    ({"group_by": "matter,window"}, "group_by"),
    ({"group_by": "day,day"}, "group_by"),
    ({"format": "pdf"}, "format"),
    ({"form": "2026-03-02"}, "form"),
    ({"from": "2026-03-02", "to": "2026-03-03", "to ": "x"}, "to "),
]


@pytest.mark.parametrize(("params", "field"), BAD, ids=[f for _, f in BAD])
async def test_a_bad_parameter_is_a_400_naming_it_and_changes_nothing(
    three_days: Hall, params: dict[str, str], field: str
) -> None:
    hall = three_days
    before = (hall.rows("journal"), hall.rows("tickets"), hall.rows("stats_days"))
    error = await hall.refused(
        "GET", stats_path(**params), hall.tokens["casesys"], status=400, code="bad_parameter"
    )
    assert error["field"] == field and field.strip() in error["message"]
    assert (hall.rows("journal"), hall.rows("tickets"), hall.rows("stats_days")) == before


async def test_a_parameter_given_twice_is_refused(three_days: Hall) -> None:
    hall = three_days
    error = await hall.refused(
        "GET",
        "/api/v1/stats?from=2026-03-02&from=2026-03-03",
        hall.tokens["casesys"],
        status=400,
        code="bad_parameter",
    )
    assert error["field"] == "from"


@pytest.mark.parametrize("role", ["kiosk", "display", "booking", "c1"])
async def test_only_the_case_system_managers_and_auditors_read_period_stats(
    three_days: Hall, role: str
) -> None:
    hall = three_days
    path = stats_path(group_by="matter", format="csv")
    await hall.refused("GET", path, hall.tokens[role], status=403, code="role_forbidden")
    for allowed in ("casesys", "manager", "auditor"):
        status, _ = await hall.request("GET", path, hall.tokens[allowed])
        assert status == 200


async def test_a_restart_backfills_the_closed_days(example_config: HallConfig, db_path: Any) -> None:
    clock = FakeClock(NINE)
    async with run_hall(example_config, db_path, clock) as hall:
        await _run_day(hall, NINE)
        tokens = hall.tokens
    clock.now = at("2026-03-03 08:30")
    async with run_hall(example_config, db_path, clock, tokens=tokens) as hall:
        await hall.service.stats.build_missing()  # waits for the start's own pass, then finds nothing
        conn = sqlite3.connect(db_path)
        try:
            tickets = conn.execute("select tickets from stats_days where day = '2026-03-02'").fetchone()
        finally:
            conn.close()
        assert tickets == (5,)
        assert hall.service.stats.days_built >= 1


async def test_metrics_carry_todays_figures_per_matter(three_days: Hall) -> None:
    hall = three_days
    period = await hall.api("GET", stats_path(group_by="matter"), hall.tokens["casesys"])
    async with hall.client.get("/metrics") as resp:
        samples, types = parse(await resp.text())
    assert types["hallctl_today_wait_seconds"] == "gauge"
    for group in period["groups"]:
        matter = group["matter"]
        assert value(samples, "hallctl_today_issued", matter=matter) == group["issued"]
        assert value(samples, "hallctl_today_served", matter=matter) == group["served"]
        assert value(samples, "hallctl_today_no_show_rate", matter=matter) == group["no_show_rate"]
        assert value(samples, "hallctl_today_service_level", matter=matter) == group["service_level"]
        for stat in ("mean", "p50", "p90", "max"):
            assert value(samples, "hallctl_today_wait_seconds", matter=matter, stat=stat) == pytest.approx(
                group["wait_seconds"][stat]
            )
            assert value(samples, "hallctl_today_service_seconds", matter=matter, stat=stat) == pytest.approx(
                group["service_seconds"][stat]
            )
    assert value(samples, "hallctl_today_issued", matter="ZX") == 0  # every configured matter is listed
