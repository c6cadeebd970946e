"""差评整改: every 不满意/非常不满意 rating opens a follow-up case, which a manager calls back, rectifies and
closes before its deadline (working days, a setting per province).

The journal is the record: the case opens with a ``followup.open`` row written in the rating's own
transaction, and each step is a ``followup.*`` row. The ``followups`` table is their projection, kept by
SQLite triggers on the journal (hallctl/store/schema.py, m007) in the same transaction, so it can never
disagree with the chained journal; a case's id is the seq of its ``followup.open`` row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hallctl.config import HallConfig, Hours
from hallctl.core.calendar import business_day, iso
from hallctl.core.errors import Conflict, Invalid, NotFound
from hallctl.core.model import Actor, Change, JournalEntry, Rating

OPEN, CALLED_BACK, RECTIFIED, CLOSED = "open", "called_back", "rectified", "closed"
STATES = (OPEN, CALLED_BACK, RECTIFIED, CLOSED)
#: The steps a manager records, and the journal action of each.
STEPS = {"callback": "followup.callback", "rectify": "followup.rectify", "close": "followup.close"}
# A hall whose hours name no working day at all would never reach a deadline: count calendar days then.
_SEARCH_DAYS = 366


def working_day_after(hours: Hours, day: date, days: int) -> date:
    """The ``days``-th working day after ``day``: a day the hall opens (its weekday has hours and it is
    not a closed date). The day of the rating itself does not count."""
    found, current = 0, day
    for _ in range(_SEARCH_DAYS * max(1, days)):
        current += timedelta(days=1)
        if hours.spans_on(current.weekday()) and current.isoformat() not in hours.closed_dates:
            found += 1
            if found == days:
                return current
    return day + timedelta(days=days)


def open_entries(config: HallConfig, now: float, rating: Rating) -> list[JournalEntry]:
    """The ``followup.open`` row a rating needs: one for a bad rating (``[audit.followup] levels``)."""
    rules = config.audit.followup
    if rating.level not in rules.levels:
        return []
    rated_day = date.fromisoformat(business_day(rating.rated_at, config.hall.zone))
    due = working_day_after(config.hours, rated_day, rules.deadline_working_days)
    return [
        JournalEntry(
            now,
            "hallctl",
            "system",
            "followup.open",
            window=rating.window,
            ticket=rating.ticket,
            after=OPEN,
            detail={
                "clerk": rating.clerk,
                "level": rating.level,
                "level_name": rating.level_name,
                "rated_at": rating.rated_at,
                "due_day": due.isoformat(),
            },
        )
    ]


# -- reading the cases ----------------------------------------------------------------------------------

_CASES = "select f.*, t.number as number from followups f left join tickets t on t.id = f.ticket"
CASE_BY_ID = _CASES + " where f.id = ?"
CASES_OPENED = _CASES + " where f.opened_at >= ? and f.opened_at < ? order by f.id"
CASES_RATED = _CASES + " where f.rated_at >= ? and f.rated_at < ? order by f.id"
#: Cases not yet closed, and how many of them are past their deadline (``today`` bound once).
COUNTS = "select count(*), coalesce(sum(due_day < ?), 0) from followups where state != 'closed'"


@dataclass(frozen=True, slots=True)
class CaseFilter:
    state: str | None = None  # open (anything not closed), overdue, closed, or None for all
    clerk: str | None = None  # a clerk sees their own cases only
    limit: int = 200


def list_cases(rows: Iterable[sqlite3.Row], today: str, zone: ZoneInfo) -> list[dict[str, Any]]:
    return [case_view(dict(r), today, zone) for r in rows]


def query(filters: CaseFilter, today: str) -> tuple[str, tuple[Any, ...]]:
    """The SQL of a case list, newest first."""
    where, params = [], []
    if filters.clerk is not None:
        where.append("f.clerk = ?")
        params.append(filters.clerk)
    if filters.state == "open":
        where.append("f.state != 'closed'")
    elif filters.state == "overdue":
        where.append("f.state != 'closed' and f.due_day < ?")
        params.append(today)
    elif filters.state == "closed":
        where.append("f.state = 'closed'")
    sql = _CASES + (" where " + " and ".join(where) if where else "") + " order by f.id desc limit ?"
    return sql, (*params, filters.limit)


def case_view(row: dict[str, Any], today: str, zone: ZoneInfo) -> dict[str, Any]:
    def step(at: str, by: str, text: str) -> dict[str, Any] | None:
        if row.get(at) is None:
            return None
        return {"at": iso(row[at], zone), "by": row[by], "text": row[text]}

    return {
        "id": row["id"],
        "ticket": row["ticket"],
        "number": row.get("number"),
        "window": row["window"],
        "clerk": row["clerk"],
        "level": row["level"],
        "level_name": row["level_name"],
        "rated_at": iso(row["rated_at"], zone),
        "opened_at": iso(row["opened_at"], zone),
        "due_day": row["due_day"],
        "state": row["state"],
        "overdue": row["state"] != CLOSED and row["due_day"] < today,
        "callback": step("callback_at", "callback_by", "callback_note"),
        "rectification": step("rectified_at", "rectified_by", "rectification"),
        "closure": step("closed_at", "closed_by", "closing_note"),
    }


# -- a manager's steps ----------------------------------------------------------------------------------


def step(case: dict[str, Any] | None, case_id: int, now: float, actor: Actor, name: str, text: str) -> Change:
    """A call-back (回访), a rectification (整改) or the closure (销号) of a case, as a journal row.

    Closing needs the rectification first: a case is closed when it has been put right, not before.
    """
    if case is None:
        raise NotFound("followup_not_found", "整改件不存在", "no such follow-up case", case=case_id)
    text = text.strip()
    if not text:
        field = "rectification" if name == "rectify" else "note"
        raise Invalid("text_required", "请填写内容", f"{field} is required", field=field)
    if case["state"] == CLOSED:
        raise Conflict("followup_closed", "该整改件已销号", "the case is closed", case=case_id)
    if name == "close" and case["state"] != RECTIFIED:
        raise Conflict(
            "not_rectified", "请先登记整改情况再销号", "record the rectification before closing", case=case_id
        )
    after = {"callback": CALLED_BACK if case["state"] == OPEN else case["state"], "rectify": RECTIFIED}
    change = Change()
    change.journal.append(
        JournalEntry(
            now,
            actor.label,
            actor.role.value,
            STEPS[name],
            window=case["window"],
            ticket=case["ticket"],
            before=case["state"],
            after=after.get(name, CLOSED),
            detail={"case": case_id, "text": text},
        )
    )
    change.result = case_id
    return change
