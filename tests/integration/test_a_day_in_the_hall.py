"""A whole day through the HTTP API, as the kiosk, the clerks, the manager, the case system and the auditor
see it. Read it as a usage example: every call is one a real caller makes, against the real app and file."""

from __future__ import annotations

import sqlite3
from collections import Counter
from typing import Any

from .halltest import MINUTE, Hall, credit_code


async def test_a_whole_day_through_the_http_api(fresh_hall: Hall) -> None:
    hall = fresh_hall
    kiosk, manager, booking = hall.tokens["kiosk"], hall.tokens["manager"], hall.tokens["booking"]
    casesys, auditor = hall.tokens["casesys"], hall.tokens["auditor"]
    c1, c2, c5, c7, c8 = (hall.tokens[c] for c in ("c1", "c2", "c5", "c7", "c8"))

    def later(minutes: float = 0.5) -> None:
        hall.clock.advance(minutes * MINUTE)

    async def window(n: int, action: str, token: str, body: Any = None, status: int = 200) -> Any:
        return await hall.api("POST", f"/api/v1/windows/{n}/{action}", token, body, status=status)

    async def called(n: int, token: str) -> dict[str, Any]:
        answer = await window(n, "call-next", token)
        assert answer["ticket"] is not None, f"window {n} found nobody to call"
        assert answer["window"]["current"]["id"] == answer["ticket"]["id"]
        ticket: dict[str, Any] = answer["ticket"]
        return ticket

    # -- 09:00 before the doors open -----------------------------------------------------------------
    # The kiosk shows the matters; the online platform has booked Ms Wang for 09:30 and the manager took
    # a booking by phone that is cancelled again.
    matters = {m["code"]: m for m in (await hall.api("GET", "/api/v1/matters", kiosk))["matters"]}
    assert matters["CBDJ"]["name"] == "参保登记" and matters["CBDJ"]["prefix"] == "A"
    booked = await hall.api(
        "POST",
        "/api/v1/appointments",
        booking,
        {
            "code": "YY0302-001",
            "matters": ["SBKBH"],
            "slot_start": "2026-03-02T09:30:00+08:00",
            "slot_end": "2026-03-02T10:00:00+08:00",
            "name": "王女士",
        },
        status=201,
    )
    assert booked["state"] == "booked" and booked["slot_start"] == "2026-03-02T09:30:00+08:00"
    by_phone = {
        "code": "YY0302-002",
        "matters": ["CBZM"],
        "slot_start": "2026-03-02T10:00:00+08:00",
        "slot_end": "2026-03-02T10:30:00+08:00",
    }
    await hall.api("POST", "/api/v1/appointments", manager, by_phone, status=201)
    cancelled = await hall.api("DELETE", "/api/v1/appointments/YY0302-002", booking)
    assert cancelled["state"] == "cancelled"
    waiting_bookings = (await hall.api("GET", "/api/v1/appointments", booking))["appointments"]
    assert [a["code"] for a in waiting_bookings if a["state"] == "booked"] == ["YY0302-001"]

    # Window 5 stays shut this morning: nobody can log in to it.
    closed = await window(5, "close", manager, {"reason": "人手不足"})
    assert closed["window"]["state"] == "closed"
    await hall.refused("POST", "/api/v1/windows/5/login", c5, status=409, code="window_closed")

    # -- 09:01-09:10 people take tickets, a minute apart ----------------------------------------------
    async def take(body: dict[str, Any]) -> dict[str, Any]:
        later(1)
        ticket: dict[str, Any] = await hall.api("POST", "/api/v1/tickets", kiosk, body, status=201)
        assert ticket["track_token"] and ticket["state"] == "waiting"
        return ticket

    a1 = await take({"matter": "CBDJ"})
    a2 = await take({"matter": "JFJS", "channel": "normal"})
    g1 = await take({"matter": "SBKBH", "channel": "green"})
    q1 = await take({"matter": "JFJS", "channel": "enterprise", "credit_code": credit_code()})
    b1 = await take({"channel": "appointment", "appointment_code": "YY0302-001"})
    z1 = await take({"matter": "ZX"})
    e1 = await take({"matter": "CBZM"})
    c1_bundle = await take({"matters": ["YLZY", "TXHD"]})  # 打包“一件事”: two matters, one ticket
    a3 = await take({"matter": "BJSQ"})
    a4 = await take({"matter": "ZJY"})
    numbers = [t["number"] for t in (a1, a2, g1, q1, b1, z1, e1, c1_bundle, a3, a4)]
    assert numbers == [
        "A0001",
        "A0002",
        "G0001",
        "Q0001",
        "B0001",
        "Z0001",
        "E0001",
        "C0001",
        "A0003",
        "A0004",
    ]
    assert (a1["ahead"], a2["ahead"]) == (0, 1)
    assert all(isinstance(t["eta_minutes"], int) and t["eta_minutes"] >= 0 for t in (a1, a2, g1, q1))
    assert a1["issued_at"] == "2026-03-02T09:01:00+08:00"
    assert q1["channel"] == "enterprise" and q1["credit_code"] == credit_code()
    assert b1["channel"] == "appointment" and b1["appointment_code"] == "YY0302-001"
    assert b1["matters"] == ["SBKBH"]  # the appointment's matters
    assert c1_bundle["matters"] == ["YLZY", "TXHD"]
    # The cancelled booking cannot be checked in; the used one cannot be used twice.
    await hall.refused(
        "POST",
        "/api/v1/tickets",
        kiosk,
        {"channel": "appointment", "appointment_code": "YY0302-002"},
        status=404,
        code="appointment_not_found",
    )
    await hall.refused(
        "POST",
        "/api/v1/tickets",
        kiosk,
        {"channel": "appointment", "appointment_code": "YY0302-001"},
        status=409,
        code="appointment_used",
    )
    # The citizen follows the ticket on the phone, with nothing but its track token.
    phone = await hall.api("GET", f"/api/v1/track/{a2['track_token']}", None)
    assert phone["number"] == "A0002" and phone["state"] == "waiting" and phone["ahead"] == 1

    # -- 09:10 clerks log in -------------------------------------------------------------------------
    later()
    for n, token in ((1, c1), (2, c2), (7, c7), (8, c8)):
        logged_in = await window(n, "login", token)
        assert logged_in["window"]["clerk"] == f"c{n}"
    assert (await hall.api("GET", "/api/v1/me", c1))["window"] == 1

    # Window 1: the green channel goes first. Called, recalled up to the limit, then a no-show.
    later()
    ticket = await called(1, c1)
    assert ticket["number"] == "G0001" and ticket["state"] == "called"
    for n in (1, 2, 3):
        later(0.25)
        again = await window(1, "recall", c1)
        assert again["ticket"]["recalls"] == n
    await hall.refused("POST", "/api/v1/windows/1/recall", c1, status=409, code="recall_limit")
    gone = await window(1, "no-show", c1)
    assert gone["ticket"]["state"] == "no_show" and gone["window"]["current"] is None

    # Ms G comes back a few minutes later and queues again (once, by rule); green still goes first.
    later(3)
    back = await hall.api("POST", f"/api/v1/tickets/{g1['id']}/return", c1)
    assert back["state"] == "waiting" and back["no_show_returns"] == 1
    later()
    assert (await called(1, c1))["number"] == "G0001"
    started = await window(1, "start", c1)
    assert started["ticket"]["state"] == "serving"
    later(4)
    done = await window(1, "finish", c1, {"outcome": "completed"})
    assert done["ticket"]["state"] == "done" and done["ticket"]["outcome"] == "completed"

    # A0001 came for 参保登记 but needs 缴费基数申报: transferred, it keeps its place (09:01) and window 2
    # takes it before A0002 (09:02).
    later()
    assert (await called(1, c1))["number"] == "A0001"
    await window(1, "start", c1)
    later()
    moved = await window(1, "transfer", c1, {"matters": ["JFJS"], "reason": "实为缴费基数申报"})
    assert moved["ticket"]["state"] == "transferred" and moved["ticket"]["matters"] == ["JFJS"]
    assert moved["window"]["current"] is None
    later()
    kept_place = await called(2, c2)
    assert kept_place["number"] == "A0001" and kept_place["issued_at"] == a1["issued_at"]
    await window(2, "start", c2)
    later(5)
    await window(2, "finish", c2)

    # A0002 is sent to window 8 by name: no other window takes it.
    later()
    assert (await called(1, c1))["number"] == "A0002"
    await window(1, "start", c1)
    later()
    sent = await window(1, "transfer", c1, {"window": 8, "reason": "需绿色通道窗口协办"})
    assert sent["ticket"]["target_window"] == 8
    later()
    not_for_two = await called(2, c2)
    assert not_for_two["number"] == "B0001"  # the appointment, next by issue time
    await window(2, "start", c2)
    later(3)
    await window(2, "finish", c2)
    at_eight = await called(8, c8)
    assert at_eight["number"] == "A0002" and at_eight["window"] == 8

    # At window 8 she has forgotten the labour contract: the ticket is parked and called back later.
    await window(8, "start", c8)
    parked = await window(8, "suspend", c8, {"reason": "回家取劳动合同"})
    assert parked["ticket"]["state"] == "suspended" and parked["window"]["current"] is None
    later(20)
    resumed = await window(8, "resume", c8, {"ticket": a2["id"]})
    assert resumed["ticket"]["number"] == "A0002" and resumed["ticket"]["state"] == "called"
    await window(8, "start", c8)
    later(6)
    await window(8, "finish", c8)

    # Window 2 takes a break: no calls while paused.
    paused = await window(2, "pause", c2, {"reason": "休息"})
    assert paused["window"]["state"] == "paused"
    await hall.refused("POST", "/api/v1/windows/2/call-next", c2, status=409, code="window_paused")
    later(10)
    assert (await window(2, "unpause", c2))["window"]["state"] == "open"

    # -- questions pile up: the manager rebalances window 2 live, and it applies at the next call ------
    rebalanced = await hall.api(
        "PUT", "/api/v1/windows/2/profile", manager, {"profile": "consultation", "reason": "咨询排长队"}
    )
    assert rebalanced["window"]["profile_name"] == "consultation"
    question = await called(2, c2)
    assert question["number"] == "Z0001"  # not C0001, which an integrated window 2 would have taken
    await window(2, "start", c2)
    later(4)
    await window(2, "finish", c2)
    inline = {"profile": {"matters": ["CBZM"], "channels": ["normal"]}, "reason": "打印证明排长队"}
    custom = await hall.api("PUT", "/api/v1/windows/2/profile", manager, inline)
    assert custom["window"]["profile_name"] == "custom" and custom["window"]["profile"]["matters"] == ["CBZM"]
    later()
    printing = await called(2, c2)
    assert printing["number"] == "E0001"  # ahead of the older C0001, A0003, A0004 it may not take
    later(2)
    await window(2, "no-show", c2)  # E0001 never comes: the day's one no-show

    # -- the manager calls A0004 out of order (插队) to window 1, with a reason; voids A0003 ------------
    jumped = await hall.api(
        "POST",
        "/api/v1/windows/1/call-ticket",
        manager,
        {"ticket": a4["id"], "reason": "行动不便的老人"},
    )
    assert jumped["ticket"]["number"] == "A0004" and jumped["window"]["current"]["number"] == "A0004"
    await window(1, "start", c1)
    later(5)
    await window(1, "finish", c1)
    voided = await hall.api("POST", f"/api/v1/tickets/{a3['id']}/void", manager, {"reason": "重复取号"})
    assert voided["state"] == "voided"
    a5 = await take({"matter": "BJSQ"})
    assert a5["number"] == "A0005"  # a voided number is never handed out again

    # -- the enterprise window and the bundle ----------------------------------------------------------
    later()
    assert (await called(7, c7))["number"] == "Q0001"
    await window(7, "start", c7)
    later(15)
    await window(7, "finish", c7, {"outcome": "incomplete"})
    assert (await called(1, c1))["number"] == "C0001"
    await window(1, "start", c1)
    later(12)
    await window(1, "finish", c1)

    # Window 5 opens after all.
    assert (await window(5, "open", manager))["window"]["state"] == "open"
    assert (await window(5, "login", c5))["window"]["clerk"] == "c5"

    # -- the case system reads the figures: they match what happened -----------------------------------
    stats = await hall.api("GET", "/api/v1/stats", casesys)
    today = stats["today"]
    assert today["issued"] == 11
    assert today["served"] == 8  # G0001 A0004 C0001 at 1; A0001 B0001 Z0001 at 2; Q0001 at 7; A0002 at 8
    assert today["no_show"] == 1  # E0001 (G0001 came back)
    assert today["voided"] == 1
    assert today["waiting"] == stats["live"]["waiting"] == 1  # A0005
    served_today = {w: figures["served_today"] for w, figures in stats["windows"].items()}
    assert served_today == {"1": 3, "2": 3, "3": 0, "4": 0, "5": 0, "6": 0, "7": 1, "8": 1}
    channels = {c: figures["today"]["issued"] for c, figures in stats["channels"].items()}
    assert channels == {"normal": 8, "enterprise": 1, "green": 1, "appointment": 1}
    assert stats["matters"]["ZX"]["today"]["served"] == 1
    assert stats["windows"]["2"]["state"] == "open" and stats["windows"]["5"]["clerk"] == "c5"

    # -- the auditor reads the journal and finds every act, with who did it and the state before/after --
    journal = (await hall.api("GET", "/api/v1/journal?limit=1000", auditor))["journal"]
    actions = Counter(row["action"] for row in journal)
    assert actions["ticket.issue"] == 11
    assert actions["ticket.recall"] == 3
    assert actions["window.profile"] == 2
    for action in (
        "appointment.book",
        "appointment.cancel",
        "window.close",
        "window.open",
        "window.login",
        "ticket.call",
        "ticket.no_show",
        "ticket.return",
        "ticket.start",
        "ticket.finish",
        "ticket.transfer",
        "ticket.suspend",
        "ticket.resume",
        "window.pause",
        "window.unpause",
        "ticket.call_out_of_order",
        "ticket.void",
    ):
        assert actions[action] >= 1, f"no {action} in the journal"

    def only(action: str, **match: Any) -> dict[str, Any]:
        rows = [r for r in journal if r["action"] == action and all(r[k] == v for k, v in match.items())]
        assert len(rows) == 1, f"{action} {match}: {rows}"
        return rows[0]

    issued = only("ticket.issue", ticket=q1["id"])
    assert (issued["actor"], issued["role"], issued["before"], issued["after"]) == (
        "test kiosk",
        "kiosk",
        None,
        "waiting",
    )
    no_show = only("ticket.no_show", ticket=g1["id"])
    assert (no_show["actor"], no_show["role"], no_show["window"]) == ("c1", "clerk", 1)
    assert (no_show["before"], no_show["after"]) == ("called", "no_show")
    returned = only("ticket.return", ticket=g1["id"])
    assert (returned["before"], returned["after"]) == ("no_show", "waiting")
    transfer = only("ticket.transfer", ticket=a1["id"])
    assert (transfer["before"], transfer["after"]) == ("serving", "transferred")
    assert transfer["detail"]["from_matters"] == ["CBDJ"] and transfer["detail"]["matters"] == ["JFJS"]
    assert only("ticket.transfer", ticket=a2["id"])["detail"]["to_window"] == 8
    jump = only("ticket.call_out_of_order")
    assert (jump["actor"], jump["role"], jump["ticket"], jump["window"]) == (
        "test manager",
        "manager",
        a4["id"],
        1,
    )
    assert jump["detail"]["reason"] == "行动不便的老人" and jump["after"] == "called"
    void = only("ticket.void")
    assert (void["role"], void["before"], void["after"], void["detail"]["reason"]) == (
        "manager",
        "waiting",
        "voided",
        "重复取号",
    )
    profile = only("window.profile", after="consultation")
    assert (profile["role"], profile["window"], profile["before"]) == ("manager", 2, "integrated")
    assert only("window.pause")["before"] == "open" and only("window.pause")["after"] == "paused"
    closing = only("window.close")
    assert (closing["window"], closing["detail"]["reason"]) == (5, "人手不足")
    assert only("appointment.book", actor="test booking")["detail"]["code"] == "YY0302-001"

    # One ticket's story, read by id: every step in order.
    story = (await hall.api("GET", f"/api/v1/journal?ticket={g1['id']}", auditor))["journal"]
    assert [r["action"] for r in story] == [
        "ticket.issue",
        "ticket.call",
        "ticket.recall",
        "ticket.recall",
        "ticket.recall",
        "ticket.no_show",
        "ticket.return",
        "ticket.call",
        "ticket.start",
        "ticket.finish",
    ]
    final = await hall.api("GET", f"/api/v1/tickets/{g1['id']}", auditor)
    assert final["state"] == "done" and final["window"] == 1 and final["clerk"] == "c1"

    # And the file holds the day as the figures tell it, every ticket in its final state.
    conn = sqlite3.connect(hall.db_path)
    try:
        states = Counter(state for (state,) in conn.execute("select state from tickets"))
    finally:
        conn.close()
    assert states == {"done": 8, "no_show": 1, "voided": 1, "waiting": 1}
