"""Seed a new hall file with simulated past days: the demo's four weeks of history (docs/simulator.md).

``simulate_past`` is pure (no I/O, no wall clock; only the track tokens are random, as the daemon's are): it
drives the real core through the simulator's engine over the open days before ``today`` and keeps the
core's own ticket and appointment objects — what the daemon would have held in memory — plus keypad
ratings drawn for the services. ``write_past`` writes them with the store's one
row mapping (``hallctl/store/rows.py``) in a single transaction. It writes no journal rows: the journal
is the hash chain of what really happened in this hall, and the demo's past did not happen.
"""

from __future__ import annotations

import random
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from hallctl.config import HallConfig
from hallctl.core.calendar import business_day
from hallctl.core.model import Actor, Appointment, Rating, Role, Ticket, TicketState
from hallctl.core.ratings import LEVEL_NAMES
from hallctl.core.state import HallState
from hallctl.sim.citizens import Citizen
from hallctl.sim.default_demand import default_demand
from hallctl.sim.demand import Demand, DemandError, load_profile
from hallctl.sim.engine import Run
from hallctl.sim.plan import SimDay, open_days
from hallctl.sim.runs import drive_days
from hallctl.store.rows import (
    INSERT_RATING,
    UPSERT_APPOINTMENT,
    UPSERT_TICKET,
    appointment_row,
    rating_row,
    ticket_row,
)

EXAMPLE_ARRIVALS = Path(__file__).resolve().parents[2] / "config" / "arrivals.example.toml"
HISTORY_DAYS = 28  # what the dashboard's advice and what-if learn from (hallctl/web/api_advice.py)
DEFAULT_SEED = 1
#: Of the services finished at a window with a satisfaction keypad, the share the citizen rates.
RATED_SHARE = 0.6
#: 好差评 levels of the seeded ratings. No 差评 (levels 1 and 2): a bad rating opens a follow-up case
#: through the journal, which the simulated past does not have, so the audit would see a case missing.
LEVEL_WEIGHTS = {5: 0.86, 4: 0.11, 3: 0.03}
#: Seconds from the keypad being armed (the finish) to the press: not so fast that the audit's
#: fast-ratings rule (1 s by default) fires, and within the keypad's arm time.
PRESS_SECONDS = (3.0, 40.0)
#: States a past ticket must end in: anything else the daemon would load back into today's hall.
OUT_OF_PLAY = frozenset({TicketState.DONE, TicketState.NO_SHOW, TicketState.VOIDED})

Progress = Callable[[int, int, str], None]  # (days done, days in all, the day just simulated)


class SeedError(Exception):
    """The file cannot take a seeded history (it already holds tickets)."""


@dataclass(frozen=True, slots=True)
class Past:
    """Simulated past days, as the daemon would have written them."""

    days: tuple[str, ...]
    tickets: tuple[Ticket, ...]
    appointments: tuple[Appointment, ...]
    ratings: tuple[Rating, ...]


class _KeepingRun(Run):
    """The engine, keeping every ticket and booking the core made (it drops finished ones at midnight)."""

    def __init__(self, config: HallConfig, demand: Demand, seed: int, state: HallState) -> None:
        super().__init__(config, demand, seed, {}, state)
        self.kept_tickets: list[Ticket] = []
        self.kept_appointments: list[Appointment] = []

    def admit(self, ticket: Ticket, citizen: Citizen, *, live: bool = False) -> None:
        super().admit(ticket, citizen, live=live)
        self.kept_tickets.append(ticket)

    def book(self, now: float, citizen: Citizen) -> str:
        code = super().book(now, citizen)
        self.kept_appointments.append(self.state.appointments[code])
        return code


def past_open_days(config: HallConfig, demand: Demand, today: date, days: int = HISTORY_DAYS) -> list[SimDay]:
    """The days in the ``days`` calendar days before ``today`` on which the hall opens (its ``[hours]``,
    closed dates and the profile's weekdays)."""
    first = today - timedelta(days=days)
    try:
        found = open_days(config, days, first, config.hall.zone, always_open=False, weekdays=demand.weekdays)
    except ValueError:  # a hall that never opens on the profile's weekdays has no past to seed
        return []
    return [d for d in found if d.date < today.isoformat()]


def simulate_past(
    config: HallConfig,
    demand: Demand,
    today: date,
    *,
    days: int = HISTORY_DAYS,
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
) -> Past:
    """Simulate the open days among the ``days`` before ``today``; the same seed gives the same past
    (but for the track tokens, which are random as the daemon's are: a phone page must not be guessable).

    The clerk at window N is ``clerkN``, as the demo's clerk tokens are named."""
    sim_days = past_open_days(config, demand, today, days)
    if not sim_days:
        return Past((), (), (), ())
    state = HallState.new(config, sim_days[0].midnight, always_open=True)
    run = _KeepingRun(config, demand, seed, state)
    for w in state.windows:
        run.actor[w] = Actor(Role.CLERK, f"{w}号窗口柜员", clerk=f"clerk{w}")
    run.spans = sorted(span for d in sim_days for span in d.spans)
    tell = None if progress is None else lambda done, total: progress(done, total, sim_days[done - 1].date)
    drive_days(run, sim_days, tell)
    tickets = tuple(run.kept_tickets)
    unsettled = [f"{t.day} {t.number}" for t in tickets if t.state not in OUT_OF_PLAY]
    if unsettled:  # the engine serves everyone after closing; a ticket left in play would join today's queue
        raise SeedError(f"simulated tickets left in play at the end of the run: {unsettled[:5]}")
    used = {t.appointment_code for t in tickets if t.appointment_code}
    # A booking whose ticket the core refused (a daily cap) is a simulator artefact, not a platform's.
    appointments = tuple(a for a in run.kept_appointments if a.code in used)
    return Past(tuple(d.date for d in sim_days), tickets, appointments, ratings_for(config, tickets, seed))


def ratings_for(config: HallConfig, tickets: tuple[Ticket, ...], seed: int) -> tuple[Rating, ...]:
    """Keypad presses for a share of the services finished at windows with a satisfaction keypad, as
    ``core.ratings.rate`` records them (armed at the finish, pressed a few seconds later)."""
    keypads = {k.window: k.id for k in config.devices.rating_keypads}
    rng = random.Random(f"demo-ratings-{seed}")
    levels, weights = list(LEVEL_WEIGHTS), list(LEVEL_WEIGHTS.values())
    arm = float(config.devices.ratings.arm_seconds)
    out = []
    for t in tickets:
        window = t.window
        if t.state is not TicketState.DONE or t.finished_at is None or window not in keypads:
            continue
        assert window is not None  # a keypad's window
        if rng.random() >= RATED_SHARE:
            continue
        level = rng.choices(levels, weights)[0]
        press = min(rng.uniform(*PRESS_SECONDS), arm * 0.9)
        out.append(
            Rating(
                ticket=t.id,
                window=window,
                clerk=t.clerk,
                level=level,
                level_name=LEVEL_NAMES[level],
                device=keypads[window],
                armed_at=t.finished_at,
                rated_at=t.finished_at + press,
            )
        )
    return tuple(out)


def write_past(conn: sqlite3.Connection, past: Past) -> None:
    """Write the past into a hall file that holds no tickets yet, in one transaction (all or nothing)."""
    conn.execute("begin immediate")
    try:
        if conn.execute("select exists (select 1 from tickets)").fetchone()[0]:
            raise SeedError("the file already holds tickets; history is seeded into a new file only")
        conn.executemany(UPSERT_TICKET, [ticket_row(t) for t in past.tickets])
        conn.executemany(UPSERT_APPOINTMENT, [appointment_row(a) for a in past.appointments])
        conn.executemany(INSERT_RATING, [rating_row(r) for r in past.ratings])
    except BaseException:
        conn.execute("rollback")
        raise
    conn.execute("commit")


def demo_demand(config: HallConfig) -> tuple[Demand, str]:
    """The example arrival profile, or (a hall whose matters it does not name) one derived from the config;
    with a word on which it is."""
    try:
        return load_profile(EXAMPLE_ARRIVALS, config), EXAMPLE_ARRIVALS.name
    except DemandError:
        return default_demand(config, always_open=False), "a demand derived from the config"


def seed_demo_history(
    conn: sqlite3.Connection,
    config: HallConfig,
    now: float,
    *,
    say: Callable[[str, bool], None],
    seed: int = DEFAULT_SEED,
) -> Past:
    """Simulate the four weeks before ``now``'s business day into a new demo file. ``say(text, partial)``
    shows progress; ``partial`` text is overwritten by the next (a terminal's carriage return)."""
    started = time.perf_counter()
    today = date.fromisoformat(business_day(now, config.hall.zone))
    demand, source = demo_demand(config)
    say(f"demo history: simulating the open days of the {HISTORY_DAYS} days before {today} ({source})", False)

    def progress(done: int, total: int, day: str) -> None:
        say(f"demo history: {day} simulated ({done}/{total})", True)

    past = simulate_past(config, demand, today, seed=seed, progress=progress)
    write_past(conn, past)
    span = f" ({past.days[0]} – {past.days[-1]})" if past.days else ""
    say(
        f"demo history: {len(past.tickets):,} tickets and {len(past.ratings):,} ratings over "
        f"{len(past.days)} open days{span} written in {time.perf_counter() - started:.1f} s "
        "(simulated: no journal rows)",
        False,
    )
    return past


def say_on_stderr(text: str, partial: bool) -> None:
    """Progress on stderr: partial lines overwrite each other on a terminal and are left out elsewhere."""
    if sys.stderr.isatty():
        sys.stderr.write(f"\r\033[K{text}" + ("" if partial else "\n"))
    elif not partial:
        sys.stderr.write(text + "\n")
    sys.stderr.flush()
