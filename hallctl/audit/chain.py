"""The journal's hash chain: each row carries a hash of its content and of the row before it.

The encoding (docs/audit.md has it for anyone who wants to check a journal with their own tools)::

    content = JSON array [seq, at, actor, role, action, window, ticket, before, after, detail]
              (UTF-8, no spaces, non-ASCII as is: orjson.dumps, or json.dumps(..., ensure_ascii=False,
              separators=(",", ":")); ``at`` a float, written as Python's repr writes it, "1772413200.0"
              for a whole second; ``detail`` the stored JSON text, hashed as a string)
    hash    = sha256(prev_hash + "\\n" + content), as 64 lowercase hex digits
    the first row's prev_hash is 64 zeros

Only the writer appends to the journal (:class:`ChainHead` seals each row in commit order); a process that
must journal while the daemon runs (``hallctl token create``) appends with :func:`append_entries` inside
its own write transaction, and the writer picks its rows up (:meth:`ChainHead.follow`). Nothing here does
I/O beyond the SQLite connection it is handed.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson

log = logging.getLogger(__name__)

GENESIS = "0" * 64
_dumps = orjson.dumps
_sha256 = hashlib.sha256
#: The columns a row's hash covers, in the order of the encoding.
CONTENT_COLUMNS = ("seq", "at", "actor", "role", "action", "window", "ticket", "before", "after", "detail")
#: The journal columns other than ``seq`` and the two hashes, in the order the writer's rows carry them.
ENTRY_COLUMNS = CONTENT_COLUMNS[1:]
INSERT_SEALED = (
    f"insert into journal ({', '.join(CONTENT_COLUMNS)}, prev_hash, hash) "
    f"values ({', '.join('?' * (len(CONTENT_COLUMNS) + 2))})"
)
_HEAD = "select seq, hash from journal order by seq desc limit 1"
_ROWS = f"select {', '.join(CONTENT_COLUMNS)}, prev_hash, hash from journal where seq > ? order by seq"


def content(
    seq: int,
    at: float,
    actor: str,
    role: str,
    action: str,
    window: int | None,
    ticket: int | None,
    before: str | None,
    after: str | None,
    detail: str,
) -> bytes:
    """A row's canonical encoding. ``at`` always as a float: SQLite's REAL column hands back 5.0 for a 5
    written, and the hash must not depend on which one the writer had."""
    return orjson.dumps([seq, float(at), actor, role, action, window, ticket, before, after, detail])


def link(prev_hash: str, encoded: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + encoded).hexdigest()


class ChainHead:
    """The chain's last row as the writer knows it: the next row gets ``seq + 1`` and links to ``hash``."""

    __slots__ = ("hash", "seq")

    def __init__(self, seq: int = 0, hash: str = GENESIS) -> None:
        self.seq = seq
        self.hash = hash

    @classmethod
    def load(cls, conn: sqlite3.Connection) -> ChainHead:
        row = conn.execute(_HEAD).fetchone()
        if row is None:
            return cls()
        # A last row without a hash was written by hand (or by a tool that knows no chain); the chain goes
        # on from the zeros and verify-journal names that row.
        return cls(int(row[0]), row[1] or GENESIS)

    def state(self) -> tuple[int, str]:
        return self.seq, self.hash

    def restore(self, state: tuple[int, str]) -> None:
        """Back to where a batch started: its transaction was rolled back, its rows never existed."""
        self.seq, self.hash = state

    def follow(self, conn: sqlite3.Connection) -> None:
        """At the start of a write transaction: take over rows another process appended since our last
        one (``hallctl token create`` while the daemon runs). A file whose last row is *older* than ours
        lost rows: we keep our head, so the next row links to the missing one and verify names the gap."""
        row = conn.execute(_HEAD).fetchone()
        seq, last = (int(row[0]), row[1] or GENESIS) if row is not None else (0, GENESIS)
        if seq == self.seq and last == self.hash:
            return
        if seq > self.seq:
            self.seq, self.hash = seq, last
            return
        log.error(
            "the journal's last row is seq %d, not the seq %d this daemon wrote last: rows were deleted or "
            "changed; the chain stays linked to what was written (hallctl verify-journal shows where)",
            seq,
            self.seq,
        )

    def seal(self, entry: Sequence[Any]) -> tuple[Any, ...]:
        """A journal row (the ``ENTRY_COLUMNS``) as the row to insert: seq first, the two hashes last.

        :func:`content` and :func:`link` written out: this runs for every journal row on the event loop."""
        seq = self.seq + 1
        prev = self.hash
        encoded = _dumps([seq, float(entry[0]), *entry[1:]])
        digest = _sha256(prev.encode("ascii") + b"\n" + encoded).hexdigest()
        self.seq, self.hash = seq, digest
        return (seq, *entry, prev, digest)


def append_entries(conn: sqlite3.Connection, entries: Iterable[Sequence[Any]]) -> None:
    """Append journal rows from outside the daemon. The caller holds a write transaction (``begin
    immediate``), so the head read here is still the head when the rows go in."""
    head = ChainHead.load(conn)
    for entry in entries:
        conn.execute(INSERT_SEALED, head.seal(entry))


# -- verification ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Break:
    seq: int
    problem: str


@dataclass(frozen=True, slots=True)
class Anchor:
    """The last row of a business day: its hash commits to every row up to it."""

    day: str
    seq: int
    hash: str
    rows: int = 0  # rows of that day

    def as_dict(self) -> dict[str, Any]:
        return {"day": self.day, "seq": self.seq, "hash": self.hash, "rows": self.rows}


#: Broken rows listed in full; past this only counted (one edit breaks one row, a rewrite many).
MAX_BREAKS = 100


@dataclass(slots=True)
class Verification:
    rows: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    head: str = GENESIS
    broken: int = 0
    breaks: list[Break] = field(default_factory=list)
    anchors: list[Anchor] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.broken == 0

    @property
    def first_break(self) -> Break | None:
        return self.breaks[0] if self.breaks else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "head": self.head,
            "broken": self.broken,
            "breaks": [{"seq": b.seq, "problem": b.problem} for b in self.breaks],
            "anchors": [a.as_dict() for a in self.anchors],
        }


class _Days:
    """The business day of an instant, with the day's bounds cached: rows come in time order, so the
    calendar is consulted once a day rather than once a row."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.start = self.end = 0.0
        self.day = ""

    def of(self, at: float) -> str:
        if not self.start <= at < self.end:
            local = datetime.fromtimestamp(at, self.zone).date()
            midnight = datetime.combine(local, time(0), self.zone)
            self.start = midnight.timestamp()
            self.end = datetime.combine(local + timedelta(days=1), time(0), self.zone).timestamp()
            self.day = local.isoformat()
        return self.day


def verify_rows(
    rows: Iterable[Sequence[Any]],
    zone: ZoneInfo,
    *,
    start: tuple[int, str] | None = None,
    sequence: int | None = None,
) -> Verification:
    """Check rows (the ``CONTENT_COLUMNS``, prev_hash, hash; in seq order) link up and match their content.

    ``start`` is the (seq, hash) of the row before the first one, for a part of the journal (default: the
    first row starts the chain). ``sequence`` is the highest seq SQLite ever gave out: a journal that ends
    below it lost its last rows, which no hash could show.
    """
    result = Verification()
    expected = start[1] if start is not None else GENESIS
    previous_seq = start[0] if start is not None else None
    days = _Days(zone)
    day = ""
    day_rows = 0
    last: tuple[int, str, str] | None = None  # seq, hash, day of the previous row

    def broken(seq: int, problem: str) -> None:
        result.broken += 1
        if len(result.breaks) < MAX_BREAKS:
            result.breaks.append(Break(seq, problem))

    for row in rows:
        seq, at = row[0], row[1]
        prev_hash, stored = row[10], row[11]
        result.rows += 1
        if result.first_seq is None:
            result.first_seq = seq
        before = "the start of the journal" if previous_seq is None else f"row {previous_seq}"
        try:
            row_day = days.of(float(at))
        except (TypeError, ValueError, OverflowError, OSError):
            row_day = day or "unknown"
        if stored is None:
            broken(seq, "it has no hash: it was written outside hallctl's journal writer")
        elif prev_hash != expected:
            broken(
                seq,
                f"its prev_hash does not match the hash of {before}: "
                "a row was deleted or inserted before it, or a hash was changed",
            )
        else:
            try:
                computed = link(prev_hash, content(*row[:10]))
            except (TypeError, ValueError, OverflowError, orjson.JSONEncodeError):
                computed = ""
            if computed != stored:
                broken(seq, "its content does not match its hash: it was changed after it was written")
        # Go on from this row's own hash: one changed row is one break, not a cascade to the end.
        expected = stored or GENESIS
        previous_seq = seq
        if last is not None and row_day != day:
            result.anchors.append(Anchor(day, last[0], last[1], day_rows))
            day_rows = 0
        day = row_day
        day_rows += 1
        last = (seq, stored or "", row_day)
    if last is not None:
        result.anchors.append(Anchor(day, last[0], last[1], day_rows))
        result.last_seq, result.head = last[0], last[1]
    end = result.last_seq if result.last_seq is not None else (start[0] if start else 0)
    if sequence is not None and sequence > end:
        broken(
            end + 1,
            f"the journal ends at seq {end} but SQLite gave out seq up to {sequence}: "
            "its last rows were deleted",
        )
    return result


def has_chain(conn: sqlite3.Connection) -> bool:
    columns = {r[1] for r in conn.execute("pragma table_info(journal)")}
    return {"prev_hash", "hash"} <= columns


def journal_sequence(conn: sqlite3.Connection) -> int | None:
    try:
        row = conn.execute("select seq from sqlite_sequence where name = 'journal'").fetchone()
    except sqlite3.OperationalError:  # no AUTOINCREMENT table has been written yet
        return None
    return None if row is None else int(row[0])


def iter_rows(conn: sqlite3.Connection, after: int = 0, batch: int = 10_000) -> Iterator[tuple[Any, ...]]:
    """The journal in seq order from ``after``, read in slices so a long journal never sits in memory."""
    while True:
        rows = conn.execute(_ROWS + " limit ?", (after, batch)).fetchall()
        if not rows:
            return
        yield from rows
        after = rows[-1][0]


def verify(conn: sqlite3.Connection, zone: ZoneInfo) -> Verification:
    """The whole journal of a hall's file."""
    return verify_rows(iter_rows(conn), zone, sequence=journal_sequence(conn))


def verify_range(conn: sqlite3.Connection, zone: ZoneInfo, first_seq: int, last_seq: int) -> Verification:
    """Part of the journal, linked to the row before it: what a report over some days can afford."""
    before = conn.execute(
        "select seq, hash from journal where seq < ? order by seq desc limit 1", (first_seq,)
    )
    row = before.fetchone()
    start = (int(row[0]), row[1] or GENESIS) if row is not None else None
    rows = itertools.takewhile(lambda r: bool(r[0] <= last_seq), iter_rows(conn, first_seq - 1))
    return verify_rows(rows, zone, start=start)


# -- anchors kept elsewhere ---------------------------------------------------------------------------

_ANCHOR_LINE = re.compile(r"(\d{4}-\d{2}-\d{2})\D+?(\d+)\s+([0-9a-f]{64})\b")


def parse_anchors(text: str) -> list[Anchor]:
    """Anchors saved from an earlier run: the JSON of ``verify-journal --json`` or ``audit-report --format
    json`` (an ``anchors`` list), or text lines ``DAY SEQ HASH`` as printed (copied from a paper report)."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("anchors"), list):
        return [Anchor(str(a["day"]), int(a["seq"]), str(a["hash"])) for a in data["anchors"]]
    return [Anchor(m[1], int(m[2]), m[3]) for m in _ANCHOR_LINE.finditer(text)]


def check_anchors(conn: sqlite3.Connection, anchors: Iterable[Anchor]) -> list[Break]:
    """Each saved anchor's row must still hold the saved hash. With the chain intact this proves every row
    up to it is as it was when the anchor was taken; a rewritten and re-hashed past fails here."""
    problems = []
    for anchor in anchors:
        row = conn.execute("select hash from journal where seq = ?", (anchor.seq,)).fetchone()
        if row is None:
            problems.append(Break(anchor.seq, f"the anchor of {anchor.day} names seq {anchor.seq}, now gone"))
        elif row[0] != anchor.hash:
            problems.append(
                Break(
                    anchor.seq,
                    f"the anchor of {anchor.day} (seq {anchor.seq}) was {anchor.hash[:16]}…, "
                    f"the row now holds {str(row[0])[:16]}…: the journal up to it was rewritten",
                )
            )
    return problems
