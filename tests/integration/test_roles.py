"""Who may do what: every declared endpoint against every role, no token and a bad token, over HTTP.

The matrix is built from ``ENDPOINTS``, the same declarations that build the routes and the OpenAPI
document, so a new endpoint is checked the day it is added.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from hallctl.web.app import create_app  # noqa: F401 - importing the app registers every endpoint
from hallctl.web.endpoints import ENDPOINTS, Endpoint

from .halltest import ROLES, Hall

MUTATING = ("POST", "PUT", "DELETE")
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/track/{track_token}"),
}


def _id(ep: Endpoint) -> str:
    return f"{ep.method} {ep.path}"


@pytest.fixture
async def hall_for_roles(hall_with_queue: Hall) -> Hall:
    """The hall with a queue, a no-show (A0001, called at window 2 and not come) that may come back, and a
    booked appointment ``AP1``: every path parameter names something that exists."""
    hall = hall_with_queue
    c2 = hall.tokens["c2"]
    await hall.api("POST", "/api/v1/windows/2/call-next", c2)
    await hall.api("POST", "/api/v1/windows/2/no-show", c2)
    await hall.api("POST", "/api/v1/appointments", hall.tokens["booking"], _book("AP1"), status=201)
    return hall


def _book(code: str) -> dict[str, Any]:
    return {
        "code": code,
        "matters": ["CBDJ"],
        "slot_start": "2026-03-02T10:00:00+08:00",
        "slot_end": "2026-03-02T10:30:00+08:00",
    }


def _path(ep: Endpoint, hall: Hall) -> str:
    """The endpoint's path with each parameter naming a real thing: window 1 (where clerk c1 works), the
    no-show ticket, the booked appointment, a ticket's track token."""
    no_show = hall.queue[0]
    values = {"window": "1", "id": str(no_show["id"]), "code": "AP1", "track_token": no_show["track_token"]}
    path = re.sub(r"{(\w+)}", lambda m: values[m.group(1)], ep.path)
    assert "{" not in path, f"no test value for a parameter of {ep.path}"
    return path


def _body(ep: Endpoint, hall: Hall, role: str) -> dict[str, Any] | None:
    """A body that would be accepted, so an allowed role meets the handler, not the validator."""
    if ep.body is None:
        return None
    waiting = hall.queue[1]["id"]  # A0002 still waits
    bodies: dict[str, dict[str, Any]] = {
        "IssueTicket": {"matter": "CBDJ"},
        "WithReason": {"reason": "test"},
        "Transfer": {"matters": ["JFJS"]},
        "CallTicket": {"ticket": waiting, "reason": "test"},
        "Void": {"reason": "test"},
        "SetProfile": {"profile": "integrated"},
        "Book": _book(f"AP-{role}"),
    }
    return bodies.get(ep.body.__name__, {})


@pytest.mark.parametrize("ep", ENDPOINTS, ids=_id)
async def test_each_role_gets_exactly_what_the_endpoint_declares(hall_for_roles: Hall, ep: Endpoint) -> None:
    hall = hall_for_roles
    path = _path(ep, hall)
    outcomes: dict[str, tuple[int, Any]] = {}
    # Refusals first: they must change nothing, so the allowed callers after them meet the same hall.
    callers = [("no token", None), ("bad token", "hc_not-a-token-of-this-hall")]
    callers += [(role, hall.tokens["c1" if role == "clerk" else role]) for role in ROLES]
    callers.sort(key=lambda caller: caller[0] in ep.roles)
    for who, token in callers:
        outcomes[who] = await hall.request(ep.method, path, token, json=_body(ep, hall, who))

    problems = []
    for who, (status, answer) in outcomes.items():
        code = answer.get("error", {}).get("code") if isinstance(answer, dict) else None
        if status >= 500:
            problems.append(f"{who}: {status}")
        elif ep.public:
            if status in (401, 403):
                problems.append(f"{who}: public endpoint answered {status} {code}")
        elif who in ("no token", "bad token"):
            expected = "unauthenticated" if who == "no token" else "bad_token"
            if (status, code) != (401, expected):
                problems.append(f"{who}: {status} {code}, expected 401 {expected}")
        elif who in ep.roles:
            if status in (401, 403):
                problems.append(f"{who} is allowed but got {status} {answer}")
        elif (status, code) != (403, "role_forbidden"):
            problems.append(f"{who} is not allowed but got {status} {code}")
    assert not problems, f"{_id(ep)} (roles {sorted(ep.roles)}):\n" + "\n".join(problems)


def test_only_the_four_monitoring_and_phone_endpoints_are_public() -> None:
    assert {(ep.method, ep.path) for ep in ENDPOINTS if ep.public} == PUBLIC


def test_a_kiosk_may_only_issue_tickets_and_read_the_hall_and_its_matters() -> None:
    kiosk = {(ep.method, ep.path) for ep in ENDPOINTS if "kiosk" in ep.roles}
    assert kiosk == {
        ("POST", "/api/v1/tickets"),
        ("GET", "/api/v1/matters"),
        ("GET", "/api/v1/hall"),
        ("GET", "/api/v1/me"),
    }


def test_the_case_system_and_the_auditor_may_change_nothing() -> None:
    writers = {
        _id(ep): sorted(ep.roles & {"casesys", "auditor"})
        for ep in ENDPOINTS
        if ep.method in MUTATING and ep.roles & {"casesys", "auditor"}
    }
    assert writers == {}


@pytest.mark.parametrize("role", ["casesys", "auditor"])
async def test_every_change_by_the_case_system_or_the_auditor_is_refused(
    hall_for_roles: Hall, role: str
) -> None:
    hall = hall_for_roles
    journal, tickets = hall.rows("journal"), hall.rows("tickets")
    for ep in ENDPOINTS:
        if ep.method in MUTATING:
            await hall.refused(
                ep.method,
                _path(ep, hall),
                hall.tokens[role],
                _body(ep, hall, role),
                status=403,
                code="role_forbidden",
            )
    assert (hall.rows("journal"), hall.rows("tickets")) == (journal, tickets)
