"""Anomaly rules on a clerk's work at the window: out-of-order calls, very short services, no-shows."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hallctl.audit.classes import Entry
from hallctl.audit.findings import Anomaly, Evidence, Inputs, anomaly
from hallctl.core.calendar import iso

# A service is timed from the call that brought the citizen to the window, not from a resume (回呼) after a
# suspend: a citizen back with the missing document is often done in seconds, honestly.
CALLS = frozenset({"ticket.call", "ticket.call_out_of_order"})
QUEUED = frozenset({"waiting", "transferred"})


def out_of_order(inputs: Inputs) -> list[Anomaly]:
    """A ticket called while an older ticket of its own queue (same matters, channel and target window)
    waited, unless a manager called it out of order with a reason. The queues are replayed from the
    journal; within one queue the routing always takes the oldest, so anything else is a manual call.
    Appointment tickets are left out: they go by their slot, not their issue time."""
    rules = inputs.audit.out_of_order
    ev = Evidence(inputs)
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
                    anomaly(
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
    ev = Evidence(inputs)
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
        anomaly(
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
    ev = Evidence(inputs)
    found: list[Anomaly] = []
    runs: dict[str, list[Entry]] = defaultdict(list)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # actor -> [no-shows, starts]

    def end_run(actor: str) -> None:
        run = runs.pop(actor, [])
        if len(run) >= rules.run:
            found.append(
                anomaly(
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
                anomaly(
                    "no_show_rate",
                    inputs.period,
                    f"{actor}: {no} no-shows in {calls} calls ({no / calls:.0%}); the rest of the hall "
                    f"{others:.0%}, the bar {bar:.0%}",
                    [{"actor": actor, "no_shows": no, "calls": calls, "others_rate": round(others, 4)}],
                    actor=actor,
                )
            )
    return found
