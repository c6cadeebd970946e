"""The daemon stopped in the middle of a burst: by kill -9 (a crash, a power cut) or by SIGTERM (a service
manager). Either way, every ticket a kiosk was given is in the file with the number it was given, and the
day's numbering carries on without repeating a number anyone holds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from .daemonkit import (
    Api,
    Daemon,
    Outcome,
    Tokens,
    db_tickets,
    fire,
    issue_bodies,
    numbering_faults,
    read_only,
)

pytestmark = pytest.mark.slow

BURST = 3000
CONCURRENCY = 200
# Stop the daemon this long into the burst, once it has acknowledged at least MIN_ACKED: late enough that
# tickets are acknowledged, early enough that thousands are still on their way.
STOP_AFTER = 0.3
MIN_ACKED = 50


async def _burst_stopped_by(daemon: Daemon, tokens: Tokens, stop: Callable[[], None]) -> list[Outcome]:
    """Fire a burst of issues and call ``stop()`` the moment an acknowledgement arrives STOP_AFTER into it:
    a daemon that answered before its commit was on disk would lose that very ticket."""
    outcomes: list[Outcome] = []
    acked = 0
    began = time.monotonic()
    stop_at: float | None = None

    def watch(outcome: Outcome) -> None:
        nonlocal acked, stop_at
        acked += outcome.acknowledged
        if (
            stop_at is None
            and outcome.acknowledged
            and acked >= MIN_ACKED
            and time.monotonic() - began >= STOP_AFTER
        ):
            stop_at = time.monotonic()
            stop()

    async with daemon.client(connections=CONCURRENCY) as api, asyncio.timeout(90):
        await fire(
            api,
            "POST",
            "/api/v1/tickets",
            tokens.kiosk,
            [b for b, _ in issue_bodies(BURST)],
            concurrency=CONCURRENCY,
            outcomes=outcomes,
            on_outcome=watch,
        )
    assert stop_at is not None, f"the burst ended with {acked} acknowledged before the daemon was stopped"
    return outcomes


def _acknowledged(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    acked = [o.body for o in outcomes if o.acknowledged]
    assert len(acked) >= MIN_ACKED
    # Mid-burst means some requests never got their ticket; otherwise the daemon stopped after the burst
    # and this test would prove nothing about stopping.
    assert len(acked) < BURST, "the burst ended before the daemon was stopped"
    answered_otherwise = [o for o in outcomes if o.status is not None and not o.acknowledged]
    assert not answered_otherwise, f"answers other than a ticket: {answered_otherwise[:3]}"
    return acked


def _assert_on_disk(daemon: Daemon, acked: list[dict[str, Any]]) -> dict[int, Any]:
    rows = db_tickets(daemon.db)
    missing = [t["number"] for t in acked if t["id"] not in rows]
    assert not missing, f"{len(missing)} acknowledged tickets are not in the file, e.g. {missing[:10]}"
    renumbered = [
        (t["number"], rows[t["id"]]["number"]) for t in acked if rows[t["id"]]["number"] != t["number"]
    ]
    assert not renumbered, f"tickets with another number in the file: {renumbered[:10]}"
    assert numbering_faults(rows.values()) == []
    return rows


async def test_kill_9_mid_burst_loses_no_acknowledged_ticket_and_never_reissues_a_number(
    daemon: Daemon, tokens: Tokens
) -> None:
    acked: list[dict[str, Any]] = []
    # Twice: the second burst numbers on from what the first crash left, and crashes in its turn.
    for crash in (1, 2):
        outcomes = await _burst_stopped_by(daemon, tokens, daemon.kill)
        acked_now = _acknowledged(outcomes)
        acked += acked_now
        print(f"kill -9 number {crash} after {len(acked_now)} tickets acknowledged")

        daemon.start()  # the same file, as a supervisor would restart it
        before = _assert_on_disk(daemon, acked)
        async with daemon.client(connections=50) as api:
            readable = await _read_all(api, tokens.manager, [t["id"] for t in acked_now])
        lost = [(t["number"], str(readable[t["id"]])) for t in acked_now if readable[t["id"]].status != 200]
        assert not lost, f"acknowledged tickets the restarted daemon cannot show: {lost[:5]}"
        changed = [
            (t["number"], readable[t["id"]].body["number"])
            for t in acked_now
            if readable[t["id"]].body["number"] != t["number"]
        ]
        assert not changed, f"tickets whose number changed across the crash: {changed[:5]}"

    async with daemon.client() as api:
        new = await api.ok("POST", "/api/v1/tickets", tokens.kiosk, {"matter": "CBDJ"})
    handed_out = {t["number"] for t in acked} | {r["number"] for r in before.values()}
    assert new["number"] not in handed_out, f"{new['number']} was handed out before the crash"
    last_a = max((r["seq"] for r in before.values() if r["prefix"] == "A"), default=0)
    assert new["number"] == f"A{last_a + 1:04d}", "numbering after the restart does not follow the file"
    assert numbering_faults([*before.values(), new]) == []


async def test_sigterm_mid_burst_exits_0_within_seconds_and_loses_nothing_acknowledged(
    daemon: Daemon, tokens: Tokens
) -> None:
    exited: list[asyncio.Task[tuple[int | None, float]]] = []

    def terminate() -> None:
        daemon.send_sigterm()
        # Timed from the signal to the exit, while the rest of the burst keeps coming as kiosks would.
        exited.append(asyncio.create_task(asyncio.to_thread(daemon.wait_exit, timeout=15)))

    outcomes = await _burst_stopped_by(daemon, tokens, terminate)
    rc, took = await exited[0]
    assert rc == 0, f"exit code {rc} after SIGTERM (None: still running after 15 s)"
    assert took < 5, f"SIGTERM took {took:.1f} s"
    acked = _acknowledged(outcomes)
    print(f"SIGTERM took {took:.2f} s; {len(acked)} tickets acknowledged")

    _assert_on_disk(daemon, acked)
    conn = read_only(daemon.db)
    try:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


async def _read_all(api: Api, token: str, ids: list[int]) -> dict[int, Any]:
    gate = asyncio.Semaphore(50)

    async def read(ticket_id: int) -> tuple[int, Any]:
        async with gate:
            return ticket_id, await api.get(f"/api/v1/tickets/{ticket_id}", token)

    return dict(await asyncio.gather(*(read(i) for i in ids)))
