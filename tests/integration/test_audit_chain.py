"""The tamper-evident journal over a real file: the writer chains every row in commit order, a normal day
verifies clean, and a row changed, removed or added directly in SQLite is named by verify-journal."""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from click.testing import CliRunner

from hallctl.audit import chain
from hallctl.cli import main
from hallctl.config import HallConfig
from hallctl.store import schema
from hallctl.store.rows import INSERT_JOURNAL
from hallctl.store.writer import StoreError, Writer

from .halltest import MINUTE, SHANGHAI, FakeClock, Hall, run_hall

COLUMNS = (
    "at",
    "actor",
    "role",
    "action",
    "window",
    "ticket",
    "before",
    "after",
    "detail",
    "prev_hash",
    "hash",
)


async def a_morning(hall: Hall) -> None:
    """Tickets, calls, a recall, a no-show, services with ratings armed, a transfer, a void and a
    manager's out-of-order call: every kind of row the journal holds on a working day."""
    kiosk, manager = hall.tokens["kiosk"], hall.tokens["manager"]
    for n in (1, 2):
        await hall.api("POST", f"/api/v1/windows/{n}/login", hall.tokens[f"c{n}"])
    tickets = []
    for matter in ("CBDJ", "JFJS", "CBDJ", "CBDJ", "SBKBH", "CBDJ"):
        hall.clock.advance(MINUTE)
        tickets.append(await hall.api("POST", "/api/v1/tickets", kiosk, {"matter": matter}, status=201))
    c1 = hall.tokens["c1"]
    await hall.api("POST", "/api/v1/windows/1/call-next", c1)
    await hall.api("POST", "/api/v1/windows/1/recall", c1)
    await hall.api("POST", "/api/v1/windows/1/no-show", c1)
    for _ in range(2):
        hall.clock.advance(MINUTE)
        await hall.api("POST", "/api/v1/windows/1/call-next", c1)
        await hall.api("POST", "/api/v1/windows/1/start", c1)
        hall.clock.advance(4 * MINUTE)
        await hall.api("POST", "/api/v1/windows/1/finish", c1, {"outcome": "completed"})
    await hall.api("POST", "/api/v1/windows/1/call-next", c1)
    await hall.api("POST", "/api/v1/windows/1/transfer", c1, {"matters": ["JFJS"]})
    await hall.api("POST", f"/api/v1/tickets/{tickets[-1]['id']}/void", manager, {"reason": "重复取号"})
    await hall.api(
        "POST", "/api/v1/windows/2/call-ticket", manager, {"ticket": tickets[4]["id"], "reason": "老人优先"}
    )


def read_only(db_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)


def verified(db_path: Path) -> chain.Verification:
    conn = read_only(db_path)
    try:
        return chain.verify(conn, SHANGHAI)
    finally:
        conn.close()


def tamper(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> None:
    """As someone with the file would: drop the journal's triggers first, then change it."""
    conn = sqlite3.connect(db_path)
    try:
        for (name,) in conn.execute(
            "select name from sqlite_master where type = 'trigger' and tbl_name = 'journal'"
        ):
            conn.execute(f'drop trigger "{name}"')
        conn.execute(sql, params)
        conn.commit()
    finally:
        conn.close()


def verify_cli(db_path: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["verify-journal", "--db", str(db_path), *args])


@pytest.fixture
async def a_days_file(fresh_hall: Hall) -> Path:
    """The file of the example hall after a working morning, the daemon stopped."""
    await a_morning(fresh_hall)
    return fresh_hall.db_path


async def test_a_normal_day_verifies_clean_and_every_row_is_chained(fresh_hall: Hall) -> None:
    await a_morning(fresh_hall)
    result = verified(fresh_hall.db_path)
    assert result.ok, result.breaks
    assert result.rows == fresh_hall.rows("journal") > 20
    conn = read_only(fresh_hall.db_path)
    rows = conn.execute("select seq, prev_hash, hash from journal order by seq").fetchall()
    conn.close()
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    assert all(prev == before[2] for before, (_, prev, _) in itertools.pairwise(rows))
    assert [a.day for a in result.anchors] == ["2026-03-02"] and result.anchors[0].hash == rows[-1][2]


async def test_verify_journal_prints_ok_the_row_count_and_the_anchor(a_days_file: Path) -> None:
    answer = verify_cli(a_days_file)
    rows = verified(a_days_file).rows
    assert answer.exit_code == 0, answer.output
    assert answer.output.startswith(f"OK: {rows} rows (seq 1..{rows})")
    assert f"2026-03-02  seq {rows}" in answer.output


@pytest.mark.parametrize("column", COLUMNS)
async def test_editing_any_column_of_a_row_makes_verify_fail_at_that_row(
    a_days_file: Path, column: str
) -> None:
    value = {"at": "at + 1", "window": "coalesce(window, 0) + 1", "ticket": "coalesce(ticket, 0) + 1"}.get(
        column, f"coalesce({column}, '') || 'x'"
    )
    tamper(a_days_file, f"update journal set {column} = {value} where seq = 17")
    answer = verify_cli(a_days_file)
    assert answer.exit_code == 1
    assert answer.output.startswith("BROKEN: the first broken row is seq 17:"), answer.output


async def test_deleting_a_row_makes_verify_fail_at_the_row_after_it(a_days_file: Path) -> None:
    tamper(a_days_file, "delete from journal where seq = 12")
    answer = verify_cli(a_days_file)
    assert answer.exit_code == 1 and "first broken row is seq 13" in answer.output


async def test_deleting_the_last_rows_is_caught_too(a_days_file: Path) -> None:
    last = verified(a_days_file).rows
    tamper(a_days_file, "delete from journal where seq > ?", (last - 2,))
    answer = verify_cli(a_days_file)
    assert answer.exit_code == 1 and f"first broken row is seq {last - 1}" in answer.output


async def test_inserting_a_row_makes_verify_fail(a_days_file: Path) -> None:
    conn = sqlite3.connect(a_days_file)
    prev, digest = conn.execute("select prev_hash, hash from journal order by seq desc limit 1").fetchone()
    conn.close()
    forged = (9e9, "c1", "clerk", "ticket.finish", 1, 1, "serving", "done", "{}", digest, prev)
    tamper(a_days_file, f"insert into journal ({', '.join(COLUMNS)}) values ({', '.join('?' * 11)})", forged)
    assert verify_cli(a_days_file).exit_code == 1


async def test_the_journal_refuses_updates_and_deletes_while_its_triggers_stand(a_days_file: Path) -> None:
    conn = sqlite3.connect(a_days_file)
    try:
        for sql in ("update journal set actor = 'x' where seq = 3", "delete from journal where seq = 3"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(sql)
    finally:
        conn.close()


async def test_anchors_kept_elsewhere_catch_a_journal_rewritten_and_rehashed(
    a_days_file: Path, tmp_path: Path
) -> None:
    kept = tmp_path / "anchors.json"
    saved = verify_cli(a_days_file, "--json")
    assert saved.exit_code == 0 and json.loads(saved.output)["ok"] is True
    kept.write_text(saved.output, encoding="utf-8")
    assert verify_cli(a_days_file, "--anchors", str(kept)).exit_code == 0
    # Rewrite row 5 and re-hash it and everything after it: the chain alone verifies again ...
    tamper(a_days_file, "update journal set actor = 'forger' where seq = 5")
    conn = sqlite3.connect(a_days_file)
    head = chain.ChainHead(4, conn.execute("select hash from journal where seq = 4").fetchone()[0])
    rows = conn.execute(
        f"select {', '.join(chain.ENTRY_COLUMNS)} from journal where seq >= 5 order by seq"
    ).fetchall()
    conn.execute("delete from journal where seq >= 5")
    conn.executemany(chain.INSERT_SEALED, [head.seal(r) for r in rows])
    conn.commit()
    conn.close()
    assert verify_cli(a_days_file).exit_code == 0
    # ... but not against the anchor kept elsewhere
    answer = verify_cli(a_days_file, "--anchors", str(kept))
    assert answer.exit_code == 1 and "ANCHOR MISMATCH" in answer.output


async def test_the_chain_goes_on_across_a_restart(
    example_config: HallConfig, db_path: Path, clock: FakeClock
) -> None:
    async with run_hall(example_config, db_path, clock) as hall:
        await a_morning(hall)
        tokens = hall.tokens
    first = verified(db_path)
    clock.advance(10 * MINUTE)
    async with run_hall(example_config, db_path, clock, tokens=tokens) as again:
        await again.api("POST", "/api/v1/tickets", tokens["kiosk"], {"matter": "CBDJ"}, status=201)
    result = verified(db_path)
    assert result.ok and result.rows == first.rows + 2  # daemon.start and the ticket: the config is the same


async def test_a_token_created_while_the_hall_runs_is_journaled_into_the_same_chain(fresh_hall: Hall) -> None:
    await a_morning(fresh_hall)
    made = CliRunner().invoke(main, ["token", "create", "--db", str(fresh_hall.db_path), "--role", "auditor"])
    assert made.exit_code == 0, made.output
    # the daemon's writer carries on after the row it did not write
    await fresh_hall.api(
        "POST", "/api/v1/tickets", fresh_hall.tokens["kiosk"], {"matter": "CBDJ"}, status=201
    )
    result = verified(fresh_hall.db_path)
    assert result.ok, result.breaks
    conn = read_only(fresh_hall.db_path)
    actions = [r[0] for r in conn.execute("select action from journal order by seq desc limit 2")]
    conn.close()
    assert actions == ["ticket.issue", "token.create"]


async def test_a_failed_transaction_leaves_no_gap_in_the_chain(tmp_path: Path) -> None:
    db_path = tmp_path / "hall.db"
    schema.open_db(db_path).conn.close()
    row = (1.0, "c1", "clerk", "ticket.call", 1, 1, "waiting", "called", "{}")
    async with Writer(db_path) as writer:
        await writer.submit([(INSERT_JOURNAL, row)])
        with pytest.raises(StoreError):
            await writer.submit([(INSERT_JOURNAL, row), ("insert into no_such_table values (1)", ())])
        writer.reset()
        await asyncio.gather(*(writer.submit([(INSERT_JOURNAL, row)]) for _ in range(3)))
    result = verified(db_path)
    assert result.ok and result.rows == 4 and result.last_seq == 4


def test_the_migration_chains_the_rows_a_file_held_before_it(tmp_path: Path) -> None:
    db_path = tmp_path / "old.db"
    old = sqlite_utils.Database(schema.connect(db_path))
    schema.migrations.apply(old, stop_before="m006_journal_chain")
    old.conn.executemany(
        "insert into journal (at, actor, role, action, detail) values (?, ?, ?, ?, ?)",
        [(1772413200.0 + i, "hallctl", "system", "daemon.start", '{"tickets_live":0}') for i in range(3)],
    )
    old.conn.close()
    schema.open_db(db_path).conn.close()
    result = verified(db_path)
    assert result.ok and result.rows == 3
    conn = sqlite3.connect(db_path)
    row = conn.execute(
        f"select {', '.join(chain.CONTENT_COLUMNS)}, prev_hash, hash from journal where seq = 1"
    ).fetchone()
    conn.close()
    assert row[-2] == chain.GENESIS and row[-1] == chain.link(chain.GENESIS, chain.content(*row[:10]))


def test_verify_journal_refuses_a_file_that_is_not_a_hall(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("create table t (x)").connection.close()
    answer = verify_cli(other)
    assert answer.exit_code == 1 and "not a hall database" in answer.output


async def test_a_failed_derived_write_fails_alone_and_the_commands_of_its_batch_commit(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "hall.db"
    schema.open_db(db_path).conn.close()
    row = (1.0, "c1", "clerk", "ticket.call", 1, 1, "waiting", "called", "{}")
    async with Writer(db_path) as writer:
        # one batch: a command, a derived write that fails half way, another command
        first = writer.submit_nowait([(INSERT_JOURNAL, row)])
        derived = writer.submit_nowait(
            [("create table derived_probe (x)", ()), ("insert into no_such_table values (1)", ())],
            isolated=True,
        )
        second = writer.submit_nowait([(INSERT_JOURNAL, row)])
        await asyncio.gather(first, second)
        with pytest.raises(StoreError, match="no_such_table"):
            await derived
        await writer.submit([(INSERT_JOURNAL, row)])  # not poisoned: the hall goes on
    result = verified(db_path)
    assert result.ok and result.rows == 3
    conn = sqlite3.connect(db_path)
    try:  # the derived write was undone as a whole, its first statement too
        assert conn.execute("select count(*) from sqlite_master where name = 'derived_probe'").fetchone() == (
            0,
        )
    finally:
        conn.close()
