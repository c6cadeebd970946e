"""The history CSV: what it accepts, how it names what it refuses (line and column), and that writing and
reading it again gives the same tickets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hallkit import EXAMPLE_CONFIG, SHANGHAI, at
from hypothesis import given, settings
from hypothesis import strategies as st

from hallctl.config import CHANNELS, HallConfig, load_config
from hallctl.history.events import (
    COLUMNS,
    HistoryError,
    HistoryRecord,
    check_against_config,
    parse_history,
    read_history,
    write_history,
)

HEADER = ",".join(COLUMNS)


@pytest.fixture(scope="module")
def example_config() -> HallConfig:
    return load_config(EXAMPLE_CONFIG)


def parse(*lines: str) -> list[HistoryRecord]:
    return parse_history("\n".join([HEADER, *lines]) + "\n", SHANGHAI, "h.csv")


def refusal(*lines: str) -> list[str]:
    with pytest.raises(HistoryError) as caught:
        parse(*lines)
    assert str(caught.value).startswith("h.csv: ")
    return caught.value.problems


# -- what it accepts -------------------------------------------------------------------------------------
def test_times_with_an_offset_without_one_or_as_epoch_seconds_are_the_same_instant() -> None:
    nine = at("2026-03-02 09:00")
    records = parse(
        "1,CBDJ,normal,2026-03-02T09:00:00+08:00,2026-03-02T09:05:00+08:00,2026-03-02T09:11:00+08:00,1",
        "2,CBDJ,normal,2026-03-02 09:00:00,2026-03-02T01:05:00Z,2026-03-02 09:11:00,2",
        f"3,CBDJ,normal,{nine:.0f},{nine + 300:.0f},{nine + 660:.1f},3",
    )
    for r in records:
        assert (r.issued_at, r.called_at, r.finished_at) == (nine, nine + 300, nine + 660)
        assert r.wait == 300
    assert [r.window for r in records] == [1, 2, 3]


def test_a_no_show_has_no_call_finish_or_window_and_a_bundle_joins_matters_with_plus() -> None:
    [no_show, bundle] = parse(
        "A0007,SBKBH,green,2026-03-02T09:00:00+08:00,,,",
        "A0008,CBDJ+JFJS,normal,2026-03-02T09:01:00+08:00,2026-03-02T09:02:00+08:00,"
        "2026-03-02T09:20:00+08:00,4",
    )
    assert not no_show.served and no_show.wait is None and no_show.window is None
    assert no_show.channel == "green" and no_show.ticket_id == "A0007"
    assert bundle.matters == ("CBDJ", "JFJS") and bundle.matter_label == "CBDJ+JFJS"


def test_columns_may_come_in_any_order_and_blank_lines_and_a_byte_order_mark_are_ignored(
    tmp_path: Path,
) -> None:
    path = tmp_path / "h.csv"
    text = "window,ticket_id,matter,channel,issued_at,called_at,finished_at\r\n"
    text += "2,9,ZX,normal,2026-03-02 09:00,2026-03-02 09:01,2026-03-02 09:03\r\n\r\n"
    path.write_bytes("\ufeff".encode() + text.encode())
    [record] = read_history(path, SHANGHAI)
    assert (record.ticket_id, record.window, record.matters, record.line) == ("9", 2, ("ZX",), 2)


# -- what it refuses, by line and column -------------------------------------------------------------------
GOOD = "1,CBDJ,normal,2026-03-02 09:00,2026-03-02 09:05,2026-03-02 09:10,1"


@pytest.mark.parametrize(
    ("row", "column", "says"),
    [
        (",CBDJ,normal,2026-03-02 09:00,,,", "ticket_id", "empty"),
        ("2,,normal,2026-03-02 09:00,,,", "matter", "not a matter code"),
        ("2,CBDJ+,normal,2026-03-02 09:00,,,", "matter", "not a matter code"),
        ("2,CBDJ+CBDJ,normal,2026-03-02 09:00,,,", "matter", "twice"),
        ("2,CBDJ,vip,2026-03-02 09:00,,,", "channel", "'vip' is not one of"),
        ("2,CBDJ,normal,,,,", "issued_at", "empty"),
        ("2,CBDJ,normal,yesterday,,,", "issued_at", "neither ISO 8601 nor epoch seconds"),
        ("2,CBDJ,normal,2026-02-30 09:00,,,", "issued_at", "neither ISO 8601"),
        ("2,CBDJ,normal,2026-03-02 09:00,2026-03-02 09:05,,1", "finished_at", "both set"),
        ("2,CBDJ,normal,2026-03-02 09:00,,2026-03-02 09:05,", "called_at", "both set"),
        ("2,CBDJ,normal,2026-03-02 09:00,2026-03-02 09:05,2026-03-02 09:10,", "window", "names its window"),
        ("2,CBDJ,normal,2026-03-02 09:00,,,3", "window", "names none"),
        ("2,CBDJ,normal,2026-03-02 09:00,2026-03-02 09:05,2026-03-02 09:10,x3", "window", "not a window"),
        ("2,CBDJ,normal,2026-03-02 09:00,2026-03-02 09:05,2026-03-02 09:10,0", "window", "not a window"),
        ("2,CBDJ,normal,2026-03-02 09:00,2026-03-02 08:55,2026-03-02 09:10,1", "called_at", "before issued"),
        (
            "2,CBDJ,normal,2026-03-02 09:00,2026-03-02 09:05,2026-03-02 09:04,1",
            "finished_at",
            "before called",
        ),
        ("1,CBDJ,normal,2026-03-02 09:00,,,", "ticket_id", "repeats the ticket of line 2"),
    ],
)
def test_a_bad_row_is_named_by_line_and_column(row: str, column: str, says: str) -> None:
    [problem] = refusal(GOOD, row)
    assert problem.startswith(f"line 3, column {column}: "), problem
    assert says in problem


def test_a_row_with_the_wrong_number_of_fields_is_named_by_its_line() -> None:
    [problem] = refusal(GOOD, "2,CBDJ,normal,2026-03-02 09:00,,")
    assert problem.startswith("line 3: 6 fields; the header has 7")


def test_every_problem_is_listed_not_just_the_first() -> None:
    problems = refusal("1,XX+,normal,noon,,,", GOOD.replace("1,", "2,", 1), "3,CBDJ,bus,2026-03-02 09:00,,,")
    assert [p.split(":")[0] for p in problems] == [
        "line 2, column matter",
        "line 2, column issued_at",
        "line 4, column channel",
    ]


@pytest.mark.parametrize(
    ("header", "column", "says"),
    [
        ("ticket_id,matter,channel,issued_at,called_at,finished_at", "window", "missing"),
        (HEADER + ",clerk", "clerk", "unknown column"),
        (HEADER.replace("matter", "matters"), "matters", "unknown column"),
        (HEADER + ",window", "window", "appears twice"),
    ],
)
def test_a_bad_header_is_named_on_line_one(header: str, column: str, says: str) -> None:
    with pytest.raises(HistoryError) as caught:
        parse_history(header + "\n", SHANGHAI, "h.csv")
    assert any(p.startswith(f"line 1, column {column}: ") and says in p for p in caught.value.problems)


def test_an_empty_file_or_one_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(HistoryError, match="line 1: empty file"):
        read_history(empty, SHANGHAI)
    latin = tmp_path / "gbk.csv"
    latin.write_bytes((HEADER + "\n").encode() + "1,参保,normal,1,,,\n".encode("gbk"))
    with pytest.raises(HistoryError, match="line 2: not UTF-8"):
        read_history(latin, SHANGHAI)


# -- against the hall's config -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("row", "column", "says"),
    [
        ("1,NOPE,normal,2026-03-02 09:00,,,", "matter", "unknown matter 'NOPE'"),
        ("1,CBDJ,normal,2026-03-02 09:00,2026-03-02 09:05,2026-03-02 09:10,42", "window", "no window 42"),
        # window 6 is the consultation window: it does not take 参保登记
        ("1,CBDJ,normal,2026-03-02 09:00,2026-03-02 09:05,2026-03-02 09:10,6", "window", "does not serve"),
        ("1,CBDJ,enterprise,2026-03-02 09:00,,,", None, None),  # the enterprise window takes it: fine
        # a question an idle integrated window took (consultation_overflow), as hallctl's own export has it
        ("1,ZX,normal,2026-03-02 09:00,2026-03-02 09:05,2026-03-02 09:10,2", None, None),
        # ... but the large-enterprise window takes no questions, by profile or by rule
        ("1,ZX,normal,2026-03-02 09:00,2026-03-02 09:05,2026-03-02 09:10,7", "window", "does not serve"),
    ],
)
def test_matters_and_windows_must_exist_in_the_hall_and_fit_its_profiles(
    example_config: HallConfig, row: str, column: str | None, says: str | None
) -> None:
    records = parse(row)
    if column is None:
        check_against_config(records, example_config, "h.csv")
        return
    with pytest.raises(HistoryError) as caught:
        check_against_config(records, example_config, "h.csv")
    [problem] = caught.value.problems
    assert problem.startswith(f"line 2, column {column}: ") and says is not None and says in problem


# -- writing ---------------------------------------------------------------------------------------------
MATTERS = ("CBDJ", "JFJS", "ZX", "SBKBH")


@st.composite
def records(draw: st.DrawFn) -> list[HistoryRecord]:
    out = []
    for i in range(draw(st.integers(0, 8))):
        issued = round(draw(st.floats(1.7e9, 1.8e9, allow_nan=False)), 3)
        matters = tuple(draw(st.lists(st.sampled_from(MATTERS), min_size=1, max_size=3, unique=True)))
        channel = draw(st.sampled_from(CHANNELS))
        if draw(st.booleans()):
            called = issued + draw(st.integers(0, 10_000))
            finished = called + draw(st.integers(0, 5_000)) + 0.25
            window = draw(st.integers(1, 99))
            out.append(HistoryRecord(f"T{i}", matters, channel, issued, called, finished, window, line=i + 2))
        else:
            out.append(HistoryRecord(f"T{i}", matters, channel, issued, line=i + 2))
    return out


@settings(max_examples=60, deadline=None)
@given(written=records())
def test_what_is_written_reads_back_the_same(
    tmp_path_factory: pytest.TempPathFactory, written: list[HistoryRecord]
) -> None:
    path = tmp_path_factory.mktemp("h") / "h.csv"
    write_history(written, path, SHANGHAI)
    back = read_history(path, SHANGHAI)
    assert len(back) == len(written)
    for a, b in zip(written, back, strict=True):
        assert (a.ticket_id, a.matters, a.channel, a.window) == (b.ticket_id, b.matters, b.channel, b.window)
        assert b.line == a.line
        for x, y in ((a.issued_at, b.issued_at), (a.called_at, b.called_at), (a.finished_at, b.finished_at)):
            assert (x is None) == (y is None)
            if x is not None and y is not None:
                assert abs(x - y) < 0.0011  # written to the millisecond


def test_a_failed_write_leaves_no_file_and_keeps_an_existing_one(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("old\n")

    def failing_half_way() -> Iterator[HistoryRecord]:
        yield HistoryRecord("1", ("CBDJ",), "normal", 1.7e9)
        raise RuntimeError("the export failed half way")

    with pytest.raises(RuntimeError):
        write_history(failing_half_way(), path, SHANGHAI)
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["h.csv"]


def test_the_example_in_docs_history_is_a_valid_history_of_the_example_hall(
    example_config: HallConfig,
) -> None:
    text = (Path(EXAMPLE_CONFIG).parents[1] / "docs" / "history.md").read_text(encoding="utf-8")
    example = text.split("```csv\n", 1)[1].split("```", 1)[0]
    records = parse_history(example, SHANGHAI, "docs/history.md")
    check_against_config(records, example_config, "docs/history.md")
    assert [r.wait for r in records] == [448, 40, None, 720]
