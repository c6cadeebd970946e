"""Anomaly rules on 好差评 ratings: pressed right after arming, or one window rated far above the rest."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hallctl.audit.classes import local_day
from hallctl.audit.findings import Anomaly, Evidence, Inputs, anomaly
from hallctl.core.calendar import iso


def fast_ratings(inputs: Inputs) -> list[Anomaly]:
    """Ratings pressed within ``seconds`` of the keypad being armed, ``min_count`` or more at one window
    in a day: a citizen reads the keypad first; a clerk's own hand does not."""
    rules = inputs.audit.fast_ratings
    ev = Evidence(inputs)
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
        anomaly(
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
                anomaly(
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
