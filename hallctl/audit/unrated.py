"""Services nobody rated, counted as ``[devices.ratings] unrated_level`` once ``unrated_after_days`` have
passed since they finished (Guangdong: 基本满意 after 7 days). One rule for the ratings export and the audit
report, so the two never count differently."""

from __future__ import annotations

import sqlite3
from typing import Any

from hallctl.config_devices import RATING_LEVELS

#: The national 好差评 scale by name: 非常满意 5 … 非常不满意 1.
LEVELS = {name: 5 - i for i, name in enumerate(RATING_LEVELS)}
#: What ``unrated_level`` says when unrated services count as nothing at all.
NONE = "none"

_UNRATED = """
select t.id as ticket, t.window, t.clerk, t.number, t.day, t.matters, t.channel, t.finished_at, t.outcome
from tickets t
where t.state = 'done' and t.finished_at >= ? and t.finished_at < ? and t.finished_at <= ?
  and not exists (select 1 from ratings r where r.ticket = t.id)
order by t.finished_at
"""


def defaulted_services(
    conn: sqlite3.Connection,
    start: float,
    end: float,
    *,
    now: float,
    unrated_level: str,
    unrated_after_days: int,
) -> list[dict[str, Any]]:
    """The services finished in ``[start, end)`` that nobody rated and that count as ``unrated_level`` by
    ``now`` (its delay passed), oldest first; none with ``unrated_level = "none"``. Each row has the
    ticket's id (``ticket``), ``window``, ``clerk``, ``number``, ``day``, ``matters`` (JSON text),
    ``channel``, ``finished_at`` and ``outcome``."""
    if unrated_level == NONE:
        return []
    cutoff = now - unrated_after_days * 86400
    cursor = conn.execute(_UNRATED, (start, end, cutoff))
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
