"""What a clerk does at a window (柜台): log in, call, recall, no-show, start, finish, transfer, suspend,
resume (回呼) and pause. Each function checks first and changes after, so a refusal changes nothing."""

from __future__ import annotations

from hallctl.core import routing
from hallctl.core.errors import Conflict, Invalid, wrong_state
from hallctl.core.model import (
    AT_WINDOW,
    Actor,
    Change,
    Event,
    JournalEntry,
    Role,
    Ticket,
    TicketState,
    WindowState,
    WindowStatus,
)
from hallctl.core.ratings import arm_after_finish
from hallctl.core.state import HallState
from hallctl.core.window_steps import (
    assign_call,
    ensure_ready_to_call,
    ensure_serves,
    journal_window,
    note_window,
    require_known_matters,
)

OUTCOMES = ("completed", "rejected", "incomplete")  # 办结 / 不予受理 / 材料不全（补正）


def _current(state: HallState, window: WindowStatus, action: str, allowed: frozenset[TicketState]) -> Ticket:
    if window.current is None:
        raise Conflict(
            "no_current_ticket",
            f"{window.id}号窗口当前没有号票",
            f"window {window.id} has no ticket",
            window=window.id,
            action=action,
        )
    ticket = state.ticket(window.current)
    if ticket.state not in allowed:
        raise wrong_state(action, ticket.number, ticket.state.value, " or ".join(sorted(allowed)))
    return ticket


def login(state: HallState, now: float, actor: Actor, window_id: int) -> Change:
    window = state.window(window_id)
    if actor.role is not Role.CLERK or not actor.clerk:
        raise Invalid("clerk_required", "只有柜员可以登录窗口", "only a clerk can log in to a window")
    if window.state is WindowState.CLOSED:
        raise Conflict(
            "window_closed", f"{window_id}号窗口已关闭", f"window {window_id} is closed", window=window_id
        )
    if window.clerk == actor.clerk:
        return Change(result=window)  # already there: logging in twice is harmless
    if window.clerk is not None:
        raise Conflict(
            "window_taken",
            f"{window_id}号窗口已有柜员 {window.clerk} 登录",
            f"clerk {window.clerk} is logged in to window {window_id}",
            window=window_id,
        )
    other = state.window_of_clerk(actor.clerk)
    if other is not None:
        raise Conflict(
            "clerk_elsewhere",
            f"您已登录{other.id}号窗口，请先退出",
            f"you are logged in to window {other.id}; log out there first",
            window=other.id,
        )
    change = state.begin(now)
    window.clerk = actor.clerk
    window.idle_since = now
    journal_window(change, actor, now, window, "window.login", None, actor.clerk)
    note_window(change, now, window, "login")
    change.result = window
    return change


def logout(state: HallState, now: float, actor: Actor, window_id: int) -> Change:
    window = state.clerk_window(actor, window_id)
    if window.current is not None:
        raise Conflict(
            "window_busy",
            "请先处理完当前号票再退出",
            "finish the current ticket before logging out",
            window=window_id,
            ticket=window.current,
        )
    change = state.begin(now)
    before = window.clerk
    window.clerk = None
    journal_window(change, actor, now, window, "window.logout", before, None)
    note_window(change, now, window, "logout")
    change.result = window
    return change


def call_next(state: HallState, now: float, actor: Actor, window_id: int) -> Change:
    """Call the next ticket this window's profile allows; ``result`` is None when nothing waits for it."""
    window = state.clerk_window(actor, window_id)
    ensure_ready_to_call(window)
    choice = routing.choose_next(window, state.queues, state.tickets, state.forced, now, state.consultation)
    if choice is None:
        return Change(result=None)
    change = state.begin(now)
    assign_call(
        state,
        change,
        actor,
        now,
        window,
        choice.ticket,
        "ticket.call",
        choice.passed_over,
        tier=choice.tier,
        overtook=len(choice.passed_over),
    )
    change.result = choice.ticket
    return change


def recall(state: HallState, now: float, actor: Actor, window_id: int) -> Change:
    window = state.clerk_window(actor, window_id)
    ticket = _current(state, window, "recall", frozenset({TicketState.CALLED}))
    limit = state.config.rules.max_recalls
    if ticket.recalls >= limit:
        raise Conflict(
            "recall_limit",
            f"已重呼{limit}次，请标记过号",
            f"recalled {limit} times already; mark no-show",
            ticket=ticket.id,
            recalls=ticket.recalls,
        )
    change = state.begin(now)
    ticket.recalls += 1
    ticket.called_at = now
    change.touch(ticket)
    change.journal.append(
        JournalEntry(
            now,
            actor.label,
            actor.role.value,
            "ticket.recall",
            window=window.id,
            ticket=ticket.id,
            before="called",
            after="called",
            detail={"recalls": ticket.recalls},
        )
    )
    change.events.append(
        Event(
            "ticket.recalled",
            now,
            ticket=ticket.snapshot(),
            window=window.snapshot(),
            detail={"action": "recall"},
        )
    )
    change.result = ticket
    return change


def _free(change: Change, now: float, window: WindowStatus, action: str) -> None:
    window.current = None
    window.idle_since = now
    note_window(change, now, window, action)


def no_show(state: HallState, now: float, actor: Actor, window_id: int) -> Change:
    window = state.clerk_window(actor, window_id)
    ticket = _current(state, window, "no_show", frozenset({TicketState.CALLED}))
    change = state.begin(now)
    ticket.no_show_at = now
    state.set_state(
        change,
        actor,
        now,
        ticket,
        TicketState.NO_SHOW,
        "ticket.no_show",
        window=window.id,
        recalls=ticket.recalls,
    )
    _free(change, now, window, "no_show")
    change.result = ticket
    return change


def start(state: HallState, now: float, actor: Actor, window_id: int) -> Change:
    window = state.clerk_window(actor, window_id)
    ticket = _current(state, window, "start", frozenset({TicketState.CALLED}))
    change = state.begin(now)
    ticket.started_at = now
    state.set_state(
        change, actor, now, ticket, TicketState.SERVING, "ticket.start", window.id, shown_at=window
    )
    change.result = ticket
    return change


def finish(state: HallState, now: float, actor: Actor, window_id: int, outcome: str = "completed") -> Change:
    window = state.clerk_window(actor, window_id)
    ticket = _current(state, window, "finish", frozenset({TicketState.SERVING}))
    if outcome not in OUTCOMES:
        raise Invalid(
            "bad_outcome", "办理结果无效", f"outcome must be one of {', '.join(OUTCOMES)}", field="outcome"
        )
    change = state.begin(now)
    ticket.finished_at = now
    ticket.outcome = outcome
    state.set_state(
        change,
        actor,
        now,
        ticket,
        TicketState.DONE,
        "ticket.finish",
        window.id,
        shown_at=window,
        outcome=outcome,
    )
    arm_after_finish(state, now, window.id, ticket.id, window.clerk)
    _free(change, now, window, "finish")
    change.result = ticket
    return change


def transfer(
    state: HallState,
    now: float,
    actor: Actor,
    window_id: int,
    matters: tuple[str, ...] | None = None,
    to_window: int | None = None,
    reason: str = "",
) -> Change:
    """Send the current ticket to other matters and/or one window. It keeps its place in the queue:
    its queue key stays its issue time (转办不重新排队)."""
    window = state.clerk_window(actor, window_id)
    ticket = _current(state, window, "transfer", AT_WINDOW)
    if matters is None and to_window is None:
        raise Invalid("transfer_target_required", "请选择转办的事项或窗口", "give matters, a window, or both")
    new_matters = matters if matters is not None else ticket.matters
    if not new_matters or len(set(new_matters)) != len(new_matters):
        raise Invalid(
            "bad_matters", "转办事项有误", "matters must be a non-empty list without repeats", field="matters"
        )
    require_known_matters(state, new_matters)
    if to_window is not None:
        target = state.window(to_window)
        if target.id == window.id:
            raise Invalid(
                "transfer_to_self", "不能转给本窗口", "cannot transfer to the same window", field="window"
            )
        ensure_serves(target, new_matters)
    elif not state.servable(tuple(new_matters), ticket.channel):
        raise Conflict("no_window_serves", "没有窗口可以办理转办后的事项", "no window serves those matters")
    change = state.begin(now)
    before_matters = ticket.matters
    ticket.matters = tuple(new_matters)
    ticket.target_window = to_window
    ticket.window = None
    ticket.transfers += 1
    ticket.bypassed = 0
    state.set_state(
        change,
        actor,
        now,
        ticket,
        TicketState.TRANSFERRED,
        "ticket.transfer",
        window=window.id,
        from_matters=list(before_matters),
        matters=list(new_matters),
        to_window=to_window,
        reason=reason,
    )
    _free(change, now, window, "transfer")
    change.result = ticket
    return change


def suspend(state: HallState, now: float, actor: Actor, window_id: int, reason: str = "") -> Change:
    """Park the current ticket at this window (挂起), e.g. while the citizen fetches a document."""
    window = state.clerk_window(actor, window_id)
    ticket = _current(state, window, "suspend", AT_WINDOW)
    change = state.begin(now)
    state.set_state(
        change, actor, now, ticket, TicketState.SUSPENDED, "ticket.suspend", window=window.id, reason=reason
    )
    _free(change, now, window, "suspend")
    change.result = ticket
    return change


def resume(
    state: HallState, now: float, actor: Actor, window_id: int, ticket_id: int | None = None
) -> Change:
    """Call a suspended ticket back to the window that parked it (回呼); the oldest one if none is named."""
    window = state.clerk_window(actor, window_id)
    if window.state is WindowState.CLOSED:
        raise Conflict("window_closed", f"{window.id}号窗口已关闭", f"window {window.id} is closed")
    if window.current is not None:
        raise Conflict(
            "window_busy",
            f"{window.id}号窗口还有未处理完的号票",
            f"window {window.id} is busy",
            ticket=window.current,
        )
    parked = sorted(
        (t for t in state.tickets.values() if t.state is TicketState.SUSPENDED and t.window == window.id),
        key=lambda t: (t.queue_key, t.id),
    )
    if ticket_id is None:
        if not parked:
            raise Conflict(
                "nothing_suspended", "本窗口没有挂起的号票", "no ticket is suspended at this window"
            )
        ticket = parked[0]
    else:
        ticket = state.ticket(ticket_id)
        if ticket.state is not TicketState.SUSPENDED:
            raise wrong_state("resume", ticket.number, ticket.state.value, "suspended")
        if ticket.window != window.id:
            raise Conflict(
                "suspended_elsewhere",
                f"号票 {ticket.number} 挂起在{ticket.window}号窗口",
                f"ticket {ticket.number} is suspended at window {ticket.window}",
            )
    change = state.begin(now)
    # A call like any other (the event is ``ticket.called``), journaled as a resume; nothing is passed over.
    assign_call(state, change, actor, now, window, ticket, "ticket.resume")
    change.result = ticket
    return change


def pause(state: HallState, now: float, actor: Actor, window_id: int, reason: str = "") -> Change:
    """Stop taking calls (暂停服务); a ticket already at the window can still be finished."""
    window = state.clerk_window(actor, window_id)
    if window.state is not WindowState.OPEN:
        raise Conflict(
            "window_not_open", f"{window.id}号窗口当前不是服务状态", f"window {window.id} is {window.state}"
        )
    change = state.begin(now)
    window.state = WindowState.PAUSED
    journal_window(change, actor, now, window, "window.pause", "open", "paused", reason=reason)
    note_window(change, now, window, "pause")
    change.result = window
    return change


def unpause(state: HallState, now: float, actor: Actor, window_id: int) -> Change:
    window = state.clerk_window(actor, window_id)
    if window.state is not WindowState.PAUSED:
        raise Conflict("window_not_paused", f"{window.id}号窗口没有暂停", f"window {window.id} is not paused")
    change = state.begin(now)
    window.state = WindowState.OPEN
    window.idle_since = now
    journal_window(change, actor, now, window, "window.unpause", "paused", "open")
    note_window(change, now, window, "unpause")
    change.result = window
    return change
