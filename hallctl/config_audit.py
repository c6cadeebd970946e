"""The ``[audit]`` part of the hall's configuration: audit classes, anomaly rules and 差评 follow-up.

Every key has a default, so a hall without an ``[audit]`` section is audited by the defaults; see
docs/audit.md for what each rule looks for and docs/config.md for the keys.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# A journal action (``ticket.void``) or every action of a kind (``token.*``).
_ACTION = re.compile(r"^[a-z_]+\.(\*|[a-z_]+)$")

#: 重点审计: the defaults of the reform documents (manual out-of-order calls, voids, priority changes, rating
#: corrections, configuration and profile changes, tokens). ``ticket.priority`` and ``rating.correct`` name
#: actions the hall does not offer yet; listing them keeps them key the day they appear.
KEY_ACTIONS = (
    "ticket.call_out_of_order",
    "ticket.void",
    "ticket.priority",
    "rating.correct",
    "window.profile",
    "config.change",
    "token.create",
    "token.revoke",
    "followup.close",
)
#: 事中审计: transfers, suspends and no-shows (and recalls beyond ``recalls_general``).
IN_PROCESS_ACTIONS = ("ticket.transfer", "ticket.suspend", "ticket.no_show")


class AuditClasses(_Model):
    """Which journal actions are 重点审计 (key) and 事中审计 (in-process); every other one is 一般审计."""

    key: tuple[str, ...] = KEY_ACTIONS
    in_process: tuple[str, ...] = IN_PROCESS_ACTIONS
    # Recalls up to this count are ordinary (general); the ones after it are in-process ("recalls beyond 2").
    recalls_general: Annotated[int, Field(ge=0, le=20)] = 2
    # Any action by a person (not the daemon itself) outside the opening hours is key.
    outside_hours_key: bool = True

    @field_validator("key", "in_process")
    @classmethod
    def _actions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for action in value:
            if not _ACTION.match(action):
                raise ValueError(f"{action!r} is not an action (kind.name, or kind.* for all of a kind)")
        return value

    @model_validator(mode="after")
    def _disjoint(self) -> AuditClasses:
        both = sorted(set(self.key) & set(self.in_process))
        if both:
            raise ValueError(f"audit.classes: {', '.join(both)} is listed as both key and in_process")
        return self


class OutOfOrder(_Model):
    """A ticket called while an older one of the same queue waited, without a manager's reason."""

    enabled: bool = True
    # Roles whose out-of-order call (插队) with a reason is approved; anyone else's is an anomaly.
    approver_roles: tuple[str, ...] = ("manager",)
    # A reason shorter than this ("1", "x") is no reason.
    min_reason_chars: Annotated[int, Field(ge=1, le=100)] = 2


class ShortService(_Model):
    """Services finished within ``seconds`` of the call, ``min_count`` or more by one clerk in a day."""

    enabled: bool = True
    # Too high flags honest quick services (a certificate print takes a minute); too low misses padding.
    seconds: Annotated[float, Field(gt=0, le=3600)] = 30.0
    min_count: Annotated[int, Field(ge=1, le=1000)] = 3


class NoShows(_Model):
    """A clerk's run of consecutive no-shows, or a no-show rate far above the hall's."""

    enabled: bool = True
    run: Annotated[int, Field(ge=2, le=100)] = 5
    # The clerk's rate (no-shows per citizen called, come or not) must reach rate_factor times the rest of
    # the hall's, and min_rate, over at least min_calls calls: over a few calls any rate is noise.
    rate_factor: Annotated[float, Field(ge=1, le=100)] = 3.0
    min_rate: Annotated[float, Field(ge=0, le=1)] = 0.2
    min_calls: Annotated[int, Field(ge=1, le=10_000)] = 20


class Hoarding(_Model):
    """Many tickets issued to one unified social credit code in a short time (号贩子)."""

    enabled: bool = True
    max_tickets: Annotated[int, Field(ge=1, le=1000)] = 3  # more than this within ``minutes`` fires
    minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 60


class FastRatings(_Model):
    """Ratings pressed within ``seconds`` of the keypad being armed, again and again at one window."""

    enabled: bool = True
    # A citizen needs a moment to read the keypad; a press within a second is the clerk's own hand.
    seconds: Annotated[float, Field(gt=0, le=60)] = 1.0
    min_count: Annotated[int, Field(ge=1, le=1000)] = 3  # per window and day


class HighRatings(_Model):
    """One window's share of 非常满意 far above the rest of the hall's over the report's range."""

    enabled: bool = True
    # Percentage points above the rest of the hall: halls run at 90 %+ satisfied, so a ratio says little.
    margin: Annotated[float, Field(gt=0, le=1)] = 0.25
    min_ratings: Annotated[int, Field(ge=1, le=10_000)] = 20  # fewer ratings than this prove nothing


class OutsideHours(_Model):
    """Actions by people outside the opening hours (and their grace)."""

    enabled: bool = True


#: The roles a token may have (hallctl/core/model.py ``Role``, less the daemon's own ``system``).
TOKEN_ROLES = ("kiosk", "clerk", "manager", "auditor", "display", "casesys", "booking")


def _networks(value: tuple[str, ...], where: str) -> tuple[str, ...]:
    for text in value:
        try:
            ipaddress.ip_network(text)
        except ValueError as exc:
            raise ValueError(f"{where}: {text!r} is not a network ({exc})") from None
    return value


class Access(_Model):
    """The record of token use the endpoint rules read: where each token was used from, and the requests
    refused because its role may not use the endpoint. Kept in memory and written in batches."""

    # Proxies (CIDRs, e.g. a reverse proxy on the same machine: "127.0.0.1/32") whose X-Forwarded-For
    # header is believed. Without one the header is ignored: any client could write any address in it.
    trusted_proxies: tuple[str, ...] = ()
    # How often the record is written. Longer batches more; shorter loses less if the daemon is killed.
    flush_seconds: Annotated[float, Field(ge=0.5, le=300)] = 5.0
    # Rows kept; the least recently seen addresses and the oldest refusals are dropped beyond these.
    max_addresses: Annotated[int, Field(ge=100, le=1_000_000)] = 20_000
    max_refusals: Annotated[int, Field(ge=100, le=1_000_000)] = 20_000

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _networks(value, "trusted_proxies")


class UnusualEndpoint(_Model):
    """Tokens used from a role's unusual endpoint: from outside the role's networks, from a new address
    after the token had settled on others, or again and again on endpoints the role may not use."""

    enabled: bool = True
    # role -> the networks its tokens are expected at (kiosk = ["10.1.0.0/24"]); a role not listed may
    # be used from anywhere.
    networks: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    # A token is settled once it has been used from an address for this long and this many times; a new
    # address after that fires. 0 hours switches the variant off. Too low flags every new token's second
    # machine; too high misses a kiosk token copied within the first days.
    settle_hours: Annotated[float, Field(ge=0, le=24 * 365)] = 24.0
    settle_uses: Annotated[int, Field(ge=1, le=1_000_000)] = 20
    # This many requests refused with role_forbidden within ``forbidden_minutes`` fire; 0 switches the
    # variant off. A page left on a wrong token makes a few; a probe makes many.
    forbidden_count: Annotated[int, Field(ge=0, le=100_000)] = 5
    forbidden_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 10

    @field_validator("networks")
    @classmethod
    def _roles(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for role, networks in value.items():
            if role not in TOKEN_ROLES:
                raise ValueError(f"networks: {role!r} is not a role ({', '.join(TOKEN_ROLES)})")
            _networks(networks, f"networks.{role}")
        return value


class FollowUp(_Model):
    """差评整改: the follow-up every 不满意/非常不满意 rating opens."""

    # Working days (the hall's opening days) from the rating to the deadline: 5 or 15 seen by province.
    deadline_working_days: Annotated[int, Field(ge=1, le=60)] = 5
    levels: tuple[Annotated[int, Field(ge=1, le=5)], ...] = (1, 2)  # 2 = 不满意, 1 = 非常不满意


class Audit(_Model):
    classes: AuditClasses = AuditClasses()
    # Clerks finish the citizens still in the hall after closing, and open before the doors do: actions
    # within this many minutes of the hours are not "outside". Too high hides real night work.
    grace_minutes: Annotated[int, Field(ge=0, le=240)] = 30
    # The longest range GET /api/v1/audit answers (the CLI has no limit): it runs beside live traffic.
    max_api_days: Annotated[int, Field(ge=1, le=400)] = 93
    out_of_order: OutOfOrder = OutOfOrder()
    short_service: ShortService = ShortService()
    no_shows: NoShows = NoShows()
    hoarding: Hoarding = Hoarding()
    fast_ratings: FastRatings = FastRatings()
    high_ratings: HighRatings = HighRatings()
    outside_hours: OutsideHours = OutsideHours()
    unusual_endpoint: UnusualEndpoint = UnusualEndpoint()
    access: Access = Access()
    followup: FollowUp = FollowUp()
