"""What a clerk does at their window (柜员操作), one endpoint per key of a call keypad (呼叫器).

Every answer has the same shape: ``{"ticket": …or null, "window": …}``.
"""

from __future__ import annotations

from typing import Any

from hallctl.core import counter
from hallctl.core.model import Change, Role, Ticket
from hallctl.service import Command
from hallctl.web import requests as rq
from hallctl.web.endpoints import Context, endpoint
from hallctl.web.views import ticket_view, window_view

CLERK = frozenset({Role.CLERK})


async def _act(ctx: Context, window_id: int, command: Command) -> dict[str, Any]:
    change: Change = await ctx.service.execute(command)
    state = ctx.service.state
    ticket = change.result if isinstance(change.result, Ticket) else None
    if ticket is None and state.windows[window_id].current is not None:
        ticket = state.tickets.get(state.windows[window_id].current)  # type: ignore[arg-type]
    return {
        "ticket": None if ticket is None else ticket_view(state, ticket),
        "window": window_view(state, state.windows[window_id]),
    }


@endpoint(
    "POST",
    "/api/v1/windows/{window}/login",
    roles=CLERK,
    body=rq.Empty,
    tag="window",
    summary="Log in to an open window that has no clerk",
)
async def login(ctx: Context) -> dict[str, Any]:
    w, a = ctx.int_param("window"), ctx.who
    return await _act(ctx, w, lambda s, now: counter.login(s, now, a, w))


@endpoint(
    "POST",
    "/api/v1/windows/{window}/logout",
    roles=CLERK,
    body=rq.Empty,
    tag="window",
    summary="Log out of the window",
)
async def logout(ctx: Context) -> dict[str, Any]:
    w, a = ctx.int_param("window"), ctx.who
    return await _act(ctx, w, lambda s, now: counter.logout(s, now, a, w))


@endpoint(
    "POST",
    "/api/v1/windows/{window}/call-next",
    roles=CLERK,
    body=rq.Empty,
    tag="window",
    summary="Call the next ticket this window's profile allows (叫号); ticket null when none waits",
)
async def call_next(ctx: Context) -> dict[str, Any]:
    w, a = ctx.int_param("window"), ctx.who
    # Nothing waiting leaves the window free, so the answer is {"ticket": null, ...}.
    return await _act(ctx, w, lambda s, now: counter.call_next(s, now, a, w))


@endpoint(
    "POST",
    "/api/v1/windows/{window}/recall",
    roles=CLERK,
    body=rq.Empty,
    tag="window",
    summary="Announce the called ticket again (重呼), up to the hall's limit",
)
async def recall(ctx: Context) -> dict[str, Any]:
    w, a = ctx.int_param("window"), ctx.who
    return await _act(ctx, w, lambda s, now: counter.recall(s, now, a, w))


@endpoint(
    "POST",
    "/api/v1/windows/{window}/no-show",
    roles=CLERK,
    body=rq.Empty,
    tag="window",
    summary="The called citizen did not come (过号)",
)
async def no_show(ctx: Context) -> dict[str, Any]:
    w, a = ctx.int_param("window"), ctx.who
    return await _act(ctx, w, lambda s, now: counter.no_show(s, now, a, w))


@endpoint(
    "POST",
    "/api/v1/windows/{window}/start",
    roles=CLERK,
    body=rq.Empty,
    tag="window",
    summary="Service begins (开始办理)",
)
async def start(ctx: Context) -> dict[str, Any]:
    w, a = ctx.int_param("window"), ctx.who
    return await _act(ctx, w, lambda s, now: counter.start(s, now, a, w))


@endpoint(
    "POST",
    "/api/v1/windows/{window}/finish",
    roles=CLERK,
    body=rq.Finish,
    tag="window",
    summary="Service ends (办结) with an outcome",
)
async def finish(ctx: Context) -> dict[str, Any]:
    w, a, outcome = ctx.int_param("window"), ctx.who, ctx.body.outcome
    return await _act(ctx, w, lambda s, now: counter.finish(s, now, a, w, outcome))


@endpoint(
    "POST",
    "/api/v1/windows/{window}/transfer",
    roles=CLERK,
    body=rq.Transfer,
    tag="window",
    summary="Send the ticket to other matters and/or a window; it keeps its place (转办不重新排队)",
)
async def transfer(ctx: Context) -> dict[str, Any]:
    w, a, body = ctx.int_param("window"), ctx.who, ctx.body
    matters = tuple(body.matters) if body.matters is not None else None
    return await _act(
        ctx, w, lambda s, now: counter.transfer(s, now, a, w, matters, body.window, body.reason)
    )


@endpoint(
    "POST",
    "/api/v1/windows/{window}/suspend",
    roles=CLERK,
    body=rq.WithReason,
    tag="window",
    summary="Park the ticket at this window (挂起)",
)
async def suspend(ctx: Context) -> dict[str, Any]:
    w, a, reason = ctx.int_param("window"), ctx.who, ctx.body.reason
    return await _act(ctx, w, lambda s, now: counter.suspend(s, now, a, w, reason))


@endpoint(
    "POST",
    "/api/v1/windows/{window}/resume",
    roles=CLERK,
    body=rq.Resume,
    tag="window",
    summary="Call a parked ticket back (回呼); the oldest one if none is named",
)
async def resume(ctx: Context) -> dict[str, Any]:
    w, a, ticket = ctx.int_param("window"), ctx.who, ctx.body.ticket
    return await _act(ctx, w, lambda s, now: counter.resume(s, now, a, w, ticket))


@endpoint(
    "POST",
    "/api/v1/windows/{window}/pause",
    roles=CLERK,
    body=rq.WithReason,
    tag="window",
    summary="Stop taking calls (暂停服务)",
)
async def pause(ctx: Context) -> dict[str, Any]:
    w, a, reason = ctx.int_param("window"), ctx.who, ctx.body.reason
    return await _act(ctx, w, lambda s, now: counter.pause(s, now, a, w, reason))


@endpoint(
    "POST",
    "/api/v1/windows/{window}/unpause",
    roles=CLERK,
    body=rq.Empty,
    tag="window",
    summary="Take calls again",
)
async def unpause(ctx: Context) -> dict[str, Any]:
    w, a = ctx.int_param("window"), ctx.who
    return await _act(ctx, w, lambda s, now: counter.unpause(s, now, a, w))
