"""The event bus hears every committed command, after the commit, and a subscriber that never reads holds
nobody up."""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict

from hallctl.bus import Subscription
from hallctl.core.model import Event

from .halltest import Hall, count_rows

# Generous for one event on a loaded CI machine; a test waits this long only when something is wrong.
EVENT_TIMEOUT = 5.0


async def next_event(sub: Subscription) -> Event:
    return await asyncio.wait_for(sub.get(), EVENT_TIMEOUT)


async def test_events_arrive_after_each_committed_command(staffed_hall: Hall) -> None:
    hall = staffed_hall
    kiosk, c1 = hall.tokens["kiosk"], hall.tokens["c1"]
    sub = hall.service.bus.subscribe()
    try:
        ticket = await hall.api("POST", "/api/v1/tickets", kiosk, {"matter": "CBDJ"}, status=201)
        issued = await next_event(sub)
        assert issued.kind == "ticket.issued" and issued.ticket is not None
        assert issued.ticket["number"] == ticket["number"] == "A0001"
        assert count_rows(hall.db_path, "tickets") == 1  # it was on disk before anyone heard of it

        # A refused command is not heard of: the next event is the next command that went through.
        await hall.refused("POST", "/api/v1/windows/1/start", c1, status=409, code="no_current_ticket")
        assert sub.pending() == 0
        hall.clock.advance(60)
        await hall.api("POST", "/api/v1/windows/1/call-next", c1)
        call = await next_event(sub)
        assert call.kind == "ticket.called" and call.ticket is not None and call.window is not None
        assert (call.ticket["id"], call.ticket["state"], call.window["id"]) == (ticket["id"], "called", 1)
        assert call.at == hall.clock.now

        await hall.api("POST", "/api/v1/windows/1/recall", c1)
        assert (await next_event(sub)).kind == "ticket.recalled"
        await hall.api("POST", "/api/v1/windows/1/start", c1)
        start = await next_event(sub)
        assert start.kind == "ticket.changed" and start.detail == {"action": "start"}
        await hall.api("POST", "/api/v1/windows/1/finish", c1)
        finished = [await next_event(sub), await next_event(sub)]
        assert [(e.kind, e.detail["action"]) for e in finished] == [
            ("ticket.changed", "finish"),
            ("window.changed", "finish"),
        ]
        await hall.api("POST", "/api/v1/windows/1/close", hall.tokens["manager"], {"reason": "下班"})
        closed = await next_event(sub)
        assert closed.kind == "window.changed" and closed.window is not None
        assert closed.window["state"] == "closed" and sub.pending() == 0
    finally:
        sub.close()
    assert hall.service.bus.subscribers == 0


async def test_a_subscriber_that_never_reads_does_not_block_the_hall(fresh_hall: Hall) -> None:
    hall = fresh_hall
    stuck = hall.service.bus.subscribe(maxlen=4)  # never read
    reader = hall.service.bus.subscribe(maxlen=10_000)
    matters = ("CBDJ", "JFJS", "SBKBH", "YLZY", "SYJ", "CBZM", "ZX")
    total = 5000
    limit = asyncio.Semaphore(64)  # as many kiosks and pages as a big hall has, all at once

    async def issue(i: int) -> int:
        async with limit:
            status, _ = await hall.request(
                "POST", "/api/v1/tickets", hall.tokens["kiosk"], json={"matter": matters[i % len(matters)]}
            )
            return status

    statuses = await asyncio.wait_for(asyncio.gather(*(issue(i) for i in range(total))), timeout=60)
    assert statuses.count(201) == total
    assert hall.rows("tickets") == total

    assert stuck.overflowed and stuck.pending() == 4 and stuck.dropped == total - 4
    heard = [await next_event(reader) for _ in range(total)]
    assert not reader.overflowed and reader.pending() == 0
    numbers: dict[str, list[int]] = defaultdict(list)
    for event in heard:
        assert event.kind == "ticket.issued" and event.ticket is not None
        match = re.fullmatch(r"([A-Z]+)(\d{4})", event.ticket["number"])
        assert match, event.ticket["number"]
        numbers[match[1]].append(int(match[2]))
    for prefix, seen in numbers.items():  # heard in commit order: each prefix counts up without a gap
        assert seen == list(range(1, len(seen) + 1)), prefix
