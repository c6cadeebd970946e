"""Ticket numbers: per prefix per local business day, gap-free, unique, and never reused."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hallkit import (
    KIOSK,
    MANAGER,
    NINE,
    SHANGHAI,
    at,
    config_with,
    credit_code,
    example_data,
    fingerprint,
    issue,
    new_hall,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hallctl.config import HallConfig
from hallctl.core import admin, issuing
from hallctl.core.calendar import business_day
from hallctl.core.errors import Conflict, Invalid
from hallctl.core.numbering import capacity, format_number
from hallctl.core.state import HallState


def test_each_prefix_counts_from_one(fresh_hall: HallState) -> None:
    numbers = [issue(fresh_hall, NINE + i, m).number for i, m in enumerate(["CBDJ", "JFJS", "SBKBH", "ZJY"])]
    assert numbers == ["A0001", "A0002", "B0001", "A0003"]


def test_a_bundled_ticket_numbers_from_its_first_matter(fresh_hall: HallState) -> None:
    bundled = issue(fresh_hall, NINE, "SBKBH", "CBDJ")
    assert bundled.number == "B0001"
    assert bundled.matters == ("SBKBH", "CBDJ")
    assert issue(fresh_hall, NINE + 1, "CBDJ").number == "A0001"


def test_channel_prefixes_number_enterprise_and_green_on_their_own(fresh_hall: HallState) -> None:
    enterprise = issue(fresh_hall, NINE, "JFJS", channel="enterprise", credit_code=credit_code())
    green = issue(fresh_hall, NINE + 1, "JFJS", channel="green")
    normal = issue(fresh_hall, NINE + 2, "JFJS")
    assert (enterprise.number, enterprise.prefix) == ("Q0001", "Q")
    assert (green.number, green.prefix) == ("G0001", "G")
    assert normal.number == "A0001"
    assert issue(fresh_hall, NINE + 3, "SBKBH", channel="green").number == "G0002"


def test_digits_setting_pads_the_number(two_digit_config: HallConfig) -> None:
    hall = new_hall(two_digit_config)
    assert issue(hall, NINE, "CBDJ").number == "A01"
    assert format_number("Q", 7, 4) == "Q0007"
    assert capacity(2) == 99


def test_numbering_resets_at_local_midnight_not_utc_midnight(example_config: HallConfig) -> None:
    hall = new_hall(example_config, at("2026-03-02 07:00"), always_open=True)
    # UTC midnight is 08:00 in Shanghai: the local business day goes on, so does the sequence.
    before_utc_midnight = issue(hall, at("2026-03-02 07:59"), "CBDJ")
    after_utc_midnight = issue(hall, at("2026-03-02 08:01"), "CBDJ")
    late = issue(hall, at("2026-03-02 23:59:59"), "CBDJ")
    next_day = issue(hall, at("2026-03-03 00:00"), "CBDJ")
    assert [t.number for t in (before_utc_midnight, after_utc_midnight, late, next_day)] == [
        "A0001",
        "A0002",
        "A0003",
        "A0001",
    ]
    assert late.day == "2026-03-02"
    assert next_day.day == "2026-03-03"
    assert next_day.id != late.id


def test_a_voided_number_is_never_handed_out_again(fresh_hall: HallState) -> None:
    first = issue(fresh_hall, NINE, "CBDJ")
    issuing.void(fresh_hall, NINE + 1, MANAGER, first.id, "打印机卡纸")
    assert issue(fresh_hall, NINE + 2, "CBDJ").number == "A0002"


def test_numbers_exhausted_refuses_and_changes_nothing(two_digit_config: HallConfig) -> None:
    hall = new_hall(two_digit_config)
    issued = [issue(hall, NINE + i, "CBDJ") for i in range(99)]
    assert issued[-1].number == "A99"
    before = fingerprint(hall)
    with pytest.raises(Conflict) as refused:
        issue(hall, NINE + 100, "JFJS")  # JFJS shares prefix A
    assert refused.value.code == "numbers_exhausted"
    assert refused.value.status == 409
    assert refused.value.context == {"prefix": "A"}
    assert fingerprint(hall) == before
    # other prefixes still have numbers
    assert issue(hall, NINE + 101, "SBKBH").number == "B01"


def test_daily_cap_refuses_the_matter_until_the_next_day() -> None:
    capped = config_with(
        matters=[{**m, "daily_cap": 2} if m["code"] == "ZX" else m for m in example_data()["matters"]]
    )
    hall = new_hall(capped, always_open=True)
    issue(hall, NINE, "ZX")
    issue(hall, NINE + 1, "ZX")
    before = fingerprint(hall)
    with pytest.raises(Conflict) as refused:
        issue(hall, NINE + 2, "ZX")
    assert refused.value.code == "daily_cap_reached"
    assert refused.value.context == {"matter": "ZX"}
    assert fingerprint(hall) == before
    assert issue(hall, NINE + 3, "CBDJ").number == "A0001"  # other matters are not capped
    assert issue(hall, at("2026-03-03 09:00"), "ZX").number == "Z0001"


def test_hall_closed_refuses_tickets_and_changes_nothing(fresh_hall: HallState) -> None:
    before = fingerprint(fresh_hall)
    with pytest.raises(Conflict) as refused:
        issue(fresh_hall, at("2026-03-02 12:30"), "CBDJ")  # lunch break
    assert refused.value.code == "hall_closed"
    assert fingerprint(fresh_hall) == before


@pytest.mark.parametrize(
    ("matters", "code"),
    [((), "matter_required"), (("CBDJ", "CBDJ"), "matter_repeated"), (("NOPE",), "unknown_matter")],
)
def test_bad_matters_are_invalid(fresh_hall: HallState, matters: tuple[str, ...], code: str) -> None:
    before = fingerprint(fresh_hall)
    with pytest.raises(Invalid) as refused:
        issue(fresh_hall, NINE, *matters)
    assert refused.value.code == code
    assert refused.value.status == 422
    assert fingerprint(fresh_hall) == before


def test_a_matter_no_window_serves_is_refused(fresh_hall: HallState) -> None:
    # the manager turns the only consultation window into an integrated one: nobody takes questions
    admin.set_profile(fresh_hall, NINE, MANAGER, 6, name="integrated")
    before = fingerprint(fresh_hall)
    with pytest.raises(Conflict) as refused:
        issue(fresh_hall, NINE + 1, "ZX")
    assert refused.value.code == "no_window_serves"
    assert fingerprint(fresh_hall) == before


def test_appointment_code_on_another_channel_is_invalid(fresh_hall: HallState) -> None:
    with pytest.raises(Invalid) as refused:
        issuing.issue(fresh_hall, NINE, KIOSK, issuing.IssueRequest(("CBDJ",), appointment_code="X1"))
    assert refused.value.code == "unexpected_field"


# -- property: gap-free and unique per prefix per local day -----------------------------------------

KINDS = [
    (("CBDJ",), "normal"),
    (("JFJS",), "normal"),
    (("SBKBH",), "normal"),
    (("YLZY", "TXHD"), "normal"),
    (("ZX",), "normal"),
    (("DYRZ",), "green"),
    (("ZX",), "green"),
    (("BJSQ",), "enterprise"),
    (("YLZY",), "enterprise"),
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(KINDS), st.floats(min_value=0, max_value=3 * 3600)),
        min_size=1,
        max_size=60,
    ),
    start=st.sampled_from(["2026-03-02 21:00", "2026-03-02 23:50", "2026-03-02 07:30"]),
)
def test_numbers_are_gap_free_and_unique_per_prefix_per_local_day(
    example_config: HallConfig, steps: list[tuple[tuple[tuple[str, ...], str], float]], start: str
) -> None:
    now = at(start)
    hall = new_hall(example_config, now, always_open=True)
    tickets = []
    for (matters, channel), gap in steps:
        now += gap
        code = credit_code() if channel == "enterprise" else None
        tickets.append(issue(hall, now, *matters, channel=channel, credit_code=code))

    seqs: dict[tuple[str, str], list[int]] = defaultdict(list)
    for t in tickets:
        assert t.day == business_day(t.issued_at, SHANGHAI)
        assert t.number == format_number(t.prefix, t.seq, 4)
        expected_prefix = {"enterprise": "Q", "green": "G"}.get(
            t.channel, example_config.matter(t.matters[0]).prefix
        )
        assert t.prefix == expected_prefix
        seqs[(t.day, t.prefix)].append(t.seq)
    for key, numbers in seqs.items():
        assert numbers == list(range(1, len(numbers) + 1)), key  # gap-free, in issue order
        assert hall.last_seq[key] == len(numbers)
    assert len({(t.day, t.number) for t in tickets}) == len(tickets)
    assert len({t.id for t in tickets}) == len(tickets)
    assert len({t.track_token for t in tickets}) == len(tickets)
