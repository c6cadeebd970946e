"""What a hall manager does live: open, close, rebalance windows, and call out of order (插队)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from hallctl.config import Profile
from hallctl.core import admin
from hallctl.core.errors import Invalid
from hallctl.core.model import Role
from hallctl.web import requests as rq
from hallctl.web.endpoints import Context, endpoint
from hallctl.web.views import ticket_view, window_view

MANAGER = frozenset({Role.MANAGER})


@endpoint(
    "POST",
    "/api/v1/windows/{window}/open",
    roles=MANAGER,
    body=rq.Empty,
    tag="manager",
    summary="Open a window",
)
async def open_window(ctx: Context) -> dict[str, Any]:
    w, a = ctx.int_param("window"), ctx.who
    change = await ctx.service.execute(lambda s, now: admin.open_window(s, now, a, w))
    return {"window": window_view(ctx.service.state, change.result)}


@endpoint(
    "POST",
    "/api/v1/windows/{window}/close",
    roles=MANAGER,
    body=rq.WithReason,
    tag="manager",
    summary="Close a window (its clerk is logged out)",
)
async def close_window(ctx: Context) -> dict[str, Any]:
    w, a, reason = ctx.int_param("window"), ctx.who, ctx.body.reason
    change = await ctx.service.execute(lambda s, now: admin.close_window(s, now, a, w, reason))
    return {"window": window_view(ctx.service.state, change.result)}


@endpoint(
    "PUT",
    "/api/v1/windows/{window}/profile",
    roles=MANAGER,
    body=rq.SetProfile,
    tag="manager",
    summary="Change a window's work profile live: a configured one by name, or an inline one",
)
async def set_profile(ctx: Context) -> dict[str, Any]:
    w, a, body = ctx.int_param("window"), ctx.who, ctx.body
    name: str | None = None
    profile: Profile | None = None
    if isinstance(body.profile, str):
        name = body.profile
    else:
        try:
            profile = Profile.model_validate(body.profile.model_dump())
        except ValidationError as exc:
            err = exc.errors()[0]
            where = "profile." + ".".join(str(p) for p in err["loc"])
            raise Invalid(
                "bad_field", f"字段 {where} 有误：{err['msg']}", f"{where}: {err['msg']}", field=where
            ) from None
    change = await ctx.service.execute(
        lambda s, now: admin.set_profile(s, now, a, w, name=name, profile=profile, reason=body.reason)
    )
    return {"window": window_view(ctx.service.state, change.result)}


@endpoint(
    "POST",
    "/api/v1/windows/{window}/call-ticket",
    roles=MANAGER,
    body=rq.CallTicket,
    tag="manager",
    summary="Call one ticket out of order (插队) with a reason; journaled as a key-audit event",
)
async def call_ticket(ctx: Context) -> dict[str, Any]:
    w, a, body = ctx.int_param("window"), ctx.who, ctx.body
    change = await ctx.service.execute(
        lambda s, now: admin.call_ticket(s, now, a, w, body.ticket, body.reason)
    )
    state = ctx.service.state
    return {"ticket": ticket_view(state, change.result), "window": window_view(state, state.windows[w])}
