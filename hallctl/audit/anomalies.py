"""Anomaly screening (异常筛查) over the journal: each rule a pure function of the rows and the settings.

Every anomaly carries its evidence: the journal rows (by seq, so anyone can look them up and check their
hashes) or the ratings behind it. The rules and their keys are in docs/audit.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from hallctl.audit.classes import Classifier, Entry, local_day
from hallctl.config_audit import Audit
from hallctl.core.calendar import iso

#: rule -> (Chinese title, English title)
RULES: dict[str, tuple[str, str]] = {
    "out_of_order": ("未经批准的插队叫号", "out-of-order call without a manager's reason"),
    "short_service": ("办理时间过短", "very short services"),
    "no_show_run": ("连续过号", "run of consecutive no-shows"),
    "no_show_rate": ("过号率异常", "no-show rate far above the hall's"),
    "hoarding": ("同一信用代码集中取号", "many tickets to one credit code (hoarding)"),
    "fast_ratings": ("评价过快", "ratings pressed right after arming"),
    "high_ratings": ("评价异常偏高", "a window's ratings far above the rest of the hall's"),
    "outside_hours": ("非工作时间操作", "actions outside opening hours"),
}
# A service is timed from the call that brought the citizen to the window, not from a resume (回呼) after a
# suspend: a citizen back with the missing document is often done in seconds, honestly.
CALLS = frozenset({"ticket.call", "ticket.call_out_of_order"})
QUEUED = frozenset({"waiting", "transferred"})
#: Evidence rows listed per anomaly; the summary gives the full count.
MAX_EVIDENCE = 50


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What the journal does not carry about a ticket: its number and the credit code it was issued to."""

    number: str
    credit_code: str | None = None
    channel: str | None = None
    issued_by: str = ""


@dataclass(frozen=True, slots=True)
class RatingRow:
    ticket: int
    window: int
    clerk: str | None
    level: int
    level_name: str
    armed_at: float
    rated_at: float


@dataclass(slots=True)
class Anomaly:
    rule: str
    day: str
    summary: str
    actor: str | None = None
    window: int | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    evidence_total: int = 0

    def as_dict(self) -> dict[str, Any]:
        zh, en = RULES[self.rule]
        return {
            "rule": self.rule,
            "title": zh,
            "title_en": en,
            "day": self.day,
            "actor": self.actor,
            "window": self.window,
            "summary": self.summary,
            "evidence": self.evidence,
            "evidence_total": self.evidence_total,
        }


@dataclass(frozen=True, slots=True)
class Inputs:
    entries: Sequence[Entry]
    tickets: dict[int, TicketFacts]
    ratings: Sequence[RatingRow]
    audit: Audit
    classifier: Classifier
    zone: ZoneInfo
    period: str = ""  # the report's days, e.g. 2026-03-02..2026-03-06: where a finding spans them all


class _Evidence:
    def __init__(self, inputs: Inputs) -> None:
        self.tickets = inputs.tickets
        self.zone = inputs.zone

    def number(self, ticket: int | None) -> str | None:
        if ticket is None:
            return None
        facts = self.tickets.get(ticket)
        return facts.number if facts else None

    def row(self, e: Entry, note: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {
            "seq": e.seq,
            "at": iso(e.at, self.zone),
            "actor": e.actor,
            "role": e.role,
            "action": e.action,
            "window": e.window,
            "ticket": e.ticket,
            "number": self.number(e.ticket),
        }
        if note:
            out["note"] = note
        return out


def _anomaly(rule: str, day: str, summary: str, evidence: list[dict[str, Any]], **where: Any) -> Anomaly:
    return Anomaly(
        rule, day, summary, evidence=evidence[:MAX_EVIDENCE], evidence_total=len(evidence), **where
    )


# -- the rules -----------------------------------------------------------------------------------------


def out_of_order(inputs: Inputs) -> list[Anomaly]:
    """A ticket called while an older ticket of its own queue (same matters, channel and target window)
    waited, unless a manager called it out of order with a reason. The queues are replayed from the
    journal; within one queue the routing always takes the oldest, so anything else is a manual call.
    Appointment tickets are left out: they go by their slot, not their issue time."""
    rules = inputs.audit.out_of_order
    ev = _Evidence(inputs)
    found: list[Anomaly] = []
    known: dict[int, tuple[tuple[str, ...], str, float]] = {}  # ticket -> matters, channel, queue key
    queues: dict[tuple[tuple[str, ...], str, int], dict[int, float]] = defaultdict(dict)
    where: dict[int, tuple[tuple[str, ...], str, int]] = {}  # ticket -> the queue it waits in
    for e in inputs.entries:
        t = e.ticket
        if t is None:
            continue
        if e.action == "ticket.issue":
            matters = tuple(e.detail.get("matters") or ())
            known[t] = (matters, str(e.detail.get("channel", "")), e.at)
        elif t in known and e.action == "ticket.transfer":
            matters = tuple(e.detail.get("matters") or known[t][0])
            known[t] = (matters, known[t][1], known[t][2])
        elif t in known and e.action == "ticket.return":
            known[t] = (known[t][0], known[t][1], e.at)  # a no-show who comes back queues at the back
        if e.action in ("ticket.call", "ticket.call_out_of_order") and t in where:
            bucket = where[t]
            mine = queues[bucket][t]
            older = sorted((k, o) for o, k in queues[bucket].items() if (k, o) < (mine, t))
            reason = str(e.detail.get("reason") or "").strip()
            approved = (
                e.action == "ticket.call_out_of_order"
                and e.role in rules.approver_roles
                and len(reason) >= rules.min_reason_chars
            )
            if older and bucket[1] != "appointment" and not approved:
                why = (
                    f"reason {reason!r} by {e.role}"
                    if e.action == "ticket.call_out_of_order"
                    else "no reason"
                )
                evidence = [ev.row(e, f"called ahead of {len(older)} older ticket(s); {why}")]
                evidence += [
                    {"ticket": o, "number": ev.number(o), "queued_at": iso(k, inputs.zone), "note": "waited"}
                    for k, o in older
                ]
                found.append(
                    _anomaly(
                        "out_of_order",
                        e.day,
                        f"{ev.number(t) or t} called at window {e.window} by {e.actor} ahead of "
                        f"{len(older)} older ticket(s) of the same queue ({why})",
                        evidence,
                        actor=e.actor,
                        window=e.window,
                    )
                )
        if t in where and e.after not in QUEUED:
            queues[where.pop(t)].pop(t, None)
        elif e.after in QUEUED and t in known:
            if t in where:
                queues[where.pop(t)].pop(t, None)
            matters, channel, key = known[t]
            target = e.detail.get("to_window") if e.action == "ticket.transfer" else None
            bucket = (matters, channel, int(target) if isinstance(target, int) else 0)
            queues[bucket][t] = key
            where[t] = bucket
    return found


def short_service(inputs: Inputs) -> list[Anomaly]:
    """Services finished within ``seconds`` of their call, ``min_count`` or more by one clerk in a day."""
    rules = inputs.audit.short_service
    ev = _Evidence(inputs)
    called: dict[int, float] = {}
    short: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    windows: dict[tuple[str, str], int | None] = {}
    for e in inputs.entries:
        if e.ticket is None:
            continue
        if e.action in CALLS:
            called[e.ticket] = e.at
        elif e.action == "ticket.finish" and e.ticket in called:
            took = e.at - called[e.ticket]
            if took < rules.seconds:
                short[(e.day, e.actor)].append(ev.row(e, f"finished {took:.0f} s after the call"))
                windows[(e.day, e.actor)] = e.window
    return [
        _anomaly(
            "short_service",
            day,
            f"{actor} finished {len(rows)} service(s) within {rules.seconds:g} s of the call",
            rows,
            actor=actor,
            window=windows[(day, actor)],
        )
        for (day, actor), rows in sorted(short.items())
        if len(rows) >= rules.min_count
    ]


def no_shows(inputs: Inputs) -> list[Anomaly]:
    """A clerk's run of ``run`` no-shows without a service between them, and a clerk whose no-show rate
    (no-shows per citizen called: no-shows and services begun) is far above the rest of the hall's."""
    rules = inputs.audit.no_shows
    ev = _Evidence(inputs)
    found: list[Anomaly] = []
    runs: dict[str, list[Entry]] = defaultdict(list)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # actor -> [no-shows, starts]

    def end_run(actor: str) -> None:
        run = runs.pop(actor, [])
        if len(run) >= rules.run:
            found.append(
                _anomaly(
                    "no_show_run",
                    run[0].day,
                    f"{actor} marked {len(run)} no-shows in a row without serving anyone between them",
                    [ev.row(e) for e in run],
                    actor=actor,
                    window=run[0].window,
                )
            )

    for e in inputs.entries:
        if e.action == "ticket.no_show":
            runs[e.actor].append(e)
            counts[e.actor][0] += 1
        elif e.action == "ticket.start":
            end_run(e.actor)
            counts[e.actor][1] += 1
    for actor in list(runs):
        end_run(actor)
    hall_no, hall_calls = sum(c[0] for c in counts.values()), sum(c[0] + c[1] for c in counts.values())
    for actor, (no, started) in sorted(counts.items()):
        calls = no + started
        # Against the rest of the hall: a clerk who makes most of the calls would otherwise set the bar.
        others = (hall_no - no) / (hall_calls - calls) if hall_calls > calls else 0.0
        bar = max(others * rules.rate_factor, rules.min_rate)
        if calls >= rules.min_calls and no / calls >= bar:
            found.append(
                _anomaly(
                    "no_show_rate",
                    inputs.period,
                    f"{actor}: {no} no-shows in {calls} calls ({no / calls:.0%}); the rest of the hall "
                    f"{others:.0%}, the bar {bar:.0%}",
                    [{"actor": actor, "no_shows": no, "calls": calls, "others_rate": round(others, 4)}],
                    actor=actor,
                )
            )
    return found


def hoarding(inputs: Inputs) -> list[Anomaly]:
    """More than ``max_tickets`` tickets issued to one credit code within ``minutes``."""
    rules = inputs.audit.hoarding
    ev = _Evidence(inputs)
    by_code: dict[str, list[Entry]] = defaultdict(list)
    for e in inputs.entries:
        if e.action == "ticket.issue" and e.ticket is not None:
            facts = inputs.tickets.get(e.ticket)
            if facts is not None and facts.credit_code:
                by_code[facts.credit_code].append(e)
    found = []
    span = rules.minutes * 60
    for code, issued in sorted(by_code.items()):
        flagged: dict[int, Entry] = {}
        left = 0
        for i, e in enumerate(issued):
            while e.at - issued[left].at > span:
                left += 1
            if i - left + 1 > rules.max_tickets:
                flagged.update((x.seq, x) for x in issued[left : i + 1])
        if flagged:
            rows = [ev.row(x) for _, x in sorted(flagged.items())]
            first = min(flagged.values(), key=lambda x: x.seq)
            found.append(
                _anomaly(
                    "hoarding",
                    first.day,
                    f"{len(rows)} tickets to credit code {code} with more than {rules.max_tickets} "
                    f"within {rules.minutes} minutes",
                    rows,
                    actor=code,
                )
            )
    return found


def fast_ratings(inputs: Inputs) -> list[Anomaly]:
    """Ratings pressed within ``seconds`` of the keypad being armed, ``min_count`` or more at one window
    in a day: a citizen reads the keypad first; a clerk's own hand does not."""
    rules = inputs.audit.fast_ratings
    ev = _Evidence(inputs)
    fast: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    clerks: dict[tuple[str, int], set[str]] = defaultdict(set)
    for r in inputs.ratings:
        took = r.rated_at - r.armed_at
        if took < rules.seconds:
            key = (local_day(r.rated_at, inputs.zone), r.window)
            fast[key].append(
                {
                    "ticket": r.ticket,
                    "number": ev.number(r.ticket),
                    "window": r.window,
                    "clerk": r.clerk,
                    "level": r.level_name,
                    "rated_at": iso(r.rated_at, inputs.zone),
                    "note": f"pressed {took:.2f} s after arming",
                }
            )
            if r.clerk:
                clerks[key].add(r.clerk)
    return [
        _anomaly(
            "fast_ratings",
            day,
            f"window {window}: {len(rows)} ratings pressed within {rules.seconds:g} s of arming",
            rows,
            actor=", ".join(sorted(clerks[(day, window)])) or None,
            window=window,
        )
        for (day, window), rows in sorted(fast.items())
        if len(rows) >= rules.min_count
    ]


def high_ratings(inputs: Inputs) -> list[Anomaly]:
    """A window whose share of 非常满意 is ``margin`` or more above the rest of the hall's, over the range
    and at least ``min_ratings`` ratings (a window that rates itself looks like this)."""
    rules = inputs.audit.high_ratings
    per_window: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # window -> [ratings, 非常满意]
    clerks: dict[int, set[str]] = defaultdict(set)
    for r in inputs.ratings:
        per_window[r.window][0] += 1
        per_window[r.window][1] += r.level == 5
        if r.clerk:
            clerks[r.window].add(r.clerk)
    total, top = sum(c[0] for c in per_window.values()), sum(c[1] for c in per_window.values())
    found = []
    for window, (n, best) in sorted(per_window.items()):
        if n < rules.min_ratings or total == n:
            continue
        share, rest = best / n, (top - best) / (total - n)
        if share - rest >= rules.margin:
            found.append(
                _anomaly(
                    "high_ratings",
                    inputs.period,
                    f"window {window}: {share:.0%} of {n} ratings are 非常满意, "
                    f"the rest of the hall {rest:.0%}",
                    [
                        {
                            "window": window,
                            "ratings": n,
                            "top_share": round(share, 4),
                            "rest_share": round(rest, 4),
                        }
                    ],
                    actor=", ".join(sorted(clerks[window])) or None,
                    window=window,
                )
            )
    return found


def outside_hours(inputs: Inputs) -> list[Anomaly]:
    """Actions by people (not the daemon itself) outside the opening hours and their grace."""
    ev = _Evidence(inputs)
    rows: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for e in inputs.entries:
        if inputs.classifier.outside_hours(e):
            rows[(e.day, e.actor)].append(ev.row(e))
    return [
        _anomaly(
            "outside_hours",
            day,
            f"{actor}: {len(found)} action(s) outside the opening hours",
            found,
            actor=actor,
        )
        for (day, actor), found in sorted(rows.items())
    ]


Rule = Callable[[Inputs], list[Anomaly]]
SCREENS: tuple[tuple[str, Rule], ...] = (
    ("out_of_order", out_of_order),
    ("short_service", short_service),
    ("no_shows", no_shows),
    ("hoarding", hoarding),
    ("fast_ratings", fast_ratings),
    ("high_ratings", high_ratings),
    ("outside_hours", outside_hours),
)


def screen(inputs: Inputs) -> list[Anomaly]:
    """Every enabled rule, in the order of ``SCREENS``; each rule's anomalies by day."""
    found: list[Anomaly] = []
    for setting, rule in SCREENS:
        if getattr(inputs.audit, setting).enabled:
            found.extend(rule(inputs))
    return found


def ratings_of(rows: Iterable[Sequence[Any]]) -> list[RatingRow]:
    return [
        RatingRow(int(r[0]), int(r[1]), r[2], int(r[3]), str(r[4]), float(r[5]), float(r[6])) for r in rows
    ]
