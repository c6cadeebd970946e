"""Five clerks pressing call-next at once on five integrated windows, until the queue is empty: each ticket
is called exactly once, every call is answered 200, and what was called is exactly what was waiting."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter

import pytest

from .daemonkit import INTEGRATED_MATTERS, Api, Daemon, Outcome, Tokens, fire, read_only

pytestmark = pytest.mark.slow

WAITING = 500
WINDOWS = (1, 2, 3, 4, 5)  # the example hall's integrated windows


async def _serve_until_empty(api: Api, token: str, window: int) -> list[dict[str, object]]:
    """A clerk at work: call the next ticket, serve it, and again, until nothing waits for this window."""
    called: list[dict[str, object]] = []
    while True:
        reply = await api.post(f"/api/v1/windows/{window}/call-next", token)
        assert reply.status == 200, f"call-next at window {window}: {reply}"
        ticket = reply.body["ticket"]
        if ticket is None:
            return called
        assert (ticket["window"], ticket["state"]) == (window, "called"), ticket
        called.append(ticket)
        await api.ok("POST", f"/api/v1/windows/{window}/start", token)
        await api.ok("POST", f"/api/v1/windows/{window}/finish", token, {"outcome": "completed"})


async def test_five_clerks_calling_at_once_never_call_a_ticket_twice(daemon: Daemon, tokens: Tokens) -> None:
    kinds = [{"matter": m, "channel": "normal"} for m in INTEGRATED_MATTERS]
    kinds.append({"matter": INTEGRATED_MATTERS[0], "channel": "green"})  # green goes first: order varies
    bodies = list(itertools.islice(itertools.cycle(kinds), WAITING))
    outcomes: list[Outcome] = []
    async with daemon.client(connections=50) as api:
        await fire(api, "POST", "/api/v1/tickets", tokens.kiosk, bodies, concurrency=50, outcomes=outcomes)
        assert all(o.acknowledged for o in outcomes), [str(o) for o in outcomes if not o.acknowledged][:3]
        issued = {o.body["id"] for o in outcomes}

        clerks = {w: tokens.clerk[f"c{w}"] for w in WINDOWS}
        for w, token in clerks.items():
            await api.ok("POST", f"/api/v1/windows/{w}/login", token)
        async with asyncio.timeout(90):
            per_window = await asyncio.gather(*(_serve_until_empty(api, t, w) for w, t in clerks.items()))
        done = await api.ok("GET", "/api/v1/tickets?state=done&limit=5000", tokens.manager)
        waiting = await api.ok("GET", "/api/v1/tickets?state=queued&limit=5000", tokens.manager)

    called = [t["id"] for calls in per_window for t in calls]
    twice = [i for i, n in Counter(called).items() if n > 1]
    assert not twice, f"tickets called more than once: {twice[:10]}"
    assert set(called) == issued, f"called {len(set(called))} of {len(issued)} waiting"
    assert all(per_window), f"a window called nothing: {[len(c) for c in per_window]}"
    assert {t["id"] for t in done["tickets"]} == issued
    assert waiting["tickets"] == []
    print("calls per window:", {w: len(c) for w, c in zip(WINDOWS, per_window, strict=True)})

    # The journal agrees: one call per ticket, at the window that answered it.
    conn = read_only(daemon.db)
    try:
        calls = [
            (r["ticket"], r["window"])
            for r in conn.execute("select ticket, window from journal where action = 'ticket.call'")
        ]
    finally:
        conn.close()
    answered = {t["id"]: w for w, calls_at in zip(WINDOWS, per_window, strict=True) for t in calls_at}
    assert sorted(calls) == sorted(answered.items())
