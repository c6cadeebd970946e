"""Bad input changes nothing: every malformed or wrong request gets a 4xx with the documented error shape
``{"error": {"code", "message"}}`` and leaves the file exactly as it was. Errors speak Chinese unless the
caller asks for English."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .halltest import Hall, bad_credit_code, credit_code

CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Bad:
    """One bad request: who sends it, what, and the refusal it must get."""

    name: str
    method: str
    path: str
    caller: str
    status: int
    code: str
    json: Any = None
    data: bytes | str | None = None
    field: str | None = None  # the field the error must name


def _slot(start: str, end: str) -> dict[str, Any]:
    return {"code": "YY1", "matters": ["CBDJ"], "slot_start": start, "slot_end": end}


CASES = [
    Bad("malformed JSON", "POST", "/api/v1/tickets", "kiosk", 422, "bad_json", data='{"matter": "CBDJ",'),
    Bad("not UTF-8", "POST", "/api/v1/tickets", "kiosk", 422, "bad_json", data=b'{"matter": "\xff\xfe"}'),
    Bad("nested too deep", "POST", "/api/v1/tickets", "kiosk", 422, "bad_json", data="[" * 20_000),
    Bad("JSON but no object", "POST", "/api/v1/tickets", "kiosk", 422, "bad_field", data="[1, 2]"),
    Bad(
        "unknown field",
        "POST",
        "/api/v1/tickets",
        "kiosk",
        422,
        "bad_field",
        json={"matter": "CBDJ", "colour": "red"},
        field="colour",
    ),
    Bad(
        "matter a number",
        "POST",
        "/api/v1/tickets",
        "kiosk",
        422,
        "bad_field",
        json={"matter": 12},
        field="matter",
    ),
    Bad(
        "unknown channel",
        "POST",
        "/api/v1/tickets",
        "kiosk",
        422,
        "bad_field",
        json={"matter": "CBDJ", "channel": "vip"},
        field="channel",
    ),
    Bad(
        "body over 64 KiB",
        "POST",
        "/api/v1/tickets",
        "kiosk",
        413,
        "too_large",
        json={"matter": "CBDJ", "note": "x" * 70_000},
    ),
    Bad("window 'abc'", "POST", "/api/v1/windows/abc/call-next", "c1", 422, "bad_path", field="window"),
    Bad(
        "window 'abc' (manager)",
        "POST",
        "/api/v1/windows/abc/open",
        "manager",
        422,
        "bad_path",
        field="window",
    ),
    Bad("ticket 'abc'", "GET", "/api/v1/tickets/abc", "manager", 422, "bad_path", field="id"),
    Bad(
        "ticket id beyond 64 bits",
        "GET",
        "/api/v1/tickets/99999999999999999999",
        "manager",
        404,
        "ticket_not_found",
    ),
    Bad("unknown window", "POST", "/api/v1/windows/99/open", "manager", 404, "window_not_found"),
    Bad("unknown matter", "POST", "/api/v1/tickets", "kiosk", 422, "unknown_matter", json={"matter": "NOPE"}),
    Bad(
        "a matter twice",
        "POST",
        "/api/v1/tickets",
        "kiosk",
        422,
        "matter_repeated",
        json={"matters": ["CBDJ", "CBDJ"]},
    ),
    Bad(
        "wrong credit code check character",
        "POST",
        "/api/v1/tickets",
        "kiosk",
        422,
        "bad_credit_code",
        json={"matter": "JFJS", "channel": "enterprise", "credit_code": bad_credit_code()},
        field="credit_code",
    ),
    Bad(
        "enterprise without a credit code",
        "POST",
        "/api/v1/tickets",
        "kiosk",
        422,
        "bad_credit_code",
        json={"matter": "JFJS", "channel": "enterprise"},
        field="credit_code",
    ),
    Bad(
        "credit code on the normal channel",
        "POST",
        "/api/v1/tickets",
        "kiosk",
        422,
        "unexpected_field",
        json={"matter": "JFJS", "credit_code": credit_code()},
    ),
    Bad(
        "unknown appointment",
        "POST",
        "/api/v1/tickets",
        "kiosk",
        404,
        "appointment_not_found",
        json={"channel": "appointment", "appointment_code": "NOPE"},
    ),
    Bad(
        "void without reason",
        "POST",
        "/api/v1/tickets/2/void",
        "manager",
        422,
        "bad_field",
        json={},
        field="reason",
    ),
    Bad(
        "void with a blank reason",
        "POST",
        "/api/v1/tickets/2/void",
        "manager",
        422,
        "reason_required",
        json={"reason": "   "},
    ),
    Bad(
        "call an unknown ticket",
        "POST",
        "/api/v1/windows/2/call-ticket",
        "manager",
        404,
        "ticket_not_found",
        json={"ticket": 999_999, "reason": "test"},
    ),
    Bad(
        "transfer to the same window",
        "POST",
        "/api/v1/windows/1/transfer",
        "c1",
        422,
        "transfer_to_self",
        json={"window": 1},
    ),
    Bad(
        "transfer to an unknown matter",
        "POST",
        "/api/v1/windows/1/transfer",
        "c1",
        422,
        "unknown_matter",
        json={"matters": ["NOPE"]},
    ),
    Bad(
        "transfer to window 'three'",
        "POST",
        "/api/v1/windows/1/transfer",
        "c1",
        422,
        "bad_field",
        json={"window": "three"},
        field="window",
    ),
    Bad(
        "an infinite rule time in an inline profile",
        "PUT",
        "/api/v1/windows/2/profile",
        "manager",
        422,
        "bad_field",
        data='{"profile": {"matters": ["CBDJ"], "channels": ["normal"], '
        '"rules": [{"rule": "enterprise_overflow", "minutes": 1e400}]}}',
    ),
    Bad(
        "journal cursor not a number",
        "GET",
        "/api/v1/journal?after=abc",
        "auditor",
        422,
        "bad_query",
        field="after",
    ),
    Bad(
        "ticket list limit not a number",
        "GET",
        "/api/v1/tickets?limit=lots",
        "manager",
        422,
        "bad_query",
        field="limit",
    ),
    Bad(
        "unknown profile",
        "PUT",
        "/api/v1/windows/2/profile",
        "manager",
        422,
        "unknown_profile",
        json={"profile": "nope"},
    ),
    Bad(
        "inline profile with an unknown matter",
        "PUT",
        "/api/v1/windows/2/profile",
        "manager",
        422,
        "unknown_matter",
        json={"profile": {"matters": ["NOPE"], "channels": ["normal"]}},
    ),
    Bad(
        "appointment without a UTC offset",
        "POST",
        "/api/v1/appointments",
        "booking",
        422,
        "bad_field",
        json=_slot("2026-03-02T10:00:00", "2026-03-02T10:30:00"),
    ),
    Bad(
        "appointment at the calendar's edge",
        "POST",
        "/api/v1/appointments",
        "booking",
        422,
        "bad_field",
        json=_slot("0001-01-01T00:00:00+14:00", "0001-01-01T01:00:00+14:00"),
    ),
    Bad(
        "appointment ending before it starts",
        "POST",
        "/api/v1/appointments",
        "booking",
        422,
        "bad_slot",
        json=_slot("2026-03-02T10:30:00+08:00", "2026-03-02T10:00:00+08:00"),
    ),
    Bad("no such endpoint", "GET", "/api/v1/nope", "manager", 404, "not_found"),
    Bad("wrong method", "DELETE", "/api/v1/tickets", "manager", 405, "method_not_allowed"),
]


def _snapshot(db_path: Path) -> dict[str, Any]:
    """Everything the hall keeps, as committed in the file."""
    conn = sqlite3.connect(db_path)
    try:
        return {
            table: conn.execute(f"select * from {table} order by 1").fetchall()
            for table in ("tickets", "windows", "appointments", "journal")
        }
    finally:
        conn.close()


@pytest.fixture
async def hall_at_work(hall_with_queue: Hall) -> Hall:
    """The hall with its queue, A0001 called to window 1 (so the window actions have a ticket to act on)."""
    await hall_with_queue.api("POST", "/api/v1/windows/1/call-next", hall_with_queue.tokens["c1"])
    return hall_with_queue


@pytest.mark.parametrize("bad", CASES, ids=lambda bad: bad.name)
async def test_bad_input_is_refused_and_changes_nothing(hall_at_work: Hall, bad: Bad) -> None:
    hall = hall_at_work
    before = _snapshot(hall.db_path)
    journal, tickets = hall.rows("journal"), hall.rows("tickets")
    status, answer = await hall.request(
        bad.method, bad.path, hall.tokens[bad.caller], json=bad.json, data=bad.data
    )
    assert (status, answer.get("error", {}).get("code")) == (bad.status, bad.code), answer
    assert set(answer) == {"error"} and {"code", "message"} <= set(answer["error"])
    assert answer["error"]["message"]
    if bad.field is not None:
        assert answer["error"]["field"] == bad.field
    assert (hall.rows("journal"), hall.rows("tickets")) == (journal, tickets)
    assert _snapshot(hall.db_path) == before
    # and the live state agrees: the hall still works from where it was
    assert len(hall.service.state.queues) == 4


# -- languages ---------------------------------------------------------------------------------------
LANGUAGE_CASES = [
    ("unknown window", "POST", "/api/v1/windows/99/open", "manager", None),
    ("no token", "GET", "/api/v1/stats", None, None),
    ("bad path", "GET", "/api/v1/tickets/abc", "manager", None),
    ("no such endpoint", "GET", "/api/v1/nope", "manager", None),
    ("too large", "POST", "/api/v1/tickets", "kiosk", {"matter": "CBDJ", "note": "x" * 70_000}),
    ("conflict", "POST", "/api/v1/windows/2/no-show", "c2", None),
]


@pytest.mark.parametrize(
    ("what", "method", "path", "caller", "body"), LANGUAGE_CASES, ids=[c[0] for c in LANGUAGE_CASES]
)
async def test_errors_speak_chinese_unless_english_is_asked_for(
    staffed_hall: Hall, what: str, method: str, path: str, caller: str | None, body: Any
) -> None:
    hall = staffed_hall
    token = hall.tokens[caller] if caller else None

    async def message(path: str, **headers: str) -> str:
        status, answer = await hall.request(method, path, token, json=body, headers=headers)
        assert 400 <= status < 500, answer
        text: str = answer["error"]["message"]
        return text

    chinese = await message(path)
    assert CJK.search(chinese), f"{what}: {chinese!r} is not Chinese"
    assert CJK.search(await message(path, **{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}))
    for english in (
        await message(f"{path}?lang=en"),
        await message(path, **{"Accept-Language": "en-GB,en;q=0.9"}),
        await message(f"{path}?lang=en", **{"Accept-Language": "zh-CN"}),  # the query wins
    ):
        assert english.isascii() and re.search(r"[a-z]{3}", english), f"{what}: {english!r} is not English"
