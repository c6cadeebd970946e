"""The audit report over a real hall: GET /api/v1/audit for auditors and managers, hallctl audit-report
from the file, configuration changes journaled as key events, halls compared side by side."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hallctl.audit import chain
from hallctl.cli import main
from hallctl.config import HallConfig, parse_config

from .halltest import EXAMPLE_CONFIG, MINUTE, SHANGHAI, FakeClock, Hall, at, run_hall
from .test_audit_chain import read_only
from .test_audit_followups import served_and_rated


async def a_scripted_morning(hall: Hall) -> dict[str, Any]:
    """Clerk c1 recalls three times and marks a no-show, serves two, transfers one; the manager voids a
    ticket, calls one out of order to window 2 (served there) and changes window 3's profile."""
    kiosk, manager, c1, c2 = (hall.tokens[k] for k in ("kiosk", "manager", "c1", "c2"))
    for n in (1, 2):
        await hall.api("POST", f"/api/v1/windows/{n}/login", hall.tokens[f"c{n}"])
    tickets = []
    for matter in ("CBDJ", "CBDJ", "CBDJ", "CBDJ", "CBDJ", "CBDJ"):
        hall.clock.advance(MINUTE)
        tickets.append(await hall.api("POST", "/api/v1/tickets", kiosk, {"matter": matter}, status=201))
    await hall.api("POST", "/api/v1/windows/1/call-next", c1)
    for _ in range(3):
        await hall.api("POST", "/api/v1/windows/1/recall", c1)
    await hall.api("POST", "/api/v1/windows/1/no-show", c1)
    for _ in range(2):
        await hall.api("POST", "/api/v1/windows/1/call-next", c1)
        await hall.api("POST", "/api/v1/windows/1/start", c1)
        hall.clock.advance(5 * MINUTE)
        await hall.api("POST", "/api/v1/windows/1/finish", c1, {"outcome": "completed"})
    await hall.api("POST", "/api/v1/windows/1/call-next", c1)
    await hall.api("POST", "/api/v1/windows/1/transfer", c1, {"matters": ["JFJS"]})
    await hall.api("POST", f"/api/v1/tickets/{tickets[5]['id']}/void", manager, {"reason": "重复取号"})
    await hall.api(
        "POST", "/api/v1/windows/2/call-ticket", manager, {"ticket": tickets[4]["id"], "reason": "老人优先"}
    )
    await hall.api("POST", "/api/v1/windows/2/start", c2)
    hall.clock.advance(5 * MINUTE)
    await hall.api("POST", "/api/v1/windows/2/finish", c2, {"outcome": "completed"})
    await hall.api(
        "PUT", "/api/v1/windows/3/profile", manager, {"profile": "integrated", "reason": "午间调整"}
    )
    return {"tickets": tickets}


@pytest.fixture
async def audited_hall(fresh_hall: Hall) -> Hall:
    await a_scripted_morning(fresh_hall)
    return fresh_hall


async def test_the_auditor_gets_counts_per_class_against_tickets_served(audited_hall: Hall) -> None:
    report = await audited_hall.api("GET", "/api/v1/audit?from=2026-03-02", audited_hall.tokens["auditor"])
    assert (report["from"], report["to"], report["hall"]) == ("2026-03-02", "2026-03-02", "demo-district")
    totals = report["totals"]
    assert totals["served"] == 3
    assert [e["action"] for e in report["key_events"]] == [
        "config.change",
        "ticket.void",
        "ticket.call_out_of_order",
        "window.profile",
    ]
    assert totals["key"] == 4 and totals["in_process"] == 3  # the third recall, the no-show, the transfer
    assert totals["key"] + totals["in_process"] + totals["general"] == audited_hall.rows("journal")
    assert totals["key_per_100_served"] == pytest.approx(133.33)
    clerks = {a["actor"]: a for a in report["by_actor"] if a["role"] == "clerk"}
    assert (clerks["c1"]["served"], clerks["c1"]["in_process"], clerks["c2"]["served"]) == (2, 3, 1)
    windows = {w["window"]: w for w in report["by_window"]}
    assert (windows[1]["served"], windows[2]["served"], windows[2]["key"], windows[3]["key"]) == (2, 1, 1, 1)
    assert [d["day"] for d in report["by_day"]] == ["2026-03-02"] and report["by_day"][0]["served"] == 3
    void = report["key_events"][1]
    assert (void["actor"], void["role"], void["detail"]["reason"]) == ("test manager", "manager", "重复取号")


async def test_the_report_anchors_are_the_chains_and_the_chain_is_checked(audited_hall: Hall) -> None:
    report = await audited_hall.api("GET", "/api/v1/audit", audited_hall.tokens["manager"])
    conn = read_only(audited_hall.db_path)
    truth = chain.verify(conn, SHANGHAI)
    conn.close()
    assert report["chain"]["ok"] is True and report["chain"]["rows"] == truth.rows
    assert report["anchors"] == [a.as_dict() for a in truth.anchors]
    assert report["by_day"][0]["anchor"] == truth.anchors[0].as_dict()


async def test_a_routine_morning_raises_no_anomaly_but_a_bad_out_of_order_call_does(
    audited_hall: Hall,
) -> None:
    hall = audited_hall
    report = await hall.api("GET", "/api/v1/audit", hall.tokens["auditor"])
    assert report["anomalies"] == []
    hall.clock.advance(MINUTE)
    older = await hall.api("POST", "/api/v1/tickets", hall.tokens["kiosk"], {"matter": "CBDJ"}, status=201)
    hall.clock.advance(MINUTE)
    younger = await hall.api("POST", "/api/v1/tickets", hall.tokens["kiosk"], {"matter": "CBDJ"}, status=201)
    await hall.api(
        "POST",
        "/api/v1/windows/2/call-ticket",
        hall.tokens["manager"],
        {"ticket": younger["id"], "reason": "x"},
    )
    report = await hall.api("GET", "/api/v1/audit", hall.tokens["auditor"])
    assert [a["rule"] for a in report["anomalies"]] == ["out_of_order"]
    numbers = [row.get("number") for row in report["anomalies"][0]["evidence"]]
    assert numbers == [younger["number"], older["number"]]


async def test_the_printable_report_is_self_contained_html_with_a_chart_per_day(audited_hall: Hall) -> None:
    response = await audited_hall.client.get(
        "/api/v1/audit?format=html", headers={"Authorization": f"Bearer {audited_hall.tokens['auditor']}"}
    )
    assert response.status == 200 and response.content_type == "text/html"
    page = await response.text()
    assert page.startswith("<!doctype html>") and page.count("<svg") == 1
    for heading in ("汇总", "重点审计", "异常", "每日锚点"):
        assert heading in page
    for external in ("<script", "<link", "<img", "src=", "url(", "@import"):
        assert external not in page


async def test_the_csv_holds_counts_and_anchors_under_one_header(audited_hall: Hall) -> None:
    response = await audited_hall.client.get(
        "/api/v1/audit?format=csv", headers={"Authorization": f"Bearer {audited_hall.tokens['auditor']}"}
    )
    assert response.status == 200 and response.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    counts = [r for r in rows if r["record"] == "count"]
    assert sum(int(r["served"]) for r in counts) == 3
    assert [r["day"] for r in rows if r["record"] == "anchor"] == ["2026-03-02"]


@pytest.mark.parametrize("role", ["kiosk", "clerk", "display", "casesys", "booking"])
async def test_only_auditors_and_managers_read_the_audit(fresh_hall: Hall, role: str) -> None:
    token = fresh_hall.tokens["c1" if role == "clerk" else role]
    await fresh_hall.refused("GET", "/api/v1/audit", token, status=403, code="role_forbidden")


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("from=yesterday", "bad_query"),
        ("from=9999-12-31", "bad_query"),
        ("from=2026-03-02&to=2026-03-01", "bad_query"),
        ("from=2026-01-01&to=2026-12-31", "range_too_long"),
        ("format=pdf", "bad_query"),
    ],
)
async def test_a_wrong_range_or_format_is_a_422_naming_it(fresh_hall: Hall, query: str, code: str) -> None:
    await fresh_hall.refused(
        "GET", f"/api/v1/audit?{query}", fresh_hall.tokens["auditor"], status=422, code=code
    )


# -- the command line ----------------------------------------------------------------------------------


def audit_report(*args: str) -> Any:
    return CliRunner().invoke(main, ["audit-report", *args])


async def test_audit_report_prints_only_json_with_format_json(audited_hall: Hall) -> None:
    api = await audited_hall.api("GET", "/api/v1/audit", audited_hall.tokens["auditor"])
    answer = audit_report("--db", str(audited_hall.db_path), "--from", "2026-03-02", "--format", "json")
    assert answer.exit_code == 0, answer.output
    report = json.loads(answer.stdout)
    assert report["totals"] == api["totals"] and report["anchors"] == api["anchors"]
    assert report["settings"].startswith("the configuration recorded at journal seq")


async def test_audit_report_writes_a_printable_page(audited_hall: Hall, tmp_path: Path) -> None:
    page = tmp_path / "audit.html"
    answer = audit_report(
        "--db", str(audited_hall.db_path), "--from", "2026-03-01", "--to", "2026-03-02", "--output", str(page)
    )
    assert answer.exit_code == 0, answer.output
    text = page.read_text(encoding="utf-8")
    assert text.count("<svg") == 1 and "2026-03-01" in text and "无操作" in text  # Sunday: nothing


@pytest.fixture
def strict_config(tmp_path: Path) -> Path:
    """The example hall's file with an [audit.classes] that makes every service a key event."""
    strict = tmp_path / "strict.toml"
    source = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    strict.write_text(
        source + '\n[audit.classes]\nkey = ["ticket.finish"]\nin_process = []\n', encoding="utf-8"
    )
    return strict


async def test_audit_report_judges_by_the_configuration_it_is_given(
    audited_hall: Hall, strict_config: Path
) -> None:
    answer = audit_report(
        "--db",
        str(audited_hall.db_path),
        "--from",
        "2026-03-02",
        "--format",
        "json",
        "--config",
        str(strict_config),
    )
    assert answer.exit_code == 0, answer.output
    totals = json.loads(answer.stdout)["totals"]
    assert (totals["key"], totals["in_process"]) == (3, 1)  # the services; the third recall still


async def test_several_halls_compare_side_by_side(
    example_config: HallConfig, tmp_path: Path, clock: FakeClock
) -> None:
    files = []
    for name in ("east", "west"):
        data = example_config.model_dump(mode="json")
        data["hall"]["id"] = name
        db_path = tmp_path / f"{name}.db"
        async with run_hall(parse_config(data), db_path, FakeClock(clock.now)) as hall:
            await a_scripted_morning(hall)
        files += ["--db", str(db_path)]
    answer = audit_report(*files, "--from", "2026-03-02", "--format", "json")
    assert answer.exit_code == 0, answer.output
    data = json.loads(answer.stdout)
    assert [h["hall"] for h in data["comparison"]] == ["east", "west"]
    east = data["comparison"][0]
    assert (east["served"], east["voids_per_100_served"], east["chain_ok"]) == (3, 33.33, True)
    assert len(data["halls"]) == 2


# -- configuration changes --------------------------------------------------------------------------------


def config_changes(db_path: Path) -> list[dict[str, Any]]:
    conn = read_only(db_path)
    try:
        rows = conn.execute("select detail from journal where action = 'config.change' order by seq")
        return [json.loads(r[0]) for r in rows]
    finally:
        conn.close()


async def test_a_start_with_another_configuration_journals_what_changed(
    example_config: HallConfig, db_path: Path, clock: FakeClock
) -> None:
    async with run_hall(example_config, db_path, clock) as hall:
        tokens = hall.tokens
    async with run_hall(example_config, db_path, clock, tokens=tokens):
        pass
    assert len(config_changes(db_path)) == 1  # the first start records it; the same one again is no change
    data = example_config.model_dump(mode="json")
    data["rules"]["max_recalls"] = 5
    async with run_hall(parse_config(data), db_path, clock, tokens=tokens):
        pass
    first, second = config_changes(db_path)
    assert second["changed"] == ["rules"] and second["sha256"] != first["sha256"]
    assert second["settings"]["timezone"] == "Asia/Shanghai"


async def test_unrated_services_count_in_the_report_as_the_default_once_their_delay_has_passed(
    fresh_hall: Hall,
) -> None:
    hall, c3 = fresh_hall, fresh_hall.tokens["c3"]
    await served_and_rated(hall, 1, 2)  # 不满意 on the keypad
    await hall.api("POST", "/api/v1/windows/3/login", c3)
    await hall.api("POST", "/api/v1/tickets", hall.tokens["kiosk"], {"matter": "CBDJ"}, status=201)
    await hall.api("POST", "/api/v1/windows/3/call-next", c3)
    await hall.api("POST", "/api/v1/windows/3/start", c3)
    await hall.api("POST", "/api/v1/windows/3/finish", c3, {"outcome": "completed"})  # and no rating
    query = "/api/v1/audit?from=2026-03-02"
    hall.clock.now = at("2026-03-05 09:00")  # three days on: the unrated service does not count yet
    ratings = (await hall.api("GET", query, hall.tokens["auditor"]))["ratings"]
    assert (ratings["total"], ratings["keypad"], ratings["defaulted"]) == (1, 1, 0)
    assert ratings["satisfied_percent"] == 0
    hall.clock.now = at("2026-03-10 09:00")  # past the example's 7 days: it counts as 基本满意
    ratings = (await hall.api("GET", query, hall.tokens["manager"]))["ratings"]
    assert (ratings["total"], ratings["keypad"], ratings["defaulted"]) == (2, 1, 1)
    assert (ratings["unrated_level"], ratings["unrated_after_days"]) == ("基本满意", 7)
    assert ratings["by_level"] == {"非常满意": 0, "满意": 0, "基本满意": 1, "不满意": 1, "非常不满意": 0}
    assert ratings["satisfied_percent"] == 50
    windows = {w["window"]: (w["keypad"], w["defaulted"]) for w in ratings["by_window"]}
    assert windows == {1: (1, 0), 3: (0, 1)}
    response = await hall.client.get(
        query + "&format=html", headers={"Authorization": f"Bearer {hall.tokens['auditor']}"}
    )
    assert "默认评价 1 条" in await response.text()
