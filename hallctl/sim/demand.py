"""The demand a simulated hall faces (客流): arrival rates per matter and channel for each hour of the day,
service-time distributions per matter, no-shows (过号) and abandonment (离队), validated from a TOML
profile with errors that name the key, or derived from the hall's config when no profile is given.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hallctl.config import WEEKDAYS, Channel, HallConfig
from hallctl.core import routing


class DemandError(Exception):
    """An arrival profile that cannot be used; the message names the file and the key."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


Distribution = Literal["lognormal", "exponential", "fixed"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_HOUR = re.compile(r"^(\d{1,2})(?::00)?$")


class ServiceTime(_Model):
    """How long a matter takes at the window. ``mean_minutes`` defaults to the matter's
    ``service_minutes``; ``cv`` (standard deviation ÷ mean) only applies to lognormal."""

    distribution: Distribution | None = None
    mean_minutes: Annotated[float, Field(gt=0, le=600)] | None = None
    cv: Annotated[float, Field(ge=0, le=5)] | None = None


class Stream(_Model):
    """One stream of citizens: a matter (or a bundle of matters on one ticket) on one channel."""

    matters: tuple[str, ...]
    channel: Channel = "normal"
    # Arrivals per clock hour, keyed by the hour ("9" or "09:00" = 09:00-10:00) ...
    per_hour: dict[int, Annotated[float, Field(ge=0, le=100_000)]] | None = None
    # ... or the same rate in every hour.
    rate_per_hour: Annotated[float, Field(ge=0, le=100_000)] | None = None

    @field_validator("matters", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("per_hour", mode="before")
    @classmethod
    def _hours(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        out: dict[int, Any] = {}
        for key, rate in value.items():
            match = _HOUR.match(str(key))
            if not match or int(match.group(1)) > 23:
                raise ValueError(f"{key!r} is not an hour of the day (0-23, or HH:00)")
            out[int(match.group(1))] = rate
        return out

    def rate(self, hour: int) -> float:
        """Arrivals per hour in the clock hour ``hour`` (0-23)."""
        if self.rate_per_hour is not None:
            return self.rate_per_hour
        return (self.per_hour or {}).get(hour, 0.0)

    @property
    def label(self) -> str:
        return "+".join(self.matters)


class NoShows(_Model):
    # The chance a called citizen never comes (left without saying, or in the wrong hall).
    probability: Annotated[float, Field(ge=0, le=1)] = 0.0
    # How long the window recalls (重呼) before it marks the ticket a no-show: the window is busy that long.
    recall_wait_seconds: Annotated[float, Field(ge=0, le=3600)] = 60.0


class Abandonment(_Model):
    """How long a citizen is willing to wait before leaving; ``none`` = everyone stays."""

    patience: Literal["none", "exponential", "lognormal"] = "none"
    mean_minutes: Annotated[float, Field(gt=0, le=24 * 60)] = 60.0
    cv: Annotated[float, Field(ge=0, le=5)] = 1.0


class ArrivalProfile(_Model):
    """An arrival profile file (``--arrivals``); see docs/simulator.md and config/arrivals.example.toml."""

    description: str = ""
    # The weekdays this demand describes: only those days are simulated (none listed: every open day).
    weekdays: tuple[Weekday, ...] = ()
    service_defaults: ServiceTime = ServiceTime()
    service: dict[str, ServiceTime] = {}
    no_show: NoShows = NoShows()
    abandonment: Abandonment = Abandonment()
    arrivals: tuple[Stream, ...]


@dataclass(frozen=True, slots=True)
class ServiceLaw:
    """A resolved service-time distribution in seconds."""

    distribution: Distribution
    mean_seconds: float
    cv: float

    @property
    def lognormal_mu_sigma(self) -> tuple[float, float]:
        sigma2 = math.log(1.0 + self.cv * self.cv)
        return math.log(self.mean_seconds) - sigma2 / 2.0, math.sqrt(sigma2)


@dataclass(frozen=True, slots=True)
class Demand:
    """A validated profile resolved against one hall: what the engine reads."""

    streams: tuple[Stream, ...]
    service: dict[str, ServiceLaw]  # matter code -> law
    no_show: NoShows
    abandonment: Abandonment
    description: str = ""
    weekdays: frozenset[int] = frozenset(range(7))  # Monday = 0: the days of the week to simulate

    def arrivals_per_day(self) -> float:
        return sum(s.rate(h) for s in self.streams for h in range(24))


DEFAULT_CV = 0.7  # handling times in halls vary a lot: a short question, a missing document, a long case


def resolve(profile: ArrivalProfile, config: HallConfig, source: str = "<arrivals>") -> Demand:
    """Check a profile against the hall (every matter exists, some window serves each stream) and resolve
    the service times. DemandError names the key of the first problem."""
    problems: list[str] = []
    profiles = [config.profiles[w.profile] for w in config.windows]
    for i, stream in enumerate(profile.arrivals):
        key = f"arrivals[{i}]"
        if (stream.per_hour is None) == (stream.rate_per_hour is None):
            problems.append(f"{key}: give exactly one of per_hour and rate_per_hour")
        if not stream.matters:
            problems.append(f"{key}.matters: name at least one matter")
            continue
        if len(set(stream.matters)) != len(stream.matters):
            problems.append(f"{key}.matters: a matter is listed twice")
        unknown = [m for m in stream.matters if m not in config.matters_by_code]
        if unknown:
            problems.append(f"{key}.matters: unknown matter {unknown[0]!r}")
        elif not routing.can_any_serve(profiles, stream.matters, stream.channel):
            problems.append(f"{key}.channel: no window of the hall serves {stream.label} on {stream.channel}")
    for code in profile.service:
        if code not in config.matters_by_code:
            problems.append(f"service.{code}: unknown matter {code!r}")
    if problems:
        raise DemandError(f"{source}: " + "; ".join(problems))
    defaults = profile.service_defaults
    laws: dict[str, ServiceLaw] = {}
    for matter in config.matters:
        own = profile.service.get(matter.code, ServiceTime())
        mean = own.mean_minutes or defaults.mean_minutes or matter.service_minutes
        laws[matter.code] = ServiceLaw(
            distribution=own.distribution or defaults.distribution or "lognormal",
            mean_seconds=mean * 60.0,
            cv=own.cv if own.cv is not None else defaults.cv if defaults.cv is not None else DEFAULT_CV,
        )
    weekdays = frozenset(WEEKDAYS.index(d) for d in profile.weekdays) or frozenset(range(7))
    return Demand(profile.arrivals, laws, profile.no_show, profile.abandonment, profile.description, weekdays)


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out or "(top level)"


def parse_profile(data: Mapping[str, Any], config: HallConfig, source: str = "<arrivals>") -> Demand:
    try:
        profile = ArrivalProfile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            # pydantic adds "[key]" steps for dict keys and "function-..." steps for validators: drop both
            loc = tuple(p for p in err["loc"] if not str(p).startswith("function-") and p != "[key]")
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{_location(loc)}: {msg.removeprefix('Value error, ')}")
        raise DemandError(f"{source}: " + "; ".join(problems)) from None
    return resolve(profile, config, source)


def load_profile(path: Path, config: HallConfig) -> Demand:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise DemandError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DemandError(f"{path}: not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DemandError(f"{path}: not valid TOML: {exc}") from None
    return parse_profile(data, config, str(path))
