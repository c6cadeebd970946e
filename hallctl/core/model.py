"""The things of the hall as plain data: tickets, windows, appointments, who acted, and what changed."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from hallctl.config import Channel, Profile, WindowKind

#: What each channel is called where people read it (pages, reports, downloads).
CHANNEL_NAMES: dict[str, str] = {
    "normal": "普通",
    "enterprise": "大企业",
    "green": "绿色通道",
    "appointment": "预约",
}


class TicketState(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    SUSPENDED = "suspended"
    TRANSFERRED = "transferred"  # queued again for its new matter or window, keeping its place
    VOIDED = "voided"


#: States in which a ticket stands in a queue and may be called.
QUEUED = frozenset({TicketState.WAITING, TicketState.TRANSFERRED})
#: States in which a ticket occupies a window.
AT_WINDOW = frozenset({TicketState.CALLED, TicketState.SERVING})
#: States a ticket never leaves (a no-show may still come back, by rule, so it is not final).
FINAL = frozenset({TicketState.DONE, TicketState.VOIDED})


class WindowState(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


class Role(StrEnum):
    KIOSK = "kiosk"
    CLERK = "clerk"
    MANAGER = "manager"
    AUDITOR = "auditor"
    DISPLAY = "display"
    CASESYS = "casesys"
    BOOKING = "booking"  # the online appointment platform (预约平台): creates and cancels appointments
    SYSTEM = "system"  # the daemon itself (day roll-over); never a token's role


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asked for a command: the token's role and name, and the clerk id for clerks."""

    role: Role
    name: str = ""
    clerk: str | None = None

    @property
    def label(self) -> str:
        return self.clerk or self.name or self.role.value


SYSTEM = Actor(Role.SYSTEM, "hallctl")


@dataclass(slots=True)
class Ticket:
    id: int
    number: str  # e.g. "A012": prefix + sequence, zero-padded
    prefix: str
    seq: int
    day: str  # the hall's local business day, ISO date
    matters: tuple[str, ...]
    channel: Channel
    issued_at: float  # epoch seconds
    track_token: str
    state: TicketState = TicketState.WAITING
    # Place in the queue. The issue time, kept through transfers (转办不重新排队); a no-show that comes
    # back gets the time it came back.
    queue_key: float = 0.0
    window: int | None = None  # the window it is called to, served at or parked (suspended) at
    target_window: int | None = None  # set by a transfer to one window
    clerk: str | None = None
    called_at: float | None = None
    first_called_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    recalls: int = 0
    no_show_at: float | None = None
    no_show_returns: int = 0
    transfers: int = 0
    bypassed: int = 0  # later tickets called ahead of it while it was eligible (anti-starvation)
    outcome: str | None = None
    credit_code: str | None = None
    appointment_code: str | None = None
    appointment_start: float | None = None  # when the appointment slot begins
    issued_by: str = ""

    def snapshot(self) -> dict[str, Any]:
        """A plain copy for events (written out by hand: ``asdict`` deep-copies and is 10x slower)."""
        data = {name: getattr(self, name) for name in _TICKET_FIELDS}
        data["state"] = self.state.value
        data["matters"] = list(self.matters)
        return data


_TICKET_FIELDS = tuple(f.name for f in fields(Ticket))


@dataclass(slots=True)
class WindowStatus:
    id: int
    kind: WindowKind
    name: str
    zone: str
    profile_name: str
    profile: Profile
    state: WindowState = WindowState.OPEN
    clerk: str | None = None
    current: int | None = None  # ticket id called to or served at this window
    idle_since: float = 0.0  # when it last became free to call (consultation overflow uses it)
    day: str = ""  # the business day its state belongs to; windows open afresh with each day

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "zone": self.zone,
            "state": self.state.value,
            "clerk": self.clerk,
            "current": self.current,
            "profile_name": self.profile_name,
            "profile": self.profile.data,
            "idle_since": self.idle_since,
            "day": self.day,
        }


@dataclass(slots=True)
class Appointment:
    code: str
    matters: tuple[str, ...]
    slot_start: float
    slot_end: float
    name: str = ""
    created_at: float = 0.0
    created_by: str = ""
    state: str = "booked"  # booked | checked_in | cancelled
    ticket: int | None = None

    def snapshot(self) -> dict[str, Any]:
        data = asdict(self)
        data["matters"] = list(self.matters)
        return data


@dataclass(frozen=True, slots=True)
class Armed:
    """A window's satisfaction keypad waits for a press about this ticket until ``until``."""

    ticket: int
    clerk: str | None
    since: float
    until: float
    rated: bool = False  # the press came: another press is a second press, refused


@dataclass(frozen=True, slots=True)
class Rating:
    """A 好差评 rating: 5 = 非常满意 … 1 = 非常不满意."""

    ticket: int
    window: int
    clerk: str | None
    level: int
    level_name: str
    device: str
    armed_at: float
    rated_at: float


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One line of the audit journal: who did what to which ticket or window, and the state before/after."""

    at: float
    actor: str
    role: str
    action: str
    window: int | None = None
    ticket: int | None = None
    before: str | None = None
    after: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Event:
    """Something subscribers (devices, live pages, metrics) hear about after the change is committed."""

    kind: str  # ticket.issued, ticket.called, ticket.recalled, ticket.changed, window.changed, ...
    at: float
    ticket: dict[str, Any] | None = None
    window: dict[str, Any] | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Change:
    """What one command did: the rows to write, the journal lines, the events, and its answer."""

    tickets: dict[int, Ticket] = field(default_factory=dict)
    windows: dict[int, WindowStatus] = field(default_factory=dict)
    appointments: dict[str, Appointment] = field(default_factory=dict)
    ratings: list[Rating] = field(default_factory=list)
    journal: list[JournalEntry] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    result: Any = None

    def touch(self, item: Ticket | WindowStatus | Appointment) -> None:
        if isinstance(item, Ticket):
            self.tickets[item.id] = item
        elif isinstance(item, WindowStatus):
            self.windows[item.id] = item
        else:
            self.appointments[item.code] = item

    @property
    def empty(self) -> bool:
        return not (self.tickets or self.windows or self.appointments or self.ratings or self.journal)
