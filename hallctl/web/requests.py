"""Request bodies, validated at the edge: an unknown or wrong field is a 422 that names the field."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Code = Annotated[str, Field(min_length=1, max_length=32)]
Reason = Annotated[str, Field(max_length=500)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IssueTicket(Body):
    """One matter (``matter``) or a bundle (``matters``, 打包“一件事”)."""

    matter: Code | None = None
    matters: Annotated[list[Code], Field(min_length=1, max_length=10)] | None = None
    channel: Literal["normal", "enterprise", "green", "appointment"] = "normal"
    credit_code: Annotated[str, Field(max_length=32)] | None = None
    appointment_code: Code | None = None

    @model_validator(mode="after")
    def _one_way(self) -> IssueTicket:
        if self.matter is not None and self.matters is not None:
            raise ValueError("give matter or matters, not both")
        if self.matter is None and self.matters is None and self.channel != "appointment":
            raise ValueError("matter is required")
        return self

    def matter_codes(self) -> tuple[str, ...]:
        if self.matters is not None:
            return tuple(self.matters)
        return (self.matter,) if self.matter is not None else ()


class Empty(Body):
    """No fields (an empty body or {} is fine)."""


class WithReason(Body):
    reason: Reason = ""


class Finish(Body):
    outcome: Literal["completed", "rejected", "incomplete"] = "completed"


class Transfer(Body):
    matters: Annotated[list[Code], Field(min_length=1, max_length=10)] | None = None
    window: Annotated[int, Field(ge=1, le=999)] | None = None
    reason: Reason = ""


class Resume(Body):
    ticket: Annotated[int, Field(ge=1)] | None = None


class CallTicket(Body):
    ticket: Annotated[int, Field(ge=1)]
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class Void(Body):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class InlineProfile(Body):
    matters: Annotated[list[Annotated[str, Field(min_length=1, max_length=16)]], Field(min_length=1)]
    channels: Annotated[list[Literal["normal", "enterprise", "green", "appointment"]], Field(min_length=1)]
    rules: list[dict[str, object]] = []
    description: Annotated[str, Field(max_length=200)] = ""


class SetProfile(Body):
    profile: Annotated[str, Field(min_length=1, max_length=64)] | InlineProfile
    reason: Reason = ""


# The years an appointment slot may lie in (see Book._aware): wide for any real booking, narrow enough
# that every slot can be shown in every time zone.
SLOT_YEARS = (2000, 2099)


class Book(Body):
    code: Code
    matters: Annotated[list[Code], Field(min_length=1, max_length=10)]
    slot_start: datetime
    slot_end: datetime
    name: Annotated[str, Field(max_length=64)] = ""

    @model_validator(mode="after")
    def _aware(self) -> Book:
        if self.slot_start.tzinfo is None or self.slot_end.tzinfo is None:
            raise ValueError("slot_start and slot_end need a UTC offset, e.g. 2026-11-27T09:00:00+08:00")
        # A slot outside these years is a typing mistake; at the calendar's edges (year 1 at +14:00) it
        # cannot even be shown in the hall's zone, and one stored appointment that cannot be shown broke
        # GET /api/v1/appointments (a 500) for everyone.
        if not all(SLOT_YEARS[0] <= slot.year <= SLOT_YEARS[1] for slot in (self.slot_start, self.slot_end)):
            raise ValueError(f"slot_start and slot_end must lie in the years {SLOT_YEARS[0]}-{SLOT_YEARS[1]}")
        return self
