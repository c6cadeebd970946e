"""Generated and reference docs cannot drift: every config key is described, the endpoint table is current."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from hallctl import config_audit as aud
from hallctl import config_devices as dev
from hallctl.config import (
    Forecast,
    Group,
    Hall,
    HallConfig,
    Hours,
    Matter,
    Profile,
    RoutingRule,
    Rules,
    Window,
)
from hallctl.web.reference import endpoint_table

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _keys(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def test_every_config_key_is_described_in_docs_config() -> None:
    text = (DOCS / "config.md").read_text(encoding="utf-8")
    models: list[type[BaseModel]] = [
        HallConfig,
        Hall,
        Hours,
        Rules,
        Group,
        Matter,
        Profile,
        RoutingRule,
        Window,
        Forecast,
        *(dev.Devices, dev.Mqtt, dev.Voice, dev.Ratings, dev.Board),
        *(dev.WindowDisplay, dev.CallKeypad, dev.RatingKeypad, dev.Printer),
        *(aud.Audit, aud.AuditClasses, aud.OutOfOrder, aud.ShortService, aud.NoShows, aud.Hoarding),
        *(aud.FastRatings, aud.HighRatings, aud.OutsideHours, aud.FollowUp),
        *(aud.UnusualEndpoint, aud.Access),
    ]
    forms = (
        "`{k}`",
        "`[{k}]`",
        "`[[{k}]]`",
        "`[{k}.NAME]`",
        "`[devices.{k}]`",
        "`[[devices.{k}]]`",
        "`[audit.{k}]`",
    )
    missing = sorted(
        f"{m.__name__}.{k}"
        for m in models
        for k in _keys(m)
        if not any(form.format(k=k) in text for form in forms)
    )
    assert not missing, f"docs/config.md does not describe: {', '.join(missing)}"


def test_the_endpoint_table_in_docs_api_is_current() -> None:
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    assert endpoint_table() in text, (
        "docs/api.md is stale: paste the output of python -m hallctl.web.reference"
    )
