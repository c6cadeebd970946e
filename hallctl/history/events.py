"""The history CSV (历史排队记录): one row per ticket, read strictly and written atomically.

``ticket_id,matter,channel,issued_at,called_at,finished_at,window``: times are ISO 8601 (an offset, or
none for the hall's own zone) or epoch seconds; a no-show has no call, finish or window; a bundled ticket
joins its matter codes with ``+``. Every problem names its line and column, and nothing is kept from a
file that has one. docs/history.md describes the format.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

from hallctl.config import CHANNELS, Channel, HallConfig
from hallctl.core import routing

COLUMNS = ("ticket_id", "matter", "channel", "issued_at", "called_at", "finished_at", "window")
MAX_PROBLEMS = 20  # enough to fix a file in one go; a wholly wrong file would otherwise print thousands
_EPOCH = re.compile(r"^\d{1,12}(\.\d+)?$")


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    """One ticket as the history tells it: when it was issued, first called and finished, and where."""

    ticket_id: str
    matters: tuple[str, ...]
    channel: Channel
    issued_at: float
    called_at: float | None = None  # the first call; None for a no-show
    finished_at: float | None = None
    window: int | None = None
    line: int = 0  # where it came from in the file (0 when made in memory), for error messages

    @property
    def served(self) -> bool:
        return self.called_at is not None

    @property
    def wait(self) -> float | None:
        """Seconds from issue to first call (what an expected wait predicts); None for a no-show."""
        return None if self.called_at is None else self.called_at - self.issued_at

    @property
    def matter_label(self) -> str:
        return "+".join(self.matters)


class HistoryError(Exception):
    """A history file that cannot be used; each problem names the file, the line and the column."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        more = "" if len(problems) < MAX_PROBLEMS else f"\n  (stopped after {MAX_PROBLEMS} problems)"
        super().__init__(f"{source}: " + "\n  ".join(self.problems) + more)


def parse_time(text: str, zone: ZoneInfo) -> float:
    """Epoch seconds of ISO 8601 text (no offset: the hall's zone) or of plain epoch seconds."""
    if _EPOCH.match(text):
        return float(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is neither ISO 8601 nor epoch seconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.timestamp()


def format_time(moment: float, zone: ZoneInfo) -> str:
    """ISO 8601 with the hall's offset; fractions of a second only when there are any."""
    local = datetime.fromtimestamp(moment, zone)
    return local.isoformat(timespec="seconds" if local.microsecond == 0 else "milliseconds")


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, line: int, column: str | None, message: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            where = f"line {line}" + (f", column {column}" if column else "")
            self.items.append(f"{where}: {message}")

    @property
    def full(self) -> bool:
        return len(self.items) >= MAX_PROBLEMS


def _header(row: list[str], problems: _Problems) -> dict[str, int] | None:
    names = [name.strip() for name in row]
    for name in names:
        if name not in COLUMNS:
            problems.add(1, name or "(empty)", f"unknown column; the columns are {','.join(COLUMNS)}")
        elif names.count(name) > 1:
            problems.add(1, name, "the column appears twice")
    for name in COLUMNS:
        if name not in names:
            problems.add(1, name, "the column is missing")
    return None if problems.items else {name: names.index(name) for name in COLUMNS}


def _record(line: int, cells: dict[str, str], zone: ZoneInfo, problems: _Problems) -> HistoryRecord | None:
    before = len(problems.items)
    ticket_id = cells["ticket_id"]
    if not ticket_id:
        problems.add(line, "ticket_id", "empty; every ticket needs an id")
    matters = tuple(m.strip() for m in cells["matter"].split("+"))
    if not cells["matter"] or not all(matters):
        problems.add(line, "matter", f"{cells['matter']!r} is not a matter code or codes joined by '+'")
    elif len(set(matters)) != len(matters):
        problems.add(line, "matter", f"{cells['matter']!r} lists a matter twice")
    channel = cells["channel"]
    if channel not in CHANNELS:
        problems.add(line, "channel", f"{channel!r} is not one of {', '.join(CHANNELS)}")
    times: dict[str, float | None] = {}
    for column in ("issued_at", "called_at", "finished_at"):
        text = cells[column]
        if not text:
            times[column] = None
            if column == "issued_at":
                problems.add(line, column, "empty; every ticket was issued at some time")
            continue
        try:
            times[column] = parse_time(text, zone)
        except ValueError as exc:
            problems.add(line, column, str(exc))
            times[column] = None
    window: int | None = None
    if cells["window"]:
        if cells["window"].isdigit() and int(cells["window"]) > 0:
            window = int(cells["window"])
        else:
            problems.add(line, "window", f"{cells['window']!r} is not a window number")
    issued, called, finished = times["issued_at"], times["called_at"], times["finished_at"]
    if bool(cells["called_at"]) != bool(cells["finished_at"]):
        column = "finished_at" if cells["called_at"] else "called_at"
        problems.add(line, column, "called_at and finished_at are both set (served) or both empty (no-show)")
    if bool(cells["window"]) != bool(cells["called_at"]):
        problems.add(line, "window", "a served ticket names its window; a no-show (no call) names none")
    if issued is not None and called is not None and called < issued:
        problems.add(line, "called_at", "before issued_at")
    if called is not None and finished is not None and finished < called:
        problems.add(line, "finished_at", "before called_at")
    if len(problems.items) > before or issued is None:
        return None
    return HistoryRecord(
        ticket_id, matters, cast(Channel, channel), issued, called, finished, window, line=line
    )


def parse_history(text: str, zone: ZoneInfo, source: str = "<history>") -> list[HistoryRecord]:
    """The records of a history CSV, in file order; HistoryError names every problem found."""
    problems = _Problems()
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        first = next(rows)
    except StopIteration:
        raise HistoryError(source, [f"line 1: empty file; the header is {','.join(COLUMNS)}"]) from None
    except csv.Error as exc:
        raise HistoryError(source, [f"line 1: not CSV: {exc}"]) from None
    index = _header(first, problems)
    if index is None:
        raise HistoryError(source, problems.items)
    records: list[HistoryRecord] = []
    first_line: dict[str, int] = {}
    try:
        for row in rows:
            line = rows.line_num
            if not any(cell.strip() for cell in row):
                continue  # a blank line (trailing newlines from spreadsheets)
            if len(row) != len(first):
                problems.add(line, None, f"{len(row)} fields; the header has {len(first)}")
            else:
                cells = {name: row[i].strip() for name, i in index.items()}
                record = _record(line, cells, zone, problems)
                if record is not None:
                    if record.ticket_id in first_line:
                        problems.add(
                            line,
                            "ticket_id",
                            f"{record.ticket_id!r} repeats the ticket of line {first_line[record.ticket_id]}",
                        )
                    else:
                        first_line[record.ticket_id] = line
                        records.append(record)
            if problems.full:
                break
    except csv.Error as exc:
        problems.add(rows.line_num, None, f"not CSV: {exc}")
    if problems.items:
        raise HistoryError(source, problems.items)
    return records


def read_history(path: Path, zone: ZoneInfo) -> list[HistoryRecord]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise HistoryError(str(path), [f"cannot read: {exc.strerror}"]) from None
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark is what spreadsheets write at the front
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise HistoryError(str(path), [f"line {line}: not UTF-8 text"]) from None
    return parse_history(text, zone, str(path))


def check_against_config(records: Iterable[HistoryRecord], config: HallConfig, source: str) -> None:
    """Every matter, channel and window must exist in the hall, and each served ticket's window must serve
    its matters; otherwise replaying it through the core would be refused half way."""
    problems = _Problems()
    windows = {w.id: config.profiles[w.profile] for w in config.windows}
    profiles = list(windows.values())
    consultation = frozenset(
        m
        for w in config.windows
        if w.kind == "consultation"
        for m in config.profiles[w.profile].matters
        if m != "*"
    )
    for r in records:
        unknown = [m for m in r.matters if m not in config.matters_by_code]
        if unknown:
            problems.add(r.line, "matter", f"unknown matter {unknown[0]!r} (not in the hall's config)")
        elif not routing.can_any_serve(profiles, r.matters, r.channel):
            problems.add(r.line, "channel", f"no window of the hall serves {r.matter_label} on {r.channel}")
        if r.window is not None:
            profile = windows.get(r.window)
            if profile is None:
                problems.add(r.line, "window", f"no window {r.window} in the hall's config")
            elif not unknown and not routing.may_ever_take(profile, r.matters, r.channel, consultation):
                # by its own matters, or by an overflow rule (a question an idle integrated window took)
                problems.add(r.line, "window", f"window {r.window}'s profile does not serve {r.matter_label}")
        if problems.full:
            break
    if problems.items:
        raise HistoryError(source, problems.items)


def history_rows(records: Iterable[HistoryRecord], zone: ZoneInfo) -> Iterable[list[str]]:
    yield list(COLUMNS)
    for r in records:
        yield [
            r.ticket_id,
            r.matter_label,
            r.channel,
            format_time(r.issued_at, zone),
            "" if r.called_at is None else format_time(r.called_at, zone),
            "" if r.finished_at is None else format_time(r.finished_at, zone),
            "" if r.window is None else str(r.window),
        ]


def write_csv_atomically(path: Path, rows: Iterable[Sequence[object]]) -> None:
    """Write the rows to a temporary file beside ``path`` and rename it into place: a failure half way
    leaves no partial file behind (and an existing file untouched)."""
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            csv.writer(out, lineterminator="\n").writerows(rows)
        Path(temp).chmod(0o644)  # mkstemp makes it private; the result is an ordinary file
        Path(temp).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temp).unlink()
        raise


def write_history(records: Iterable[HistoryRecord], path: Path, zone: ZoneInfo) -> None:
    write_csv_atomically(path, history_rows(records, zone))
