"""Reading the hall: matters, windows, the hall itself, who am I, and a citizen's own ticket."""

from __future__ import annotations

from typing import Any

from hallctl.core.calendar import is_open
from hallctl.core.errors import NotFound
from hallctl.core.model import Role
from hallctl.web.endpoints import ALL_ROLES, Context, endpoint
from hallctl.web.views import public_ticket_view, window_view

# Who may see the windows and their clerks. Not the kiosk: a kiosk issues tickets and shows the matters,
# nothing more (least privilege: a kiosk stands in the public hall); not the booking platform either.
READERS = ALL_ROLES - {Role.BOOKING, Role.KIOSK}


@endpoint(
    "GET", "/api/v1/hall", roles=ALL_ROLES, summary="The hall: name, hours, notices, open now", tag="hall"
)
async def get_hall(ctx: Context) -> dict[str, Any]:
    config = ctx.service.config
    state = ctx.service.state
    return {
        "id": config.hall.id,
        "name": config.hall.name,
        "timezone": config.hall.timezone,
        "language": config.hall.language,
        "open_now": ctx.service.always_open or is_open(config.hours, ctx.service.clock(), state.zone),
        "day": state.day,
        "notices": list(config.notices),
        "groups": [{"prefix": g.prefix, "name": g.name} for g in config.groups],
        "public_url": config.devices.public_url,  # the kiosk's on-screen QR matches the printed one
    }


@endpoint("GET", "/api/v1/matters", roles=ALL_ROLES, summary="Matters (事项) the kiosk offers", tag="hall")
async def list_matters(ctx: Context) -> dict[str, Any]:
    config = ctx.service.config
    issued = ctx.service.state.issued
    day = ctx.service.state.day
    return {
        "matters": [
            {
                "code": m.code,
                "name": m.name,
                "name_en": m.name_en,
                "prefix": m.prefix,
                "group": config.group(m.prefix).name,
                "target_wait_minutes": m.target_wait_minutes,
                "service_minutes": m.service_minutes,
                "materials": list(m.materials),
                "daily_cap": m.daily_cap,
                "issued_today": issued[(day, m.code)],
            }
            for m in config.matters
        ]
    }


@endpoint("GET", "/api/v1/windows", roles=READERS, summary="Windows and their state", tag="hall")
async def list_windows(ctx: Context) -> dict[str, Any]:
    state = ctx.service.state
    return {"windows": [window_view(state, w) for w in sorted(state.windows.values(), key=lambda w: w.id)]}


@endpoint("GET", "/api/v1/windows/{window}", roles=READERS, summary="One window", tag="hall")
async def get_window(ctx: Context) -> dict[str, Any]:
    state = ctx.service.state
    return window_view(state, state.window(ctx.int_param("window")))


@endpoint("GET", "/api/v1/me", roles=ALL_ROLES, summary="The caller's role, and a clerk's window", tag="hall")
async def me(ctx: Context) -> dict[str, Any]:
    actor = ctx.who
    window = ctx.service.state.window_of_clerk(actor.clerk) if actor.clerk else None
    return {
        "role": actor.role.value,
        "name": actor.name,
        "clerk": actor.clerk,
        "window": window.id if window else None,
    }


@endpoint(
    "GET",
    "/api/v1/track/{track_token}",
    roles=frozenset(),
    summary="A citizen's own ticket by its unguessable track token (the phone page)",
    tag="hall",
)
async def track(ctx: Context) -> dict[str, Any]:
    ticket = ctx.service.find_by_track_token(ctx.param("track_token"))
    if ticket is None:
        raise NotFound("ticket_not_found", "未找到该号票，可能已过期", "no such ticket (it may have expired)")
    return public_ticket_view(ctx.service.state, ticket)
