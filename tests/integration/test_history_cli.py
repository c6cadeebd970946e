"""``hallctl export-history`` and ``hallctl replay`` on a real hall's file: a morning run through the HTTP
API is exported, replayed, and comes out with the very waits the citizens had; a bad history file is
refused with its line and column, and leaves no output behind."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from hallctl.cli import main
from hallctl.config import HallConfig
from hallctl.history.events import COLUMNS

from .halltest import EXAMPLE_CONFIG, MINUTE, Hall, credit_code


def hallctl(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


async def serve_a_morning(hall: Hall) -> dict[str, float | None]:
    """Issue, call, serve, void and miss tickets through the API; the wait each ticket had (None when
    nobody came), by ticket id."""
    kiosk, manager = hall.tokens["kiosk"], hall.tokens["manager"]
    issued: dict[str, dict[str, Any]] = {}
    for name, body in [
        ("cbdj", {"matter": "CBDJ"}),
        ("jfjs", {"matter": "JFJS"}),
        ("green", {"matter": "SBKBH", "channel": "green"}),
        ("proof", {"matter": "CBZM"}),
        ("question", {"matter": "ZX"}),
        ("mistake", {"matter": "CBDJ"}),
        ("firm", {"matter": "BJSQ", "channel": "enterprise", "credit_code": credit_code()}),
    ]:
        hall.clock.advance(30)
        issued[name] = await hall.api("POST", "/api/v1/tickets", kiosk, body, status=201)
    waits: dict[str, float | None] = {}

    async def call(window: int) -> dict[str, Any]:
        answer = await hall.api("POST", f"/api/v1/windows/{window}/call-next", hall.tokens[f"c{window}"])
        ticket: dict[str, Any] = answer["ticket"]
        waits[str(ticket["id"])] = seconds(ticket["called_at"]) - seconds(ticket["issued_at"])
        return ticket

    async def serve(window: int, minutes: float) -> dict[str, Any]:
        ticket = await call(window)
        await hall.api("POST", f"/api/v1/windows/{window}/start", hall.tokens[f"c{window}"])
        hall.clock.advance(minutes * MINUTE)
        await hall.api("POST", f"/api/v1/windows/{window}/finish", hall.tokens[f"c{window}"])
        return ticket

    hall.clock.advance(2 * MINUTE)
    assert (await serve(1, 4))["id"] == issued["green"]["id"]  # green first
    assert (await serve(2, 6))["id"] == issued["cbdj"]["id"]
    assert (await serve(6, 3))["id"] == issued["question"]["id"]  # the consultation window
    assert (await serve(7, 20))["id"] == issued["firm"]["id"]  # the large-enterprise window
    await hall.api("POST", f"/api/v1/tickets/{issued['mistake']['id']}/void", manager, {"reason": "重复取号"})
    assert (await serve(1, 5))["id"] == issued["jfjs"]["id"]
    missed = await call(3)
    assert missed["id"] == issued["proof"]["id"]
    await hall.api("POST", "/api/v1/windows/3/no-show", hall.tokens["c3"])
    waits[str(missed["id"])] = None
    assert str(issued["mistake"]["id"]) not in waits
    return waits


async def test_a_morning_exported_and_replayed_gives_back_the_waits_it_had(
    staffed_hall: Hall, tmp_path: Path
) -> None:
    waits = await serve_a_morning(staffed_hall)
    history, predictions = tmp_path / "events.csv", tmp_path / "predictions.csv"

    exported = hallctl(
        "export-history", "--db", staffed_hall.db_path, "--out", history, "--config", EXAMPLE_CONFIG
    )
    assert exported.exit_code == 0, exported.output
    assert "6 tickets" in exported.stderr and "1 voided" in exported.stderr
    rows = read_csv(history)
    assert list(rows[0]) == list(COLUMNS)
    assert {r["ticket_id"] for r in rows} == set(waits)  # the voided ticket is left out
    by_id = {r["ticket_id"]: r for r in rows}
    missed = next(t for t, w in waits.items() if w is None)
    assert (by_id[missed]["called_at"], by_id[missed]["finished_at"], by_id[missed]["window"]) == ("", "", "")
    assert by_id[min(by_id, key=int)]["issued_at"].endswith("+08:00")  # the hall's zone
    assert sorted(r["window"] for r in rows if r["window"]) == ["1", "1", "2", "6", "7"]
    assert {r["channel"] for r in rows} == {"normal", "green", "enterprise"}

    replayed = hallctl(
        "replay", "--config", EXAMPLE_CONFIG, "--log", history, "--out", predictions, "--json", "--seed", "5"
    )
    assert replayed.exit_code == 0, replayed.output
    figures = json.loads(replayed.stdout)  # nothing but JSON on stdout; progress went to stderr
    assert "replaying 6 tickets" in replayed.stderr
    assert figures["tickets"] == 6 and figures["overall"]["n"] == 5
    assert set(figures["overall"]["predictors"]) == {
        "forecast",
        "people_ahead",
        "head_of_line",
        "last_to_enter",
    }
    assert set(figures["matters"]) == {"CBDJ", "JFJS", "SBKBH", "ZX", "BJSQ", "CBZM"}
    assert figures["matters"]["CBZM"]["n"] == 0  # its one ticket was a no-show: nothing to score
    assert {c: f["n"] for c, f in figures["channels"].items()} == {"normal": 3, "green": 1, "enterprise": 1}
    out = read_csv(predictions)
    assert list(out[0]) == ["ticket_id", "predicted_wait_s", "actual_wait_s"]
    assert {r["ticket_id"]: (float(r["actual_wait_s"]) if r["actual_wait_s"] else None) for r in out} == waits
    assert all(float(r["predicted_wait_s"]) >= 0 for r in out)


async def test_the_table_names_each_predictor_and_the_export_can_keep_to_some_days(
    staffed_hall: Hall, tmp_path: Path
) -> None:
    await serve_a_morning(staffed_hall)
    history, predictions = tmp_path / "events.csv", tmp_path / "predictions.csv"
    other_days = hallctl(
        "export-history", "--db", staffed_hall.db_path, "--out", history, "--from", "2026-03-03"
    )
    assert other_days.exit_code == 0, other_days.output
    assert read_csv(history) == []  # only the header: nothing happened after the 2nd
    that_day = hallctl(
        "export-history",
        "--db",
        staffed_hall.db_path,
        "--out",
        history,
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-02",
    )
    assert that_day.exit_code == 0 and len(read_csv(history)) == 6
    table = hallctl("replay", "--config", EXAMPLE_CONFIG, "--log", history, "--out", predictions)
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    for label in ("forecast", "people ahead", "head of line", "last to enter"):
        assert label in lines[0]
    assert any(line.startswith("overall") for line in lines)


# -- refusals ---------------------------------------------------------------------------------------------
HEADER = ",".join(COLUMNS)
GOOD = "1,CBDJ,normal,2026-03-02 09:00,2026-03-02 09:05,2026-03-02 09:10,1"


@pytest.mark.parametrize(
    ("rows", "where"),
    [
        ([GOOD, "2,CBDJ,bus,2026-03-02 09:01,,,"], "line 3, column channel"),
        ([GOOD, "2,CBDJ,normal,09:01 on Monday,,,"], "line 3, column issued_at"),
        (["1,ZZZ,normal,2026-03-02 09:00,,,", GOOD.replace("1,", "2,", 1)], "line 2, column matter"),
        ([GOOD.replace(",1", ",12")], "line 2, column window"),
        ([GOOD, GOOD], "line 3, column ticket_id"),
    ],
    ids=["channel", "time", "unknown matter", "unknown window", "repeated id"],
)
def test_a_bad_history_is_refused_by_line_and_column_and_nothing_is_written(
    tmp_path: Path, rows: list[str], where: str
) -> None:
    history, predictions = tmp_path / "events.csv", tmp_path / "predictions.csv"
    history.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    result = hallctl("replay", "--config", EXAMPLE_CONFIG, "--log", history, "--out", predictions)
    assert result.exit_code != 0
    assert where in result.stderr and str(history) in result.stderr, result.stderr
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv"]


def test_export_refuses_days_given_backwards_and_a_file_that_is_not_a_hall(tmp_path: Path) -> None:
    out = tmp_path / "events.csv"
    backwards = hallctl(
        "export-history",
        "--db",
        tmp_path / "x.db",
        "--out",
        out,
        "--from",
        "2026-03-05",
        "--to",
        "2026-03-01",
    )
    assert backwards.exit_code != 0 and "--to" in backwards.stderr
    bad_date = hallctl("export-history", "--db", tmp_path / "x.db", "--out", out, "--from", "2026-13-01")
    assert bad_date.exit_code != 0 and "--from" in bad_date.stderr
    missing = hallctl("export-history", "--db", tmp_path / "x.db", "--out", out)
    assert missing.exit_code != 0 and "no such database" in missing.stderr
    not_a_hall = tmp_path / "notes.db"
    not_a_hall.write_text("shopping list\n")
    refused = hallctl("export-history", "--db", not_a_hall, "--out", out)
    assert refused.exit_code != 0 and "not a hallctl database" in refused.stderr
    assert not out.exists()


def test_a_simulated_week_exports_and_replays_with_questions_taken_by_overflow(
    example_config: HallConfig, tmp_path: Path
) -> None:
    from datetime import date

    from hallctl.sim.seed import demo_demand, simulate_past, write_past
    from hallctl.store.schema import open_db

    db = tmp_path / "hall.db"
    conn = open_db(db).conn
    try:
        demand, _ = demo_demand(example_config)
        with conn:
            write_past(conn, simulate_past(example_config, demand, date(2026, 3, 5), days=3))
    finally:
        conn.close()
    events = tmp_path / "events.csv"
    assert hallctl("export-history", "--db", db, "--out", events, "--config", EXAMPLE_CONFIG).exit_code == 0
    with events.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    integrated = {str(w.id) for w in example_config.windows if w.kind == "integrated"}
    # the busy simulated days had idle integrated windows answer questions (consultation_overflow) ...
    assert any(r["matter"] == "ZX" and r["window"] in integrated for r in rows)
    # ... and the replay takes the hall's own export as it is
    out = tmp_path / "predictions.csv"
    result = hallctl("replay", "--config", EXAMPLE_CONFIG, "--log", events, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as f:
        assert sum(1 for _ in csv.DictReader(f)) == len(rows)
