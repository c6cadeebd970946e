"""The demo's four weeks of simulated history (hallctl/sim/seed.py): written as the daemon writes tickets,
and enough for the dashboard's advice, its what-if and the period stats on the first start.

The hall's "today" is Monday 2026-03-02 (the fake clock of the other tests), so the seeded past is the
open weekdays from 2026-02-02 to 2026-02-27.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hallctl.audit.commands import verify_journal
from hallctl.config import HallConfig
from hallctl.core.model import TicketState
from hallctl.sim.seed import SeedError, demo_demand, seed_demo_history, simulate_past, write_past
from hallctl.store.rows import ticket_from_row
from hallctl.store.schema import open_db

from .halltest import NINE, FakeClock, at, count_rows, run_hall

TODAY = date(2026, 3, 2)
FIRST, LAST = "2026-02-02", "2026-02-27"  # the weekdays of the 28 days before; Sunday 1 March is closed
MONDAYS = ("2026-02-02", "2026-02-09", "2026-02-16", "2026-02-23")


@pytest.fixture(scope="module")
def seeded_file(tmp_path_factory: pytest.TempPathFactory, example_config: HallConfig) -> Path:
    """A new hall file with the demo's history, seeded once for the module; each test takes a copy."""
    path = tmp_path_factory.mktemp("seeded") / "hall.db"
    conn = open_db(path).conn
    said: list[tuple[str, bool]] = []
    seed_demo_history(conn, example_config, NINE, say=lambda text, partial: said.append((text, partial)))
    conn.close()
    assert any(partial for _, partial in said) and "tickets" in said[-1][0]  # progress, then a summary
    return path


@pytest.fixture
def seeded_db(seeded_file: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "hall.db"
    source, target = sqlite3.connect(seeded_file), sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.close()
    return copy


def _read(path: Path, sql: str, *params: object) -> list[Any]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_the_past_is_the_weekdays_before_today_numbered_as_the_daemon_numbers(seeded_db: Path) -> None:
    days = [d for (d,) in _read(seeded_db, "select distinct day from tickets order by day")]
    assert days[0] == FIRST and days[-1] == LAST and len(days) == 20
    assert all(date.fromisoformat(d).weekday() < 5 for d in days)
    total = count_rows(seeded_db, "tickets")
    assert total > 20 * 300  # the example profile brings about 470 citizens a day
    # Numbers: unique per day and prefix, gap-free from 1; track tokens unique; ids 1..n for the daemon.
    ((distinct_numbers, distinct_tokens, max_id),) = _read(
        seeded_db,
        "select count(distinct day || prefix || seq), count(distinct track_token), max(id) from tickets",
    )
    assert distinct_numbers == distinct_tokens == max_id == total
    for day, prefix, low, high, n in _read(
        seeded_db, "select day, prefix, min(seq), max(seq), count(*) from tickets group by day, prefix"
    ):
        assert (low, high) == (1, n), (day, prefix)
    conn = open_db(seeded_db).conn
    conn.row_factory = sqlite3.Row
    tickets = [ticket_from_row(r) for r in conn.execute("select * from tickets")]
    conn.close()
    # Every ticket is over: none of them may join today's queue when the daemon loads the file.
    assert Counter(t.state for t in tickets).keys() <= {TicketState.DONE, TicketState.NO_SHOW}
    assert all(t.number == f"{t.prefix}{t.seq:04d}" for t in tickets)
    assert {t.clerk for t in tickets if t.window is not None} <= {f"clerk{n}" for n in range(1, 9)}
    assert {t.channel for t in tickets} == {"normal", "enterprise", "green", "appointment"}
    # Ratings only for services finished at a window with a keypad, pressed within its arm time.
    for ticket, window, armed, rated, state, finished in _read(
        seeded_db,
        "select r.ticket, r.window, r.armed_at, r.rated_at, t.state, t.finished_at "
        "from ratings r join tickets t on t.id = r.ticket",
    ):
        assert state == "done" and armed == finished and 1 < rated - armed < 60 and window <= 5, ticket
    ((booked,),) = _read(seeded_db, "select count(*) from appointments where ticket is null")
    assert booked == 0
    assert count_rows(seeded_db, "journal") == 0  # the past is simulated, not journaled


def test_the_same_seed_gives_the_same_past_but_new_track_tokens(example_config: HallConfig) -> None:
    demand, _ = demo_demand(example_config)
    one = simulate_past(example_config, demand, TODAY, days=7)
    two = simulate_past(example_config, demand, TODAY, days=7)
    assert one.days == two.days == ("2026-02-23", "2026-02-24", "2026-02-25", "2026-02-26", "2026-02-27")
    assert [(t.number, t.issued_at, t.finished_at) for t in one.tickets] == [
        (t.number, t.issued_at, t.finished_at) for t in two.tickets
    ]
    assert not {t.track_token for t in one.tickets} & {t.track_token for t in two.tickets}


def test_a_file_that_holds_tickets_is_never_seeded(seeded_db: Path, example_config: HallConfig) -> None:
    before = count_rows(seeded_db, "tickets"), count_rows(seeded_db, "ratings")
    demand, _ = demo_demand(example_config)
    past = simulate_past(example_config, demand, TODAY, days=3)
    conn = open_db(seeded_db).conn
    with pytest.raises(SeedError, match="already holds tickets"):
        write_past(conn, past)
    conn.close()
    assert (count_rows(seeded_db, "tickets"), count_rows(seeded_db, "ratings")) == before


async def test_the_first_start_has_advice_a_what_if_and_period_stats(
    seeded_db: Path, example_config: HallConfig
) -> None:
    per_day: dict[str, int] = dict(_read(seeded_db, "select day, count(*) from tickets group by day"))
    clock = FakeClock(at("2026-03-02 09:00"))
    async with run_hall(example_config, seeded_db, clock) as hall:
        manager = hall.tokens["manager"]
        advice = await hall.api("GET", "/api/v1/advice/staffing", manager)
        assert advice["learned_from"] == {
            "from": "2026-02-02",
            "to": "2026-03-01",
            "days": 4,
            "basis": "weekday",
        }
        pools = {h["pool"] for h in advice["hours"]}
        assert {"integrated", "consultation", "dedicated"} <= pools
        hours = {h["hour"] for h in advice["hours"] if h["pool"] == "integrated"}
        assert {9, 10, 14} <= hours and all(h["recommended"]["windows"] >= 1 for h in advice["hours"])

        for n in (1, 2, 3):  # three clerks at the integrated windows, as on a thin morning
            await hall.api("POST", f"/api/v1/windows/{n}/login", hall.tokens[f"c{n}"])
        what_if = await hall.api("GET", "/api/v1/advice/what-if?kind=integrated&extra=1&from=10:00", manager)
        assert what_if["learned_from"] == {"from": "2026-02-02", "to": "2026-03-01"}
        assert {10, 11, 14, 15, 16} <= {h["hour"] for h in what_if["hours"]}  # the rest of the day
        assert what_if["mean_wait_minutes"]["with_change"] < what_if["mean_wait_minutes"]["now"]

        path = "/api/v1/stats?from=2026-02-01&to=2026-03-01&group_by=day"
        by_tickets = await hall.api("GET", path, hall.tokens["casesys"])
        issued = {g["day"]: g["issued"] for g in by_tickets["groups"] if g["issued"]}
        assert issued == per_day
        assert by_tickets["total"]["served"] > 0 and by_tickets["total"]["ratings"]["5"] > 0

        await hall.service.stats.build_missing()  # the start asked for the pass; this waits for it
        rolled = _read(seeded_db, "select day from stats_days where day between ? and ?", FIRST, LAST)
        assert {d for (d,) in rolled} >= set(per_day)
        from_rollups = await hall.api("GET", path, hall.tokens["casesys"])
        assert from_rollups["sources"]["days"] >= 20 and from_rollups["sources"]["raw_tickets"] == 0
        counts = ("day", "issued", "served", "no_show", "ratings")
        assert [{k: g[k] for k in counts} for g in from_rollups["groups"]] == [
            {k: g[k] for k in counts} for g in by_tickets["groups"]
        ]

        # Today's numbering starts afresh; ids go on after the past's.
        ticket = await hall.api(
            "POST", "/api/v1/tickets", hall.tokens["kiosk"], {"matter": "CBDJ"}, status=201
        )
        assert ticket["number"] == "A0001" and ticket["id"] == sum(per_day.values()) + 1
    result = CliRunner().invoke(verify_journal, ["--db", str(seeded_db)])
    assert result.exit_code == 0, result.output


# -- the `hallctl demo` command itself --------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_demo(directory: Path, *options: str) -> str:
    """Start ``hallctl demo`` in ``directory``, wait until it answers /healthz, stop it; its log."""
    port = _free_port()
    log_path = directory.parent / f"{directory.name}-{time.monotonic_ns()}.log"  # this run's alone
    command = [str(Path(sys.executable).with_name("hallctl")), "demo", "--dir", str(directory)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--port", str(port), *options],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: the teardown reaches whatever it started
        )
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"the demo exited: {log_path.read_text(errors='replace')}"
            assert time.monotonic() < deadline, f"no answer: {log_path.read_text(errors='replace')}"
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                direct.open(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer,
            ):
                if answer.status == 200:
                    break
            time.sleep(0.1)  # polling a port: there is no event to wait for
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    return log_path.read_text(errors="replace")


@pytest.mark.slow
def test_the_demo_seeds_a_new_folder_only_and_not_with_no_history(tmp_path: Path) -> None:
    demo = tmp_path / "demo-hall"
    log = _run_demo(demo)
    assert "demo history:" in log and "(simulated: no journal rows)" in log
    seeded = count_rows(demo / "hall.db", "tickets")
    assert seeded > 20 * 300 and count_rows(demo / "hall.db", "ratings") > 0
    result = CliRunner().invoke(verify_journal, ["--db", str(demo / "hall.db")])
    assert result.exit_code == 0, result.output

    log = _run_demo(demo)  # an existing folder keeps its data: nothing seeded again
    assert "demo history" not in log
    assert count_rows(demo / "hall.db", "tickets") == seeded

    bare = tmp_path / "bare-hall"
    log = _run_demo(bare, "--no-history")
    assert count_rows(bare / "hall.db", "tickets") == 0 and "demo history" not in log
