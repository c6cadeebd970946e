"""Issuing tickets at the kiosk (取号), appointments (预约), a no-show's return to the queue, voiding."""

from __future__ import annotations

from dataclasses import dataclass

from hallctl.config import Channel
from hallctl.core import credit_code
from hallctl.core.calendar import business_day, is_open
from hallctl.core.errors import Conflict, Invalid, NotFound, wrong_state
from hallctl.core.model import (
    FINAL,
    Actor,
    Appointment,
    Change,
    Event,
    JournalEntry,
    Ticket,
    TicketState,
)
from hallctl.core.numbering import capacity, format_number
from hallctl.core.state import HallState


@dataclass(frozen=True, slots=True)
class IssueRequest:
    matters: tuple[str, ...] = ()
    channel: Channel = "normal"
    credit_code: str | None = None
    appointment_code: str | None = None


def _check_matters(state: HallState, matters: tuple[str, ...]) -> None:
    if not matters:
        raise Invalid("matter_required", "请选择办理事项", "choose at least one matter")
    if len(set(matters)) != len(matters):
        raise Invalid("matter_repeated", "同一事项只能选择一次", "a matter is listed twice")
    for code in matters:
        try:
            state.config.matter(code)
        except KeyError:
            raise Invalid(
                "unknown_matter", f"事项 {code} 不存在", f"unknown matter {code!r}", matter=code
            ) from None


def _appointment_for(state: HallState, code: str, now: float) -> tuple[Appointment, Channel]:
    appointment = state.appointments.get(code)
    if appointment is None or appointment.state == "cancelled":
        raise NotFound("appointment_not_found", "预约码无效或预约已取消", "no such appointment", code=code)
    if appointment.state == "checked_in":
        raise Conflict(
            "appointment_used", "该预约已取号", "this appointment has already been checked in", code=code
        )
    rules = state.config.rules
    if business_day(appointment.slot_start, state.zone) != business_day(now, state.zone):
        raise Conflict(
            "appointment_other_day", "该预约不是今天的", "this appointment is for another day", code=code
        )
    if now < appointment.slot_start - rules.appointment_early_minutes * 60:
        raise Conflict(
            "appointment_too_early",
            "预约时段未到，请稍后取号",
            "too early for this appointment; come back nearer the slot",
            code=code,
        )
    if now > appointment.slot_end + rules.appointment_late_minutes * 60:
        if rules.appointment_late == "refuse":
            raise Conflict(
                "appointment_late",
                "已超过预约时段，请重新预约",
                "the appointment slot has passed; book again",
                code=code,
            )
        return appointment, "normal"  # a late arrival queues as everyone else (by rule)
    return appointment, "appointment"


def issue(state: HallState, now: float, actor: Actor, request: IssueRequest) -> Change:
    """Issue a ticket. Its number is the next of its prefix today; it is never handed out twice."""
    if not state.always_open and not is_open(state.config.hours, now, state.zone):
        raise Conflict("hall_closed", "大厅不在营业时间，暂停取号", "the hall is closed; no tickets now")
    appointment = None
    channel: Channel = request.channel
    matters = request.matters
    code = None
    if channel == "appointment":
        if not request.appointment_code:
            raise Invalid("appointment_code_required", "请输入预约码", "appointment_code is required")
        appointment, channel = _appointment_for(state, request.appointment_code, now)
        matters = appointment.matters
    elif request.appointment_code:
        raise Invalid(
            "unexpected_field", "只有预约通道需要预约码", "appointment_code is only for appointments"
        )
    if request.channel == "enterprise":
        code = (request.credit_code or "").strip().upper()
        if not credit_code.is_valid(code):
            raise Invalid(
                "bad_credit_code",
                "统一社会信用代码有误，请核对",
                "invalid unified social credit code",
                field="credit_code",
            )
    elif request.credit_code:
        raise Invalid(
            "unexpected_field",
            "只有大企业通道需要统一社会信用代码",
            "credit_code is only for the enterprise channel",
        )
    _check_matters(state, matters)
    if not state.servable(matters, channel):
        raise Conflict(
            "no_window_serves",
            "本大厅没有窗口可以办理所选事项",
            "no window of this hall serves that",
            matters=list(matters),
            channel=channel,
        )

    change = state.begin(now)
    day = business_day(now, state.zone)
    for m in matters:
        cap = state.config.matter(m).daily_cap
        if cap is not None and state.issued[(day, m)] >= cap:
            name = state.config.matter(m).name
            raise Conflict(
                "daily_cap_reached",
                f"“{name}”今日号源已取完，请改日办理或网上预约",
                f"today's tickets for {m} are all issued",
                matter=m,
            )
    prefix = state.config.hall.channel_prefixes.get(channel) or state.config.matter(matters[0]).prefix
    seq = state.last_seq.get((day, prefix), 0) + 1
    digits = state.config.hall.number_digits
    if seq > capacity(digits):
        raise Conflict(
            "numbers_exhausted",
            f"{prefix}号段今日已发完，请联系工作人员",
            f"prefix {prefix} has no numbers left today",
            prefix=prefix,
        )

    state.last_seq[(day, prefix)] = seq
    for m in matters:
        state.issued[(day, m)] += 1
    ticket = Ticket(
        id=state.next_id,
        number=format_number(prefix, seq, digits),
        prefix=prefix,
        seq=seq,
        day=day,
        matters=matters,
        channel=channel,
        issued_at=now,
        queue_key=now,
        track_token=state.make_token(),
        credit_code=code,
        issued_by=actor.label,
        appointment_code=appointment.code if appointment else None,
        appointment_start=appointment.slot_start if appointment and channel == "appointment" else None,
    )
    state.next_id += 1
    state.tickets[ticket.id] = ticket
    state.enqueue(ticket)
    change.touch(ticket)
    if appointment is not None:
        appointment.state = "checked_in"
        appointment.ticket = ticket.id
        change.touch(appointment)
    change.journal.append(
        JournalEntry(
            now,
            actor.label,
            actor.role.value,
            "ticket.issue",
            ticket=ticket.id,
            after=ticket.state.value,
            detail={"number": ticket.number, "matters": list(matters), "channel": channel},
        )
    )
    change.events.append(Event("ticket.issued", now, ticket=ticket.snapshot()))
    change.result = ticket
    return change


def return_no_show(state: HallState, now: float, actor: Actor, ticket_id: int) -> Change:
    """A no-show who comes back joins the queue again, at the back, if the rules allow it (过号重排)."""
    ticket = state.ticket(ticket_id)
    rules = state.config.rules
    if ticket.state is not TicketState.NO_SHOW:
        raise wrong_state("return", ticket.number, ticket.state.value, "no_show")
    if ticket.no_show_returns >= rules.no_show_returns:
        raise Conflict(
            "no_show_returns_used",
            "该号已过号重排过，请重新取号",
            "this ticket already came back once; take a new ticket",
            ticket=ticket_id,
        )
    if ticket.no_show_at is not None and now - ticket.no_show_at > rules.no_show_return_minutes * 60:
        raise Conflict(
            "no_show_expired",
            "过号时间太久，请重新取号",
            "too long since the no-show; take a new ticket",
            ticket=ticket_id,
        )
    change = state.begin(now)
    ticket.no_show_returns += 1
    ticket.queue_key = now
    ticket.window = None
    ticket.bypassed = 0
    state.set_state(change, actor, now, ticket, TicketState.WAITING, "ticket.return")
    change.result = ticket
    return change


def void(state: HallState, now: float, actor: Actor, ticket_id: int, reason: str) -> Change:
    """Take a ticket out for good (printer failed, issued in error). Its number is never reused."""
    ticket = state.ticket(ticket_id)
    if ticket.state in FINAL or ticket.state in (TicketState.CALLED, TicketState.SERVING):
        raise wrong_state(
            "void", ticket.number, ticket.state.value, "waiting, transferred, suspended or no_show"
        )
    if not reason.strip():
        raise Invalid("reason_required", "作废需要填写原因", "a reason is required", field="reason")
    change = state.begin(now)
    window = ticket.window
    ticket.window = None
    state.set_state(
        change, actor, now, ticket, TicketState.VOIDED, "ticket.void", window=window, reason=reason.strip()
    )
    change.result = ticket
    return change


def book(
    state: HallState,
    now: float,
    actor: Actor,
    code: str,
    matters: tuple[str, ...],
    slot_start: float,
    slot_end: float,
    name: str = "",
) -> Change:
    """Record an appointment made on the online platform; the citizen checks in with its code."""
    _check_matters(state, matters)
    if not code.strip() or len(code) > 32:
        raise Invalid(
            "bad_appointment_code", "预约码格式有误", "appointment code must be 1-32 characters", field="code"
        )
    if slot_end <= slot_start:
        raise Invalid(
            "bad_slot",
            "预约时段结束时间须晚于开始时间",
            "slot_end must be after slot_start",
            field="slot_end",
        )
    if code in state.appointments:
        raise Conflict(
            "appointment_exists", "该预约码已存在", "an appointment with this code exists", code=code
        )
    if not state.servable(matters, "appointment"):
        raise Conflict(
            "no_window_serves",
            "本大厅没有窗口受理该预约事项",
            "no window of this hall takes appointments for that",
            matters=list(matters),
        )
    change = state.begin(now)
    appointment = Appointment(
        code=code,
        matters=matters,
        slot_start=slot_start,
        slot_end=slot_end,
        name=name,
        created_at=now,
        created_by=actor.label,
    )
    state.appointments[code] = appointment
    change.touch(appointment)
    change.journal.append(
        JournalEntry(
            now,
            actor.label,
            actor.role.value,
            "appointment.book",
            detail={"code": code, "matters": list(matters)},
        )
    )
    change.result = appointment
    return change


def cancel_appointment(state: HallState, now: float, actor: Actor, code: str) -> Change:
    appointment = state.appointments.get(code)
    if appointment is None:
        raise NotFound("appointment_not_found", "预约不存在", "no such appointment", code=code)
    if appointment.state != "booked":
        raise Conflict(
            "appointment_not_booked",
            "该预约已取号或已取消，不能取消",
            f"the appointment is {appointment.state}",
            code=code,
        )
    change = state.begin(now)
    appointment.state = "cancelled"
    change.touch(appointment)
    change.journal.append(
        JournalEntry(now, actor.label, actor.role.value, "appointment.cancel", detail={"code": code})
    )
    change.result = appointment
    return change
