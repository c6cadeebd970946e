"""The steps a window action is made of, shared by a clerk's actions (``counter``) and a manager's
(``admin``): the window's journal line and event, the checks before a call, a call's bookkeeping (also
the wait predictor's, ``forward``), and the checks on the matters a window is asked to serve."""

from __future__ import annotations

from collections.abc import Iterable

from hallctl.core import routing
from hallctl.core.errors import Conflict, Invalid
from hallctl.core.model import (
    Actor,
    Change,
    Event,
    JournalEntry,
    Ticket,
    TicketState,
    WindowState,
    WindowStatus,
)
from hallctl.core.state import HallState


def note_window(change: Change, now: float, window: WindowStatus, action: str) -> None:
    """The window changed: it goes into the change, and a ``window.changed`` event tells the displays."""
    change.touch(window)
    change.events.append(Event("window.changed", now, window=window.snapshot(), detail={"action": action}))


def journal_window(
    change: Change,
    actor: Actor,
    now: float,
    window: WindowStatus,
    action: str,
    before: str | None,
    after: str | None,
    **detail: object,
) -> None:
    """A journal line about the window itself (login, pause, open, profile), not about a ticket."""
    change.journal.append(
        JournalEntry(
            now,
            actor.label,
            actor.role.value,
            action,
            window=window.id,
            before=before,
            after=after,
            detail=dict(detail),
        )
    )


def ensure_ready_to_call(window: WindowStatus) -> None:
    """Refuse a call at a window that is closed, paused or still has a ticket."""
    if window.state is WindowState.CLOSED:
        raise Conflict(
            "window_closed", f"{window.id}号窗口已关闭", f"window {window.id} is closed", window=window.id
        )
    if window.state is WindowState.PAUSED:
        raise Conflict(
            "window_paused",
            f"{window.id}号窗口暂停服务中，请先恢复",
            f"window {window.id} is paused; unpause first",
            window=window.id,
        )
    if window.current is not None:
        raise Conflict(
            "window_busy",
            f"{window.id}号窗口还有未处理完的号票",
            f"window {window.id} still has a ticket; finish, transfer, suspend or no-show it first",
            window=window.id,
            ticket=window.current,
        )


def count_passed_over(passed_over: Iterable[Ticket], forced: set[int], bound: int) -> None:
    """Each older ticket a call goes ahead of counts one more bypass; at the bound it is forced next.

    Shared with the wait predictor's simulation (core/forward.py), which must age tickets the same way."""
    for older in passed_over:
        older.bypassed += 1
        if older.bypassed >= bound:
            forced.add(older.id)


def assign_call(
    state: HallState,
    change: Change,
    actor: Actor,
    now: float,
    window: WindowStatus,
    ticket: Ticket,
    action: str,
    passed_over: tuple[Ticket, ...] = (),
    **detail: object,
) -> None:
    """Give the window this ticket: a call by routing, a manager's out-of-order call, or a resume. The
    tickets the call went ahead of (``passed_over``) age towards the starvation bound."""
    count_passed_over(passed_over, state.forced, state.config.rules.starvation_bound)
    for older in passed_over:
        change.touch(older)
    ticket.window = window.id
    ticket.target_window = None
    ticket.clerk = window.clerk
    ticket.called_at = now
    ticket.recalls = 0
    if ticket.first_called_at is None:
        ticket.first_called_at = now
    window.current = ticket.id
    change.touch(window)
    state.set_state(
        change,
        actor,
        now,
        ticket,
        TicketState.CALLED,
        action,
        window.id,
        event="ticket.called",
        shown_at=window,
        **detail,
    )


def require_known_matters(state: HallState, codes: Iterable[str]) -> None:
    """Every matter a window is asked to serve is one the hall's configuration knows."""
    for code in codes:
        try:
            state.config.matter(code)
        except KeyError:
            raise Invalid(
                "unknown_matter", f"事项 {code} 不存在", f"unknown matter {code!r}", field="matters"
            ) from None


def ensure_may_take(window: WindowStatus, ticket: Ticket, consultation_matters: frozenset[str]) -> None:
    """The window would take this ticket at some moment: by its profile's own matters and channels, or by
    an overflow rule (a question at an integrated window, a large enterprise at a window of its matters).
    A manager's out-of-order call may send a ticket where routing itself could have."""
    if not routing.may_ever_take(window.profile, ticket.matters, ticket.channel, consultation_matters):
        raise Conflict(
            "window_cannot_serve",
            f"{window.id}号窗口不办理该事项",
            f"window {window.id} does not serve those matters",
            window=window.id,
        )


def ensure_serves(window: WindowStatus, matters: Iterable[str]) -> None:
    """The window's work profile takes all of these matters (a bundled ticket needs every one)."""
    if not routing.serves_matters(window.profile, matters):
        raise Conflict(
            "window_cannot_serve",
            f"{window.id}号窗口不办理该事项",
            f"window {window.id} does not serve those matters",
            window=window.id,
        )
