"""``hallctl backup`` on the live file while kiosks keep issuing: the copy is sound and holds every ticket
acknowledged before the backup began, and the daemon keeps answering throughout."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path
from typing import Any

import pytest

from .daemonkit import (
    Daemon,
    Tokens,
    hallctl_command,
    issue_bodies,
    numbering_faults,
    read_only,
    seed_history,
    wait_for,
)

pytestmark = pytest.mark.slow

KIOSKS = 8
BACKUP_DEADLINE = 10.0  # seconds; the copy itself takes a fraction of one, with the start of a process


async def test_backup_while_serving_copies_every_ticket_acknowledged_before_it(
    stopped_daemon: Daemon, tokens: Tokens, tmp_path: Path
) -> None:
    # Four months of history (about 75 MB), as a hall's file holds after a season. A copy taken in steps of
    # 1024 pages starts over whenever the daemon commits between two steps; at this size, under steady
    # issuing, such a copy did not finish in 20 s. Smaller files hide it: a few steps get lucky.
    seed_history(stopped_daemon.db, days=120, tickets_per_day=800)
    daemon = stopped_daemon
    daemon.start()
    copy = tmp_path / "backup.db"
    acked: list[dict[str, Any]] = []
    bodies = itertools.cycle([b for b, _ in issue_bodies(100)])
    stop = asyncio.Event()

    async def kiosk() -> None:
        while not stop.is_set():
            reply = await api.post("/api/v1/tickets", tokens.kiosk, next(bodies))
            assert reply.status == 201, f"an issue failed during the backup: {reply}"
            acked.append(reply.body)

    async with daemon.client(connections=KIOSKS) as api, asyncio.timeout(90), asyncio.TaskGroup() as tg:
        for _ in range(KIOSKS):
            tg.create_task(kiosk())
        await wait_for(lambda: len(acked) >= 200, within=30, what="200 tickets issued")
        before = {t["id"]: t["number"] for t in acked}
        backup = await asyncio.create_subprocess_exec(
            *hallctl_command(),
            "backup",
            "--db",
            str(daemon.db),
            "--to",
            str(copy),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        began = time.monotonic()
        try:
            async with asyncio.timeout(BACKUP_DEADLINE):
                out, err = await backup.communicate()
        except TimeoutError:
            backup.kill()
            await backup.wait()
            raise AssertionError(
                f"the backup did not finish within {BACKUP_DEADLINE} s while serving"
            ) from None
        finally:
            took = time.monotonic() - began
            served_during = len(acked) - len(before)
            stop.set()

    assert backup.returncode == 0, f"backup failed: {out.decode()} {err.decode()}"
    assert served_during > 0, "no ticket was issued while the backup ran"
    print(f"backup took {took:.2f} s; {len(before)} tickets issued before it, {served_during} during it")

    conn = read_only(copy)
    try:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        in_copy = {r["id"]: r for r in conn.execute("select id, number, day from tickets")}
    finally:
        conn.close()
    missing = sorted(n for i, n in before.items() if i not in in_copy)
    assert not missing, f"{len(missing)} tickets acknowledged before the backup are not in it: {missing[:10]}"
    assert all(in_copy[i]["number"] == n for i, n in before.items())
    # One consistent moment of the file: no ticket without the ones numbered before it.
    assert numbering_faults(in_copy.values()) == []
