"""The real daemon under concurrent traffic (group commits of many commands, a token made from the command
line in the middle of it, a restart): ``hallctl verify-journal`` finds the chain intact, and after a row is
changed in SQLite it names that row and exits non-zero."""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import subprocess

import pytest

from .daemonkit import INTEGRATED_MATTERS, Api, Daemon, Outcome, Tokens, fire, hallctl_command, read_only

pytestmark = pytest.mark.slow

TICKETS = 200
WINDOWS = (1, 2, 3)


def hallctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*hallctl_command(), *args], capture_output=True, text=True, timeout=60, check=False
    )


async def _serve(api: Api, token: str, window: int, services: int) -> None:
    for _ in range(services):
        reply = await api.post(f"/api/v1/windows/{window}/call-next", token)
        assert reply.status == 200, reply
        if reply.body["ticket"] is None:
            return
        await api.ok("POST", f"/api/v1/windows/{window}/start", token)
        await api.ok("POST", f"/api/v1/windows/{window}/finish", token, {"outcome": "completed"})


async def test_a_busy_day_verifies_clean_and_an_edited_row_is_named(daemon: Daemon, tokens: Tokens) -> None:
    bodies = [
        {"matter": m, "channel": "normal"}
        for m in itertools.islice(itertools.cycle(INTEGRATED_MATTERS), TICKETS)
    ]
    outcomes: list[Outcome] = []
    async with daemon.client(connections=50) as api:
        for w in WINDOWS:
            await api.ok("POST", f"/api/v1/windows/{w}/login", tokens.clerk[f"c{w}"])
        made = None
        # Half the tickets first, so the clerks find people waiting; then the other half 50 at a time while
        # three clerks call: transactions of many commands each, tickets and calls interleaved.
        async with asyncio.timeout(90):
            half = TICKETS // 2
            await fire(
                api, "POST", "/api/v1/tickets", tokens.kiosk, bodies[:half], concurrency=50, outcomes=outcomes
            )
            burst = fire(
                api, "POST", "/api/v1/tickets", tokens.kiosk, bodies[half:], concurrency=50, outcomes=outcomes
            )
            clerks = [_serve(api, tokens.clerk[f"c{w}"], w, 20) for w in WINDOWS]
            token = asyncio.to_thread(hallctl, "token", "create", "--db", str(daemon.db), "--role", "auditor")
            *_, made = await asyncio.gather(burst, *clerks, token)
        assert made is not None and made.returncode == 0, made.stderr
        assert all(o.acknowledged for o in outcomes)
        audit = await api.ok("GET", "/api/v1/audit", tokens.auditor)
    daemon.terminate()
    daemon.start()  # a restart carries the chain on from the row it last wrote
    daemon.terminate()

    checked = hallctl("verify-journal", "--db", str(daemon.db), "--json")
    result = json.loads(checked.stdout)
    assert checked.returncode == 0 and result["ok"], checked.stdout[-2000:]
    conn = read_only(daemon.db)
    try:
        rows = conn.execute("select count(*) from journal").fetchone()[0]
        token_rows = conn.execute("select count(*) from journal where action = 'token.create'").fetchone()[0]
    finally:
        conn.close()
    assert result["rows"] == rows > TICKETS + 60 * 3 and token_rows == 1
    assert audit["totals"]["served"] == 60 and audit["chain"]["ok"]

    middle = rows // 2
    conn = sqlite3.connect(daemon.db)
    try:
        conn.execute("drop trigger journal_no_update")
        conn.execute("update journal set detail = '{}' where seq = ?", (middle,))
        conn.commit()
    finally:
        conn.close()
    broken = hallctl("verify-journal", "--db", str(daemon.db))
    assert broken.returncode == 1
    assert broken.stdout.startswith(f"BROKEN: the first broken row is seq {middle}:"), broken.stdout
