"""The OpenAPI document the app serves describes exactly the app's routes, methods and path parameters."""

from __future__ import annotations

import re

from aiohttp import web

from hallctl.web.app import PAGES
from hallctl.web.endpoints import ENDPOINTS
from hallctl.web.live import STREAM_PATHS

from .halltest import Hall

_PARAM = re.compile(r"{(\w+)}")
#: Pages for browsers (HTML files from display/) and their live streams, not part of the JSON API.
PAGE_PATHS = {f"/{page}" for page in PAGES} | {"/t/{track_token}"} | STREAM_PATHS


def _api_routes(app: web.Application) -> set[tuple[str, str]]:
    """(method, path) of every route but static files, pages and the HEAD aiohttp adds beside a GET."""
    routes = set()
    for route in app.router.routes():
        resource = route.resource
        if resource is None or isinstance(resource, web.StaticResource) or route.method == "HEAD":
            continue
        path = resource.canonical
        if path in PAGE_PATHS:
            continue
        routes.add((route.method, path))
    return routes


async def test_the_document_lists_exactly_the_apps_routes_and_methods(fresh_hall: Hall) -> None:
    document = await fresh_hall.api("GET", "/api/v1/openapi.json", None)
    documented = {
        (method.upper(), path) for path, operations in document["paths"].items() for method in operations
    }
    assert documented == _api_routes(fresh_hall.client.app)
    assert len(documented) == len(ENDPOINTS)  # and no endpoint is declared twice


async def test_every_path_parameter_is_documented_as_required(fresh_hall: Hall) -> None:
    document = await fresh_hall.api("GET", "/api/v1/openapi.json", None)
    for path, operations in document["paths"].items():
        in_path = set(_PARAM.findall(path))
        for method, operation in operations.items():
            params = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "path"}
            assert set(params) == in_path, f"{method.upper()} {path}: documents {sorted(params)}"
            for name, param in params.items():
                assert param["required"] is True, f"{method.upper()} {path}: {name} not required"
                assert param["schema"]["type"] in ("integer", "string"), f"{path}: {name} has no type"


async def test_every_operation_documents_its_roles_bodies_and_errors(fresh_hall: Hall) -> None:
    document = await fresh_hall.api("GET", "/api/v1/openapi.json", None)
    assert document["openapi"].startswith("3.")
    schemas = document["components"]["schemas"]
    operation_ids = []
    for ep in ENDPOINTS:
        operation = document["paths"][ep.path][ep.method.lower()]
        operation_ids.append(operation["operationId"])
        if ep.public:
            assert operation["security"] == [], f"{ep.path} is public but asks for a token"
        else:
            assert operation["x-roles"] == sorted(r.value for r in ep.roles)
            assert {"401", "403"} <= set(operation["responses"])
        if ep.body is not None:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[1] in schemas
        assert str(ep.status) in operation["responses"]
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"
