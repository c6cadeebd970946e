"""Appointments (预约): booked on the online platform, checked in at the kiosk with the code."""

from __future__ import annotations

import pytest
from hallkit import BOOKING, MANAGER, MINUTE, NINE, at, config_with, fingerprint, issue, new_hall

from hallctl.config import HallConfig
from hallctl.core import admin, issuing
from hallctl.core.errors import Conflict, Invalid, NotFound
from hallctl.core.model import Appointment, Ticket
from hallctl.core.state import HallState

SLOT = at("2026-03-02 10:00")
SLOT_END = SLOT + 30 * MINUTE


@pytest.fixture
def booked_hall(fresh_hall: HallState) -> HallState:
    """Appointment YY0001 for 参保登记 + 社保卡补换, 10:00-10:30 today, booked at 09:00."""
    issuing.book(fresh_hall, NINE, BOOKING, "YY0001", ("CBDJ", "SBKBH"), SLOT, SLOT_END, name="张三")
    return fresh_hall


def check_in(hall: HallState, now: float, code: str = "YY0001") -> Ticket:
    return issue(hall, now, channel="appointment", appointment_code=code)


def test_book_records_the_appointment(booked_hall: HallState) -> None:
    appointment = booked_hall.appointments["YY0001"]
    assert appointment == Appointment(
        code="YY0001",
        matters=("CBDJ", "SBKBH"),
        slot_start=SLOT,
        slot_end=SLOT_END,
        name="张三",
        created_at=NINE,
        created_by="12333",
        state="booked",
    )


@pytest.mark.parametrize(
    ("now", "label"),
    [(SLOT - 30 * MINUTE, "earliest"), (SLOT, "on the dot"), (SLOT_END + 15 * MINUTE, "latest on time")],
)
def test_check_in_on_time_keeps_the_appointment_channel(
    booked_hall: HallState, now: float, label: str
) -> None:
    ticket = check_in(booked_hall, now)
    appointment = booked_hall.appointments["YY0001"]
    assert ticket.channel == "appointment", label
    assert ticket.matters == ("CBDJ", "SBKBH")  # the booked matters, not the kiosk's
    assert ticket.appointment_code == "YY0001"
    assert ticket.appointment_start == SLOT
    assert ticket.number == "A0001"
    assert (appointment.state, appointment.ticket) == ("checked_in", ticket.id)


def test_too_early_is_refused_and_changes_nothing(booked_hall: HallState) -> None:
    before = fingerprint(booked_hall)
    with pytest.raises(Conflict) as refused:
        check_in(booked_hall, SLOT - 30 * MINUTE - 1)
    assert refused.value.code == "appointment_too_early"
    assert fingerprint(booked_hall) == before


def test_late_check_in_becomes_an_ordinary_ticket(booked_hall: HallState) -> None:
    ticket = check_in(booked_hall, SLOT_END + 15 * MINUTE + 1)
    assert ticket.channel == "normal"
    assert ticket.appointment_start is None
    assert ticket.appointment_code == "YY0001"
    assert booked_hall.appointments["YY0001"].state == "checked_in"


def test_late_check_in_is_refused_when_the_rule_says_so(example_config: HallConfig) -> None:
    hall = new_hall(config_with({"rules": {"appointment_late": "refuse"}}))
    issuing.book(hall, NINE, BOOKING, "YY0001", ("CBDJ",), SLOT, SLOT_END)
    before = fingerprint(hall)
    with pytest.raises(Conflict) as refused:
        check_in(hall, SLOT_END + 15 * MINUTE + 1)
    assert refused.value.code == "appointment_late"
    assert fingerprint(hall) == before
    assert check_in(hall, SLOT_END + 15 * MINUTE).channel == "appointment"


def test_an_appointment_is_used_once(booked_hall: HallState) -> None:
    check_in(booked_hall, SLOT)
    before = fingerprint(booked_hall)
    with pytest.raises(Conflict) as refused:
        check_in(booked_hall, SLOT + 1)
    assert refused.value.code == "appointment_used"
    assert refused.value.context == {"code": "YY0001"}  # the appointment code, next to the error code
    assert fingerprint(booked_hall) == before


def test_cancelled_appointment_cannot_check_in(booked_hall: HallState) -> None:
    issuing.cancel_appointment(booked_hall, NINE + MINUTE, BOOKING, "YY0001")
    assert booked_hall.appointments["YY0001"].state == "cancelled"
    before = fingerprint(booked_hall)
    with pytest.raises(NotFound) as refused:
        check_in(booked_hall, SLOT)
    assert refused.value.code == "appointment_not_found"
    with pytest.raises(Conflict) as again:
        issuing.cancel_appointment(booked_hall, NINE + 2 * MINUTE, BOOKING, "YY0001")
    assert again.value.code == "appointment_not_booked"
    assert fingerprint(booked_hall) == before


def test_checked_in_appointment_cannot_be_cancelled(booked_hall: HallState) -> None:
    check_in(booked_hall, SLOT)
    with pytest.raises(Conflict) as refused:
        issuing.cancel_appointment(booked_hall, SLOT + 1, BOOKING, "YY0001")
    assert refused.value.code == "appointment_not_booked"
    assert booked_hall.appointments["YY0001"].state == "checked_in"


def test_unknown_codes_are_not_found(booked_hall: HallState) -> None:
    with pytest.raises(NotFound):
        check_in(booked_hall, SLOT, "NOPE")
    with pytest.raises(NotFound):
        issuing.cancel_appointment(booked_hall, SLOT, BOOKING, "NOPE")


def test_appointment_for_another_day_is_refused(booked_hall: HallState) -> None:
    tomorrow = at("2026-03-03 10:00")
    issuing.book(booked_hall, NINE, BOOKING, "YY0002", ("CBDJ",), tomorrow, tomorrow + 1800)
    with pytest.raises(Conflict) as refused:
        check_in(booked_hall, SLOT, "YY0002")
    assert refused.value.code == "appointment_other_day"


def test_appointment_channel_needs_a_code(booked_hall: HallState) -> None:
    with pytest.raises(Invalid) as refused:
        issue(booked_hall, SLOT, "CBDJ", channel="appointment")
    assert refused.value.code == "appointment_code_required"


@pytest.mark.parametrize(
    ("code", "matters", "start", "end", "error"),
    [
        ("", ("CBDJ",), SLOT, SLOT_END, "bad_appointment_code"),
        ("X" * 33, ("CBDJ",), SLOT, SLOT_END, "bad_appointment_code"),
        ("YY9", ("CBDJ",), SLOT, SLOT, "bad_slot"),
        ("YY9", (), SLOT, SLOT_END, "matter_required"),
        ("YY9", ("NOPE",), SLOT, SLOT_END, "unknown_matter"),
    ],
)
def test_bad_bookings_are_invalid(
    booked_hall: HallState, code: str, matters: tuple[str, ...], start: float, end: float, error: str
) -> None:
    before = fingerprint(booked_hall)
    with pytest.raises(Invalid) as refused:
        issuing.book(booked_hall, NINE, BOOKING, code, matters, start, end)
    assert refused.value.code == error
    assert fingerprint(booked_hall) == before


def test_a_code_is_booked_once(booked_hall: HallState) -> None:
    with pytest.raises(Conflict) as refused:
        issuing.book(booked_hall, NINE, BOOKING, "YY0001", ("CBDJ",), SLOT, SLOT_END)
    assert refused.value.code == "appointment_exists"
    assert booked_hall.appointments["YY0001"].matters == ("CBDJ", "SBKBH")


def test_booking_needs_a_window_that_takes_appointments(fresh_hall: HallState) -> None:
    admin.set_profile(fresh_hall, NINE, MANAGER, 6, name="enterprise")  # no window takes ZX by appointment
    with pytest.raises(Conflict) as refused:
        issuing.book(fresh_hall, NINE, BOOKING, "YY9", ("ZX",), SLOT, SLOT_END)
    assert refused.value.code == "no_window_serves"
    assert "YY9" not in fresh_hall.appointments
