"""Rebuild the live state from the file: on start, and after a failed transaction."""

from __future__ import annotations

import sqlite3
from collections import Counter

from hallctl.config import HallConfig
from hallctl.core.calendar import business_day
from hallctl.core.state import HallState
from hallctl.store.rows import appointment_from_row, ticket_from_row, window_from_row

# Tickets kept in memory: today's, and older ones still in play (a suspended ticket across midnight).
_LIVE = (
    "select * from tickets where day >= ? "
    "or state in ('waiting', 'called', 'serving', 'suspended', 'transferred')"
)


def load_state(conn: sqlite3.Connection, config: HallConfig, now: float, **options: object) -> HallState:
    conn.row_factory = sqlite3.Row
    try:
        state = HallState.new(config, now, **options)
        today = business_day(now, config.hall.zone)
        tickets = [ticket_from_row(r) for r in conn.execute(_LIVE, (today,))]
        windows = [window_from_row(r, config) for r in conn.execute("select * from windows")]
        appointments = [
            appointment_from_row(r) for r in conn.execute("select * from appointments where state = 'booked'")
        ]
        last_seq = {
            (r["day"], r["prefix"]): r["seq"]
            for r in conn.execute(
                "select day, prefix, max(seq) as seq from tickets where day >= ? group by day, prefix",
                (today,),
            )
        }
        issued: Counter[tuple[str, str]] = Counter()
        for t in tickets:
            if t.day >= today:
                for m in t.matters:
                    issued[(t.day, m)] += 1
        next_id = (conn.execute("select max(id) from tickets").fetchone()[0] or 0) + 1
    finally:
        conn.row_factory = None
    state.restore(tickets, windows, appointments, last_seq, issued, next_id)
    # Windows keep the day they were saved on, so the first command today reopens them afresh.
    state.day = min((w.day for w in state.windows.values()), default=today) or today
    return state
