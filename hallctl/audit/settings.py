"""Configuration changes as journal rows, and the settings an audit of the file is judged by.

Each daemon start compares its configuration with the one the journal last recorded; a different one is
journaled as ``config.change`` (重点审计) with the sections that changed, and with the settings the audit
needs (time zone, opening hours, ``[audit]``), so ``hallctl audit-report`` judges a file by the rules the
hall ran under even without its configuration file.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from pydantic import ValidationError

from hallctl.config import HallConfig, Hours
from hallctl.config_audit import Audit
from hallctl.config_devices import Ratings
from hallctl.core.model import SYSTEM, JournalEntry

DEFAULT_TIMEZONE = "Asia/Shanghai"


def _digest(value: Any) -> str:
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()


def fingerprint(config: HallConfig) -> tuple[str, dict[str, str]]:
    """The configuration's SHA-256 over its validated content (comments and layout do not count), and one
    short digest per top-level section, to say which sections a change touched."""
    data = config.model_dump(mode="json")
    return _digest(data), {key: _digest(value)[:16] for key, value in data.items()}


@dataclass(frozen=True, slots=True)
class AuditSettings:
    """What an audit of a hall's file is judged by."""

    hall: str
    timezone: str
    hours: Hours
    audit: Audit
    source: str  # where they came from: a file, the journal, or the defaults
    ratings: Ratings  # what an unrated service counts as, and after how long

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def of(cls, config: HallConfig, source: str) -> AuditSettings:
        return cls(
            config.hall.id, config.hall.timezone, config.hours, config.audit, source, config.devices.ratings
        )

    def record(self) -> dict[str, Any]:
        return {
            "hall": self.hall,
            "timezone": self.timezone,
            "hours": self.hours.model_dump(mode="json"),
            "audit": self.audit.model_dump(mode="json"),
            "ratings": self.ratings.model_dump(mode="json"),
        }


DEFAULTS = AuditSettings(
    "", DEFAULT_TIMEZONE, Hours(), Audit(), "defaults (no configuration recorded)", Ratings()
)

_LAST_CHANGE = "select seq, detail from journal where action = 'config.change'"


def config_entries(conn: sqlite3.Connection, config: HallConfig, now: float) -> list[JournalEntry]:
    """The ``config.change`` row a start must journal: none when the configuration is the last recorded."""
    whole, sections = fingerprint(config)
    row = conn.execute(_LAST_CHANGE + " order by seq desc limit 1").fetchone()
    previous: dict[str, Any] = {}
    if row is not None:
        try:
            previous = json.loads(row[1])
        except ValueError:
            previous = {}
    if previous.get("sha256") == whole:
        return []
    before = previous.get("sections") or {}
    changed = sorted(k for k in set(sections) | set(before) if sections.get(k) != before.get(k))
    return [
        JournalEntry(
            now,
            SYSTEM.label,
            SYSTEM.role.value,
            "config.change",
            before=previous.get("sha256"),
            after=whole,
            detail={
                "sha256": whole,
                "changed": changed,
                "sections": sections,
                "settings": AuditSettings.of(config, "").record(),
            },
        )
    ]


def recorded_settings(conn: sqlite3.Connection, until: float | None = None) -> AuditSettings:
    """The settings the daemon last recorded (up to ``until``), or the defaults for a file that has none."""
    sql = _LAST_CHANGE + (" and at <= ?" if until is not None else "") + " order by seq desc limit 1"
    row = conn.execute(sql, () if until is None else (until,)).fetchone()
    if row is None and until is not None:  # a range before the first start: the first settings known
        row = conn.execute(_LAST_CHANGE + " order by seq limit 1").fetchone()
    if row is None:
        return DEFAULTS
    try:
        data = json.loads(row[1])["settings"]
        ZoneInfo(data["timezone"])
        return AuditSettings(
            str(data.get("hall", "")),
            data["timezone"],
            Hours.model_validate(data["hours"]),
            Audit.model_validate(data["audit"]),
            f"the configuration recorded at journal seq {row[0]}",
            Ratings.model_validate(data.get("ratings", {})),
        )
    except (ValueError, KeyError, TypeError, ValidationError, LookupError):
        return DEFAULTS
