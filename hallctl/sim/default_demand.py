"""A demand derived from the hall's config alone, for a first look when no arrival profile is given.

Each window is kept busy about three quarters of its open time on average, with the matters of its own
profile in equal numbers, over the shape of a typical hall day (a morning peak, a quieter lunch hour and a
second peak after it). Real questions deserve a profile written from the hall's own history.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import time

from hallctl.config import Channel, HallConfig
from hallctl.sim.demand import Abandonment, ArrivalProfile, NoShows, Stream, resolve
from hallctl.sim.demand import Demand as Demand

DEFAULT_LOAD = 0.75  # of each window's open time: busy, with queues at the peaks, but not overloaded
#: Relative arrival rate by clock hour in a typical hall day (morning peak at 9-10, second peak at 14-15).
DAY_SHAPE = {8: 0.9, 9: 1.4, 10: 1.3, 11: 1.0, 12: 0.6, 13: 0.8, 14: 1.2, 15: 1.1, 16: 0.9, 17: 0.6}
OTHER_HOURS = 0.7
GREEN_SHARE = 0.05  # of an integrated window's citizens: elderly, disabled, pregnant (绿色通道)
APPOINTMENT_SHARE = 0.05  # booked online (预约)


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def open_fraction_by_hour(config: HallConfig, always_open: bool) -> list[float]:
    """The share of each clock hour the hall is open on its first open weekday (every hour if always open)."""
    if always_open:
        return [1.0] * 24
    for weekday in range(7):
        spans = config.hours.spans_on(weekday)
        if spans:
            out = [0.0] * 24
            for span in spans:
                start = _minutes(span.start)
                end = _minutes(span.end) if span.end != time(0) else 24 * 60
                for hour in range(24):
                    overlap = min(end, (hour + 1) * 60) - max(start, hour * 60)
                    out[hour] += max(0, overlap) / 60.0
            return out
    return [0.0] * 24


def default_demand(config: HallConfig, *, always_open: bool = False) -> Demand:
    consultation = {
        m for w in config.windows if w.kind == "consultation" for m in config.profiles[w.profile].matters
    }
    own_matters = [m.code for m in config.matters if m.code not in consultation] or [
        m.code for m in config.matters
    ]
    work: dict[tuple[str, Channel], float] = defaultdict(float)  # (matter, channel) -> arrivals per hour
    for window in config.windows:
        profile = config.profiles[window.profile]
        matters = own_matters if "*" in profile.matters else list(profile.matters)
        channel: Channel = profile.channels[0] if window.kind == "dedicated" else "normal"
        if channel not in profile.channels:
            channel = profile.channels[0]
        shares: dict[Channel, float] = {channel: 1.0}
        if window.kind == "integrated" and channel == "normal":
            for extra, share in (("green", GREEN_SHARE), ("appointment", APPOINTMENT_SHARE)):
                if extra in profile.channels:
                    shares[extra] = share
                    shares[channel] -= share
        per_matter_seconds = sum(config.matter(m).service_minutes * 60 for m in matters)
        arrivals = DEFAULT_LOAD * 3600.0 / per_matter_seconds  # of each matter per open hour
        for ch, share in shares.items():
            for m in matters:
                work[(m, ch)] += arrivals * share
    fraction = open_fraction_by_hour(config, always_open)
    weights = [(1.0 if always_open else DAY_SHAPE.get(h, OTHER_HOURS)) * fraction[h] for h in range(24)]
    open_hours = sum(fraction)
    scale = open_hours / sum(weights) if sum(weights) else 0.0
    streams = tuple(
        Stream(
            matters=(matter,),
            channel=channel,
            per_hour={h: round(rate * weights[h] * scale, 3) for h in range(24) if weights[h] > 0},
        )
        for (matter, channel), rate in sorted(work.items())
    )
    arrival_profile = ArrivalProfile(
        description="默认客流（由大厅配置推算）",
        no_show=NoShows(probability=0.03),
        abandonment=Abandonment(),
        arrivals=streams,
    )
    return resolve(arrival_profile, config, "<default demand>")
