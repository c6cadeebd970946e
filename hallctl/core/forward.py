"""One forward run of the hall from its live state: who is called when, if nothing unusual happens.

The windows that serve now (open, a clerk logged in, not paused) take tickets with the real
``routing.choose_next`` on a private copy of the queues; passed-over tickets age toward the starvation
bound through the counter's own ``window_steps.count_passed_over``. A busy window frees after the rest
of its current service; a free one calls at once. Service times come from a :class:`Draws` (one sampled
run) or, with none, from the fitted means (the deterministic fallback). Nothing of the hall passed in is
changed.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, replace
from datetime import datetime
from statistics import NormalDist
from zoneinfo import ZoneInfo

from hallctl.core.model import AT_WINDOW, QUEUED, Ticket, WindowState, WindowStatus
from hallctl.core.queues import Queues
from hallctl.core.routing import choose_next
from hallctl.core.servicetimes import LogNormal, Matters, WaitModel, window_started
from hallctl.core.state import HallState
from hallctl.core.window_steps import count_passed_over

# How far ahead a run looks. A ticket not called within it is reported at the horizon or by the simple
# estimate, whichever is longer (a queue that long is a day's work: the hall will close first).
HORIZON_SECONDS = 8 * 3600.0
_STANDARD = NormalDist()
_MASK = (1 << 64) - 1
_ARRIVAL = -1  # the window id of arrival events in the event heap


def _unit(seed: int, run: int, key: int, stream: int) -> float:
    """A uniform in (0, 1) fixed by (seed, run, key, stream): splitmix64's finaliser.

    Common random numbers: a ticket keeps its draws from one recomputation to the next, so predictions
    move only when the hall does, not with the dice."""
    x = (seed * 0x9E3779B97F4A7C15 + run * 0xBF58476D1CE4E5B9 + key * 0x94D049BB133111EB + stream) & _MASK
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _MASK
    x ^= x >> 31
    return ((x >> 11) + 0.5) / 9007199254740992.0


def conditional_mean_remaining(fit: LogNormal, elapsed: float) -> float:
    """E[T - e | T > e] for a lognormal T: what is left of a service already ``elapsed`` seconds long."""
    if elapsed <= 0:
        return fit.mean
    z = (math.log(elapsed) - fit.mu) / fit.sigma
    tail = _STANDARD.cdf(-z)
    if tail < 1e-9:  # far beyond the fit: a service this long is out of the model; expect a little more
        return elapsed * fit.sigma * fit.sigma / max(z * fit.sigma, 1e-6)
    return max(fit.mean * _STANDARD.cdf(fit.sigma - z) / tail - elapsed, 0.0)


def conditional_quantile_remaining(fit: LogNormal, elapsed: float, u: float) -> float:
    """The remaining service at quantile ``u`` of T given T > elapsed (inverse CDF on [F(e), 1])."""
    low = _STANDARD.cdf((math.log(elapsed) - fit.mu) / fit.sigma) if elapsed > 0 else 0.0
    p = low + u * (1.0 - low)
    if p >= 1.0 - 1e-12:
        return conditional_mean_remaining(fit, elapsed)
    return max(math.exp(fit.mu + fit.sigma * _STANDARD.inv_cdf(p)) - elapsed, 0.0)


@dataclass(frozen=True, slots=True)
class Draws:
    """The random part of one sampled run."""

    seed: int
    run: int

    def service(self, model: WaitModel, ticket: Ticket) -> float:
        if _unit(self.seed, self.run, ticket.id, 1) < model.no_show_probability(ticket.matters):
            return model.no_show_seconds()
        fit = model.service(ticket.matters)
        return math.exp(fit.mu + fit.sigma * _STANDARD.inv_cdf(_unit(self.seed, self.run, ticket.id, 0)))

    def remaining(self, model: WaitModel, ticket: Ticket, elapsed: float) -> float:
        u = _unit(self.seed, self.run, ticket.id, 0)
        return conditional_quantile_remaining(model.service(ticket.matters), elapsed, u)

    def arrivals(self, model: WaitModel, now: float, until: float) -> list[tuple[float, Matters, str]]:
        """Overtaking arrivals (green, appointments, large enterprises) from the hourly Poisson rates."""
        rates = model.hourly_arrivals()
        if not rates:
            return []
        rng = random.Random(self.seed * 1_000_003 + self.run)
        zone = ZoneInfo(model.zone_name)
        out: list[tuple[float, Matters, str]] = []
        start = now
        while start < until:
            local = datetime.fromtimestamp(start, zone)
            hour_end = min(start + 3600 - (local.minute * 60 + local.second + local.microsecond / 1e6), until)
            for matters, channel, per_hour in rates.get(local.hour, ()):
                t = start + rng.expovariate(per_hour / 3600.0)
                while t < hour_end:
                    out.append((t, matters, channel))
                    t += rng.expovariate(per_hour / 3600.0)
            start = hour_end
        out.sort()
        return out


def _routing_copy(ticket: Ticket) -> Ticket:
    """The fields routing reads, in a ticket of the run's own (bypass counts change during a run)."""
    return Ticket(
        id=ticket.id,
        number=ticket.number,
        prefix=ticket.prefix,
        seq=ticket.seq,
        day=ticket.day,
        matters=ticket.matters,
        channel=ticket.channel,
        issued_at=ticket.issued_at,
        track_token="",
        state=ticket.state,
        queue_key=ticket.queue_key,
        target_window=ticket.target_window,
        bypassed=ticket.bypassed,
        appointment_start=ticket.appointment_start,
    )


class ForwardRun:
    """The hall as the runs start from it: copied once, reset before each run."""

    def __init__(self, state: HallState, now: float, model: WaitModel) -> None:
        self.now = now
        self.model = model
        self.bound = state.config.rules.starvation_bound
        self.consultation = state.consultation
        self.waiting = [_routing_copy(t) for t in state.tickets.values() if t.state in QUEUED]
        self.bypassed = [t.bypassed for t in self.waiting]
        self.forced = {i for i in state.forced if i in state.queues}
        self.next_id = max([state.next_id, *(t.id + 1 for t in self.waiting)])
        serving = [w for w in state.windows.values() if w.state is WindowState.OPEN and w.clerk is not None]
        self.windows = {w.id: replace(w) for w in serving}
        self.idle_since = {w.id: w.idle_since for w in serving}
        # busy windows: (window id, the ticket there, seconds it has been there)
        self.busy: list[tuple[int, Ticket, float]] = []
        for w in serving:
            current = state.tickets.get(w.current) if w.current is not None else None
            if current is not None and current.state in AT_WINDOW:
                began = window_started(current)
                self.busy.append((w.id, current, max(now - began, 0.0) if began is not None else 0.0))

    @property
    def targets(self) -> list[int]:
        return [t.id for t in self.waiting]

    def run(self, draws: Draws | None) -> tuple[dict[int, float], float]:
        """Seconds from now until each waiting ticket is called in this run, and when the run ended."""
        model, now = self.model, self.now
        tickets: dict[int, Ticket] = {}
        queues = Queues()
        for t, bypassed in zip(self.waiting, self.bypassed, strict=True):
            t.bypassed = bypassed
            tickets[t.id] = t
            queues.add(t)
        forced = set(self.forced)
        for wid, window in self.windows.items():
            window.idle_since = self.idle_since[wid]
        # (time, window id or _ARRIVAL, tie-break, generation): at the same moment arrivals come first (a
        # window freed then sees them) and windows call in number order, as a hall's clerks are assumed to.
        heap: list[tuple[float, int, int, int]] = []
        order = 0
        generation = dict.fromkeys(self.windows, 0)
        busy_until = dict.fromkeys(self.windows, now)
        for wid, current, elapsed in self.busy:
            if draws is None:
                left = conditional_mean_remaining(model.service(current.matters), elapsed)
            else:
                left = draws.remaining(model, current, elapsed)
            busy_until[wid] = now + left
            self.windows[wid].idle_since = now + left  # as the counter's finish will set it
        for wid in sorted(self.windows):
            heapq.heappush(heap, (busy_until[wid], wid, order, 0))
            order += 1
        end = now + HORIZON_SECONDS
        arrivals = [] if draws is None else draws.arrivals(model, now, end)
        for i, (at, _, _) in enumerate(arrivals):
            heapq.heappush(heap, (at, _ARRIVAL, order, i))
            order += 1
        waits: dict[int, float] = {}
        left_to_call = len(self.waiting)
        idle: set[int] = set()
        clock = now
        while left_to_call and heap:
            clock, wid, _, gen = heapq.heappop(heap)
            if clock > end:
                break
            if wid == _ARRIVAL:
                _, matters, channel = arrivals[gen]
                ticket = self._arrival(clock, matters, channel, self.next_id + gen)
                tickets[ticket.id] = ticket
                queues.add(ticket)
                for other in idle:  # something new to call: idle windows look again
                    generation[other] += 1
                    heapq.heappush(heap, (clock, other, order, generation[other]))
                    order += 1
                idle.clear()
                continue
            if gen != generation[wid]:
                continue  # superseded by a wake-up
            window = self.windows[wid]
            choice = choose_next(window, queues, tickets, forced, clock, self.consultation)
            if choice is None:
                idle.add(wid)
                wake = self._next_wake(window, queues, tickets, clock)
                if wake is not None:
                    heapq.heappush(heap, (wake, wid, order, gen))
                    order += 1
                continue
            idle.discard(wid)
            ticket = choice.ticket
            queues.remove(ticket.id)
            forced.discard(ticket.id)
            count_passed_over(choice.passed_over, forced, self.bound)
            if ticket.id < self.next_id:
                waits[ticket.id] = clock - now
                left_to_call -= 1
            if draws is None:
                p = model.no_show_probability(ticket.matters)
                took = (1 - p) * model.service(ticket.matters).mean + p * model.no_show_seconds()
            else:
                took = draws.service(model, ticket)
            window.idle_since = clock + took
            heapq.heappush(heap, (clock + took, wid, order, gen))
            order += 1
        return waits, clock

    @staticmethod
    def _arrival(at: float, matters: Matters, channel: str, ticket_id: int) -> Ticket:
        return Ticket(
            id=ticket_id,
            number="",
            prefix="",
            seq=0,
            day="",
            matters=matters,
            channel=channel,  # type: ignore[arg-type]  # learned from tickets, so a valid channel
            issued_at=at,
            track_token="",
            queue_key=at,
            appointment_start=at if channel == "appointment" else None,
        )

    @staticmethod
    def _next_wake(
        window: WindowStatus, queues: Queues, tickets: dict[int, Ticket], clock: float
    ) -> float | None:
        """The next moment a time-based rule could let this idle window take a waiting ticket."""
        if not len(queues):
            return None
        times: list[float] = []
        for rule in window.profile.rules:
            if rule.rule == "consultation_overflow":
                times.append(window.idle_since + rule.seconds)
            elif rule.rule == "enterprise_overflow":
                for key, bucket in queues.buckets():
                    if key[1] == "enterprise":
                        times.append(tickets[bucket[0][1]].issued_at + rule.minutes * 60)
            elif rule.rule == "appointment_due":
                for key, bucket in queues.buckets():
                    if key[1] == "appointment":
                        times.extend(s for _, i in bucket if (s := tickets[i].appointment_start) is not None)
        later = [t for t in times if t > clock]
        return min(later) if later else None
