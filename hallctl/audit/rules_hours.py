"""The anomaly rule on when people act: anything outside the opening hours and their grace."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hallctl.audit.findings import Anomaly, Evidence, Inputs, anomaly


def outside_hours(inputs: Inputs) -> list[Anomaly]:
    """Actions by people (not the daemon itself) outside the opening hours and their grace."""
    ev = Evidence(inputs)
    rows: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for e in inputs.entries:
        if inputs.classifier.outside_hours(e):
            rows[(e.day, e.actor)].append(ev.row(e))
    return [
        anomaly(
            "outside_hours",
            day,
            f"{actor}: {len(found)} action(s) outside the opening hours",
            found,
            actor=actor,
        )
        for (day, actor), found in sorted(rows.items())
    ]
