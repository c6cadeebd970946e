"""What the wait predictor learned from history: service-time (办理时长) fits, no-shows, arrival rates.

Pure and picklable: the live forecaster ships a copy to its worker process, the history replay feeds it
tickets in virtual time. Service times are lognormal per matter combination, fitted on the logarithm of
the window time and shrunk toward the configured ``service_minutes`` while history is thin.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from hallctl.config import HallConfig
from hallctl.core.model import Ticket, TicketState

# Spread of the log service time before any history (CV ≈ 0.53): what counter work in halls usually
# shows. Too small and the predicted range is falsely narrow; too big and the prior mean dominates less.
PRIOR_SIGMA = 0.5
# The prior counts as this many observed tickets: 10 finished tickets move a fit half-way to the data.
PRIOR_WEIGHT = 10.0
# A no-show before any history: one ticket in twenty, costing the window 90 s of calls and recalls.
PRIOR_NO_SHOW = 0.05
PRIOR_NO_SHOW_SECONDS = 90.0
# No-show figures count as this many tickets of the hall-wide figure before a matter's own take over.
NO_SHOW_WEIGHT = 20.0
# Window times outside this range are typing slips or a window left open over lunch, not service.
MIN_SECONDS = 5.0
MAX_SECONDS = 4 * 3600.0
# Channels whose later arrivals can be called before a ticket already waiting (routing rules).
OVERTAKING = frozenset({"green", "appointment", "enterprise"})
# Below this many finished tickets the predictor runs its fast deterministic fallback.
THIN_HISTORY = 30

Matters = tuple[str, ...]


def window_started(ticket: Ticket) -> float | None:
    """When the ticket came to the window it is (or was last) at.

    ``called_at`` moves with each recall, so the first call counts; a transferred ticket starts afresh at
    its new window, where ``called_at`` is the call there."""
    if ticket.transfers == 0 and ticket.first_called_at is not None:
        return ticket.first_called_at
    return ticket.called_at if ticket.called_at is not None else ticket.first_called_at


@dataclass(frozen=True, slots=True)
class LogNormal:
    """Service time in seconds: ln(T) ~ Normal(mu, sigma)."""

    mu: float
    sigma: float

    @property
    def mean(self) -> float:
        return math.exp(self.mu + self.sigma * self.sigma / 2)

    @classmethod
    def with_mean(cls, mean: float, sigma: float) -> LogNormal:
        return cls(math.log(mean) - sigma * sigma / 2, sigma)


@dataclass(slots=True)
class LogStats:
    """Running count, sum and sum of squares of log window times (Welford would be overkill here)."""

    n: int = 0
    total: float = 0.0
    squares: float = 0.0

    def add(self, seconds: float) -> None:
        x = math.log(seconds)
        self.n += 1
        self.total += x
        self.squares += x * x

    def shrunk(self, prior: LogNormal, weight: float) -> LogNormal:
        """Posterior-style blend: the prior counts as ``weight`` observations."""
        if self.n == 0:
            return prior
        mean = self.total / self.n
        var = max(self.squares / self.n - mean * mean, 0.0)
        k = weight
        mu = (k * prior.mu + self.n * mean) / (k + self.n)
        # the spread blends the two variances plus the disagreement of the means (normal-inverse-gamma)
        s2 = (k * prior.sigma**2 + self.n * var + k * self.n / (k + self.n) * (mean - prior.mu) ** 2) / (
            k + self.n
        )
        return LogNormal(mu, max(math.sqrt(s2), 0.05))


def sum_of_lognormals(parts: list[LogNormal]) -> LogNormal:
    """Fenton-Wilkinson: the lognormal with the mean and variance of a sum (a bundle's service time)."""
    if len(parts) == 1:
        return parts[0]
    mean = sum(p.mean for p in parts)
    var = sum((math.exp(p.sigma**2) - 1) * p.mean**2 for p in parts)
    sigma2 = math.log(1 + var / (mean * mean))
    return LogNormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))


@dataclass(slots=True)
class WaitModel:
    """Priors from the configuration plus what finished and issued tickets taught."""

    service_prior_minutes: dict[str, float]
    zone_name: str = "Asia/Shanghai"
    services: dict[Matters, LogStats] = field(default_factory=dict)
    shows: Counter[Matters] = field(default_factory=Counter)  # tickets that reached DONE
    no_shows: Counter[Matters] = field(default_factory=Counter)
    no_show_cost: LogStats = field(default_factory=LogStats)
    # (hour of the local day, matters, channel) -> tickets issued, for the overtaking channels only
    arrivals: Counter[tuple[int, Matters, str]] = field(default_factory=Counter)
    days: set[str] = field(default_factory=set)
    # (matters, channel) -> (first called at, its wait): the last-to-enter-service predictor reads it
    last_called: dict[tuple[Matters, str], tuple[float, float]] = field(default_factory=dict)
    no_show_prior: float = PRIOR_NO_SHOW
    prior_sigma: float = PRIOR_SIGMA
    finished: int = 0
    _fits: dict[Matters, LogNormal] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: HallConfig) -> WaitModel:
        return cls(
            service_prior_minutes={m.code: m.service_minutes for m in config.matters},
            zone_name=config.hall.timezone,
        )

    # -- learning -----------------------------------------------------------------------------------
    def learn_issued(self, ticket: Ticket) -> None:
        """An arrival: counted by hour of day for the channels that can overtake tickets already waiting."""
        self.days.add(ticket.day)
        if ticket.channel in OVERTAKING:
            hour = datetime.fromtimestamp(ticket.issued_at, ZoneInfo(self.zone_name)).hour
            self.arrivals[(hour, ticket.matters, ticket.channel)] += 1

    def learn_finished(self, ticket: Ticket) -> None:
        """A ticket that reached DONE (its window time) or NO_SHOW (what the no-show cost the window)."""
        start = window_started(ticket)
        if ticket.first_called_at is not None:
            key = (ticket.matters, ticket.channel)
            seen = self.last_called.get(key)
            if seen is None or seen[0] <= ticket.first_called_at:
                self.last_called[key] = (ticket.first_called_at, ticket.first_called_at - ticket.issued_at)
        if ticket.state is TicketState.DONE:
            self.shows[ticket.matters] += 1
            self.finished += 1
            if start is not None and ticket.finished_at is not None:
                seconds = ticket.finished_at - start
                if MIN_SECONDS <= seconds <= MAX_SECONDS:
                    self.services.setdefault(ticket.matters, LogStats()).add(seconds)
                    self._fits.pop(ticket.matters, None)
                    if len(ticket.matters) == 1:  # bundles built on this matter change too
                        self._fits = {k: v for k, v in self._fits.items() if len(k) == 1}
        elif ticket.state is TicketState.NO_SHOW:
            self.no_shows[ticket.matters] += 1
            self.finished += 1
            if start is not None and ticket.no_show_at is not None:
                seconds = ticket.no_show_at - start
                if MIN_SECONDS <= seconds <= MAX_SECONDS:
                    self.no_show_cost.add(seconds)

    # -- what the predictor asks --------------------------------------------------------------------
    @property
    def thin(self) -> bool:
        """Too little history for sampling to beat plain means."""
        return self.finished < THIN_HISTORY

    def service(self, matters: Matters) -> LogNormal:
        """The fitted service-time distribution of a ticket with these matters (seconds)."""
        fit = self._fits.get(matters)
        if fit is None:
            if len(matters) == 1:
                prior = LogNormal.with_mean(self._prior_seconds(matters[0]), self.prior_sigma)
            else:
                prior = sum_of_lognormals([self.service((m,)) for m in matters])
            stats = self.services.get(matters)
            fit = prior if stats is None else stats.shrunk(prior, PRIOR_WEIGHT)
            self._fits[matters] = fit
        return fit

    def _prior_seconds(self, matter: str) -> float:
        minutes = self.service_prior_minutes.get(matter)
        if minutes is None:  # a matter removed from the config since: the hall's average
            values = list(self.service_prior_minutes.values()) or [5.0]
            minutes = sum(values) / len(values)
        return minutes * 60.0

    def no_show_probability(self, matters: Matters) -> float:
        total_ns = self.no_shows.total()
        hall = (total_ns + self.no_show_prior * NO_SHOW_WEIGHT) / (self.finished + NO_SHOW_WEIGHT)
        n = self.no_shows.get(matters, 0)
        seen = n + self.shows.get(matters, 0)
        return (n + hall * NO_SHOW_WEIGHT) / (seen + NO_SHOW_WEIGHT)

    def no_show_seconds(self) -> float:
        """The mean window time a no-show costs (calls, recalls, marking it)."""
        prior = LogNormal.with_mean(PRIOR_NO_SHOW_SECONDS, PRIOR_SIGMA)
        return self.no_show_cost.shrunk(prior, PRIOR_WEIGHT).mean

    def hourly_arrivals(self) -> dict[int, list[tuple[Matters, str, float]]]:
        """Per local hour: (matters, channel, tickets per hour) of the overtaking channels."""
        days = max(len(self.days), 1)
        out: dict[int, list[tuple[Matters, str, float]]] = {}
        for (hour, matters, channel), count in self.arrivals.items():
            out.setdefault(hour, []).append((matters, channel, count / days))
        return out
