"""The hall's devices: their health for managers and boards, and a clerk's request for a rating."""

from __future__ import annotations

from typing import Any

from hallctl.core import ratings
from hallctl.core.calendar import iso
from hallctl.core.model import Role
from hallctl.web import requests as rq
from hallctl.web.endpoints import HUB, Context, endpoint


@endpoint(
    "GET",
    "/api/v1/devices",
    roles=frozenset({Role.MANAGER, Role.AUDITOR, Role.DISPLAY}),
    tag="devices",
    summary="Every device: online or not, last seen, failures; the broker; refused inbound messages",
)
async def devices(ctx: Context) -> dict[str, Any]:
    hub = ctx.request.app.get(HUB)
    if hub is None:
        return {"devices": [], "broker": None, "rejected": {}}
    zone = ctx.service.state.zone
    listed = []
    for device in hub.view():
        device["last_seen_iso"] = iso(device["last_seen"], zone)
        listed.append(device)
    link = hub.link
    broker = (
        None
        if link is None
        else {
            "url": f"mqtt://{link.address.host}:{link.address.port}",
            "connected": link.connected.is_set(),
            "connects": link.connects,
            "published": link.published,
            "dropped": link.dropped,
            "last_error": link.last_error,
        }
    )
    return {"devices": listed, "broker": broker, "rejected": dict(hub.rejected)}


@endpoint(
    "POST",
    "/api/v1/windows/{window}/rate",
    roles=frozenset({Role.CLERK}),
    body=rq.Empty,
    tag="window",
    summary="Ask the citizen for a rating (评价): arm the window's satisfaction keypad",
)
async def request_rating(ctx: Context) -> dict[str, Any]:
    w, a = ctx.int_param("window"), ctx.who
    change = await ctx.service.execute(lambda s, now: ratings.request_rating(s, now, a, w))
    armed = change.result
    state = ctx.service.state
    return {"ticket": state.tickets[armed.ticket].number, "until": iso(armed.until, state.zone)}
