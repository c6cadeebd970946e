"""A day's staffing plan, hour by hour: pure arithmetic over the demand of each pool of windows.

Each hour is treated as its own steady state (the usual "stationary independent period" method). That is
a fair first cut for a hall whose services last minutes, not hours; where the load rises faster than the
queue can drain, the simulator's check of the plan shows the hours that need one more window.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hallctl.core.erlang import ErlangC, erlang_c, windows_needed


@dataclass(frozen=True, slots=True)
class HourDemand:
    """What one pool of windows (e.g. the integrated windows, 综合窗口) faces in one hour of the day."""

    pool: str  # a window kind: integrated | consultation | dedicated
    hour: int  # local hour of day, 0–23: the hour starting then
    arrivals_per_hour: float
    service_seconds: float  # mean window time per ticket (call to finish)
    target_seconds: float  # the wait the matters of this pool promise (demand-weighted)


@dataclass(frozen=True, slots=True)
class HourAdvice:
    demand: HourDemand
    recommended: ErlangC  # at the recommended window count
    staffed: ErlangC | None  # at the windows the hall has now (None when it has none of this kind)

    @property
    def windows(self) -> int:
        return self.recommended.windows

    def as_dict(self) -> dict[str, object]:
        d = self.demand

        def figures(r: ErlangC | None) -> dict[str, object] | None:
            if r is None:
                return None
            return {
                "windows": r.windows,
                "p_wait": round(r.p_wait, 4),
                "average_wait_seconds": round(r.asa_seconds, 2) if r.stable else None,
                "service_level": round(r.service_level(d.target_seconds), 4),
                "occupancy": round(r.occupancy, 4),
            }

        return {
            "pool": d.pool,
            "hour": d.hour,
            "arrivals_per_hour": round(d.arrivals_per_hour, 2),
            "service_seconds": round(d.service_seconds, 1),
            "target_seconds": round(d.target_seconds, 1),
            "recommended": figures(self.recommended),
            "staffed": figures(self.staffed),
        }


def advise(
    demand: Iterable[HourDemand],
    *,
    service_level: float,
    staffed: dict[str, int],
    max_occupancy: float = 1.0,
) -> list[HourAdvice]:
    """The fewest windows per pool and hour that meet ``service_level`` within each pool's target."""
    out = []
    for d in demand:
        if d.arrivals_per_hour <= 0:
            continue
        best = windows_needed(
            d.arrivals_per_hour,
            d.service_seconds,
            target_seconds=d.target_seconds,
            service_level=service_level,
            max_occupancy=max_occupancy,
        )
        have = staffed.get(d.pool, 0)
        now = erlang_c(d.arrivals_per_hour, d.service_seconds, have) if have else None
        out.append(HourAdvice(d, best, now))
    return sorted(out, key=lambda a: (a.demand.pool, a.demand.hour))
