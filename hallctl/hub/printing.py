"""Printing a ticket at the kiosk that issued it, and what the ticket says (the hub's printer side)."""

from __future__ import annotations

from datetime import datetime

from devices.printer.ticket import TicketPrint
from hallctl.core.model import CHANNEL_NAMES, Ticket
from hallctl.core.state import HallState
from hallctl.forecast.board import ticket_eta

# The slip names a channel other than the ordinary one (大企业, 绿色通道, 预约).
CHANNEL_LABELS = {**CHANNEL_NAMES, "normal": ""}


def ticket_print(
    state: HallState, ticket: Ticket, *, public_url: str, paper_width_mm: int, with_materials: bool
) -> TicketPrint:
    expected = ticket_eta(state, ticket)
    materials: list[str] = []
    if with_materials:
        for code in ticket.matters:
            materials.extend(m for m in state.config.matter(code).materials if m not in materials)
    return TicketPrint(
        hall_name=state.config.hall.name,
        number=ticket.number,
        matters=tuple(state.config.matter(m).name for m in ticket.matters),
        channel=CHANNEL_LABELS[ticket.channel],
        people_ahead=expected.ahead,
        wait_minutes=expected.minutes,
        issued_at=datetime.fromtimestamp(ticket.issued_at, state.zone).strftime("%Y-%m-%d %H:%M"),
        qr_url=f"{public_url.rstrip('/')}/t/{ticket.track_token}",
        materials=tuple(materials),
        paper_width_mm=80 if paper_width_mm == 80 else 58,
    )
