"""How the hall's things look in JSON: what each role is shown of a ticket, a window and a matter."""

from __future__ import annotations

from typing import Any

from hallctl.core.calendar import iso
from hallctl.core.model import Appointment, Ticket, WindowStatus
from hallctl.core.state import HallState
from hallctl.forecast.board import Expected, ticket_eta


def ticket_view(state: HallState, t: Ticket, *, with_track_token: bool = False) -> dict[str, Any]:
    """A ticket for staff and the kiosk. The track token goes only to the kiosk that issued it."""
    zone = state.zone
    expected = ticket_eta(state, t)
    view: dict[str, Any] = {
        "id": t.id,
        "number": t.number,
        "matter": t.matters[0],
        "matters": list(t.matters),
        "matter_names": [state.config.matter(m).name for m in t.matters],
        "channel": t.channel,
        "state": t.state.value,
        "window": t.window,
        "target_window": t.target_window,
        "day": t.day,
        "issued_at": iso(t.issued_at, zone),
        "called_at": iso(t.called_at, zone),
        "started_at": iso(t.started_at, zone),
        "finished_at": iso(t.finished_at, zone),
        **eta_fields(expected),
        "recalls": t.recalls,
        "transfers": t.transfers,
        "no_show_returns": t.no_show_returns,
        "outcome": t.outcome,
        "clerk": t.clerk,
        "appointment_code": t.appointment_code,
        "credit_code": t.credit_code,
    }
    if with_track_token:
        view["track_token"] = t.track_token
        view["materials"] = materials(state, t)
    return view


def eta_fields(expected: Expected) -> dict[str, Any]:
    """People ahead and the expected wait: whole minutes rounded up (the contract since the first
    release), the same in seconds, and the p10–p90 range in minutes when the forecaster made one."""
    has_range = expected.low_minutes is not None and expected.high_minutes is not None
    return {
        "ahead": expected.ahead,
        "eta_minutes": expected.minutes,
        "eta_seconds": expected.seconds,
        "eta_range_minutes": [expected.low_minutes, expected.high_minutes] if has_range else None,
    }


def materials(state: HallState, t: Ticket) -> list[dict[str, Any]]:
    """The materials checklist (一次性告知) for each of the ticket's matters."""
    return [
        {
            "matter": m,
            "name": state.config.matter(m).name,
            "materials": list(state.config.matter(m).materials),
        }
        for m in t.matters
    ]


def public_ticket_view(state: HallState, t: Ticket) -> dict[str, Any]:
    """What the citizen's phone page shows: their own ticket and nothing about anyone else."""
    expected = ticket_eta(state, t)
    return {
        "number": t.number,
        "state": t.state.value,
        "matter_names": [state.config.matter(m).name for m in t.matters],
        "window": t.window,
        "window_name": state.windows[t.window].name if t.window in state.windows else None,
        **eta_fields(expected),
        "issued_at": iso(t.issued_at, state.zone),
        "called_at": iso(t.called_at, state.zone),
        "materials": materials(state, t),
        "hall": state.config.hall.name,
    }


def window_view(state: HallState, w: WindowStatus) -> dict[str, Any]:
    current = state.tickets.get(w.current) if w.current is not None else None
    return {
        "id": w.id,
        "kind": w.kind,
        "name": w.name,
        "zone": w.zone,
        "state": w.state.value,
        "clerk": w.clerk,
        "current": None
        if current is None
        else {"id": current.id, "number": current.number, "state": current.state.value},
        "profile_name": w.profile_name,
        "profile": w.profile.data,
    }


def appointment_view(state: HallState, a: Appointment) -> dict[str, Any]:
    return {
        "code": a.code,
        "matters": list(a.matters),
        "slot_start": iso(a.slot_start, state.zone),
        "slot_end": iso(a.slot_end, state.zone),
        "name": a.name,
        "state": a.state,
        "ticket": a.ticket,
    }
