"""The hall's configuration: one TOML file validated into frozen, typed models.

Every error names the file and the dotted key (``matters[3].target_wait_minutes``) so an installer can fix
it without reading code. Nothing here touches the network or the database.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import date, time
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hallctl.config_audit import Audit
from hallctl.config_devices import Devices

CHANNELS = ("normal", "enterprise", "green", "appointment")
Channel = Literal["normal", "enterprise", "green", "appointment"]
WindowKind = Literal["integrated", "consultation", "dedicated"]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names the file and the key."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


_SPAN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class OpeningSpan(_Model):
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> OpeningSpan:
        match = _SPAN.match(text)
        if not match:
            raise ValueError(f"{text!r} is not HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        try:
            span = cls(start=time(h1, m1), end=time(h2, m2))
        except ValueError as exc:
            raise ValueError(f"{text!r}: {exc}") from None
        if span.end <= span.start:
            raise ValueError(f"{text!r} ends before it starts")
        return span


class Hours(_Model):
    """Opening hours per weekday; a day left out is closed. Holidays are a list of ISO dates."""

    monday: tuple[OpeningSpan, ...] = ()
    tuesday: tuple[OpeningSpan, ...] = ()
    wednesday: tuple[OpeningSpan, ...] = ()
    thursday: tuple[OpeningSpan, ...] = ()
    friday: tuple[OpeningSpan, ...] = ()
    saturday: tuple[OpeningSpan, ...] = ()
    sunday: tuple[OpeningSpan, ...] = ()
    closed_dates: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _spans(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            weekdays = data.pop("weekdays", None)  # shorthand: the same spans monday..friday
            if weekdays is not None:
                for day in WEEKDAYS[:5]:
                    data.setdefault(day, weekdays)
            for day in WEEKDAYS:
                if day in data and isinstance(data[day], list):
                    # name the day (or the weekdays shorthand) so the installer knows which line to fix
                    key = "weekdays" if weekdays is not None and data[day] is weekdays else day
                    try:
                        data[day] = [OpeningSpan.parse(s) if isinstance(s, str) else s for s in data[day]]
                    except ValueError as exc:
                        raise ValueError(f"{key}: {exc}") from None
        return data

    @field_validator("closed_dates", mode="before")
    @classmethod
    def _dates(cls, value: Any) -> Any:
        # A mistyped date would silently leave the hall issuing tickets on a day it is closed.
        if not isinstance(value, list | tuple):
            return value
        out = []
        for item in value:
            if isinstance(item, date):  # a bare TOML date (2027-01-01) arrives as a date
                item = item.isoformat()
            if isinstance(item, str):
                try:
                    item = date.fromisoformat(item).isoformat()
                except ValueError:
                    raise ValueError(f"{item!r} is not a date (YYYY-MM-DD)") from None
            out.append(item)
        return out

    def spans_on(self, weekday: int) -> tuple[OpeningSpan, ...]:
        spans: tuple[OpeningSpan, ...] = getattr(self, WEEKDAYS[weekday])
        return spans


class Hall(_Model):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
    name: str
    timezone: str = "Asia/Shanghai"
    number_digits: Annotated[int, Field(ge=2, le=6)] = 3
    language: Literal["zh", "en"] = "zh"
    # A channel may number from its own prefix (大企业 Q001, 绿色通道 G001) instead of the matter's.
    channel_prefixes: dict[Channel, str] = {}

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        # OSError: a tz database directory such as "Asia" is found but is not a zone file
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Rules(_Model):
    """Hall-wide rules for the ticket life cycle."""

    max_recalls: Annotated[int, Field(ge=0, le=20)] = 3
    # How many times a no-show may come back to the queue (过号重排). 1 is the common hall rule.
    no_show_returns: Annotated[int, Field(ge=0, le=5)] = 1
    # A no-show may only come back within this many minutes of being marked.
    no_show_return_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 60
    # Anti-starvation (防饿死): no eligible ticket is passed over by more than this many later tickets.
    starvation_bound: Annotated[int, Field(ge=1, le=1000)] = 10
    appointment_early_minutes: Annotated[int, Field(ge=0, le=240)] = 30
    appointment_late_minutes: Annotated[int, Field(ge=0, le=240)] = 15
    # What a late appointment becomes: an ordinary ticket, or refused at the kiosk.
    appointment_late: Literal["normal", "refuse"] = "normal"


class Group(_Model):
    prefix: Annotated[str, Field(pattern=r"^[A-Z]{1,2}$")]
    name: str


class Matter(_Model):
    code: Annotated[str, Field(pattern=r"^[A-Z0-9_]{2,16}$")]
    name: str
    name_en: str = ""
    prefix: str
    target_wait_minutes: Annotated[int, Field(gt=0, le=600)]
    service_minutes: Annotated[float, Field(gt=0, le=600)]
    materials: tuple[str, ...] = ()
    daily_cap: Annotated[int, Field(gt=0)] | None = None


RuleName = Literal["green_first", "appointment_due", "enterprise_overflow", "consultation_overflow"]


class RoutingRule(_Model):
    """One ordered condition of a work profile; see docs/routing.md."""

    rule: RuleName
    # enterprise_overflow: minutes a large-enterprise ticket must have waited before this window may take it.
    # consultation_overflow: seconds this window must have been idle before it may take a consultation.
    minutes: Annotated[float, Field(ge=0)] = 0
    seconds: Annotated[float, Field(ge=0)] = 0


class Profile(_Model):
    """What a window serves: matters ("*" = every matter), channels, and ordered routing rules."""

    matters: tuple[str, ...]
    channels: tuple[Channel, ...] = ("normal", "green", "appointment")
    rules: tuple[RoutingRule, ...] = ()
    description: str = ""

    @cached_property
    def data(self) -> dict[str, Any]:
        """The profile as JSON-ready data, made once: a window's profile goes into its row and its events
        on every call. Callers must not change the dict."""
        return self.model_dump(mode="json")


class Window(_Model):
    id: Annotated[int, Field(ge=1, le=999)]
    kind: WindowKind
    name: str = ""
    profile: str
    zone: str = "main"  # voice zone (语音分区)


class Forecast(_Model):
    """The expected-wait predictor (预计等候时间, docs/prediction.md)."""

    # Off: tickets show the simple estimate (people ahead × service time ÷ windows) and no worker runs.
    enabled: bool = True
    # Sampled runs per prediction: more steadies the p10–p90 range, at linear cost in the worker.
    runs: Annotated[int, Field(ge=1, le=200)] = 15
    # How far back the model learns service times, no-shows and arrivals when the daemon starts.
    history_days: Annotated[int, Field(ge=0, le=366)] = 28
    # At least this long between two predictions, and at least as long as the last one took: the worker
    # then uses at most half a core however busy the hall.
    interval_seconds: Annotated[float, Field(ge=0.05, le=60)] = 0.5
    # Predict again after this long even if nothing changed (a long service makes waits grow).
    refresh_seconds: Annotated[float, Field(ge=1, le=600)] = 30
    # A history CSV (docs/history.md) learned at start before the hall's own tickets: how a hall that
    # moves from an older queuing system gets its own service times on day one. Rows of matters this
    # hall does not have are skipped.
    history_file: Path | None = None

    @field_validator("history_file")
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value


class HallConfig(_Model):
    hall: Hall
    hours: Hours = Hours()
    rules: Rules = Rules()
    groups: tuple[Group, ...]
    matters: tuple[Matter, ...]
    profiles: dict[str, Profile]
    windows: tuple[Window, ...]
    notices: tuple[str, ...] = ()
    devices: Devices = Devices()
    audit: Audit = Audit()
    forecast: Forecast = Forecast()

    @model_validator(mode="after")
    def _references(self) -> HallConfig:
        prefixes = {g.prefix for g in self.groups}
        if len(prefixes) != len(self.groups):
            raise ValueError("groups: a prefix is listed twice")
        for channel, prefix in self.hall.channel_prefixes.items():
            if prefix not in prefixes:
                raise ValueError(f"hall.channel_prefixes.{channel}: {prefix!r} is not a group prefix")
        codes = [m.code for m in self.matters]
        for i, m in enumerate(self.matters):
            if m.prefix not in prefixes:
                raise ValueError(f"matters[{i}].prefix: {m.prefix!r} is not a group prefix")
            if m.code in codes[:i]:  # name the repeat, not the first entry, and say where the first is
                raise ValueError(
                    f"matters[{i}].code: {m.code!r} is listed twice (first at matters[{codes.index(m.code)}])"
                )
        for name, p in self.profiles.items():
            for code in p.matters:
                if code != "*" and code not in codes:
                    raise ValueError(f"profiles.{name}.matters: unknown matter {code!r}")
            if not p.matters:
                raise ValueError(f"profiles.{name}.matters: a profile must serve at least one matter")
        ids = [w.id for w in self.windows]
        for i, w in enumerate(self.windows):
            if w.id in ids[:i]:
                raise ValueError(
                    f"windows[{i}].id: window {w.id} is listed twice (first at windows[{ids.index(w.id)}])"
                )
            if w.profile not in self.profiles:
                raise ValueError(f"windows[{i}].profile: unknown profile {w.profile!r}")
        if not self.windows:
            raise ValueError("windows: the hall needs at least one window")
        bound = {
            "displays": [d.window for d in self.devices.displays],
            "call_keypads": [d.window for d in self.devices.call_keypads],
            "rating_keypads": [d.window for d in self.devices.rating_keypads],
        }
        for kind, windows in bound.items():
            for i, window in enumerate(windows):
                if window not in ids:
                    raise ValueError(f"devices.{kind}[{i}].window: no window {window} in this hall")
        return self

    @cached_property
    def matters_by_code(self) -> dict[str, Matter]:
        # Looked up on every ticket, view and figure: a dict rather than a scan of the list. (A plain
        # cached_property: pydantic's private attributes cost a __getattr__ call on every read.)
        return {m.code: m for m in self.matters}

    def matter(self, code: str) -> Matter:
        """The matter with this code; KeyError if there is none."""
        return self.matters_by_code[code]

    def group(self, prefix: str) -> Group:
        for g in self.groups:
            if g.prefix == prefix:
                return g
        raise KeyError(prefix)


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


def parse_config(data: Mapping[str, Any], source: str = "<config>") -> HallConfig:
    try:
        return HallConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            # model-level validators report their own dotted key in the message
            key = _location(tuple(p for p in err["loc"] if not str(p).startswith("function-")))
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            problems.append(f"{key}: {msg}" if key != "(top level)" else msg)
        raise ConfigError(f"{source}: " + "; ".join(problems)) from None


def load_config(path: Path | str) -> HallConfig:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    forecast = data.get("forecast")
    if isinstance(forecast, dict) and isinstance(forecast.get("history_file"), str):
        # A file named in the config is found beside the config, wherever the daemon was started from.
        forecast["history_file"] = str(path.parent / forecast["history_file"])
    return parse_config(data, str(path))
