"""The aiohttp application: routes from the endpoint declarations, JSON errors for everything else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from hallctl.audit import api as audit_api  # noqa: F401 - GET /api/v1/audit
from hallctl.forecast.forecaster import Forecaster
from hallctl.hub.hub import DeviceHub
from hallctl.service import HallService

# Importing the endpoint modules registers their endpoints.
from hallctl.web import (  # noqa: F401
    api_advice,
    api_appointments,
    api_devices,
    api_hall,
    api_manager,
    api_stats,
    api_tickets,
    api_window,
    openapi,
    ops,
)
from hallctl.web.access import setup_access
from hallctl.web.api_advice import setup_advice
from hallctl.web.endpoints import ENDPOINTS, FORECASTER, HUB, SERVICE, error_response, language_of, make_route
from hallctl.web.live import setup_live

DISPLAY = Path(__file__).resolve().parents[2] / "display"
PAGES = ("kiosk", "clerk", "dashboard", "board")

# Request bodies are small JSON; anything larger is a mistake or an attack.
MAX_BODY = 64 * 1024


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """aiohttp's own 404/405/413 as the same JSON error shape as ours."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        en = language_of(request) == "en"
        messages = {
            404: ("not_found", "接口不存在", "no such endpoint"),
            405: ("method_not_allowed", "不支持该请求方法", "method not allowed"),
            413: ("too_large", "请求内容过大", "request body too large"),
        }
        code, zh, english = messages.get(exc.status, ("http_error", exc.reason, exc.reason))
        return error_response(exc.status, code, english if en else zh)


def create_app(
    service: HallService, hub: DeviceHub | None = None, forecaster: Forecaster | None = None
) -> web.Application:
    app = web.Application(middlewares=[json_errors], client_max_size=MAX_BODY)
    app[SERVICE] = service
    if hub is not None:
        app[HUB] = hub
    if forecaster is not None:
        app[FORECASTER] = forecaster  # for /metrics: is the wait predictor keeping up?
    for ep in ENDPOINTS:
        app.router.add_route(ep.method, ep.path, make_route(ep))
    # Which address each token is used from and what it was refused (the audit's endpoint rules).
    setup_access(app, service.config.audit.access, service.writer, service.clock)
    setup_advice(app)  # the what-if's worker process, started on first use
    setup_live(app)  # the pages' live stream (SSE): its own routes, outside the JSON API's declarations
    for page in PAGES:
        if (DISPLAY / f"{page}.html").exists():
            app.router.add_get(f"/{page}", _page(page))
    if (DISPLAY / "phone.html").exists():
        app.router.add_get("/t/{track_token}", _page("phone"))
    if (DISPLAY / "static").is_dir():
        app.router.add_static("/static", DISPLAY / "static")
    return app


def _page(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def page(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(DISPLAY / f"{name}.html")

    return page
