"""What each kind of page is shown on the live stream: the board, the dashboard, a clerk's desk and a
citizen's phone (snapshots, and the parts the changes resend). Plain data built from the live state; the
hub (``live_hub.py``) decides when to send it and to which streams, and encodes it once for all of them.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from typing import Any

from hallctl.audit import followups
from hallctl.core.calendar import business_day, iso
from hallctl.core.model import QUEUED, Event, Ticket, TicketState
from hallctl.core.state import HallState
from hallctl.core.stats import hall_stats
from hallctl.forecast.board import ticket_eta
from hallctl.hub.hub import DeviceHub
from hallctl.hub.screens import board
from hallctl.service import HallService
from hallctl.web.views import materials, public_ticket_view, ticket_view, window_view

# The dashboard's chart of waiting over the day: one point per this many seconds.
SERIES_STEP = 300


class PageViews:
    """The content of every page's messages, from the live state as it is now."""

    def __init__(self, service: HallService, hub: DeviceHub | None = None) -> None:
        self.service = service
        self.hub = hub
        self.config = service.config
        # The latest calls, newest first, for the board and the dashboard.
        self.recent: deque[dict[str, Any]] = deque(maxlen=self.config.devices.board.recent_calls)

    # -- snapshots ------------------------------------------------------------------------------------
    def common(self, view: str) -> dict[str, Any]:
        hall = self.config.hall
        return {
            "view": view,
            "hall": {"id": hall.id, "name": hall.name, "timezone": hall.timezone, "language": hall.language},
            "now": self.service.clock(),
            "day": self.service.state.day,
        }

    def window(self, window_id: int) -> dict[str, Any] | None:
        """One window as ``GET /api/v1/windows/{n}`` gives it; None for a window the hall no longer has."""
        state = self.service.state
        return window_view(state, state.windows[window_id]) if window_id in state.windows else None

    def windows(self) -> list[dict[str, Any]]:
        state = self.service.state
        return [window_view(state, w) for w in sorted(state.windows.values(), key=lambda w: w.id)]

    def board_snapshot(self) -> dict[str, Any]:
        return {
            **self.common("board"),
            "recent": list(self.recent),
            "waiting": self.waiting(),
            "windows": self.windows(),
            "notices": list(self.config.notices),
        }

    def dashboard_snapshot(self) -> dict[str, Any]:
        return {
            **self.common("dashboard"),
            "recent": list(self.recent),
            "windows": self.windows(),
            "stats": self.stats(),
            "devices": self.devices(),
            "series": waiting_series(self.service.state, self.service.clock()),
            "series_step": SERIES_STEP,
            "profiles": [
                {"name": name, "description": p.description} for name, p in self.config.profiles.items()
            ],
        }

    def clerk_snapshot(self, clerk: str, desk: dict[str, Any]) -> dict[str, Any]:
        return {**self.common("clerk"), "clerk": clerk, "desk": desk, "windows": self.windows()}

    def phone_snapshot(self, ticket_id: int) -> dict[str, Any]:
        return {**self.common("phone"), "ticket": self.phone_view(ticket_id)}

    # -- the parts the changes resend ----------------------------------------------------------------
    def waiting(self) -> dict[str, Any]:
        waiting: dict[str, Any] = board(self.service.state, [], self.service.clock())["waiting"]
        return waiting

    def stats(self) -> dict[str, Any]:
        state, now = self.service.state, self.service.clock()
        stats = hall_stats(state, now)
        for code, figures in stats["matters"].items():
            figures["expected_wait_minutes"] = expected_wait(state, code, now)
            figures["group"] = self.config.group(self.config.matter(code).prefix).name
        stats.pop("channels", None)  # the dashboard does not show them; keep the message small
        stats["point"] = [now, stats["live"]["waiting"]]
        stats["followups"] = self.followup_counts(now)
        return stats

    def followup_counts(self, now: float) -> dict[str, int] | None:
        """差评整改 cases not closed and those past their deadline (the page flags the overdue)."""
        try:
            row = self.service.read(followups.COUNTS, (business_day(now, self.service.state.zone),))[0]
        except sqlite3.Error:  # not open (yet) or no table: the page shows nothing rather than a wrong 0
            return None
        return {"open": int(row[0]), "overdue": int(row[1])}

    def devices(self) -> list[dict[str, Any]]:
        if self.hub is None:
            return []
        zone = self.service.state.zone
        return [{**d, "last_seen_iso": iso(d["last_seen"], zone)} for d in self.hub.view()]

    def desk(self, clerk: str) -> dict[str, Any]:
        """A clerk's desk: their window, the ticket at it (with materials), who waits, parked tickets."""
        state = self.service.state
        window = state.window_of_clerk(clerk)
        if window is None:
            return {"window": None, "ticket": None, "waiting": 0, "suspended": [], "rating": None}
        current = state.tickets.get(window.current) if window.current is not None else None
        ticket = None
        if current is not None:
            ticket = ticket_view(state, current)
            ticket["materials"] = materials(state, current)
        suspended = [
            {"id": t.id, "number": t.number, "matter_names": [self.config.matter(m).name for m in t.matters]}
            for t in state.tickets.values()
            if t.state is TicketState.SUSPENDED and t.window == window.id
        ]
        armed = state.armed.get(window.id)
        rating = None
        if armed is not None and armed.ticket in state.tickets:
            rating = {
                "ticket": state.tickets[armed.ticket].number,
                "until": iso(armed.until, state.zone),
                "rated": armed.rated,
            }
        return {
            "window": window_view(state, window),
            "ticket": ticket,
            "waiting": state.waiting_for(window.id, self.service.clock()),
            "suspended": suspended,
            "rating": rating,
        }

    def phone_view(self, ticket_id: int) -> dict[str, Any] | None:
        ticket = self.service.state.tickets.get(ticket_id)
        return None if ticket is None else public_ticket_view(self.service.state, ticket)

    # -- calls and ratings ----------------------------------------------------------------------------
    def rebuild_recent(self) -> None:
        """The latest calls from the live state (at start, and when events were lost)."""
        state = self.service.state
        called = sorted(
            (t for t in state.tickets.values() if t.called_at is not None and t.window is not None),
            key=lambda t: t.called_at or 0.0,
            reverse=True,
        )
        self.recent.clear()
        for t in called[: self.recent.maxlen]:
            assert t.window is not None and t.called_at is not None
            self.recent.append(self.call(t.number, t.window, t.called_at, t.recalls > 0, 0))

    def call(self, number: str, window_id: int, at: float, recall: bool, call_id: int) -> dict[str, Any]:
        window = self.service.state.windows.get(window_id)
        return {
            "id": call_id,
            "number": number,
            "window": window_id,
            "window_name": window.name if window is not None else f"{window_id}号窗口",
            "at": iso(at, self.service.state.zone),
            "recall": recall,
        }

    def record_call(self, event: Event, call_id: int) -> dict[str, Any]:
        """A call (or recall) as the board and the dashboard show it, kept first among the recent ones."""
        assert event.ticket is not None and event.window is not None
        call = self.call(
            event.ticket["number"], event.window["id"], event.at, event.kind == "ticket.recalled", call_id
        )
        self.recent.appendleft(call)
        return call

    @staticmethod
    def rating(event: Event, window_id: int) -> dict[str, Any]:
        """A keypad rating (评价) as the clerk's desk shows it."""
        return {
            "window": window_id,
            "ticket": event.ticket["number"] if event.ticket else None,
            "level": event.detail.get("level"),
            "level_name": event.detail.get("level_name"),
        }


def expected_wait(state: HallState, matter: str, now: float) -> int:
    """Minutes a ticket for this matter issued now would wait (the same predictor the kiosk shows)."""
    config = state.config
    probe = Ticket(
        id=0,
        number="",
        prefix=config.matter(matter).prefix,
        seq=0,
        day=state.day,
        matters=(matter,),
        channel="normal",
        issued_at=now,
        track_token="",
        queue_key=now,
    )
    return ticket_eta(state, probe).minutes


def waiting_series(state: HallState, now: float, step: int = SERIES_STEP) -> list[list[float]]:
    """How many waited over today, one point per ``step`` seconds, from the first ticket to now.

    A ticket waits from its issue to its first call; one never called waits until it ended (finished or
    no longer queued), or still waits now."""
    changes: list[tuple[float, int]] = []
    for t in state.tickets.values():
        if t.day != state.day:
            continue
        end = t.first_called_at
        if end is None and t.state not in QUEUED:
            end = t.finished_at or t.no_show_at or t.issued_at
        changes.append((t.issued_at, 1))
        if end is not None:
            changes.append((end, -1))
    if not changes:
        return [[now, 0]]
    changes.sort()
    start = changes[0][0] - changes[0][0] % step
    points: list[list[float]] = []
    waiting, i = 0, 0
    at = start
    while at < now:
        while i < len(changes) and changes[i][0] <= at:
            waiting += changes[i][1]
            i += 1
        points.append([at, waiting])
        at += step
    while i < len(changes) and changes[i][0] <= now:
        waiting += changes[i][1]
        i += 1
    points.append([now, waiting])
    return points
