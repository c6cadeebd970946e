"""Which waiting ticket a window takes next: a pure function of the hall's state and the time.

A window's work profile names the matters and channels it serves and an ordered list of rules; a ticket's
tier is the position of the first rule that lifts it (green first, an appointment that is due, a large
enterprise that has waited too long), else the default tier, where the longest-waiting ticket goes first.
A consultation admitted by ``consultation_overflow`` (this window stood idle) ranks after the default
tier. Above every rule stands the anti-starvation bound: a ticket passed over by ``starvation_bound``
later tickets is taken next by any window that may serve it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hallctl.config import Profile
from hallctl.core.model import Ticket, WindowStatus
from hallctl.core.queues import BucketKey, Entry, Queues

FORCED_TIER = -1


def serves_matters(profile: Profile, matters: Iterable[str]) -> bool:
    """A bundled ticket (打包“一件事”) goes only to a window that can serve all of its matters."""
    return "*" in profile.matters or all(m in profile.matters for m in matters)


def serves(profile: Profile, matters: Iterable[str], channel: str) -> bool:
    return channel in profile.channels and serves_matters(profile, matters)


@dataclass(frozen=True, slots=True)
class Choice:
    ticket: Ticket
    tier: int
    passed_over: tuple[Ticket, ...]  # older eligible tickets this call goes ahead of


def bucket_tier(
    window: WindowStatus,
    key: BucketKey,
    head: Ticket,
    now: float,
    consultation_matters: frozenset[str],
) -> int | None:
    """The tier of a bucket's tickets at this window, or None when the window may not take them.

    Appointment tickets are judged one by one by :func:`ticket_tier`; this is the bucket-wide part.
    """
    # Positional: this runs for every bucket on every call, the simulator's and the predictor's too.
    return profile_tier(
        window.profile, window.id, key, now - head.issued_at, now - window.idle_since, consultation_matters
    )


def profile_tier(
    profile: Profile,
    window_id: int,
    key: BucketKey,
    waited: float,
    idle: float,
    consultation_matters: frozenset[str],
) -> int | None:
    """:func:`bucket_tier` for a profile, given how long the bucket's head has waited and the window
    has stood idle."""
    matters, channel, target = key
    if target:
        # A transfer to this window, as long as the window still serves the ticket's matters.
        return len(profile.rules) if target == window_id and serves_matters(profile, matters) else None
    base = serves(profile, matters, channel)
    for i, rule in enumerate(profile.rules):
        if rule.rule == "green_first" and base and channel == "green":
            return i
        if (
            rule.rule == "enterprise_overflow"
            and not base
            and channel == "enterprise"
            and serves_matters(profile, matters)
            and waited >= rule.minutes * 60
        ):
            return i
        if (
            rule.rule == "consultation_overflow"
            and not base
            and channel in profile.channels
            and consultation_matters.issuperset(matters)
            and idle >= rule.seconds
        ):
            # After the default tier whatever its place in the list: an integrated window helps with
            # questions only when it has nothing of its own to call, so questions never block it.
            return len(profile.rules) + 1
    return len(profile.rules) if base else None


def may_ever_take(
    profile: Profile, matters: tuple[str, ...], channel: str, consultation_matters: frozenset[str]
) -> bool:
    """Whether a window with this profile would take such a ticket at some moment: by its own matters and
    channels, or once an overflow rule's minutes or seconds have passed (a consultation at an idle
    integrated window, a large enterprise that has waited)."""
    key = (matters, channel, 0)
    return profile_tier(profile, 0, key, math.inf, math.inf, consultation_matters) is not None


def appointment_tier(window: WindowStatus, ticket: Ticket, now: float, default: int) -> int:
    for i, rule in enumerate(window.profile.rules):
        if rule.rule == "appointment_due" and ticket.appointment_start is not None:
            if ticket.appointment_start <= now:
                return min(i, default)
            break
    return default


def choose_next(
    window: WindowStatus,
    queues: Queues,
    tickets: Mapping[int, Ticket],
    forced: Iterable[int],
    now: float,
    consultation_matters: frozenset[str],
) -> Choice | None:
    """The ticket this window should call now, or None if it may take none of those waiting."""
    eligible: list[tuple[BucketKey, list[Entry]]] = []
    best: tuple[int, float, int] | None = None
    for key, bucket in queues.buckets():
        head = tickets[bucket[0][1]]
        tier = bucket_tier(window, key, head, now, consultation_matters)
        if tier is None:
            continue
        eligible.append((key, bucket))
        if key[1] == "appointment":
            for queue_key, ticket_id in bucket:
                t_tier = appointment_tier(window, tickets[ticket_id], now, tier)
                candidate = (t_tier, queue_key, ticket_id)
                if best is None or candidate < best:
                    best = candidate
                if t_tier < tier:
                    break  # later due appointments in this bucket come after this one
        else:
            candidate = (tier, bucket[0][0], bucket[0][1])
            if best is None or candidate < best:
                best = candidate
    if best is None:
        return None
    # Starvation guard: a ticket passed over too often goes before every rule, oldest first.
    forced_here = []
    for ticket_id in forced:
        ticket = tickets[ticket_id]
        key = (ticket.matters, ticket.channel, ticket.target_window or 0)
        if bucket_tier(window, key, ticket, now, consultation_matters) is not None:
            forced_here.append((FORCED_TIER, ticket.queue_key, ticket.id))
    if forced_here:
        best = min(forced_here)
    chosen = tickets[best[2]]
    mark = (chosen.queue_key, chosen.id)
    # Judged ticket by ticket, as the forced list is: a bucket is eligible when its head is, but a younger
    # large-enterprise ticket behind that head may not yet have waited long enough to overflow here. Counting
    # it as passed over would push it past the starvation bound at a window that may not even take it.
    passed = tuple(
        ticket
        for key, bucket in eligible
        for ticket in (tickets[e[1]] for e in bucket[: Queues.before(bucket, mark)])
        if bucket_tier(window, key, ticket, now, consultation_matters) is not None
    )
    return Choice(ticket=chosen, tier=best[0], passed_over=passed)


def consultation_matters(windows: Iterable[WindowStatus]) -> frozenset[str]:
    """Matters served at consultation windows: the ones an idle integrated window may take by overflow."""
    out: set[str] = set()
    for w in windows:
        if w.kind == "consultation":
            out.update(m for m in w.profile.matters if m != "*")
    return frozenset(out)


def can_any_serve(profiles: Iterable[Profile], matters: Iterable[str], channel: str) -> bool:
    matters = tuple(matters)
    return any(serves(p, matters, channel) for p in profiles)
