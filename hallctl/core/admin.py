"""What a hall manager (大厅主管) does: open and close windows, change a window's work profile live, and
call a ticket out of order (插队) with a reason. Every change is journaled and applies from the next call."""

from __future__ import annotations

from hallctl.config import Profile
from hallctl.core import routing
from hallctl.core.errors import Conflict, Invalid, wrong_state
from hallctl.core.model import QUEUED, Actor, Change, WindowState
from hallctl.core.state import HallState
from hallctl.core.window_steps import (
    assign_call,
    ensure_may_take,
    ensure_ready_to_call,
    journal_window,
    note_window,
    require_known_matters,
)


def open_window(state: HallState, now: float, actor: Actor, window_id: int) -> Change:
    window = state.window(window_id)
    if window.state is WindowState.OPEN:
        return Change(result=window)
    change = state.begin(now)
    before = window.state.value
    window.state = WindowState.OPEN
    window.idle_since = now
    journal_window(change, actor, now, window, "window.open", before, "open")
    note_window(change, now, window, "open")
    change.result = window
    return change


def close_window(state: HallState, now: float, actor: Actor, window_id: int, reason: str = "") -> Change:
    """Close a window; its clerk is logged out. A window with a ticket at it cannot close."""
    window = state.window(window_id)
    if window.current is not None:
        raise Conflict(
            "window_busy",
            f"{window.id}号窗口正在办理，不能关闭",
            f"window {window.id} has a ticket",
            ticket=window.current,
        )
    if window.state is WindowState.CLOSED:
        return Change(result=window)
    change = state.begin(now)
    before = window.state.value
    window.state = WindowState.CLOSED
    clerk = window.clerk
    window.clerk = None
    journal_window(change, actor, now, window, "window.close", before, "closed", reason=reason, clerk=clerk)
    note_window(change, now, window, "close")
    change.result = window
    return change


def set_profile(
    state: HallState,
    now: float,
    actor: Actor,
    window_id: int,
    *,
    name: str | None = None,
    profile: Profile | None = None,
    reason: str = "",
) -> Change:
    """Give a window a configured profile by name, or an inline one (rebalancing, 调整窗口业务)."""
    window = state.window(window_id)
    if (name is None) == (profile is None):
        raise Invalid("profile_required", "请指定一个工作方案", "give either a profile name or a profile")
    if name is not None:
        if name not in state.config.profiles:
            raise Invalid(
                "unknown_profile", f"工作方案 {name} 不存在", f"unknown profile {name!r}", field="profile"
            )
        profile = state.config.profiles[name]
    assert profile is not None
    require_known_matters(state, (code for code in profile.matters if code != "*"))
    change = state.begin(now)
    before = window.profile_name
    window.profile = profile
    window.profile_name = name or "custom"
    state.profiles_changed()
    # Tickets transferred to this window that it no longer serves join the general queue at their place;
    # left targeted, they would wait for a window that will never take them.
    for ticket_id in list(state.queues.ids()):
        ticket = state.tickets[ticket_id]
        if ticket.target_window == window_id and not routing.serves_matters(profile, ticket.matters):
            ticket.target_window = None
            state.enqueue(ticket)  # re-filed under its new bucket, same queue key
            change.touch(ticket)
    journal_window(
        change,
        actor,
        now,
        window,
        "window.profile",
        before,
        window.profile_name,
        reason=reason,
        profile=profile.model_dump(mode="json"),
    )
    note_window(change, now, window, "profile")
    change.result = window
    return change


def call_ticket(
    state: HallState, now: float, actor: Actor, window_id: int, ticket_id: int, reason: str
) -> Change:
    """A manual out-of-order call (插队): a manager sends one waiting ticket to a window, with a reason."""
    window = state.window(window_id)
    ticket = state.ticket(ticket_id)
    if not reason.strip():
        raise Invalid(
            "reason_required", "插队叫号必须填写原因", "an out-of-order call needs a reason", field="reason"
        )
    if window.clerk is None:
        raise Conflict(
            "window_unstaffed", f"{window.id}号窗口没有柜员登录", f"no clerk at window {window.id}"
        )
    ensure_ready_to_call(window)
    if ticket.state not in QUEUED:
        raise wrong_state("call", ticket.number, ticket.state.value, "waiting or transferred")
    ensure_may_take(window, ticket, state.consultation)
    change = state.begin(now)
    assign_call(state, change, actor, now, window, ticket, "ticket.call_out_of_order", reason=reason.strip())
    change.result = ticket
    return change
