"""Every HTTP endpoint declared once: path, roles, request body and summary.

The same declarations build the aiohttp routes, the OpenAPI document and the role-by-endpoint test, so
the three cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from hallctl.core.errors import Forbidden, HallError, Invalid
from hallctl.core.model import Actor, Role
from hallctl.forecast.forecaster import Forecaster
from hallctl.hub.hub import DeviceHub
from hallctl.service import HallService
from hallctl.web.access import ACCESS

ALL_ROLES = frozenset(r for r in Role if r is not Role.SYSTEM)
STAFF = frozenset({Role.CLERK, Role.MANAGER, Role.AUDITOR})

SERVICE: web.AppKey[HallService] = web.AppKey("service", HallService)
HUB: web.AppKey[DeviceHub] = web.AppKey("hub", DeviceHub)
FORECASTER: web.AppKey[Forecaster] = web.AppKey("forecaster", Forecaster)


class Unauthenticated(HallError):
    status = 401


@dataclass(slots=True)
class Context:
    request: web.Request
    service: HallService
    actor: Actor | None
    body: Any
    language: str

    def param(self, name: str) -> str:
        return self.request.match_info[name]

    def int_param(self, name: str) -> int:
        raw = self.request.match_info[name]
        try:
            return int(raw)
        except ValueError:
            raise Invalid("bad_path", f"{name} 应为整数", f"{name} must be an integer", field=name) from None

    def int_query(self, name: str, default: int, low: int, high: int) -> int:
        """An integer query parameter, clamped to [low, high]; text that is no integer is a 422."""
        raw = self.request.query.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise Invalid(
                "bad_query", f"参数 {name} 应为整数", f"{name} must be an integer", field=name
            ) from None
        return max(low, min(high, value))

    @property
    def who(self) -> Actor:
        assert self.actor is not None, "endpoint declared public but uses the actor"
        return self.actor


Handler = Callable[[Context], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    roles: frozenset[Role]  # empty: public (no token needed)
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    status: int = 200
    query: tuple[tuple[str, str], ...] = ()  # (name, description) of query parameters
    responses: dict[int, str] = field(default_factory=dict)

    @property
    def public(self) -> bool:
        return not self.roles


ENDPOINTS: list[Endpoint] = []


def endpoint(
    method: str,
    path: str,
    *,
    roles: frozenset[Role] | set[Role],
    summary: str,
    tag: str,
    body: type[BaseModel] | None = None,
    status: int = 200,
    query: tuple[tuple[str, str], ...] = (),
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ENDPOINTS.append(Endpoint(method, path, handler, frozenset(roles), summary, tag, body, status, query))
        return handler

    return register


def language_of(request: web.Request) -> str:
    lang = request.query.get("lang") or request.headers.get("Accept-Language") or ""
    return "en" if lang.lower().startswith("en") else "zh"


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def _validation_message(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "body"
    msg = err["msg"].removeprefix("Value error, ")  # pydantic's prefix on a validator's own message
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    return where, msg


def json_response(value: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        content_type="application/json",
    )


def error_response(status: int, code: str, message: str, **extra: Any) -> web.Response:
    error: dict[str, Any] = {"code": code, "message": message}
    error.update(extra)
    return json_response({"error": error}, status)


def make_route(ep: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    route_name = f"{ep.method} {ep.path}"

    async def route(request: web.Request) -> web.StreamResponse:
        service = request.app[SERVICE]
        language = language_of(request)
        try:
            actor = None
            if not ep.public:
                token = _bearer(request)
                if token is None:
                    raise Unauthenticated(
                        "unauthenticated",
                        "需要令牌（Authorization: Bearer …）",
                        "a token is required (Authorization: Bearer ...)",
                    )
                info = service.authenticate(token)
                if info is None:
                    raise Unauthenticated("bad_token", "令牌无效或已吊销", "unknown or revoked token")
                forbidden = info.role not in ep.roles
                # Where from and, if refused, to what: the audit's endpoint rules (hallctl/web/access.py).
                request.app[ACCESS].record(request, info, route_name, forbidden=forbidden)
                if forbidden:
                    raise Forbidden(
                        "role_forbidden",
                        f"“{info.role.value}”角色无权执行此操作",
                        f"the {info.role.value} role may not do this",
                        allowed=sorted(r.value for r in ep.roles),
                    )
                actor = info.actor()
            body = None
            if ep.body is not None:
                raw = await request.read()
                try:
                    data = json.loads(raw) if raw.strip() else {}
                # RecursionError: nesting deeper than the parser's recursion limit ("[[[[…", well under
                # the body size limit) is malformed input too, not a server error.
                except (ValueError, UnicodeDecodeError, RecursionError):
                    raise Invalid(
                        "bad_json", "请求内容不是有效的 JSON", "the request body is not valid JSON"
                    ) from None
                try:
                    body = ep.body.model_validate(data)
                except ValidationError as exc:
                    where, msg = _validation_message(exc)
                    raise Invalid(
                        "bad_field", f"字段 {where} 有误：{msg}", f"{where}: {msg}", field=where
                    ) from None
            result = await ep.handler(Context(request, service, actor, body, language))
        except HallError as exc:
            extra = {"field": exc.context["field"]} if "field" in exc.context else {}
            return error_response(exc.status, exc.code, exc.message(language), **extra)
        if isinstance(result, web.StreamResponse):
            return result
        return json_response(result, ep.status)

    route.__name__ = ep.handler.__name__
    return route
