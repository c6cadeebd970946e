"""Thousands of kiosks pressing at once: every number is given once, in order, and is on disk.

bcgov TheQ issued one number 11 times to 60 concurrent requests: numbering read the last number and wrote
the next in separate steps. Here numbering happens inside one command on the event loop, and nothing is
answered before its transaction commits; this test fires 3,000 requests, 200 at a time, at the real daemon.
"""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest

from .daemonkit import Daemon, Outcome, Tokens, db_tickets, error_code, fire, issue_bodies, numbering_faults

pytestmark = pytest.mark.slow

TICKETS = 3000
CONCURRENCY = 200
NUMBER = re.compile(r"[A-Z]\d{4}")  # the example hall numbers with 4 digits: A0001


async def test_3000_concurrent_tickets_get_unique_gap_free_numbers_all_on_disk(
    daemon: Daemon, tokens: Tokens
) -> None:
    bodies = issue_bodies(TICKETS)
    expected_prefix = {id(body): prefix for body, prefix in bodies}
    outcomes: list[Outcome] = []
    began = time.monotonic()
    async with daemon.client(connections=CONCURRENCY) as api:
        await fire(
            api,
            "POST",
            "/api/v1/tickets",
            tokens.kiosk,
            [b for b, _ in bodies],
            concurrency=CONCURRENCY,
            outcomes=outcomes,
        )
        elapsed = time.monotonic() - began
        waiting = await api.ok("GET", "/api/v1/tickets?state=waiting&limit=5000", tokens.manager)
    print(f"{TICKETS} tickets, {CONCURRENCY} at a time, in {elapsed:.2f} s ({TICKETS / elapsed:.0f}/s)")

    assert len(outcomes) == TICKETS
    issued = [o for o in outcomes if o.acknowledged]
    refused = [o for o in outcomes if o.cleanly_refused]
    # A refusal is acceptable only as a clean 4xx with an error code; anything else (5xx, a cut connection,
    # a 201 without the ticket) is a failure of the daemon under load.
    unclean = [o for o in outcomes if not o.acknowledged and not o.cleanly_refused]
    assert not unclean, f"{len(unclean)} requests failed uncleanly, e.g. {unclean[:3]}"
    assert issued, f"nothing was issued; refusals: {Counter(error_code(o.body) for o in refused)}"

    tickets = [o.body for o in issued]
    numbers = [t["number"] for t in tickets]
    assert all(NUMBER.fullmatch(n) for n in numbers), [n for n in numbers if not NUMBER.fullmatch(n)][:5]
    duplicates = [n for n, k in Counter(numbers).items() if k > 1]
    assert not duplicates, f"numbers given more than once: {duplicates[:10]}"
    assert len({t["id"] for t in tickets}) == len(tickets), "ticket ids repeat"
    assert len({t["track_token"] for t in tickets}) == len(tickets), "track tokens repeat"
    assert numbering_faults(tickets) == []
    wrong_prefix = [
        (o.body_sent, o.body["number"])
        for o in issued
        if o.body["number"][0] != expected_prefix[id(o.body_sent)]
    ]
    assert not wrong_prefix, f"tickets numbered under the wrong prefix: {wrong_prefix[:5]}"
    assert {t["id"] for t in waiting["tickets"]} == {t["id"] for t in tickets}

    rc, _ = daemon.terminate()
    assert rc == 0, f"the daemon exited with {rc} on SIGTERM"
    # The file, read on its own after the daemon has gone, holds exactly what the kiosks were given: nothing
    # acknowledged is missing, and no refused or half-done request left a ticket behind.
    on_disk = {i: row["number"] for i, row in db_tickets(daemon.db).items()}
    assert on_disk == {t["id"]: t["number"] for t in tickets}
