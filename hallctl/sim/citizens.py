"""The citizens of a simulated day: when each arrives and, drawn at arrival, how long their matters take,
whether they will fail to show when called and how long they will wait before giving up.

Every stream draws from its own generator seeded by (seed, date, stream), and every citizen's draws are
made whether or not they are used: the same seed then gives the same people with the same needs under any
window setup (common random numbers), so a comparison shows the setups' difference, not noise.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from hallctl.config import Channel
from hallctl.core.credit_code import check_character
from hallctl.sim.demand import Abandonment, Demand, ServiceLaw


@dataclass(frozen=True, slots=True)
class Citizen:
    arrives_at: float  # epoch seconds, as drawn (before any shift to the opening)
    stream: int
    matters: tuple[str, ...]
    channel: Channel
    service_seconds: float  # the sum over the ticket's matters
    no_show: bool
    patience_seconds: float  # math.inf: never leaves
    credit_code: str | None = None


def draw_service(rng: random.Random, law: ServiceLaw) -> float:
    if law.distribution == "exponential":
        return rng.expovariate(1.0 / law.mean_seconds)
    if law.distribution == "fixed" or law.cv == 0:
        rng.random()  # keep the stream's draws aligned with the other distributions' one draw at least
        return law.mean_seconds
    mu, sigma = law.lognormal_mu_sigma
    return rng.lognormvariate(mu, sigma)


def draw_patience(rng: random.Random, abandonment: Abandonment) -> float:
    mean = abandonment.mean_minutes * 60.0
    if abandonment.patience == "exponential":
        return rng.expovariate(1.0 / mean)
    if abandonment.patience == "lognormal" and abandonment.cv > 0:
        sigma2 = math.log(1.0 + abandonment.cv**2)
        return rng.lognormvariate(math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2))
    rng.random()
    return math.inf if abandonment.patience == "none" else mean


def enterprise_code(stream: int, number: int) -> str:
    """A valid unified social credit code for the n-th enterprise of a stream (the kiosk checks it)."""
    first17 = f"91{stream:04d}{number % 10**11:011d}"
    return first17 + check_character(first17)


def stream_rng(seed: int, date: str, stream: int) -> random.Random:
    # A string seed goes through SHA-512: stable across runs and Python processes (unlike hash()).
    return random.Random(f"hallctl-sim/{seed}/{date}/{stream}")


def citizens_of_day(demand: Demand, seed: int, date: str, hour_starts: Sequence[float]) -> list[Citizen]:
    """Everyone who comes on one day, in no particular order: Poisson arrivals within each clock hour.
    ``hour_starts`` holds the epoch of each local clock hour of the day and, last, of the next midnight."""
    out: list[Citizen] = []
    for index, stream in enumerate(demand.streams):
        rng = stream_rng(seed, date, index)
        laws = [demand.service[m] for m in stream.matters]
        count = 0
        for hour in range(24):
            rate = stream.rate(hour)
            if rate <= 0:
                continue
            moment, end = hour_starts[hour], hour_starts[hour + 1]
            while True:
                moment += rng.expovariate(rate / 3600.0)
                if moment >= end:
                    break
                count += 1
                service = sum(draw_service(rng, law) for law in laws)
                no_show = rng.random() < demand.no_show.probability
                patience = draw_patience(rng, demand.abandonment)
                out.append(
                    Citizen(
                        arrives_at=moment,
                        stream=index,
                        matters=stream.matters,
                        channel=stream.channel,
                        service_seconds=max(1.0, service),
                        no_show=no_show,
                        patience_seconds=patience,
                        credit_code=enterprise_code(index, count) if stream.channel == "enterprise" else None,
                    )
                )
    return out


def residual_service(rng: random.Random, laws: list[ServiceLaw], elapsed: float) -> float:
    """Seconds left of a service already ``elapsed`` long: a fresh draw given it lasts longer than that."""
    for _ in range(100):
        total = sum(draw_service(rng, law) for law in laws)
        if total > elapsed:
            return total - elapsed
    return 30.0  # far in the tail of the law: assume it ends soon rather than loop for ever
