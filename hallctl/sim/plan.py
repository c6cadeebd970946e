"""When the simulated hall is open and who sits where: the days to simulate, their opening spans, and the
window plan (which windows are staffed at which times of day)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hallctl.config import HallConfig

DEFAULT_START_DATE = date(2026, 3, 2)  # a Monday: the default run is reproducible whatever today is
DAY = 24 * 3600
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass(frozen=True, slots=True)
class Shift:
    """A staffed span of a window, in seconds after local midnight (``end`` may be 24:00)."""

    start: float
    end: float = DAY

    def covers(self, second_of_day: float) -> bool:
        return self.start <= second_of_day < self.end


def clock(text: str) -> float:
    """Seconds after midnight of ``HH:MM`` (``24:00`` allowed)."""
    match = _CLOCK.match(text.strip())
    if not match or int(match.group(1)) > 24 or int(match.group(2)) > 59:
        raise ValueError(f"{text!r} is not a time of day (HH:MM)")
    seconds = int(match.group(1)) * 3600 + int(match.group(2)) * 60
    if seconds > DAY:
        raise ValueError(f"{text!r} is after 24:00")
    return float(seconds)


def shift(start: str, end: str = "24:00") -> Shift:
    """``shift("10:00")``: staffed from 10:00 to the end of the day."""
    first, last = clock(start), clock(end)
    if last <= first:
        raise ValueError(f"the shift {start}-{end} ends before it starts")
    return Shift(first, last)


#: Window id -> the shifts it is staffed; windows left out are staffed whenever the hall is open, a window
#: given no shifts is never staffed (closed).
WindowPlan = Mapping[int, Sequence[Shift]]


def check_plan(plan: WindowPlan, config: HallConfig) -> None:
    ids = {w.id for w in config.windows}
    for window in plan:
        if window not in ids:
            raise ValueError(f"window_plan: no window {window} in the hall's config")


@dataclass(frozen=True, slots=True)
class SimDay:
    date: str  # local ISO date
    midnight: float
    hour_starts: tuple[float, ...]  # 25 entries: each local clock hour, then the next midnight
    spans: tuple[tuple[float, float], ...]  # open spans as epoch seconds


def _at(day: date, moment: time, zone: ZoneInfo) -> float:
    return datetime.combine(day, moment, zone).timestamp()


def _whole_day(day: date, zone: ZoneInfo) -> tuple[float, float]:
    return _at(day, time(0), zone), _at(day + timedelta(days=1), time(0), zone)


def _sim_day(day: date, zone: ZoneInfo, spans: tuple[tuple[float, float], ...]) -> SimDay:
    next_midnight = _at(day + timedelta(days=1), time(0), zone)
    hours = (*(_at(day, time(h), zone) for h in range(24)), next_midnight)
    return SimDay(day.isoformat(), hours[0], hours, spans)


def open_days(
    config: HallConfig,
    count: int,
    first: date,
    zone: ZoneInfo,
    *,
    always_open: bool,
    weekdays: frozenset[int] = frozenset(range(7)),
) -> list[SimDay]:
    """The first ``count`` days the hall opens, from ``first`` on (every day when always open), on the
    given weekdays only (Monday = 0)."""
    out: list[SimDay] = []
    day = first
    for _ in range(count * 7 + 400):  # a calendar that never opens must not loop for ever
        if len(out) == count:
            return out
        if day.weekday() not in weekdays:
            pass
        elif always_open:
            out.append(_sim_day(day, zone, (_whole_day(day, zone),)))
        elif day.isoformat() not in config.hours.closed_dates:
            spans = tuple(
                (_at(day, s.start, zone), _at(day, s.end, zone)) for s in config.hours.spans_on(day.weekday())
            )
            if spans:
                out.append(_sim_day(day, zone, spans))
        day += timedelta(days=1)
    if len(out) < count:
        raise ValueError(
            "the hall never opens on the weekdays simulated; check [hours] and the profile's weekdays,"
            " or simulate with always_open"
        )
    return out
