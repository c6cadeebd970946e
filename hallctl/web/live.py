"""The live stream the pages listen on (Server-Sent Events), its HTTP side: who may open which view, the
limits on open streams, and the loop that writes a stream's queue out. On connect a stream gets a
snapshot of what the caller may see; then the changes, pushed as they are committed (``live_hub.py``
builds them, ``live_views.py`` says what each page is shown, ``live_stream.py`` holds one stream's queue).

Two routes, kept out of the OpenAPI document (a stream is not a JSON operation; docs/pages.md describes it):

- ``GET /api/v1/live`` for staff and boards: ``Authorization: Bearer TOKEN`` or ``?token=TOKEN`` (the
  browser's EventSource cannot set headers); ``?view=board|dashboard|clerk`` where the role allows more
  than one.
- ``GET /api/v1/track/{track_token}/live`` for the citizen's phone: that ticket alone, nothing else.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from hallctl.core.model import Role
from hallctl.web.access import ACCESS
from hallctl.web.endpoints import HUB, SERVICE, error_response, language_of
from hallctl.web.live_hub import LiveHub
from hallctl.web.live_stream import Stream

LIVE_PATH = "/api/v1/live"
TRACK_LIVE_PATH = "/api/v1/track/{track_token}/live"
#: Routes that stream rather than answer JSON (the OpenAPI test leaves them out, like the pages).
STREAM_PATHS = frozenset({LIVE_PATH, TRACK_LIVE_PATH})

#: Which views each role may open; the first is its default. The kiosk and the outside systems have none:
#: a kiosk only issues tickets, and the case system reads figures over the API.
VIEWS_BY_ROLE: dict[Role, tuple[str, ...]] = {
    Role.DISPLAY: ("board",),
    Role.CLERK: ("clerk", "board"),
    Role.MANAGER: ("dashboard", "board"),
    Role.AUDITOR: ("dashboard", "board"),
}

# A write that has not gone out after this long: the client is gone or stuck; close the stream.
WRITE_TIMEOUT = 30.0
# Streams the daemon serves at once, and per citizen's ticket (a phone has a tab or two open).
MAX_STREAMS = 20_000
MAX_PER_TICKET = 8
# How long EventSource waits before it reconnects (told to the browser in the stream).
RETRY_MS = 2000

LIVE: web.AppKey[LiveHub] = web.AppKey("live", LiveHub)


def setup_live(app: web.Application) -> None:
    """Add the stream routes and the hub that feeds them to an app made by ``create_app``."""
    app[LIVE] = LiveHub(app[SERVICE], app.get(HUB))
    app.router.add_get(LIVE_PATH, live_stream)
    app.router.add_get(TRACK_LIVE_PATH, track_stream)
    app.cleanup_ctx.append(_run_live)
    app.on_shutdown.append(_end_streams)


async def _run_live(app: web.Application) -> AsyncIterator[None]:
    async with app[LIVE]:
        yield


async def _end_streams(app: web.Application) -> None:
    # Runs before the server waits for open requests: without it, a stopping daemon would wait for every
    # page to hang up.
    app[LIVE].close_all()


def _token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.query.get("token") or None


def _refusal(request: web.Request, status: int, code: str, zh: str, en: str) -> web.Response:
    return error_response(status, code, en if language_of(request) == "en" else zh)


async def live_stream(request: web.Request) -> web.StreamResponse:
    live = request.app[LIVE]
    token = _token(request)
    if token is None:
        return _refusal(
            request,
            401,
            "unauthenticated",
            "需要令牌（Authorization: Bearer … 或 ?token=…）",
            "a token is required (Authorization: Bearer ... or ?token=...)",
        )
    info = live.service.authenticate(token)
    if info is None:
        return _refusal(request, 401, "bad_token", "令牌无效或已吊销", "unknown or revoked token")
    views = VIEWS_BY_ROLE.get(info.role, ())
    # The audit's record of where each token is used from covers the pages' stream too (a board's display
    # token is used nowhere else).
    request.app[ACCESS].record(request, info, "GET /api/v1/live", forbidden=not views)
    if not views:
        return _refusal(
            request,
            403,
            "role_forbidden",
            f"“{info.role.value}”角色无权订阅实时数据",
            f"the {info.role.value} role may not open the live stream",
        )
    view = request.query.get("view") or views[0]
    if view not in views:
        return _refusal(
            request,
            403,
            "view_forbidden",
            f"“{info.role.value}”角色可用的视图：{'、'.join(views)}",
            f"the {info.role.value} role may open: {', '.join(views)}",
        )
    if view == "clerk" and not info.clerk:
        return _refusal(
            request, 403, "no_clerk_id", "该柜员令牌没有柜员编号", "this clerk token has no clerk id"
        )
    stream = Stream(view, token=token, role=info.role, clerk=info.clerk)
    return await _serve(request, live, stream)


async def track_stream(request: web.Request) -> web.StreamResponse:
    live = request.app[LIVE]
    ticket = live.service.find_by_track_token(request.match_info["track_token"])
    if ticket is None:
        return _refusal(
            request,
            404,
            "ticket_not_found",
            "未找到该号票，可能已过期",
            "no such ticket (it may have expired)",
        )
    if live.phone_streams(ticket.id) >= MAX_PER_TICKET:
        return _refusal(
            request,
            429,
            "too_many_streams",
            "打开的页面过多，请关闭几个后重试",
            "too many open pages for this ticket",
        )
    return await _serve(request, live, Stream("phone", ticket=ticket.id))


async def _serve(request: web.Request, live: LiveHub, stream: Stream) -> web.StreamResponse:
    if len(live.streams) >= MAX_STREAMS:
        return _refusal(request, 503, "too_many_streams", "实时连接已满，请稍后重试", "too many live streams")
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache, no-store",
            "X-Accel-Buffering": "no",  # a reverse proxy in front must not hold the stream back
        }
    )
    await response.prepare(request)
    live.open(stream)
    try:
        await response.write(b"retry: %d\n\n" % RETRY_MS)
        await _write_loop(response, live, stream)
    except (ConnectionError, TimeoutError):
        pass  # the client went away, or stopped reading: nothing more to send
    finally:
        live.close(stream)
    return response


async def _write_loop(response: web.StreamResponse, live: LiveHub, stream: Stream) -> None:
    write: Callable[[bytes], Any] = response.write
    while True:
        await stream.ready.wait()
        stream.ready.clear()
        if stream.closed:
            # A last word already queued (``revoked``) still goes out.
            if stream.queue:
                await asyncio.wait_for(write(b"".join(stream.queue)), WRITE_TIMEOUT)
            return
        if stream.stale:
            stream.stale = False
            stream.queue.clear()
            chunk = live.snapshot(stream)
        else:
            chunk = b"".join(stream.queue)
            stream.queue.clear()
        if chunk:
            await asyncio.wait_for(write(chunk), WRITE_TIMEOUT)
