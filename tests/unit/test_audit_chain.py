"""The journal's hash chain as plain data: the encoding, sealing, and what verification finds when rows are
changed, removed, added or cut off. (Over a real file: tests/integration/test_audit_chain.py.)"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hallkit import NINE, at
from hypothesis import given
from hypothesis import strategies as st

from hallctl.audit.chain import (
    GENESIS,
    Anchor,
    ChainHead,
    Verification,
    content,
    link,
    parse_anchors,
    verify_rows,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The nine columns of a journal row before sealing: at, actor, role, action, window, ticket, before, after,
# detail (stored JSON text).
ENTRY = (NINE, "c1", "clerk", "ticket.call", 1, 7, "waiting", "called", '{"tier":2,"overtook":0}')


def sealed_rows(entries: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    head = ChainHead()
    return [head.seal(e) for e in entries]


def a_day(n: int = 6, start: float = NINE) -> list[tuple[Any, ...]]:
    """``n`` sealed rows a minute apart."""
    return sealed_rows(
        [(start + 60 * i, f"c{i}", "clerk", "ticket.finish", i, i, "serving", "done", "{}") for i in range(n)]
    )


def test_a_row_hash_is_sha256_of_the_previous_hash_and_the_documented_json() -> None:
    row = ChainHead().seal(ENTRY)
    seq, prev, digest = row[0], row[-2], row[-1]
    expected_content = (
        '[1,1772413200.0,"c1","clerk","ticket.call",1,7,"waiting","called","{\\"tier\\":2,\\"overtook\\":0}"]'
    )
    assert (seq, prev) == (1, GENESIS)
    assert content(*row[:10]) == expected_content.encode()
    assert digest == hashlib.sha256(GENESIS.encode() + b"\n" + expected_content.encode()).hexdigest()


def test_sealing_links_each_row_to_the_one_before_and_counts_on() -> None:
    head = ChainHead()
    first, second = head.seal(ENTRY), head.seal(ENTRY)
    assert (first[0], second[0]) == (1, 2)
    assert second[-2] == first[-1] != second[-1]  # the same content, another hash: the chain differs
    assert head.state() == (2, second[-1])


def test_a_whole_second_hashes_the_same_whether_the_writer_had_an_int_or_a_float() -> None:
    # SQLite's REAL column hands back 1772413200.0 for a 1772413200 written: verify must agree with seal.
    as_int = ChainHead().seal((int(NINE), *ENTRY[1:]))
    assert as_int[-1] == link(GENESIS, content(1, float(NINE), *ENTRY[1:]))


texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)


@given(
    actor=texts,
    action=texts,
    before=st.none() | texts,
    detail=texts,
    window=st.none() | st.integers(-(2**63), 2**63 - 1),
    # every instant a journal holds; below 1e-4 Python writes 6.1e-05 and orjson 0.000061
    moment=st.just(0.0) | st.floats(min_value=1.0, max_value=4e9),
)
def test_the_encoding_is_what_the_standard_json_module_writes_too(
    actor: str, action: str, before: str | None, detail: str, window: int | None, moment: float
) -> None:
    """docs/audit.md promises anyone can check the chain with json.dumps; this keeps that promise."""
    mine = content(5, moment, actor, "clerk", action, window, None, before, None, detail)
    theirs = json.dumps(
        [5, moment, actor, "clerk", action, window, None, before, None, detail],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    assert mine == theirs


def test_a_sealed_chain_verifies_clean_with_one_anchor_per_day() -> None:
    evening = at("2026-03-02 23:58")
    rows = a_day(3, evening)  # 23:58, 23:59 and 00:00 the next day in Shanghai
    result = verify_rows(rows, SHANGHAI)
    assert result.ok and result.rows == 3 and (result.first_seq, result.last_seq) == (1, 3)
    assert result.anchors == [
        Anchor("2026-03-02", 2, rows[1][-1], 2),
        Anchor("2026-03-03", 3, rows[2][-1], 1),
    ]
    assert result.head == rows[-1][-1]


COLUMNS = ("seq", "at", "actor", "role", "action", "window", "ticket", "before", "after", "detail")
CHANGED = {
    "seq": 99,
    "at": NINE + 1,
    "actor": "someone else",
    "role": "manager",
    "action": "ticket.void",
    "window": 8,
    "ticket": 1000,
    "before": "waiting",
    "after": "voided",
    "detail": '{"reason":"x"}',
}


@pytest.mark.parametrize("column", COLUMNS)
def test_changing_any_column_of_a_row_breaks_the_chain_at_that_row(column: str) -> None:
    rows = [list(r) for r in a_day()]
    rows[3][COLUMNS.index(column)] = CHANGED[column]
    result = verify_rows([tuple(r) for r in rows], SHANGHAI)
    assert not result.ok
    assert result.first_break is not None and result.first_break.seq == rows[3][0]
    assert "does not match its hash" in result.first_break.problem
    assert result.broken == 1  # one changed row is one break, not a cascade


def test_a_deleted_row_breaks_the_chain_at_the_row_after_it() -> None:
    rows = a_day()
    del rows[2]
    result = verify_rows(rows, SHANGHAI)
    assert result.first_break is not None and result.first_break.seq == 4
    assert "prev_hash does not match the hash of row 2" in result.first_break.problem


def test_an_inserted_row_breaks_the_chain_even_with_a_hash_copied_from_its_neighbour() -> None:
    rows = a_day()
    forged = (
        3,
        NINE + 150,
        "c9",
        "clerk",
        "ticket.finish",
        1,
        1,
        "serving",
        "done",
        "{}",
        rows[1][-1],
        rows[2][-1],
    )
    renumbered = [*rows[:2], forged, *[(r[0] + 1, *r[1:]) for r in rows[2:]]]
    result = verify_rows(renumbered, SHANGHAI)
    assert not result.ok and result.first_break is not None and result.first_break.seq == 3


def test_a_rehashed_row_breaks_the_link_to_the_row_after_it() -> None:
    # Whoever edits a row and recomputes its hash must recompute every later one too; done for one only,
    # the next row still names the old hash.
    rows = [list(r) for r in a_day()]
    rows[2][2] = "forger"
    rows[2][11] = link(rows[2][10], content(*rows[2][:10]))
    result = verify_rows([tuple(r) for r in rows], SHANGHAI)
    assert result.first_break is not None and result.first_break.seq == 4


def test_a_row_without_a_hash_is_named() -> None:
    rows = a_day(3)
    rows.append((4, NINE + 600, "script", "clerk", "ticket.finish", 1, 1, None, None, "{}", None, None))
    result = verify_rows(rows, SHANGHAI)
    assert result.first_break is not None and result.first_break.seq == 4
    assert "no hash" in result.first_break.problem


def test_rows_cut_off_the_end_are_caught_by_the_sequence_sqlite_gave_out() -> None:
    rows = a_day(6)
    assert verify_rows(rows, SHANGHAI, sequence=6).ok
    result = verify_rows(rows[:4], SHANGHAI, sequence=6)
    assert result.first_break is not None and result.first_break.seq == 5
    assert "last rows were deleted" in result.first_break.problem


def test_a_part_of_the_journal_verifies_from_the_row_before_it() -> None:
    rows = a_day(6)
    start = (rows[2][0], rows[2][-1])
    assert verify_rows(rows[3:], SHANGHAI, start=start).ok
    assert not verify_rows(rows[3:], SHANGHAI, start=(rows[1][0], rows[1][-1])).ok


def test_the_writer_takes_over_rows_appended_by_another_process_and_keeps_its_head_when_rows_vanish() -> None:
    class FakeConn:
        def __init__(self, head: tuple[int, str] | None) -> None:
            self.head = head

        def execute(self, sql: str) -> Any:
            return self

        def fetchone(self) -> tuple[int, str] | None:
            return self.head

    head = ChainHead(10, "a" * 64)
    head.follow(FakeConn((11, "b" * 64)))  # type: ignore[arg-type]
    assert head.state() == (11, "b" * 64)
    head.follow(FakeConn((9, "c" * 64)))  # type: ignore[arg-type]
    assert head.state() == (11, "b" * 64)


def test_anchors_read_back_from_json_and_from_printed_lines() -> None:
    result = verify_rows(a_day(2), SHANGHAI)
    printed = f"  2026-03-02  seq 2         {result.head}  (2 rows)\n"
    from_json = parse_anchors(json.dumps(result.as_dict()))
    assert from_json == parse_anchors(printed) == [Anchor("2026-03-02", 2, result.head)]
    assert parse_anchors("nothing here") == []


def test_an_empty_journal_verifies_with_nothing_to_anchor() -> None:
    assert verify_rows([], SHANGHAI) == Verification()
