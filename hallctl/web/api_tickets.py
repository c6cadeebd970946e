"""Tickets: issue at the kiosk, read, a no-show's return, void."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from devices.printer.driver import PrintError
from hallctl.core import issuing
from hallctl.core.errors import ticket_not_found
from hallctl.core.model import QUEUED, Actor, Role, TicketState
from hallctl.web import requests as rq
from hallctl.web.endpoints import HUB, STAFF, Context, endpoint, json_response
from hallctl.web.views import ticket_view


@endpoint(
    "POST",
    "/api/v1/tickets",
    roles={Role.KIOSK, Role.MANAGER},
    body=rq.IssueTicket,
    status=201,
    summary="Issue a ticket (取号); 201 once it is on disk",
    tag="tickets",
)
async def issue_ticket(ctx: Context) -> dict[str, Any] | web.Response:
    body: rq.IssueTicket = ctx.body
    request = issuing.IssueRequest(
        matters=body.matter_codes(),
        channel=body.channel,
        credit_code=body.credit_code,
        appointment_code=body.appointment_code,
    )
    actor = ctx.who
    change = await ctx.service.execute(lambda state, now: issuing.issue(state, now, actor, request))
    ticket = change.result
    hub = ctx.request.app.get(HUB)
    printer = hub.printer_for(actor.name) if hub is not None else None
    if hub is not None and printer is not None:
        try:
            await hub.print_ticket(printer, ticket)
        except PrintError as exc:
            # No phantom ticket: what the citizen could not take away is voided, and the kiosk says so.
            reason = f"出票失败（{PRINT_REASONS.get(exc.reason, exc.reason)}）"
            voider = Actor(Role.SYSTEM, f"printer {printer.config.id}")
            await ctx.service.execute(lambda s, now: issuing.void(s, now, voider, ticket.id, reason))
            english = f"the ticket could not be printed ({exc.reason}); it was voided"
            message = english if ctx.language == "en" else f"{reason}，该号已作废，请联系工作人员"
            return json_response(
                {
                    "error": {"code": "print_failed", "message": message, "reason": exc.reason},
                    "ticket": ticket_view(ctx.service.state, ticket),
                },
                503,
            )
    return ticket_view(ctx.service.state, ticket, with_track_token=True)


PRINT_REASONS = {
    "paper_out": "缺纸",
    "offline": "打印机离线",
    "cover_open": "打印机盖未关",
    "timeout": "打印超时",
    "io": "打印机连接失败",
}


@endpoint(
    "GET", "/api/v1/tickets/{id}", roles=STAFF, summary="One ticket, with people ahead and ETA", tag="tickets"
)
async def get_ticket(ctx: Context) -> dict[str, Any]:
    ticket_id = ctx.int_param("id")
    ticket = ctx.service.find_ticket(ticket_id)
    if ticket is None:
        raise ticket_not_found(ticket_id)
    return ticket_view(ctx.service.state, ticket)


@endpoint(
    "GET",
    "/api/v1/tickets",
    roles=STAFF,
    summary="Today's tickets, optionally by state",
    tag="tickets",
    query=(
        ("state", "waiting, called, serving, done, no_show, suspended, transferred, voided or queued"),
        ("limit", "at most this many (default 200, newest last)"),
    ),
)
async def list_tickets(ctx: Context) -> dict[str, Any]:
    state = ctx.service.state
    wanted = ctx.request.query.get("state")
    limit = ctx.int_query("limit", 200, 1, 5000)
    tickets = [t for t in state.tickets.values() if t.day == state.day]
    if wanted == "queued":
        tickets = [t for t in tickets if t.state in QUEUED]
    elif wanted:
        valid = {s.value for s in TicketState}
        tickets = [t for t in tickets if t.state.value == wanted] if wanted in valid else []
    tickets.sort(key=lambda t: (t.queue_key, t.id))
    return {"tickets": [ticket_view(state, t) for t in tickets[-limit:]]}


@endpoint(
    "POST",
    "/api/v1/tickets/{id}/return",
    # Staff only: a kiosk only issues tickets, and a returning citizen is let back in by a person.
    roles={Role.CLERK, Role.MANAGER},
    body=rq.Empty,
    summary="A no-show comes back and queues again, once, by rule (过号重排)",
    tag="tickets",
)
async def return_ticket(ctx: Context) -> dict[str, Any]:
    ticket_id = ctx.int_param("id")
    actor = ctx.who
    change = await ctx.service.execute(lambda s, now: issuing.return_no_show(s, now, actor, ticket_id))
    return ticket_view(ctx.service.state, change.result)


@endpoint(
    "POST",
    "/api/v1/tickets/{id}/void",
    roles={Role.MANAGER},
    body=rq.Void,
    summary="Void a ticket (作废) with a reason; its number is never reused",
    tag="tickets",
)
async def void_ticket(ctx: Context) -> dict[str, Any]:
    ticket_id = ctx.int_param("id")
    reason = ctx.body.reason
    actor = ctx.who
    change = await ctx.service.execute(lambda s, now: issuing.void(s, now, actor, ticket_id, reason))
    return ticket_view(ctx.service.state, change.result)
