"""A restart, clean or a crash, gives back the hall as it was: closed and paused windows, logged-in clerks,
a ticket called to its window, the waiting order and a manager's change of a window's work."""

from __future__ import annotations

from typing import Any

import pytest

from .daemonkit import Api, Daemon, Tokens

pytestmark = pytest.mark.slow

# Window 5 made a social-security-card window for the morning (调整窗口业务); inline, not a configured one.
CARD_PROFILE = {
    "matters": ["SBKBH", "SBKXX"],
    "channels": ["normal"],
    "rules": [{"rule": "green_first"}],
    "description": "社保卡专窗（临时）",
}


KEPT = ("state", "clerk", "current", "profile_name", "profile")  # what a window must keep across a restart


async def _windows(api: Api, token: str) -> dict[int, dict[str, Any]]:
    body = await api.ok("GET", "/api/v1/windows", token)
    return {w["id"]: {k: w[k] for k in KEPT} for w in body["windows"]}


@pytest.mark.parametrize("how", ["sigterm", "kill-9"])
async def test_restart_gives_back_windows_clerks_called_ticket_queue_order_and_profiles(
    daemon: Daemon, tokens: Tokens, how: str
) -> None:
    clerk, manager, kiosk = tokens.clerk, tokens.manager, tokens.kiosk
    async with daemon.client() as api:
        issued = []
        for matter in ("CBDJ", "SBKBH", "JFJS", "SBKXX", "YLZY", "CBZM"):
            issued.append(await api.ok("POST", "/api/v1/tickets", kiosk, {"matter": matter}))
        a1, b1, a2, b2, c1, e1 = (t["id"] for t in issued)

        await api.ok("POST", "/api/v1/windows/1/login", clerk["c1"])
        called = await api.ok("POST", "/api/v1/windows/1/call-next", clerk["c1"])
        assert called["ticket"]["id"] == a1
        await api.ok("POST", "/api/v1/windows/2/login", clerk["c2"])
        await api.ok("POST", "/api/v1/windows/3/close", manager, {"reason": "柜员培训"})
        await api.ok("POST", "/api/v1/windows/4/login", clerk["c4"])
        await api.ok("POST", "/api/v1/windows/4/pause", clerk["c4"], {"reason": "午休"})
        await api.ok(
            "PUT", "/api/v1/windows/5/profile", manager, {"profile": CARD_PROFILE, "reason": "办卡高峰"}
        )
        await api.ok("PUT", "/api/v1/windows/8/profile", manager, {"profile": "integrated"})
        before = await _windows(api, manager)

    if how == "sigterm":
        rc, _ = daemon.terminate()
        assert rc == 0
    else:
        daemon.kill()
    daemon.start()

    async with daemon.client() as api:
        after = await _windows(api, manager)
        assert after == before, "windows differ after the restart"
        # Spelled out too: the state set up above really was there to be lost.
        assert (after[1]["clerk"], after[1]["current"]["id"]) == ("c1", a1)
        assert (after[2]["clerk"], after[2]["current"]) == ("c2", None)
        assert (after[3]["state"], after[3]["clerk"]) == ("closed", None)
        assert (after[4]["state"], after[4]["clerk"]) == ("paused", "c4")
        assert after[5]["profile_name"] == "custom"
        assert after[5]["profile"]["matters"] == CARD_PROFILE["matters"]
        assert after[5]["profile"]["channels"] == CARD_PROFILE["channels"]
        assert after[8]["profile_name"] == "integrated"

        ticket = await api.ok("GET", f"/api/v1/tickets/{a1}", manager)
        assert (ticket["state"], ticket["window"]) == ("called", 1)
        me = await api.ok("GET", "/api/v1/me", clerk["c1"])
        assert me["window"] == 1

        # The clerk at window 1 carries on with the called ticket without logging in again.
        recalled = await api.ok("POST", "/api/v1/windows/1/recall", clerk["c1"])
        assert recalled["ticket"]["id"] == a1

        # The queue kept its order: window 2 (all matters) takes the oldest waiting, then the next.
        assert (await api.ok("POST", "/api/v1/windows/2/call-next", clerk["c2"]))["ticket"]["id"] == b1
        await api.ok("POST", "/api/v1/windows/2/start", clerk["c2"])
        await api.ok("POST", "/api/v1/windows/2/finish", clerk["c2"])
        assert (await api.ok("POST", "/api/v1/windows/2/call-next", clerk["c2"]))["ticket"]["id"] == a2

        # Window 5 still serves only cards: it skips the older pension ticket and takes the card one.
        await api.ok("POST", "/api/v1/windows/5/login", clerk["c5"])
        assert (await api.ok("POST", "/api/v1/windows/5/call-next", clerk["c5"]))["ticket"]["id"] == b2

        paused = await api.post("/api/v1/windows/4/call-next", clerk["c4"])
        assert (paused.status, paused.error_code) == (409, "window_paused")
        closed = await api.post("/api/v1/windows/3/login", clerk["c3"])
        assert (closed.status, closed.error_code) == (409, "window_closed")

        waiting = await api.ok("GET", "/api/v1/tickets?state=waiting", manager)
        assert [t["id"] for t in waiting["tickets"]] == [c1, e1]
