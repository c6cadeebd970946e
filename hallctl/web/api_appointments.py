"""Appointments (预约) made on the online platform; the citizen checks in at the kiosk with the code."""

from __future__ import annotations

from typing import Any

from hallctl.core import issuing
from hallctl.core.model import Role
from hallctl.web import requests as rq
from hallctl.web.endpoints import Context, endpoint
from hallctl.web.views import appointment_view

BOOKERS = frozenset({Role.BOOKING, Role.MANAGER})


@endpoint(
    "POST",
    "/api/v1/appointments",
    roles=BOOKERS,
    body=rq.Book,
    status=201,
    tag="appointments",
    summary="Record an appointment: code, matters, time slot",
)
async def book(ctx: Context) -> dict[str, Any]:
    body: rq.Book = ctx.body
    a = ctx.who
    start, end = body.slot_start.timestamp(), body.slot_end.timestamp()
    change = await ctx.service.execute(
        lambda s, now: issuing.book(s, now, a, body.code, tuple(body.matters), start, end, body.name)
    )
    return appointment_view(ctx.service.state, change.result)


@endpoint(
    "GET",
    "/api/v1/appointments",
    roles=BOOKERS | {Role.AUDITOR},
    tag="appointments",
    summary="Appointments not yet checked in or cancelled",
)
async def list_appointments(ctx: Context) -> dict[str, Any]:
    state = ctx.service.state
    return {"appointments": [appointment_view(state, a) for a in state.appointments.values()]}


@endpoint(
    "DELETE",
    "/api/v1/appointments/{code}",
    roles=BOOKERS,
    tag="appointments",
    summary="Cancel an appointment that has not been checked in",
)
async def cancel(ctx: Context) -> dict[str, Any]:
    code, a = ctx.param("code"), ctx.who
    change = await ctx.service.execute(lambda s, now: issuing.cancel_appointment(s, now, a, code))
    return appointment_view(ctx.service.state, change.result)
