"""Anomaly screening (异常筛查): the rules the audit report runs, each a pure function of the journal, the
ratings and the access record (hallctl/audit/findings.py ``Inputs``), one module per family:

- ``rules_window``: out-of-order calls, very short services, no-show runs and rates (a clerk's work);
- ``rules_issuing``: many tickets to one credit code (号贩子);
- ``rules_ratings``: ratings pressed right after arming, a window rated far above the rest;
- ``rules_hours``: actions outside the opening hours;
- ``rules_access``: tokens used from a role's unusual endpoint.

Every anomaly carries its evidence; the rules and their keys are in docs/audit.md.
"""

from __future__ import annotations

from collections.abc import Callable

from hallctl.audit.findings import Anomaly, Inputs
from hallctl.audit.rules_access import unusual_endpoint
from hallctl.audit.rules_hours import outside_hours
from hallctl.audit.rules_issuing import hoarding
from hallctl.audit.rules_ratings import fast_ratings, high_ratings
from hallctl.audit.rules_window import no_shows, out_of_order, short_service

Rule = Callable[[Inputs], list[Anomaly]]
#: (the ``[audit.*]`` table that switches it, the rule), in the order the report lists their findings.
SCREENS: tuple[tuple[str, Rule], ...] = (
    ("out_of_order", out_of_order),
    ("short_service", short_service),
    ("no_shows", no_shows),
    ("hoarding", hoarding),
    ("fast_ratings", fast_ratings),
    ("high_ratings", high_ratings),
    ("outside_hours", outside_hours),
    ("unusual_endpoint", unusual_endpoint),
)


def screen(inputs: Inputs) -> list[Anomaly]:
    """Every enabled rule, in the order of ``SCREENS``; each rule's anomalies by day."""
    found: list[Anomaly] = []
    for setting, rule in SCREENS:
        if getattr(inputs.audit, setting).enabled:
            found.extend(rule(inputs))
    return found
