"""好差评 ratings and their follow-up cases in one JSON shape for the provincial platform (docs/audit.md).

A service nobody rated counts as ``[devices.ratings] unrated_level`` once ``unrated_after_days`` have
passed since it finished (Guangdong: 基本满意 after 7 days); before that it is not exported yet.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from hallctl.audit import followups
from hallctl.audit.report import day_bounds
from hallctl.audit.unrated import LEVELS, defaulted_services
from hallctl.core.calendar import business_day, iso

SHAPE_VERSION = 1

_CASE_KEYS = ("id", "state", "due_day", "overdue", "callback", "rectification", "closure")
_RATED = """
select r.id, r.ticket, r.window, r.clerk, r.level, r.level_name, r.rated_at,
       t.number, t.day, t.matters, t.channel, t.finished_at, t.outcome
from ratings r left join tickets t on t.id = r.ticket
where r.rated_at >= ? and r.rated_at < ? order by r.rated_at
"""


def export_ratings(
    conn: sqlite3.Connection,
    zone: ZoneInfo,
    first: date,
    last: date,
    *,
    hall: str,
    now: float,
    unrated_level: str,
    unrated_after_days: int,
) -> dict[str, Any]:
    """Ratings given from ``first`` to ``last`` (local days), and the services finished in those days that
    count as ``unrated_level`` by now, each with its follow-up case."""
    start, end = day_bounds(first, last, zone)
    today = business_day(now, zone)
    cases: dict[int, dict[str, Any]] = {}
    try:
        for row in _dicts(conn.execute(followups.CASES_RATED, (start, end))):
            case = followups.case_view(row, today, zone)
            cases[case["ticket"]] = case  # the latest case of a ticket rated twice
    except sqlite3.OperationalError:  # a file from before m007_followups
        pass

    def item(row: dict[str, Any], **rating: Any) -> dict[str, Any]:
        number, day = row["number"], row["day"]
        return {
            "handling_id": f"{day}-{number}" if number and day else str(row["ticket"]),
            "ticket": row["ticket"],
            "number": number,
            "matters": json.loads(row["matters"]) if row["matters"] else [],
            "channel": row["channel"],
            "window": row["window"],
            "clerk": row["clerk"],
            "outcome": row["outcome"],
            "finished_at": iso(row["finished_at"], zone),
            **rating,
        }

    items = []
    for row in _dicts(conn.execute(_RATED, (start, end))):
        found = cases.get(row["ticket"])
        follow = None if found is None else {k: found[k] for k in _CASE_KEYS}
        items.append(
            item(
                row,
                rating_id=row["id"],
                level=row["level"],
                level_name=row["level_name"],
                rated_at=iso(row["rated_at"], zone),
                source="keypad",
                followup=follow,
            )
        )
    defaulted = defaulted_services(
        conn, start, end, now=now, unrated_level=unrated_level, unrated_after_days=unrated_after_days
    )
    for row in defaulted:
        items.append(
            item(
                row,
                rating_id=None,
                level=LEVELS[unrated_level],
                level_name=unrated_level,
                rated_at=None,
                source="default",
                followup=None,
            )
        )
    return {
        "version": SHAPE_VERSION,
        "hall": hall,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "generated_at": iso(now, zone),
        "ratings": items,
    }


def _dicts(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
