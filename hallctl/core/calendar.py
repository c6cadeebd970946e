"""The hall's local time: business days (numbering resets at local midnight) and opening hours."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hallctl.config import Hours


def local_time(now: float, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(now, zone)


def business_day(now: float, zone: ZoneInfo) -> str:
    """The local date as ISO text: ticket numbers and daily caps count per business day."""
    return local_time(now, zone).date().isoformat()


def is_open(hours: Hours, now: float, zone: ZoneInfo) -> bool:
    moment = local_time(now, zone)
    if moment.date().isoformat() in hours.closed_dates:
        return False
    clock = moment.time()
    return any(span.start <= clock < span.end for span in hours.spans_on(moment.weekday()))


def iso(now: float | None, zone: ZoneInfo) -> str | None:
    """An instant as ISO 8601 with the hall's offset (what people and the case system read)."""
    if now is None:
        return None
    return local_time(now, zone).isoformat(timespec="seconds")
