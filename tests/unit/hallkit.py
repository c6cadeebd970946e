"""Small helpers the unit tests share: a fixed clock in hall time, actors, and a snapshot of a hall.

Kept out of conftest.py so tests can import them by name; fixtures stay in conftest.py.
"""

from __future__ import annotations

import copy
import itertools
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hallctl.config import HallConfig, parse_config
from hallctl.core import counter, issuing
from hallctl.core.credit_code import check_character
from hallctl.core.model import Actor, Role, Ticket
from hallctl.core.state import HallState

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "hall.example.toml"
SHANGHAI = ZoneInfo("Asia/Shanghai")

KIOSK = Actor(Role.KIOSK, "kiosk-1")
MANAGER = Actor(Role.MANAGER, "科长")
BOOKING = Actor(Role.BOOKING, "12333")

# A Monday (the hall is open 08:30-12:00 and 13:00-17:30); tests move the clock by adding seconds.
MONDAY = "2026-03-02"
MINUTE = 60.0


def at(local: str) -> float:
    """Epoch seconds of a wall-clock time in the hall's zone, e.g. ``at("2026-03-02 09:00")``."""
    return datetime.fromisoformat(local).replace(tzinfo=SHANGHAI).timestamp()


OPENING = at(f"{MONDAY} 08:30")
NINE = at(f"{MONDAY} 09:00")


def clerk(window: int) -> Actor:
    """The clerk who works at a window in these tests (clerk c3 sits at window 3)."""
    return Actor(Role.CLERK, f"柜员{window}", clerk=f"c{window}")


def example_data() -> dict[str, Any]:
    """The example configuration as plain TOML data, to be changed by a test and parsed again."""
    return tomllib.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8"))


def config_with(change: dict[str, dict[str, Any]] | None = None, **top: Any) -> HallConfig:
    """The example configuration with some sections' keys replaced, e.g. ``config_with({"hall": {...}})``."""
    data = copy.deepcopy(example_data())
    for section, values in (change or {}).items():
        data[section].update(values)
    data.update(top)
    return parse_config(data, "test.toml")


def counting_tokens() -> Any:
    """A deterministic track-token maker, so two runs of a test build equal halls."""
    numbers = itertools.count(1)
    return lambda: f"token-{next(numbers)}"


def new_hall(config: HallConfig, now: float = OPENING, *, always_open: bool = False) -> HallState:
    return HallState.new(config, now, always_open=always_open, make_token=counting_tokens())


def staff(hall: HallState, now: float, *windows: int) -> None:
    """Log clerk cN in at window N for each window named (every window if none is named)."""
    for window in windows or tuple(hall.windows):
        counter.login(hall, now, clerk(window), window)


def issue(
    hall: HallState,
    now: float,
    *matters: str,
    channel: Any = "normal",
    credit_code: str | None = None,
    appointment_code: str | None = None,
) -> Ticket:
    """Issue a ticket at the kiosk and return it."""
    request = issuing.IssueRequest(
        matters=tuple(matters), channel=channel, credit_code=credit_code, appointment_code=appointment_code
    )
    ticket = issuing.issue(hall, now, KIOSK, request).result
    assert isinstance(ticket, Ticket)
    return ticket


def credit_code(first17: str = "91350100M000100Y4") -> str:
    """A well-formed unified social credit code: 17 characters and their check character."""
    return first17 + check_character(first17)


def queue_order(hall: HallState) -> dict[Any, list[tuple[float, int]]]:
    return {key: list(bucket) for key, bucket in hall.queues.buckets()}


def fingerprint(hall: HallState) -> dict[str, Any]:
    """Everything a command could change, as plain data: compare before and after a refused command."""
    return {
        "tickets": {i: t.snapshot() for i, t in hall.tickets.items()},
        "windows": {i: w.snapshot() for i, w in hall.windows.items()},
        "appointments": {c: a.snapshot() for c, a in hall.appointments.items()},
        "queues": queue_order(hall),
        "forced": set(hall.forced),
        "last_seq": dict(hall.last_seq),
        "issued": dict(hall.issued),
        "next_id": hall.next_id,
        "day": hall.day,
    }
