"""Routing invariants over random days in the example hall (hypothesis).

A day is a random sequence of kiosk issues (every channel, bundles, appointments), calls, services,
no-shows and their returns, transfers, suspends and resumes, profile changes and the clock moving on.
After every step: a window was only given a ticket its profile or an overflow rule allows it; no ticket
was called twice unless it was explicitly sent back to the queue; no ticket was passed over more often
than the starvation bound; the queues, windows and tickets agree; a refused step changed nothing.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from hallkit import (
    BOOKING,
    MANAGER,
    MINUTE,
    NINE,
    clerk,
    config_with,
    credit_code,
    fingerprint,
    issue,
    new_hall,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from hallctl.config import HallConfig
from hallctl.core import admin, counter, issuing, routing
from hallctl.core.errors import HallError
from hallctl.core.model import AT_WINDOW, QUEUED, Ticket, TicketState, WindowStatus
from hallctl.core.state import HallState

WINDOWS = tuple(range(1, 9))

# What people come for: (matters, channel); "appointment" kinds book a slot this many minutes from now
# and check in at once.
KINDS: list[tuple[tuple[str, ...], str, int]] = [
    (("CBDJ",), "normal", 0),
    (("JFJS",), "normal", 0),
    (("SBKBH",), "normal", 0),
    (("CBZM",), "normal", 0),
    (("YLZY", "TXHD"), "normal", 0),  # a bundle
    (("ZX",), "normal", 0),
    (("ZX",), "green", 0),
    (("DYRZ",), "green", 0),
    (("BJSQ",), "enterprise", 0),
    (("JFJS", "ZJY"), "enterprise", 0),
    (("CBDJ", "ZX"), "enterprise", 0),  # only the enterprise window serves both
    (("CBDJ",), "appointment", 0),
    (("SBKBH", "CBDJ"), "appointment", 20),
    (("JFJS",), "appointment", -25),
]
TRANSFERS: list[dict[str, Any]] = [
    {"matters": ("JFJS",)},
    {"matters": ("ZX",)},
    {"matters": ("BJSQ", "ZJY")},
    {"matters": ("BJSQ",)},
    {"to_window": 1},
    {"to_window": 3},
    {"to_window": 7},
]
PROFILES = ("integrated", "consultation", "enterprise", "green")

# Steps are (action, window, number); the number picks the kind, transfer, profile or wait. Issuing and
# serving come most often so that queues build up and drain, as on a real day.
RARE = ["call", "no_show", "return", "transfer", "suspend", "resume", "profile", "wait", "wait"]
ACTIONS = ["issue"] * 5 + ["serve"] * 4 + RARE
step = st.tuples(st.sampled_from(ACTIONS), st.sampled_from(WINDOWS), st.integers(0, 10**6))


def may_take(w: WindowStatus, ticket: Ticket, now: float, consultation: frozenset[str]) -> bool:
    """Whether a window may be given a queued ticket: the rule as routing.py documents it, judged on
    the ticket itself."""
    if ticket.target_window:
        return ticket.target_window == w.id
    profile = w.profile
    if routing.serves(profile, ticket.matters, ticket.channel):
        return True
    for rule in profile.rules:
        if (
            rule.rule == "enterprise_overflow"
            and ticket.channel == "enterprise"
            and routing.serves_matters(profile, ticket.matters)
            and now - ticket.issued_at >= rule.minutes * 60
        ):
            return True
        if (
            rule.rule == "consultation_overflow"
            and ticket.channel in profile.channels
            and consultation.issuperset(ticket.matters)
            and now - w.idle_since >= rule.seconds
        ):
            return True
    return False


@dataclass
class Day:
    """Drives a hall through random steps and checks the invariants after each one."""

    hall: HallState
    now: float = NINE
    # how many more times call-next may give each ticket: one per issue, transfer or no-show return
    calls_left: Counter[int] = field(default_factory=Counter)
    codes: itertools.count[int] = field(default_factory=itertools.count)
    calls: int = 0

    def run(self, step: tuple[Any, ...]) -> None:
        before = fingerprint(self.hall)
        try:
            self.do(*step)
        except HallError:
            assert fingerprint(self.hall) == before, f"refused {step} changed the hall"
        self.check()

    def do(self, action: str, window_id: int, number: int) -> None:
        hall, now, actor = self.hall, self.now, clerk(window_id)
        if action == "issue":
            self.issue(*KINDS[number % len(KINDS)])
        elif action == "call":
            self.call(window_id)
        elif action == "serve":  # call if the window is free, then serve whoever is at it
            if hall.windows[window_id].current is None:
                self.call(window_id)
            counter.start(hall, now, actor, window_id)
            counter.finish(hall, now, actor, window_id)
        elif action == "no_show":
            counter.no_show(hall, now, actor, window_id)
        elif action == "return":
            gone = sorted(t.id for t in hall.tickets.values() if t.state is TicketState.NO_SHOW)
            if gone:
                ticket = issuing.return_no_show(hall, now, MANAGER, gone[number % len(gone)]).result
                self.calls_left[ticket.id] += 1
        elif action == "transfer":
            target = TRANSFERS[number % len(TRANSFERS)]
            ticket = counter.transfer(hall, now, actor, window_id, **target).result
            self.calls_left[ticket.id] += 1
        elif action == "suspend":
            counter.suspend(hall, now, actor, window_id)
        elif action == "resume":
            counter.resume(hall, now, actor, window_id)  # explicit: not a call-next
        elif action == "profile":
            admin.set_profile(hall, now, MANAGER, window_id, name=PROFILES[number % len(PROFILES)])
        elif action == "wait":
            self.now += 1 + number % (20 * 60)

    def issue(self, matters: tuple[str, ...], channel: str, slot_in_minutes: int) -> None:
        if channel == "appointment":
            booking = f"YY{next(self.codes)}"
            slot = self.now + slot_in_minutes * MINUTE
            issuing.book(self.hall, self.now, BOOKING, booking, matters, slot, slot + 30 * MINUTE)
            ticket = issue(self.hall, self.now, channel="appointment", appointment_code=booking)
        else:
            credit = credit_code() if channel == "enterprise" else None
            ticket = issue(self.hall, self.now, *matters, channel=channel, credit_code=credit)
        self.calls_left[ticket.id] += 1

    def call(self, window_id: int) -> None:
        hall, now = self.hall, self.now
        w = hall.windows[window_id]
        waiting = [t for t in hall.tickets.values() if t.state in QUEUED]
        allowed = {t.id for t in waiting if may_take(w, t, now, hall.consultation)}
        ticket = counter.call_next(hall, now, clerk(window_id), window_id).result
        if ticket is None:
            assert not allowed, f"window {window_id} got nothing though {sorted(allowed)} wait for it"
            return
        self.calls += 1
        assert ticket.id in allowed, f"window {window_id} ({w.profile_name}) was given {ticket}"
        if len(ticket.matters) > 1:
            assert routing.serves_matters(w.profile, ticket.matters), f"bundle {ticket.number} at {w.id}"
        assert self.calls_left[ticket.id] > 0, f"{ticket.number} was called twice"
        self.calls_left[ticket.id] -= 1
        assert (ticket.state, ticket.window, w.current) == (TicketState.CALLED, window_id, ticket.id)

    def check(self) -> None:
        hall = self.hall
        bound = hall.config.rules.starvation_bound
        queued = {t.id for t in hall.tickets.values() if t.state in QUEUED}
        assert set(hall.queues.ids()) == queued
        # the running waiting counts the board reads agree with a recount
        by_matter = Counter(m for t in queued for m in hall.tickets[t].matters)
        assert +hall.queues.by_matter == by_matter
        assert +hall.queues.by_prefix == Counter(hall.tickets[t].prefix for t in queued)
        assert hall.forced <= queued
        for t in hall.tickets.values():
            assert t.bypassed <= bound, f"{t.number} passed over {t.bypassed} times (bound {bound})"
            if t.id in hall.forced:
                assert t.bypassed >= bound
        at_windows = {w.current: w.id for w in hall.windows.values() if w.current is not None}
        assert at_windows == {t.id: t.window for t in hall.tickets.values() if t.state in AT_WINDOW}


def example_day(config: HallConfig) -> Day:
    hall = new_hall(config, NINE, always_open=True)
    for w in WINDOWS:
        counter.login(hall, NINE, clerk(w), w)
    return Day(hall)


TIGHT = config_with({"rules": {"starvation_bound": 2}})
CONFIGS = {"example": None, "starvation_bound=2": TIGHT}


@pytest.mark.parametrize("name", CONFIGS)
@settings(max_examples=150, deadline=None)
@given(steps=st.lists(step, min_size=20, max_size=120))
def test_routing_invariants_hold_over_a_random_day(
    name: str, steps: list[tuple[Any, ...]], example_config: HallConfig
) -> None:
    day = example_day(CONFIGS[name] or example_config)
    for s in steps:
        day.run(s)


@settings(max_examples=40, deadline=None)
@given(
    matters=st.lists(st.sampled_from(("CBDJ", "JFJS", "ZJY", "SBKBH", "YLZY", "DYRZ", "CBZM")), min_size=5),
    first=st.integers(1, 5),
)
def test_integrated_windows_calling_in_turn_share_the_load(
    matters: list[str], first: int, example_config: HallConfig
) -> None:
    day = example_day(example_config)
    for m in matters:
        day.issue((m,), "normal", 0)
    served: Counter[int] = Counter()
    turn = itertools.cycle([*range(first, 6), *range(1, first)])
    while day.hall.queues:
        w = next(turn)
        day.now += 1
        day.call(w)
        counter.start(day.hall, day.now, clerk(w), w)
        counter.finish(day.hall, day.now, clerk(w), w)
        served[w] += 1
    assert set(served) == {1, 2, 3, 4, 5}
    assert max(served.values()) - min(served.values()) <= 1
    assert sum(served.values()) == len(matters)


def test_the_random_days_do_call_tickets(example_config: HallConfig) -> None:
    """A guard for the property above: a plain day through Day calls and checks as it should."""
    day = example_day(example_config)
    steps = [("issue", 1, 0), ("issue", 1, 8), ("issue", 1, 5), ("call", 1, 0), ("call", 7, 0)]
    steps += [("wait", 1, 199), ("call", 2, 0)]
    for s in steps:
        day.run(s)
    assert day.calls == 3
    assert sum(day.calls_left.values()) == 0
