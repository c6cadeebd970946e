"""Anomaly rules on how tickets are issued: many tickets to one credit code (号贩子)."""

from __future__ import annotations

from collections import defaultdict

from hallctl.audit.classes import Entry
from hallctl.audit.findings import Anomaly, Evidence, Inputs, anomaly


def hoarding(inputs: Inputs) -> list[Anomaly]:
    """More than ``max_tickets`` tickets issued to one credit code within ``minutes``."""
    rules = inputs.audit.hoarding
    ev = Evidence(inputs)
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
                anomaly(
                    "hoarding",
                    first.day,
                    f"{len(rows)} tickets to credit code {code} with more than {rules.max_tickets} "
                    f"within {rules.minutes} minutes",
                    rows,
                    actor=code,
                )
            )
    return found
