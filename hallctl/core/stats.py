"""Queue figures from the live state: what is waiting now, and how today has gone.

Waits are measured from issue to the first call; service from start to finish. The service level is the
share of called tickets whose wait was within their matter's target (the longest target for a bundle).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from hallctl.core import routing
from hallctl.core.model import QUEUED, Ticket, TicketState
from hallctl.core.state import HallState


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted values (p in 0..100); None when there are none."""
    if not values:
        return None
    rank = max(1, min(len(values), round(p / 100 * len(values) + 0.5)))
    return values[rank - 1]


def summary(values: Iterable[float]) -> dict[str, float | int | None]:
    data = sorted(values)
    return {
        "count": len(data),
        "mean": round(sum(data) / len(data), 1) if data else None,
        "p50": percentile(data, 50),
        "p90": percentile(data, 90),
        "max": data[-1] if data else None,
    }


def wait_seconds(t: Ticket) -> float | None:
    return None if t.first_called_at is None else max(0.0, t.first_called_at - t.issued_at)


def service_seconds(t: Ticket) -> float | None:
    if t.started_at is None or t.finished_at is None:
        return None
    return max(0.0, t.finished_at - t.started_at)


def target_seconds(state: HallState, t: Ticket) -> float:
    return max(state.config.matter(m).target_wait_minutes for m in t.matters) * 60


def today_figures(state: HallState, tickets: Iterable[Ticket]) -> dict[str, Any]:
    tickets = list(tickets)
    waits = [w for t in tickets if (w := wait_seconds(t)) is not None]
    services = [s for t in tickets if (s := service_seconds(t)) is not None]
    within = sum(1 for t in tickets if (w := wait_seconds(t)) is not None and w <= target_seconds(state, t))
    by_state: dict[str, int] = defaultdict(int)
    for t in tickets:
        by_state[t.state.value] += 1
    return {
        "issued": len(tickets),
        "served": by_state[TicketState.DONE.value],
        "no_show": by_state[TicketState.NO_SHOW.value],
        "voided": by_state[TicketState.VOIDED.value],
        "waiting": sum(1 for t in tickets if t.state in QUEUED),
        "wait_seconds": summary(waits),
        "service_seconds": summary(services),
        "service_level": round(within / len(waits), 4) if waits else None,
    }


def _live(tickets: Iterable[Ticket], now: float) -> dict[str, Any]:
    queued = [t for t in tickets if t.state in QUEUED]
    return {
        "waiting": len(queued),
        "longest_wait_seconds": round(max((now - t.issued_at for t in queued), default=0.0), 1),
    }


def hall_stats(state: HallState, now: float) -> dict[str, Any]:
    """Live and today's figures for the hall, per matter, per window and per channel."""
    today = [t for t in state.tickets.values() if t.day == state.day]
    live = [t for t in state.tickets.values() if t.state in QUEUED]

    per_matter = {}
    for m in state.config.matters:
        mine = [t for t in today if m.code in t.matters]
        per_matter[m.code] = {
            "name": m.name,
            "target_wait_minutes": m.target_wait_minutes,
            **_live((t for t in live if m.code in t.matters), now),
            "today": today_figures(state, mine),
        }

    per_channel = {}
    for channel in ("normal", "enterprise", "green", "appointment"):
        mine = [t for t in today if t.channel == channel]
        per_channel[channel] = {
            **_live((t for t in live if t.channel == channel), now),
            "today": today_figures(state, mine),
        }

    per_window = {}
    consultation = state.consultation
    for w in state.windows.values():
        eligible = [
            t
            for t in live
            if routing.bucket_tier(w, (t.matters, t.channel, t.target_window or 0), t, now, consultation)
            is not None
        ]
        served_here = [t for t in today if t.window == w.id and t.state is TicketState.DONE]
        per_window[str(w.id)] = {
            "state": w.state.value,
            "clerk": w.clerk,
            "current": state.tickets[w.current].number if w.current in state.tickets else None,
            **_live(eligible, now),
            "served_today": len(served_here),
            "service_seconds": summary(s for t in served_here if (s := service_seconds(t)) is not None),
        }
    return {
        "hall": state.config.hall.id,
        "day": state.day,
        "generated_at": now,
        "live": _live(live, now),
        "today": today_figures(state, today),
        "matters": per_matter,
        "channels": per_channel,
        "windows": per_window,
    }
