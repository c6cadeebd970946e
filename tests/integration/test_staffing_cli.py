"""``hallctl staffing``: the published Erlang C case, and a day's plan learned from the tickets served."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from hallctl.cli import main
from hallctl.core.erlang import windows_needed

from .halltest import EXAMPLE_CONFIG, MINUTE, Hall


def hallctl(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def test_the_reference_case_prints_the_published_figures() -> None:
    result = hallctl(
        "staffing", "--arrivals-per-hour", "1000", "--service-seconds", "120", "--windows", "40",
        "--target-seconds", "20", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["p_wait"], out["service_level"], out["average_wait_seconds"]) == (0.1907, 0.9372, 3.43)
    assert out["windows"] == 40 and out["offered_load"] == 33.3333


def test_a_target_service_level_recommends_the_fewest_windows() -> None:
    result = hallctl(
        "staffing",
        "--arrivals-per-hour",
        "1000",
        "--service-seconds",
        "120",
        "--service-level",
        "0.9",
        "--json",
    )
    assert result.exit_code == 0, result.output
    rec = json.loads(result.stdout)["recommended"]
    assert rec["service_level"] >= 0.9 and rec["for_service_level"] == 0.9
    fewer = hallctl(
        "staffing", "--arrivals-per-hour", "1000", "--service-seconds", "120",
        "--windows", str(rec["windows"] - 1), "--json",
    )  # fmt: skip
    assert json.loads(fewer.stdout)["service_level"] < 0.9


def test_bad_or_mixed_arguments_are_refused() -> None:
    assert "--service-seconds" in hallctl("staffing", "--arrivals-per-hour", "10").output
    mixed = hallctl(
        "staffing", "--arrivals-per-hour", "10", "--service-seconds", "60", "--config", EXAMPLE_CONFIG
    )
    assert mixed.exit_code != 0 and "--db" in mixed.output
    zero = hallctl("staffing", "--arrivals-per-hour", "10", "--service-seconds", "0", "--windows", "2")
    assert zero.exit_code != 0 and "service_seconds" in zero.output


async def test_a_day_plan_learns_each_hour_from_the_tickets_served(staffed_hall: Hall) -> None:
    hall = staffed_hall  # Monday 2026-03-02, 09:00
    # 09:00-10:00: twelve tickets of 参保登记, each served at window 1 for 4 minutes
    for _ in range(12):
        await hall.api("POST", "/api/v1/tickets", hall.tokens["kiosk"], {"matter": "CBDJ"}, status=201)
        await hall.api("POST", "/api/v1/windows/1/call-next", hall.tokens["c1"])
        await hall.api("POST", "/api/v1/windows/1/start", hall.tokens["c1"])
        hall.clock.advance(4 * MINUTE)
        await hall.api("POST", "/api/v1/windows/1/finish", hall.tokens["c1"])
        hall.clock.advance(1 * MINUTE)
    # 10:00-: three questions at the consultation window (6), 2 minutes each, and one no-show
    for _ in range(3):
        await hall.api("POST", "/api/v1/tickets", hall.tokens["kiosk"], {"matter": "ZX"}, status=201)
        await hall.api("POST", "/api/v1/windows/6/call-next", hall.tokens["c6"])
        hall.clock.advance(2 * MINUTE)
        await hall.api("POST", "/api/v1/windows/6/start", hall.tokens["c6"])
        await hall.api("POST", "/api/v1/windows/6/finish", hall.tokens["c6"])
    await hall.api("POST", "/api/v1/tickets", hall.tokens["kiosk"], {"matter": "ZX"}, status=201)
    await hall.api("POST", "/api/v1/windows/6/call-next", hall.tokens["c6"])
    hall.clock.advance(2 * MINUTE)
    await hall.api("POST", "/api/v1/windows/6/no-show", hall.tokens["c6"])

    result = hallctl(
        "staffing", "--config", EXAMPLE_CONFIG, "--db", hall.db_path,
        "--from", "2026-03-02", "--to", "2026-03-02", "--service-level", "0.8", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["days"] == 1
    hours = {(h["pool"], h["hour"]): h for h in plan["hours"]}
    assert set(hours) == {("integrated", 9), ("consultation", 10)}
    morning = hours[("integrated", 9)]
    assert morning["arrivals_per_hour"] == 12 and morning["service_seconds"] == 240
    assert morning["target_seconds"] == 60 * 20  # 参保登记 promises 20 minutes in the example hall
    expect = windows_needed(12, 240, target_seconds=1200, service_level=0.8)
    assert morning["recommended"]["windows"] == expect.windows
    assert morning["staffed"]["windows"] == 5  # the example hall's integrated windows
    questions = hours[("consultation", 10)]
    assert questions["arrivals_per_hour"] == 4 and questions["service_seconds"] == 120  # the no-show too


def test_a_plan_without_history_says_so(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    assert hallctl("token", "create", "--db", db, "--role", "manager").exit_code == 0
    result = hallctl("staffing", "--config", EXAMPLE_CONFIG, "--db", db, "--json")
    assert result.exit_code != 0 and "no served tickets" in result.output


ARRIVALS = EXAMPLE_CONFIG.parent / "arrivals.example.toml"


def test_a_plan_from_a_forecast_is_checked_by_the_simulator() -> None:
    result = hallctl(
        "staffing",
        "--config",
        EXAMPLE_CONFIG,
        "--arrivals",
        ARRIVALS,
        "--check",
        "2",
        "--seed",
        "4",
        "--json",
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["arrivals"] == str(ARRIVALS) and plan["check_days"] == 2
    assert plan["helping"] == {"integrated": 1}  # the green-channel window does ordinary work too
    busy = [h for h in plan["hours"] if h["pool"] == "integrated" and h["hour"] in (9, 10, 14)]
    assert len(busy) == 3
    for hour in busy:
        assert hour["recommended"]["service_level"] >= 0.8  # Erlang C's promise for the advised count
        simulated = hour["simulated"]
        assert simulated["tickets"] > 0 and 0.0 <= simulated["service_level"] <= 1.0
    text = hallctl("staffing", "--config", EXAMPLE_CONFIG, "--arrivals", ARRIVALS, "--check", "1")
    assert text.exit_code == 0 and "SL simulated" in text.stdout


def test_a_plan_takes_one_source_of_demand(tmp_path: Path) -> None:
    db = tmp_path / "hall.db"
    assert hallctl("token", "create", "--db", db, "--role", "manager").exit_code == 0
    both = hallctl("staffing", "--config", EXAMPLE_CONFIG, "--db", db, "--arrivals", ARRIVALS)
    assert both.exit_code != 0 and "one of --db or --arrivals" in both.output
