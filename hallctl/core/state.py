"""The live state of one hall: every ticket still of interest, the windows, the queues and the counters.

Commands (``issuing``, ``counter``, ``admin``) read and change it and report what they changed in a
:class:`~hallctl.core.model.Change`; they check everything before they change anything, so a refused
command leaves the state exactly as it was.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from hallctl.config import HallConfig, Profile
from hallctl.core import routing
from hallctl.core.calendar import business_day
from hallctl.core.errors import Forbidden, ticket_not_found, window_not_found
from hallctl.core.model import (
    QUEUED,
    SYSTEM,
    Actor,
    Appointment,
    Armed,
    Change,
    Event,
    JournalEntry,
    Role,
    Ticket,
    TicketState,
    WindowState,
    WindowStatus,
)
from hallctl.core.queues import BucketKey, Queues


def new_track_token() -> str:
    # 128 bits: the phone page behind it must not be guessable from a ticket number
    return secrets.token_urlsafe(16)


@dataclass
class HallState:
    config: HallConfig
    always_open: bool = False
    make_token: Callable[[], str] = new_track_token
    tickets: dict[int, Ticket] = field(default_factory=dict)
    windows: dict[int, WindowStatus] = field(default_factory=dict)
    appointments: dict[str, Appointment] = field(default_factory=dict)
    queues: Queues = field(default_factory=Queues)
    forced: set[int] = field(default_factory=set)  # tickets at the starvation bound
    last_seq: dict[tuple[str, str], int] = field(default_factory=dict)  # (day, prefix) -> last number
    issued: Counter[tuple[str, str]] = field(default_factory=Counter)  # (day, matter) -> tickets issued
    armed: dict[int, Armed] = field(default_factory=dict)  # window -> the ticket its keypad may rate
    next_id: int = 1
    day: str = ""
    _consultation: frozenset[str] = frozenset()
    _pools: dict[BucketKey, frozenset[int]] = field(default_factory=dict)
    _servable: dict[tuple[tuple[str, ...], str], bool] = field(default_factory=dict)
    _service_minutes: dict[tuple[str, ...], float] = field(default_factory=dict)

    # -- construction -------------------------------------------------------------------------------
    @classmethod
    def new(cls, config: HallConfig, now: float, **options: object) -> HallState:
        """A hall on its first day: every configured window open with its configured profile."""
        state = cls(config, **options)  # type: ignore[arg-type]
        state.day = business_day(now, config.hall.zone)
        for w in config.windows:
            state.windows[w.id] = WindowStatus(
                id=w.id,
                kind=w.kind,
                name=w.name or f"{w.id}号窗口",
                zone=w.zone,
                profile_name=w.profile,
                profile=config.profiles[w.profile],
                idle_since=now,
                day=state.day,
            )
        state.profiles_changed()
        return state

    def restore(
        self,
        tickets: Iterable[Ticket],
        windows: Iterable[WindowStatus],
        appointments: Iterable[Appointment],
        last_seq: dict[tuple[str, str], int],
        issued: Counter[tuple[str, str]],
        next_id: int,
    ) -> None:
        """Put back what the store kept (on start, after a crash). Windows unknown to the config are
        dropped; configured windows the store does not know keep their fresh state."""
        for w in windows:
            if w.id in self.windows:
                self.windows[w.id] = w
        for t in tickets:
            self.tickets[t.id] = t
            if t.state in QUEUED:
                self.queues.add(t)
                if t.bypassed >= self.config.rules.starvation_bound:
                    self.forced.add(t.id)
        for a in appointments:
            self.appointments[a.code] = a
        self.last_seq.update(last_seq)
        self.issued.update(issued)
        self.next_id = max(self.next_id, next_id)
        self.profiles_changed()

    # -- lookups ------------------------------------------------------------------------------------
    @property
    def zone(self) -> ZoneInfo:
        return self.config.hall.zone

    def ticket(self, ticket_id: int) -> Ticket:
        try:
            return self.tickets[ticket_id]
        except KeyError:
            raise ticket_not_found(ticket_id) from None

    def window(self, window_id: int) -> WindowStatus:
        try:
            return self.windows[window_id]
        except KeyError:
            raise window_not_found(window_id) from None

    def clerk_window(self, actor: Actor, window_id: int) -> WindowStatus:
        """The window a clerk acts on; a clerk may act only where they are logged in."""
        window = self.window(window_id)
        # A clerk without a clerk id would otherwise match every window nobody is logged in to.
        if actor.role is Role.CLERK and (actor.clerk is None or window.clerk != actor.clerk):
            raise Forbidden(
                "not_logged_in",
                f"您未登录{window_id}号窗口，不能操作该窗口",
                f"you are not logged in to window {window_id}",
                window=window_id,
            )
        return window

    def window_of_clerk(self, clerk: str) -> WindowStatus | None:
        return next((w for w in self.windows.values() if w.clerk == clerk), None)

    @property
    def consultation(self) -> frozenset[str]:
        return self._consultation

    def profiles(self) -> list[Profile]:
        return [w.profile for w in self.windows.values()]

    def pool(self, key: BucketKey) -> frozenset[int]:
        """Windows whose profile serves a bucket's tickets (closed ones too: they may open)."""
        pool = self._pools.get(key)
        if pool is None:
            matters, channel, target = key
            if target:
                pool = frozenset({target})
            else:
                pool = frozenset(
                    w.id for w in self.windows.values() if routing.serves(w.profile, matters, channel)
                )
            self._pools[key] = pool
        return pool

    def service_minutes(self, matters: tuple[str, ...]) -> float:
        """Expected handling time of a ticket with these matters (a bundle takes the sum)."""
        minutes = self._service_minutes.get(matters)
        if minutes is None:
            minutes = self._service_minutes[matters] = sum(
                self.config.matter(m).service_minutes for m in matters
            )
        return minutes

    def servable(self, matters: tuple[str, ...], channel: str) -> bool:
        """Whether any window's profile serves these matters on this channel (asked on every issue)."""
        key = (matters, channel)
        known = self._servable.get(key)
        if known is None:
            known = self._servable[key] = routing.can_any_serve(self.profiles(), matters, channel)
        return known

    def waiting_for(self, window_id: int, now: float | None = None) -> int:
        """Tickets waiting that this window may call (by its profile; overflow rules judged at ``now``)."""
        window = self.window(window_id)
        moment = now if now is not None else 0.0
        total = 0
        for key, bucket in self.queues.buckets():
            head = self.tickets[bucket[0][1]]
            if routing.bucket_tier(window, key, head, moment, self._consultation) is not None:
                total += len(bucket)
        return total

    def profiles_changed(self) -> None:
        self._consultation = routing.consultation_matters(self.windows.values())
        self._pools.clear()
        self._servable.clear()

    # -- shared steps of commands -------------------------------------------------------------------
    def begin(self, now: float) -> Change:
        """Start a command's change (kept as one call so every command begins the same way)."""
        del now
        return Change()

    def roll_day(self, now: float) -> Change:
        """On the first command of a new business day, windows open afresh and clerks log in again.

        Run by the caller before each command, as a change of its own, so a command that is then
        refused has still changed nothing.
        """
        change = Change()
        today = business_day(now, self.zone)
        if today == self.day:
            return change
        self.day = today
        for w in self.windows.values():
            before = w.state.value
            w.day = today
            if w.current is None:  # a clerk still serving at midnight keeps the window
                w.state = WindowState.OPEN
                w.clerk = None
                w.idle_since = now
            change.touch(w)
            change.journal.append(
                JournalEntry(
                    now,
                    SYSTEM.label,
                    SYSTEM.role.value,
                    "window.day_open",
                    window=w.id,
                    before=before,
                    after=w.state.value,
                )
            )
            change.events.append(Event("window.changed", now, window=w.snapshot()))
        return change

    def enqueue(self, ticket: Ticket) -> None:
        self.queues.add(ticket)

    def dequeue(self, ticket: Ticket) -> None:
        if ticket.id in self.queues:
            self.queues.remove(ticket.id)
        self.forced.discard(ticket.id)

    def set_state(
        self,
        change: Change,
        actor: Actor,
        now: float,
        ticket: Ticket,
        new: TicketState,
        action: str,
        window: int | None = None,
        *,
        event: str = "ticket.changed",
        shown_at: WindowStatus | None = None,
        **detail: object,
    ) -> None:
        """The one place where a ticket changes state: queues, journal, event and change all follow.

        ``action`` is the journal's name (``ticket.finish``); the event carries it without the prefix,
        and the window ``shown_at`` when displays need it (a call names where to go)."""
        before = ticket.state
        ticket.state = new
        if new in QUEUED:
            self.enqueue(ticket)
        else:
            self.dequeue(ticket)
        change.touch(ticket)
        change.journal.append(
            JournalEntry(
                now,
                actor.label,
                actor.role.value,
                action,
                window=window,
                ticket=ticket.id,
                before=before.value,
                after=new.value,
                detail=dict(detail),
            )
        )
        change.events.append(
            Event(
                event,
                now,
                ticket=ticket.snapshot(),
                window=None if shown_at is None else shown_at.snapshot(),
                detail={"action": action.removeprefix("ticket.")},
            )
        )
