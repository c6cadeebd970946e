"""The audit report: a range of days of the journal counted by audit class per clerk, window and day,
set against the business volume (tickets served), with the anomalies, the key events and the daily anchors.

:func:`build_report` reads a hall's file (read-only) and returns plain data; hallctl/audit/render.py
turns it into HTML or CSV, the API and the CLI print it as JSON. The JSON shape is in docs/audit.md.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from hallctl.audit import chain, followups
from hallctl.audit.access_log import read_access
from hallctl.audit.anomalies import screen
from hallctl.audit.classes import (
    CLASS_NAMES,
    CLASSES,
    GENERAL,
    IN_PROCESS,
    KEY,
    Classifier,
    Entry,
    OpeningHours,
)
from hallctl.audit.findings import Inputs, RatingRow, TicketFacts, ratings_of
from hallctl.audit.settings import AuditSettings
from hallctl.audit.unrated import LEVELS, defaulted_services
from hallctl.core.calendar import business_day, iso

#: Days a report may cover: outside them a date is a typing error (and 9999-12-31 has no next midnight).
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
#: The business volume the counts are set against: a service finished (办结), whatever its outcome.
SERVED = "ticket.finish"
#: Detail keys left out of the key-event list: bulky records that the journal itself keeps in full.
_BULKY = ("settings", "sections")


def day_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[float, float]:
    """Epoch seconds from the local midnight starting ``first`` to the one ending ``last``."""
    start = datetime.combine(first, clock_time(0), zone).timestamp()
    end = datetime.combine(last + timedelta(days=1), clock_time(0), zone).timestamp()
    return start, end


@dataclass(slots=True)
class Counts:
    key: int = 0
    in_process: int = 0
    general: int = 0
    served: int = 0

    def add(self, audit_class: str, served: bool) -> None:
        if audit_class == KEY:
            self.key += 1
        elif audit_class == IN_PROCESS:
            self.in_process += 1
        else:
            self.general += 1
        self.served += served

    def as_dict(self) -> dict[str, Any]:
        def per_100(n: int) -> float | None:
            return round(100 * n / self.served, 2) if self.served else None

        return {
            KEY: self.key,
            IN_PROCESS: self.in_process,
            GENERAL: self.general,
            "actions": self.key + self.in_process + self.general,
            "served": self.served,
            "key_per_100_served": per_100(self.key),
            "in_process_per_100_served": per_100(self.in_process),
        }


_ENTRIES = (
    "select seq, at, actor, role, action, window, ticket, before, after, detail, {hash} from journal "
    "where at >= ? and at < ? order by seq"
)


def read_entries(conn: sqlite3.Connection, start: float, end: float, zone: ZoneInfo) -> list[Entry]:
    digest = "hash" if chain.has_chain(conn) else "null"
    rows = conn.execute(_ENTRIES.format(hash=digest), (start, end))
    return [Entry.from_row(tuple(r), zone) for r in rows]


def read_tickets(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, TicketFacts]:
    wanted = sorted(set(ids))
    facts: dict[int, TicketFacts] = {}
    for i in range(0, len(wanted), 500):  # under SQLite's limit of bound parameters
        part = wanted[i : i + 500]
        sql = (
            "select id, number, credit_code, channel, issued_by from tickets "
            f"where id in ({', '.join('?' * len(part))})"
        )
        for id_, number, code, channel, issued_by in conn.execute(sql, part):
            facts[int(id_)] = TicketFacts(str(number), code, channel, str(issued_by or ""))
    return facts


def build_report(
    conn: sqlite3.Connection,
    settings: AuditSettings,
    first: date,
    last: date,
    *,
    now: float | None = None,
) -> dict[str, Any]:
    """The report of the days ``first`` to ``last`` (inclusive, the hall's local days)."""
    zone = settings.zone
    start, end = day_bounds(first, last, zone)
    entries = read_entries(conn, start, end, zone)
    tickets = read_tickets(conn, (e.ticket for e in entries if e.ticket is not None))
    ratings = ratings_of(
        conn.execute(
            "select ticket, window, clerk, level, level_name, armed_at, rated_at from ratings "
            "where rated_at >= ? and rated_at < ? order by rated_at",
            (start, end),
        )
    )
    audit = settings.audit
    classifier = Classifier(audit.classes, OpeningHours(settings.hours, zone, audit.grace_minutes))

    totals = Counts()
    by_day: dict[str, Counts] = defaultdict(Counts)
    by_actor: dict[tuple[str, str], Counts] = defaultdict(Counts)
    by_window: dict[int, Counts] = defaultdict(Counts)
    cells: dict[tuple[str, str, str, int | None], Counts] = defaultdict(Counts)
    key_events = []
    by_action: Counter[str] = Counter()
    anchors: dict[str, chain.Anchor] = {}
    day_rows: dict[str, int] = defaultdict(int)
    for e in entries:
        audit_class, why = classifier.classify(e)
        served = e.action == SERVED
        totals.add(audit_class, served)
        by_day[e.day].add(audit_class, served)
        by_actor[(e.actor, e.role)].add(audit_class, served)
        if e.window is not None:
            by_window[e.window].add(audit_class, served)
        cells[(e.day, e.actor, e.role, e.window)].add(audit_class, served)
        day_rows[e.day] += 1
        by_action[e.action] += 1
        anchors[e.day] = chain.Anchor(e.day, e.seq, e.hash or "", day_rows[e.day])
        if audit_class == KEY:
            key_events.append(
                {
                    "seq": e.seq,
                    "at": iso(e.at, zone),
                    "day": e.day,
                    "actor": e.actor,
                    "role": e.role,
                    "action": e.action,
                    "why": why,
                    "window": e.window,
                    "ticket": e.ticket,
                    "number": tickets[e.ticket].number if e.ticket in tickets else None,
                    "before": e.before,
                    "after": e.after,
                    "detail": {k: v for k, v in e.detail.items() if k not in _BULKY},
                }
            )
    period = first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"
    addresses, refusals = read_access(conn, start, end)
    anomalies = screen(
        Inputs(entries, tickets, ratings, audit, classifier, zone, period, addresses, refusals, start, end)
    )
    # The range's rows, linked to the row before them: what a report can afford (verify-journal does all).
    verified = chain.verify_range(conn, zone, entries[0].seq, entries[-1].seq) if entries else None
    checked = (verified or chain.Verification()).as_dict()
    checked.pop("anchors")  # the report lists them per day itself
    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    today = business_day(time.time() if now is None else now, zone)
    return {
        "report": "hallctl audit report",
        "hall": settings.hall,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "timezone": settings.timezone,
        "generated_at": iso(time.time() if now is None else now, zone),
        "settings": settings.source,
        "classes": {
            c: {
                "name": CLASS_NAMES[c],
                "actions": list(
                    audit.classes.key if c == KEY else audit.classes.in_process if c == IN_PROCESS else ()
                ),
            }
            for c in CLASSES
        },
        "recalls_general": audit.classes.recalls_general,
        "outside_hours_key": audit.classes.outside_hours_key,
        "totals": totals.as_dict(),
        "by_day": [
            {"day": d, **by_day[d].as_dict(), "anchor": anchors[d].as_dict() if d in anchors else None}
            for d in days
        ],
        "by_actor": [
            {"actor": actor, "role": role, **c.as_dict()}
            for (actor, role), c in sorted(by_actor.items(), key=lambda kv: (kv[0][1], kv[0][0]))
        ],
        "by_action": dict(sorted(by_action.items())),
        "by_window": [{"window": w, **c.as_dict()} for w, c in sorted(by_window.items())],
        "cells": [
            {"day": d, "actor": actor, "role": role, "window": w, **c.as_dict()}
            for (d, actor, role, w), c in sorted(
                cells.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][3] or 0)
            )
        ],
        "key_events": key_events,
        "anomalies": [a.as_dict() for a in anomalies],
        "ratings": rating_summary(conn, settings, ratings, start, end, time.time() if now is None else now),
        "followups": followup_summary(conn, start, end, today, zone),
        "anchors": [anchors[d].as_dict() for d in days if d in anchors],
        "chain": checked,
    }


def rating_summary(
    conn: sqlite3.Connection,
    settings: AuditSettings,
    ratings: list[RatingRow],
    start: float,
    end: float,
    now: float,
) -> dict[str, Any]:
    """好差评 in the range: the ratings pressed on a keypad, plus the services finished in the range that
    nobody rated, counted as ``[devices.ratings] unrated_level`` once ``unrated_after_days`` have passed
    (the same rule as the ratings export)."""
    rules = settings.ratings
    defaulted = defaulted_services(
        conn,
        start,
        end,
        now=now,
        unrated_level=rules.unrated_level,
        unrated_after_days=rules.unrated_after_days,
    )
    names = {level: name for name, level in LEVELS.items()}
    by_level: Counter[int] = Counter(r.level for r in ratings)
    per_window: dict[int | None, list[int]] = defaultdict(lambda: [0, 0, 0])  # keypad, defaulted, 满意+
    for r in ratings:
        per_window[r.window][0] += 1
        per_window[r.window][2] += r.level >= 3
    if defaulted:
        level = LEVELS[rules.unrated_level]
        by_level[level] += len(defaulted)
        for row in defaulted:
            per_window[row["window"]][1] += 1
            per_window[row["window"]][2] += level >= 3
    total = len(ratings) + len(defaulted)
    satisfied = sum(n for level, n in by_level.items() if level >= 3)
    return {
        "total": total,
        "keypad": len(ratings),
        "defaulted": len(defaulted),
        "unrated_level": rules.unrated_level,
        "unrated_after_days": rules.unrated_after_days,
        "by_level": {names[level]: by_level[level] for level in sorted(names, reverse=True)},
        "satisfied_percent": _rate(satisfied, total),
        "by_window": [
            {"window": w, "total": k + d, "keypad": k, "defaulted": d, "satisfied_percent": _rate(ok, k + d)}
            for w, (k, d, ok) in sorted(per_window.items(), key=lambda kv: kv[0] or 0)
        ],
    }


def followup_summary(
    conn: sqlite3.Connection, start: float, end: float, today: str, zone: ZoneInfo
) -> dict[str, Any] | None:
    """The 差评整改 cases opened in the range and where they stand (None for a file without the table)."""
    try:
        cursor = conn.execute(followups.CASES_OPENED, (start, end))
    except sqlite3.OperationalError:  # a file from before m007_followups
        return None
    columns = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    cases = [followups.case_view(dict(zip(columns, r, strict=True)), today, zone) for r in rows]
    return {
        "opened": len(cases),
        "open": sum(c["state"] != followups.CLOSED for c in cases),
        "overdue": sum(c["overdue"] for c in cases),
        "closed": sum(c["state"] == followups.CLOSED for c in cases),
        "cases": cases,
    }


def _rate(n: int, of: int, scale: int = 100) -> float | None:
    return round(scale * n / of, 2) if of else None


def compare_halls(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Several halls' reports side by side: their rates, so halls of any size compare (各厅对比)."""
    rows = []
    for r in reports:
        t, acts = r["totals"], r["by_action"]
        served = t["served"]
        no_show, started = acts.get("ticket.no_show", 0), acts.get("ticket.start", 0)
        rows.append(
            {
                "hall": r["hall"],
                "from": r["from"],
                "to": r["to"],
                "served": served,
                "actions": t["actions"],
                KEY: t[KEY],
                IN_PROCESS: t[IN_PROCESS],
                GENERAL: t[GENERAL],
                "key_per_100_served": t["key_per_100_served"],
                "in_process_per_100_served": t["in_process_per_100_served"],
                "no_show_rate_percent": _rate(no_show, no_show + started),
                "transfers_per_100_served": _rate(acts.get("ticket.transfer", 0), served),
                "voids_per_100_served": _rate(acts.get("ticket.void", 0), served),
                "out_of_order_per_100_served": _rate(acts.get("ticket.call_out_of_order", 0), served),
                "anomalies": len(r["anomalies"]),
                "chain_ok": r["chain"]["ok"],
            }
        )
    return rows
