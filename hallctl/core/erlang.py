"""Erlang C (M/M/c): the chance a citizen waits, the average wait and the service level for c windows.

The textbook formula divides factorials and powers of the offered load; both overflow a float long before
a hall of a few hundred windows (170! is the largest factorial a double holds). We go through Erlang B's
recursion instead,

    B(0) = 1,    B(k) = A·B(k−1) / (k + A·B(k−1)),

whose terms stay in [0, 1], and turn B into C with C = c·B / (c − A·(1 − B)). It costs c steps and is good to
many thousands of windows.

Erlang C assumes exponential service times, Poisson arrivals, one queue and infinite patience. Real
service times vary less than exponential ones, so it is conservative (it asks for a window or so more than
a hall needs); the simulator (``hallctl simulate``) checks a plan under the real routing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErlangC:
    """The steady state of an M/M/c queue."""

    arrivals_per_hour: float
    service_seconds: float
    windows: int
    offered_load: float  # erlangs: the windows that would be busy on average, A = λ·s
    p_wait: float  # the chance an arrival waits at all (1.0 when the load reaches the windows)
    asa_seconds: float  # average speed of answer: the mean wait over all arrivals (inf when overloaded)

    @property
    def stable(self) -> bool:
        return self.offered_load < self.windows

    @property
    def occupancy(self) -> float:
        """The share of window time spent serving (capped at 1 when overloaded)."""
        return min(1.0, self.offered_load / self.windows)

    def service_level(self, target_seconds: float) -> float:
        """The share of arrivals called within ``target_seconds``: 1 − C·e^(−(c−A)·t/s)."""
        if target_seconds < 0:
            raise ValueError("target_seconds must not be negative")
        if not self.stable:
            return 0.0
        if self.offered_load == 0:
            return 1.0
        decay = (self.windows - self.offered_load) * target_seconds / self.service_seconds
        return 1.0 - self.p_wait * math.exp(-decay)

    def mean_wait_of_waiters(self) -> float:
        """The mean wait of those who wait at all: s / (c − A)."""
        if not self.stable:
            return math.inf
        return self.service_seconds / (self.windows - self.offered_load)


def erlang_b(offered_load: float, windows: int) -> float:
    """Blocking probability of an M/M/c/c system, by the stable recursion."""
    if windows < 0 or offered_load < 0:
        raise ValueError("the load and the window count must not be negative")
    b = 1.0
    for k in range(1, windows + 1):
        b = offered_load * b / (k + offered_load * b)
    return b


def erlang_c(arrivals_per_hour: float, service_seconds: float, windows: int) -> ErlangC:
    if arrivals_per_hour < 0 or not math.isfinite(arrivals_per_hour):
        raise ValueError("arrivals_per_hour must be a finite number ≥ 0")
    if service_seconds <= 0 or not math.isfinite(service_seconds):
        raise ValueError("service_seconds must be a finite number > 0")
    if windows < 1:
        raise ValueError("windows must be at least 1")
    load = arrivals_per_hour * service_seconds / 3600.0
    if load >= windows:
        return ErlangC(arrivals_per_hour, service_seconds, windows, load, 1.0, math.inf)
    b = erlang_b(load, windows)
    p_wait = windows * b / (windows - load * (1.0 - b))
    asa = p_wait * service_seconds / (windows - load)
    return ErlangC(arrivals_per_hour, service_seconds, windows, load, p_wait, asa)


def windows_needed(
    arrivals_per_hour: float,
    service_seconds: float,
    *,
    target_seconds: float,
    service_level: float,
    max_occupancy: float = 1.0,
    limit: int = 100_000,
) -> ErlangC:
    """The fewest windows that answer ``service_level`` of arrivals within ``target_seconds``.

    ``max_occupancy`` (e.g. 0.85) also keeps clerks from running flat out all day. Raises ValueError when
    even ``limit`` windows would not do (an absurd input, not a hall).
    """
    if not 0 < service_level < 1:
        raise ValueError("service_level must be between 0 and 1 (exclusive)")
    if not 0 < max_occupancy <= 1:
        raise ValueError("max_occupancy must be in (0, 1]")
    load = arrivals_per_hour * service_seconds / 3600.0
    c = max(1, math.floor(load) + 1)
    while c <= limit:
        result = erlang_c(arrivals_per_hour, service_seconds, c)
        if result.service_level(target_seconds) >= service_level and result.occupancy <= max_occupancy:
            return result
        c += 1
    raise ValueError(f"more than {limit} windows would be needed")
