"""Export a hall's tickets from its database as the history CSV (hallctl/history/events.py).

Served tickets carry their first call, their finish and the window that finished them; no-shows carry
neither. Voided tickets (printer failures, issued in error) never queued for anyone and are left out.
A ticket of an earlier day still waiting, called or parked was abandoned (the citizen left unserved) and
counts as a no-show; today's tickets still in play are left out, as their end is not known yet.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import cast

from hallctl.config import Channel
from hallctl.history.events import HistoryRecord

_TICKETS = (
    "select id, matters, channel, issued_at, first_called_at, finished_at, window, state, day "
    "from tickets where day >= ? and day <= ? order by issued_at, id"
)


class ExportError(Exception):
    """The database cannot be exported (missing, not a hallctl file)."""


@dataclass
class Exported:
    records: list[HistoryRecord] = field(default_factory=list)
    served: int = 0
    no_shows: int = 0
    abandoned: int = 0  # earlier days' tickets never finished, written as no-shows
    voided: int = 0  # left out
    in_play: int = 0  # today's tickets not finished yet, left out


def export_history(
    db: Path, today: str, first_day: date | None = None, last_day: date | None = None
) -> Exported:
    """The history of the business days ``first_day``..``last_day`` (inclusive; open ends when None).

    ``today`` is the hall's current business day: its unfinished tickets are still in play."""
    if not db.is_file():
        raise ExportError(f"{db}: no such database file")
    # Read-only: an export must never change the hall's file, even by applying a migration.
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        try:
            rows = conn.execute(
                _TICKETS,
                (first_day.isoformat() if first_day else "", last_day.isoformat() if last_day else "9999"),
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise ExportError(f"{db}: not a hallctl database ({exc})") from None
    finally:
        conn.close()
    out = Exported()
    for ticket_id, matters, channel, issued_at, first_called_at, finished_at, window, state, day in rows:
        base = (str(ticket_id), tuple(json.loads(matters)), cast(Channel, channel), float(issued_at))
        if state == "done" and first_called_at is not None and finished_at is not None:
            out.records.append(HistoryRecord(*base, float(first_called_at), float(finished_at), window))
            out.served += 1
        elif state == "voided":
            out.voided += 1
        elif state == "no_show":
            out.records.append(HistoryRecord(*base))
            out.no_shows += 1
        elif day < today:
            out.records.append(HistoryRecord(*base))
            out.abandoned += 1
        else:
            out.in_play += 1
    return out
