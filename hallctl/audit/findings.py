"""What every anomaly rule shares: its inputs, the finding it returns and the evidence rows it cites.

The rules themselves are pure functions of :class:`Inputs`, one module per family (``rules_*.py``);
hallctl/audit/anomalies.py runs the enabled ones. Their titles are here, in one table, so the report and
its readers see every rule the hall can screen for in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from hallctl.audit.classes import Classifier, Entry
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
    "foreign_network": ("令牌在非常用网络使用", "token used from outside its role's networks"),
    "new_address": ("令牌在新地址使用", "token used from a new address after settling on others"),
    "forbidden_requests": (
        "令牌反复越权请求",
        "token refused again and again on endpoints its role may not use",
    ),
}
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


@dataclass(frozen=True, slots=True)
class AddressUse:
    """A token's use from one client address (the access record, hallctl/audit/access_log.py)."""

    token_id: int
    name: str
    role: str
    address: str
    first_seen: float
    last_seen: float
    uses: int


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request refused because the token's role may not use the endpoint (403 role_forbidden)."""

    at: float
    token_id: int
    name: str
    role: str
    address: str
    endpoint: str  # "POST /api/v1/windows/{window}/open": the declared route, not the path sent


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
    # The access record: every address of each token used in the range (its earlier ones too, to tell a
    # new address from a settled one), and the refused requests in the range.
    addresses: Sequence[AddressUse] = ()
    refusals: Sequence[Refusal] = ()
    start: float = float("-inf")  # the range, in epoch seconds, for rows that are not journal rows
    end: float = float("inf")


class Evidence:
    """Evidence rows in one shape: journal rows by seq, with the ticket's number beside its id."""

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


def anomaly(rule: str, day: str, summary: str, evidence: list[dict[str, Any]], **where: Any) -> Anomaly:
    """A finding with its first ``MAX_EVIDENCE`` evidence rows and the count of them all."""
    return Anomaly(
        rule, day, summary, evidence=evidence[:MAX_EVIDENCE], evidence_total=len(evidence), **where
    )


def ratings_of(rows: Iterable[Sequence[Any]]) -> list[RatingRow]:
    return [
        RatingRow(int(r[0]), int(r[1]), r[2], int(r[3]), str(r[4]), float(r[5]), float(r[6])) for r in rows
    ]
