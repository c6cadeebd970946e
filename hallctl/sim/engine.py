"""The discrete-event simulator: a virtual clock that drives the real core (issuing, counter, routing) with
simulated citizens and clerks. Pure: no I/O, no asyncio, no wall clock.

Clerks log in when the hall opens (or their shift in the window plan starts); a free window calls at once,
and an idle window calls again when a ticket arrives or when a routing rule (consultation or enterprise
overflow) would let it take one. After closing the windows serve whoever still holds a ticket, then log out.
A called citizen who never comes, or who gave up waiting before the call, becomes a no-show after the
recall wait.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Callable
from itertools import count
from typing import Any

from hallctl.config import HallConfig
from hallctl.core import admin, counter, issuing
from hallctl.core.calendar import business_day
from hallctl.core.errors import HallError
from hallctl.core.model import QUEUED, Actor, Role, Ticket, TicketState, WindowState
from hallctl.core.queues import bucket_key
from hallctl.core.state import HallState
from hallctl.sim.citizens import Citizen, citizens_of_day, draw_patience, residual_service, stream_rng
from hallctl.sim.demand import Demand
from hallctl.sim.plan import SimDay, WindowPlan
from hallctl.sim.results import ABANDONED, NO_SHOW, SERVED, TicketRecord, WindowRecord

KIOSK = Actor(Role.KIOSK, "模拟取号机")
BOOKING = Actor(Role.BOOKING, "模拟预约平台")
MANAGER = Actor(Role.MANAGER, "模拟大厅主管")
SLOT = 1800.0  # appointment slots of half an hour

# Event kinds, in the order they run when they fall at the same instant: the hall opens or closes before
# anyone acts, a window finishes before a new citizen arrives, a timer last.
BOUNDARY, MIDNIGHT, FREE, NOSHOW, ARRIVE, WAKE, OFFER = range(7)

OFF, ON, DRAINING, LEAVING = range(4)  # a window's duty: out, working, serving what is left, last ticket
_GONE = frozenset({TicketState.DONE, TicketState.NO_SHOW, TicketState.VOIDED})  # of no further interest


class Run:
    """One simulation run: the state, the event heap and the records; see :mod:`hallctl.sim.runs`."""

    def __init__(
        self, config: HallConfig, demand: Demand, seed: int, plan: WindowPlan, state: HallState
    ) -> None:
        self.config, self.demand, self.seed, self.plan = config, demand, seed, plan
        self.state = state
        self.heap: list[tuple[float, int, float, int, Any]] = []
        self.seq = count()
        self.mode = dict.fromkeys(state.windows, OFF)
        self.actor: dict[int, Actor] = {}
        self.idle: set[int] = set()
        self.busy_since: dict[int, float] = {}
        self.login_at: dict[int, float] = {}
        self.citizen: dict[int, Citizen] = {}
        self.records: dict[int, TicketRecord] = {}
        self.windows = {w.id: WindowRecord(w.id, w.kind, w.profile_name) for w in state.windows.values()}
        self.refused: Counter[str] = Counter()
        self.spans: list[tuple[float, float]] = []
        # The windows that work today (a live start: those staffed, and the plan's).
        self.roster = set(state.windows)
        self.overflow_minutes = sorted(
            {
                r.minutes
                for w in state.windows.values()
                for r in w.profile.rules
                if r.rule == "enterprise_overflow"
            }
        )
        self.has_overflow = {
            w.id for w in state.windows.values() if any(r.rule.endswith("_overflow") for r in w.profile.rules)
        }
        self.appointments = count(1)

    # -- the clock ----------------------------------------------------------------------------------
    def push(self, at: float, kind: int, payload: Any = None, tie: float = 0.0) -> None:
        heapq.heappush(self.heap, (at, kind, tie, next(self.seq), payload))

    def run(self, until: float = math.inf) -> None:
        handlers: dict[int, Callable[[float, Any], None]] = {
            BOUNDARY: self.on_boundary,
            MIDNIGHT: self.on_midnight,
            FREE: self.on_free,
            NOSHOW: self.on_no_show,
            ARRIVE: self.on_arrive,
            WAKE: self.on_wake,
            OFFER: self.on_offer,
        }
        heap = self.heap
        while heap and heap[0][0] < until:
            at, kind, _tie, _seq, payload = heapq.heappop(heap)
            handlers[kind](at, payload)

    # -- duty ---------------------------------------------------------------------------------------
    def hall_open(self, now: float) -> bool:
        return any(a <= now < b for a, b in self.spans)

    def planned(self, window: int, now: float, midnight: float) -> bool:
        if window not in self.roster:
            return False
        shifts = self.plan.get(window)
        return shifts is None or any(s.covers(now - midnight) for s in shifts)

    def on_boundary(self, now: float, midnight: float) -> None:
        is_open = self.hall_open(now)
        for w in self.state.windows:
            planned = self.planned(w, now, midnight)
            mode = self.mode[w]
            if is_open and planned:
                if mode == OFF:
                    self.login(w, now)
                self.mode[w] = ON
                if self.state.windows[w].current is None:
                    self.call(w, now)
            elif mode == ON:
                self.mode[w] = DRAINING if planned else LEAVING
                if self.state.windows[w].current is None:
                    self.logout(w, now)  # nothing at the window: a draining window would find none

    def login(self, w: int, now: float) -> None:
        window = self.state.windows[w]
        actor = self.actor.get(w)
        if actor is None or (window.clerk is not None and window.clerk != actor.clerk):
            actor = Actor(Role.CLERK, f"模拟柜员{w}", clerk=window.clerk or f"sim-clerk-{w}")
            self.actor[w] = actor
        if window.state is WindowState.CLOSED:  # a live hall's closed window that the plan opens
            admin.open_window(self.state, now, MANAGER, w)
        counter.login(self.state, now, actor, w)
        self.login_at[w] = now

    def logout(self, w: int, now: float) -> None:
        counter.logout(self.state, now, self.actor[w], w)
        self.mode[w] = OFF
        self.idle.discard(w)
        self.windows[w].staffed.append((self.login_at.pop(w), now))

    def on_midnight(self, now: float, _payload: Any) -> None:
        state = self.state
        state.roll_day(now)
        # Yesterday's finished tickets are of no further interest to routing (the daemon drops them too).
        for i in [i for i, t in state.tickets.items() if t.state in _GONE]:
            del state.tickets[i]
        for code in [c for c, a in state.appointments.items() if a.state != "booked"]:
            del state.appointments[code]
        for w, mode in self.mode.items():
            if mode != OFF and self.state.windows[w].clerk is None:  # roll_day logs idle clerks out
                counter.login(self.state, now, self.actor[w], w)

    # -- windows ------------------------------------------------------------------------------------
    def call(self, w: int, now: float) -> bool:
        """The clerk at window ``w`` presses 呼叫; False when nothing waits for the window."""
        ticket: Ticket | None = counter.call_next(self.state, now, self.actor[w], w).result
        if ticket is None:
            if self.mode[w] in (DRAINING, LEAVING):
                self.logout(w, now)
                return False
            self.idle.add(w)
            window = self.state.windows[w]
            for rule in window.profile.rules:
                if rule.rule == "consultation_overflow" and window.idle_since + rule.seconds > now:
                    self.push(window.idle_since + rule.seconds, WAKE, (w, window.idle_since))
            return False
        self.idle.discard(w)
        self.busy_since[w] = now
        record = self.records[ticket.id]
        citizen = self.citizen[ticket.id]
        if record.called_at is None:
            record.called_at = now
        if citizen.no_show or now - ticket.issued_at > citizen.patience_seconds:
            record.outcome = NO_SHOW if citizen.no_show else ABANDONED
            self.push(now + self.demand.no_show.recall_wait_seconds, NOSHOW, w)
        else:
            counter.start(self.state, now, self.actor[w], w)
            record.started_at, record.window, record.outcome = now, w, SERVED
            self.push(now + citizen.service_seconds, FREE, w)
        return True

    def _freed(self, w: int, now: float) -> None:
        self.windows[w].busy.append((self.busy_since.pop(w), now))
        if self.mode[w] == LEAVING:
            self.logout(w, now)
        else:
            self.call(w, now)

    def on_free(self, now: float, w: int) -> None:
        ticket = counter.finish(self.state, now, self.actor[w], w).result
        self.records[ticket.id].finished_at = now
        self.windows[w].served += 1
        self._freed(w, now)

    def on_no_show(self, now: float, w: int) -> None:
        counter.no_show(self.state, now, self.actor[w], w)
        self._freed(w, now)

    def on_wake(self, now: float, payload: tuple[int, float]) -> None:
        w, idle_since = payload
        window = self.state.windows[w]
        if w in self.idle and window.idle_since == idle_since and window.current is None:
            self.call(w, now)

    # -- citizens -----------------------------------------------------------------------------------
    def on_arrive(self, now: float, citizen: Citizen) -> None:
        appointment_code = None
        if citizen.channel == "appointment":
            appointment_code = self.book(now, citizen)
        request = issuing.IssueRequest(
            matters=citizen.matters,
            channel=citizen.channel,
            credit_code=citizen.credit_code,
            appointment_code=appointment_code,
        )
        try:
            ticket: Ticket = issuing.issue(self.state, now, KIOSK, request).result
        except HallError as exc:
            self.refused[exc.code] += 1
            return
        self.admit(ticket, citizen)
        self.offer(ticket, now)
        if ticket.state in QUEUED and ticket.channel == "enterprise":
            for minutes in self.overflow_minutes:
                if minutes > 0:
                    self.push(ticket.issued_at + minutes * 60.0, OFFER, ticket.id)

    def book(self, now: float, citizen: Citizen) -> str:
        """Book the citizen's slot through the core (as the online platform would have): the half hour
        starting next if check-in is already open for it, else the one under way."""
        early = self.config.rules.appointment_early_minutes * 60.0
        start = math.floor(now / SLOT) * SLOT
        if start + SLOT - now <= early and business_day(start + SLOT, self.state.zone) == self.state.day:
            start += SLOT
        code = f"SIM{next(self.appointments):08d}"
        issuing.book(self.state, now, BOOKING, code, citizen.matters, start, start + SLOT)
        return code

    def admit(self, ticket: Ticket, citizen: Citizen, *, live: bool = False) -> None:
        targets = [self.config.matter(m).target_wait_minutes * 60.0 for m in ticket.matters]
        self.citizen[ticket.id] = citizen
        self.records[ticket.id] = TicketRecord(
            ticket.id,
            ticket.number,
            ticket.matters,
            ticket.channel,
            ticket.issued_at,
            min(targets),
            live=live,
        )

    def offer(self, ticket: Ticket, now: float) -> None:
        """Idle windows call, longest idle first, until one of them has taken this ticket: first those
        whose profile serves it, then those that might take it by an overflow rule."""
        if not self.idle:
            return
        pool = self.state.pool(bucket_key(ticket))
        windows = self.state.windows
        first = sorted((w for w in self.idle if w in pool), key=lambda w: (windows[w].idle_since, w))
        then = sorted(
            (w for w in self.idle if w not in pool and w in self.has_overflow),
            key=lambda w: (windows[w].idle_since, w),
        )
        for w in first + then:
            if ticket.state not in QUEUED:
                return
            if w in self.idle:
                self.call(w, now)

    def on_offer(self, now: float, ticket_id: int) -> None:
        ticket = self.state.tickets.get(ticket_id)
        if ticket is not None and ticket.state in QUEUED:
            self.offer(ticket, now)

    # -- set-up -------------------------------------------------------------------------------------
    def schedule_day(self, day: SimDay, after: float | None = None) -> None:
        """Put a day's boundaries and arrivals on the clock (only those after ``after``, for a live start)."""
        last_close = day.spans[-1][1]
        moments = {a for a, _ in day.spans} | {b for _, b in day.spans}
        for shifts in self.plan.values():
            for s in shifts:
                moments.update({day.midnight + s.start, day.midnight + s.end})
        for moment in sorted(moments):
            if (after is None or moment > after) and moment <= day.hour_starts[-1]:
                self.push(moment, BOUNDARY, day.midnight)
        for citizen in citizens_of_day(self.demand, self.seed, day.date, day.hour_starts):
            moment = citizen.arrives_at
            if after is not None and moment < after:
                continue
            if not self.hall_open(moment):
                later = [a for a, _ in day.spans if a > moment]
                if not later or moment >= last_close:
                    self.refused["hall_closed"] += 1
                    continue
                moment = later[0]  # people at the door before opening take their tickets at opening
            self.push(moment, ARRIVE, citizen, tie=citizen.arrives_at)

    def adopt_live(self, now: float) -> None:
        """Take over a live hall: its clerks stay, its tickets at windows finish, its queue waits on."""
        state = self.state
        working = {w for w, window in state.windows.items() if window.clerk is not None}
        paused = {w for w, window in state.windows.items() if window.state is WindowState.PAUSED}
        # A paused window takes no calls: it finishes what it has and its clerk stays away for the run.
        self.roster = (working | set(self.plan)) - paused
        for w in working:
            clerk = state.windows[w].clerk
            self.actor[w] = Actor(Role.CLERK, f"柜员{clerk}", clerk=clerk)
            self.login_at[w] = now
            self.mode[w] = LEAVING if w in paused else ON
        for ticket in list(state.tickets.values()):
            if ticket.state not in QUEUED and ticket.state not in (TicketState.CALLED, TicketState.SERVING):
                continue
            rng = stream_rng(self.seed, f"live-{ticket.id}", 0)
            laws = [self.demand.service[m] for m in ticket.matters]
            started = ticket.started_at if ticket.state is TicketState.SERVING else now
            service = residual_service(rng, laws, now - (started or now))
            # Patience counts from now: whoever is still here has not given up yet (memoryless guess).
            patience = (now - ticket.issued_at) + draw_patience(rng, self.demand.abandonment)
            citizen = Citizen(ticket.issued_at, -1, ticket.matters, ticket.channel, service, False, patience)
            self.admit(ticket, citizen, live=True)
            record = self.records[ticket.id]
            record.called_at = ticket.first_called_at
            if ticket.state in (TicketState.CALLED, TicketState.SERVING) and ticket.window in self.mode:
                w = ticket.window
                if ticket.state is TicketState.CALLED:
                    counter.start(state, now, self.actor[w], w)
                record.started_at, record.window, record.outcome = ticket.started_at, w, SERVED
                self.busy_since[w] = now
                self.push(now + service, FREE, w)
