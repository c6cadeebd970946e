"""The one place that knows how the core's things become table rows and back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson

from hallctl.audit.chain import ENTRY_COLUMNS, INSERT_SEALED
from hallctl.config import HallConfig, Profile
from hallctl.core.model import (
    Appointment,
    Change,
    JournalEntry,
    Rating,
    Ticket,
    TicketState,
    WindowState,
    WindowStatus,
)

Op = tuple[str, tuple[Any, ...]]

TICKET_COLUMNS = (
    "id",
    "number",
    "prefix",
    "seq",
    "day",
    "matters",
    "channel",
    "issued_at",
    "track_token",
    "state",
    "queue_key",
    "window",
    "target_window",
    "clerk",
    "called_at",
    "first_called_at",
    "started_at",
    "finished_at",
    "recalls",
    "no_show_at",
    "no_show_returns",
    "transfers",
    "bypassed",
    "outcome",
    "credit_code",
    "appointment_code",
    "appointment_start",
    "issued_by",
)
WINDOW_COLUMNS = (
    "id",
    "kind",
    "name",
    "zone",
    "state",
    "clerk",
    "current",
    "profile_name",
    "profile",
    "idle_since",
    "day",
)
APPOINTMENT_COLUMNS = (
    "code",
    "matters",
    "slot_start",
    "slot_end",
    "name",
    "created_at",
    "created_by",
    "state",
    "ticket",
)
RATING_COLUMNS = ("ticket", "window", "clerk", "level", "level_name", "device", "armed_at", "rated_at")
JOURNAL_COLUMNS = ENTRY_COLUMNS  # at, actor, role, action, window, ticket, before, after, detail


def _upsert(table: str, columns: tuple[str, ...], key: str) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
    marks = ", ".join("?" for _ in columns)
    return (
        f"insert into {table} ({', '.join(columns)}) values ({marks}) "
        f"on conflict({key}) do update set {updates}"
    )


UPSERT_TICKET = _upsert("tickets", TICKET_COLUMNS, "id")
UPSERT_WINDOW = _upsert("windows", WINDOW_COLUMNS, "id")
UPSERT_APPOINTMENT = _upsert("appointments", APPOINTMENT_COLUMNS, "code")
# A journal row as journal_row() gives it is not yet a row: the writer seals it into the hash chain in commit
# order (seq first, prev_hash and hash last; hallctl/audit/chain.py) when it meets this very statement.
INSERT_JOURNAL = INSERT_SEALED


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def ticket_row(t: Ticket) -> tuple[Any, ...]:
    return (
        t.id,
        t.number,
        t.prefix,
        t.seq,
        t.day,
        _json(list(t.matters)),
        t.channel,
        t.issued_at,
        t.track_token,
        t.state.value,
        t.queue_key,
        t.window,
        t.target_window,
        t.clerk,
        t.called_at,
        t.first_called_at,
        t.started_at,
        t.finished_at,
        t.recalls,
        t.no_show_at,
        t.no_show_returns,
        t.transfers,
        t.bypassed,
        t.outcome,
        t.credit_code,
        t.appointment_code,
        t.appointment_start,
        t.issued_by,
    )


def ticket_from_row(row: Mapping[str, Any]) -> Ticket:
    data = {c: row[c] for c in TICKET_COLUMNS}
    data["matters"] = tuple(json.loads(row["matters"]))
    data["state"] = TicketState(row["state"])
    return Ticket(**data)


def window_row(w: WindowStatus) -> tuple[Any, ...]:
    return (
        w.id,
        w.kind,
        w.name,
        w.zone,
        w.state.value,
        w.clerk,
        w.current,
        w.profile_name,
        _json(w.profile.data),
        w.idle_since,
        w.day,
    )


def window_from_row(row: Mapping[str, Any], config: HallConfig) -> WindowStatus:
    del config  # the stored profile wins: a manager's live change outlives a restart
    return WindowStatus(
        id=row["id"],
        kind=row["kind"],
        name=row["name"],
        zone=row["zone"],
        state=WindowState(row["state"]),
        clerk=row["clerk"],
        current=row["current"],
        profile_name=row["profile_name"],
        profile=Profile.model_validate(json.loads(row["profile"])),
        idle_since=row["idle_since"],
        day=row["day"],
    )


def appointment_row(a: Appointment) -> tuple[Any, ...]:
    return (
        a.code,
        _json(list(a.matters)),
        a.slot_start,
        a.slot_end,
        a.name,
        a.created_at,
        a.created_by,
        a.state,
        a.ticket,
    )


def appointment_from_row(row: Mapping[str, Any]) -> Appointment:
    data = {c: row[c] for c in APPOINTMENT_COLUMNS}
    data["matters"] = tuple(json.loads(row["matters"]))
    return Appointment(**data)


INSERT_RATING = (
    f"insert into ratings ({', '.join(RATING_COLUMNS)}) values ({', '.join('?' * len(RATING_COLUMNS))})"
)


def rating_row(r: Rating) -> tuple[Any, ...]:
    return (r.ticket, r.window, r.clerk, r.level, r.level_name, r.device, r.armed_at, r.rated_at)


def journal_row(e: JournalEntry) -> tuple[Any, ...]:
    return (e.at, e.actor, e.role, e.action, e.window, e.ticket, e.before, e.after, _json(e.detail))


def change_ops(change: Change) -> list[Op]:
    """The statements that make a change durable. Built at once, on the event loop, because the core's
    objects keep changing after the command returns; the writer thread only ever sees plain tuples."""
    ops: list[Op] = [(UPSERT_TICKET, ticket_row(t)) for t in change.tickets.values()]
    ops += [(UPSERT_WINDOW, window_row(w)) for w in change.windows.values()]
    ops += [(UPSERT_APPOINTMENT, appointment_row(a)) for a in change.appointments.values()]
    ops += [(INSERT_RATING, rating_row(r)) for r in change.ratings]
    ops += [(INSERT_JOURNAL, journal_row(e)) for e in change.journal]
    return ops
