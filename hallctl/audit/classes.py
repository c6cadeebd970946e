"""Audit classes (审计分类): every journal row is 重点审计 (key), 事中审计 (in-process) or 一般审计 (general).

The mapping is the ``[audit.classes]`` configuration: actions listed as key or in-process, recalls beyond a
count, and anything a person did outside the opening hours. A pure function of the row and the settings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hallctl.config import Hours
from hallctl.config_audit import AuditClasses

KEY, IN_PROCESS, GENERAL = "key", "in_process", "general"
CLASSES = (KEY, IN_PROCESS, GENERAL)
CLASS_NAMES = {KEY: "重点审计", IN_PROCESS: "事中审计", GENERAL: "一般审计"}
CLASS_NAMES_EN = {KEY: "key", IN_PROCESS: "in-process", GENERAL: "general"}

#: Roles whose rows are never "outside the hours": the daemon's own day roll-over and starts.
MACHINE_ROLES = frozenset({"system"})


@dataclass(frozen=True, slots=True)
class Entry:
    """A journal row as the audit reads it, with its business day."""

    seq: int
    at: float
    actor: str
    role: str
    action: str
    window: int | None
    ticket: int | None
    before: str | None
    after: str | None
    detail: dict[str, Any]
    hash: str | None
    day: str

    @classmethod
    def from_row(cls, row: tuple[Any, ...], zone: ZoneInfo) -> Entry:
        seq, at, actor, role, action, window, ticket, before, after, detail, digest = row
        try:
            data = json.loads(detail) if detail else {}
        except ValueError:
            data = {"unreadable": str(detail)}
        if not isinstance(data, dict):
            data = {"value": data}
        at = float(at)
        return cls(
            seq, at, actor, role, action, window, ticket, before, after, data, digest, local_day(at, zone)
        )


def local_day(at: float, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(at, zone).date().isoformat()


class OpeningHours:
    """Whether an instant lies within the hall's opening hours, widened by ``grace_minutes`` each side."""

    def __init__(self, hours: Hours, zone: ZoneInfo, grace_minutes: int) -> None:
        self.hours = hours
        self.zone = zone
        self.grace = grace_minutes * 60

    def open_at(self, at: float) -> bool:
        moment = datetime.fromtimestamp(at, self.zone)
        if moment.date().isoformat() in self.hours.closed_dates:
            return False
        second = moment.hour * 3600 + moment.minute * 60 + moment.second
        for span in self.hours.spans_on(moment.weekday()):
            start = span.start.hour * 3600 + span.start.minute * 60
            end = span.end.hour * 3600 + span.end.minute * 60
            if start - self.grace <= second < end + self.grace:
                return True
        return False


class Classifier:
    def __init__(self, classes: AuditClasses, hours: OpeningHours) -> None:
        self.classes = classes
        self.hours = hours
        self._key = _Patterns(classes.key)
        self._in_process = _Patterns(classes.in_process)

    def outside_hours(self, entry: Entry) -> bool:
        return entry.role not in MACHINE_ROLES and not self.hours.open_at(entry.at)

    def classify(self, entry: Entry) -> tuple[str, str]:
        """The row's class and why, e.g. ``("key", "ticket.void")``."""
        if self._key.match(entry.action):
            return KEY, entry.action
        if self.classes.outside_hours_key and self.outside_hours(entry):
            return KEY, "outside opening hours"
        if self._in_process.match(entry.action):
            return IN_PROCESS, entry.action
        if entry.action == "ticket.recall":
            recalls = entry.detail.get("recalls")
            if isinstance(recalls, int) and recalls > self.classes.recalls_general:
                return IN_PROCESS, f"recall {recalls} (beyond {self.classes.recalls_general})"
        return GENERAL, entry.action


class _Patterns:
    """Action names and ``kind.*`` patterns, matched by a set lookup each."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.exact = frozenset(p for p in patterns if not p.endswith(".*"))
        self.kinds = frozenset(p[:-2] for p in patterns if p.endswith(".*"))

    def match(self, action: str) -> bool:
        return action in self.exact or action.partition(".")[0] in self.kinds
