"""好差评 ratings from a window's satisfaction keypad (评价器).

Finishing a ticket arms the window's keypad for it (a clerk may also arm it again with the 评价 key);
the first press within ``ratings.arm_seconds`` is the rating. A press with nothing armed, a second press,
or a press after the time is refused (the caller counts it) and changes nothing. Arming lives in memory
only: after a restart a keypad waits for the next finish.
"""

from __future__ import annotations

from dataclasses import replace

from hallctl.audit.followups import open_entries
from hallctl.config_devices import RATING_LEVELS
from hallctl.core.errors import Conflict, Invalid
from hallctl.core.model import Actor, Armed, Change, Event, JournalEntry, Rating, TicketState
from hallctl.core.state import HallState

#: level -> name, 5 = 非常满意 … 1 = 非常不满意
LEVEL_NAMES = {5 - i: name for i, name in enumerate(RATING_LEVELS)}


def arm_after_finish(state: HallState, now: float, window_id: int, ticket_id: int, clerk: str | None) -> None:
    state.armed[window_id] = Armed(ticket_id, clerk, now, now + state.config.devices.ratings.arm_seconds)


def request_rating(state: HallState, now: float, actor: Actor, window_id: int) -> Change:
    """The clerk presses 评价: arm the keypad for the ticket at the window, or the one just finished."""
    window = state.clerk_window(actor, window_id)
    ticket_id = window.current
    if ticket_id is None:
        finished = [
            t
            for t in state.tickets.values()
            if t.window == window_id and t.state is TicketState.DONE and t.finished_at is not None
        ]
        if not finished:
            raise Conflict("nothing_to_rate", "没有可评价的号票", "no ticket to rate at this window")
        ticket_id = max(finished, key=lambda t: t.finished_at or 0.0).id
    change = state.begin(now)
    state.armed[window_id] = Armed(
        ticket_id, window.clerk, now, now + state.config.devices.ratings.arm_seconds
    )
    change.events.append(
        Event("rating.armed", now, ticket=state.tickets[ticket_id].snapshot(), window=window.snapshot())
    )
    change.result = state.armed[window_id]
    return change


def rate(state: HallState, now: float, device: str, window_id: int, level: int) -> Change:
    """A keypad press. Refused (nothing_armed, already_rated, expired, bad_level) it changes nothing."""
    state.window(window_id)
    if level not in LEVEL_NAMES:
        raise Invalid("bad_level", "评价等级无效", "level must be 1..5")
    armed = state.armed.get(window_id)
    if armed is None:
        raise Conflict(
            "nothing_armed", "当前没有待评价的业务", "nothing is waiting for a rating at this window"
        )
    if armed.rated:
        raise Conflict("already_rated", "该笔业务已评价", "this service has been rated already")
    if now > armed.until:
        raise Conflict("expired", "评价已超时", "the rating time is over")
    ticket = state.tickets[armed.ticket]
    change = state.begin(now)
    state.armed[window_id] = replace(armed, rated=True)
    rating = Rating(
        ticket=ticket.id,
        window=window_id,
        clerk=armed.clerk,
        level=level,
        level_name=LEVEL_NAMES[level],
        device=device,
        armed_at=armed.since,
        rated_at=now,
    )
    change.ratings.append(rating)
    change.journal.append(
        JournalEntry(
            now,
            device,
            "device",
            "rating.rate",
            window=window_id,
            ticket=ticket.id,
            detail={"level": level, "level_name": rating.level_name, "clerk": armed.clerk},
        )
    )
    change.journal.extend(open_entries(state.config, now, rating))  # a bad rating opens a 差评整改 case
    change.events.append(
        Event(
            "rating.rated",
            now,
            ticket=ticket.snapshot(),
            detail={"level": level, "level_name": rating.level_name, "window": window_id},
        )
    )
    change.result = rating
    return change
