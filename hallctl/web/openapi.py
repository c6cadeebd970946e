"""The OpenAPI 3.1 document, built from the endpoint declarations (so it always matches the routes)."""

from __future__ import annotations

import re
from typing import Any

from hallctl import __version__
from hallctl.web.endpoints import ENDPOINTS, Endpoint, endpoint

_PARAM = re.compile(r"{(\w+)}")
INTEGER_PARAMS = {"window", "id"}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string"},
            },
        }
    },
}
ERRORS = {
    "400": "Bad request",
    "401": "No token, or an unknown or revoked one",
    "403": "The token's role may not do this, or a clerk acts on a window they are not logged in to",
    "404": "No such ticket, window or appointment",
    "409": "Refused in the current state; nothing was changed",
    "422": "A field is missing or wrong; the error names it",
    "503": "The database could not save the change; nothing was changed",
}


def _operation(ep: Endpoint, schemas: dict[str, Any]) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer"} if name in INTEGER_PARAMS else {"type": "string"},
        }
        for name in _PARAM.findall(ep.path)
    ]
    params += [
        {"name": name, "in": "query", "required": False, "description": desc, "schema": {"type": "string"}}
        for name, desc in ep.query
    ]
    op: dict[str, Any] = {
        "operationId": ep.handler.__name__ if ep.tag != "window" else f"window_{ep.handler.__name__}",
        "summary": ep.summary,
        "tags": [ep.tag],
        "responses": {
            str(ep.status): {
                "description": "OK",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    }
    if ep.path == "/metrics":
        op["responses"] = {
            "200": {
                "description": "Prometheus text",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        }
    if params:
        op["parameters"] = params
    if ep.public:
        op["security"] = []
    else:
        op["description"] = "Roles: " + ", ".join(sorted(r.value for r in ep.roles))
        op["x-roles"] = sorted(r.value for r in ep.roles)
    if ep.body is not None:
        schema = ep.body.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            schemas[name] = sub
        schemas[ep.body.__name__] = schema
        op["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ep.body.__name__}"}}},
        }
    for code, text in ERRORS.items():
        op["responses"].setdefault(
            code,
            {
                "description": text,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        )
    return op


def build_openapi() -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for ep in ENDPOINTS:
        paths.setdefault(ep.path, {})[ep.method.lower()] = _operation(ep, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hallctl",
            "version": __version__,
            "description": "Queue controller of a comprehensive-teller social-insurance service hall.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


_DOCUMENT: dict[str, Any] = {}


@endpoint("GET", "/api/v1/openapi.json", roles=frozenset(), tag="ops", summary="This document")
async def openapi(ctx: object) -> dict[str, Any]:
    if not _DOCUMENT:
        _DOCUMENT.update(build_openapi())
    return _DOCUMENT
