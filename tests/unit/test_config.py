"""The hall configuration: the example loads, and every mistake is reported with the file and dotted key."""

from __future__ import annotations

import copy
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from hallkit import SHANGHAI, at, example_data

from hallctl.config import ConfigError, HallConfig, Hours, OpeningSpan, load_config, parse_config
from hallctl.core.calendar import is_open


def problem(data: dict[str, Any], source: str = "hall.toml") -> str:
    """The ConfigError message for a configuration that must be refused."""
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source)
    return str(caught.value)


def changed(edit: Any) -> dict[str, Any]:
    data = copy.deepcopy(example_data())
    edit(data)
    return data


# -- the example ------------------------------------------------------------------------------------


def test_example_config_loads(example_config: HallConfig) -> None:
    assert example_config.hall.id == "demo-district"
    assert example_config.hall.number_digits == 4
    assert example_config.hall.channel_prefixes == {"enterprise": "Q", "green": "G"}
    assert example_config.rules.starvation_bound == 8
    assert len(example_config.matters) == 13
    assert set(example_config.profiles) == {"integrated", "consultation", "enterprise", "green"}
    assert [w.id for w in example_config.windows] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert example_config.matter("ZX").prefix == "Z"
    assert example_config.group("Q").name == "大企业"


def test_example_config_weekday_shorthand_covers_monday_to_friday(example_config: HallConfig) -> None:
    hours = example_config.hours
    expected = (OpeningSpan(start=time(8, 30), end=time(12)), OpeningSpan(start=time(13), end=time(17, 30)))
    for weekday in range(5):
        assert hours.spans_on(weekday) == expected
    assert hours.spans_on(5) == (OpeningSpan(start=time(9), end=time(12)),)
    assert hours.spans_on(6) == ()


def test_config_models_are_frozen(example_config: HallConfig) -> None:
    with pytest.raises(ValueError, match="frozen"):
        example_config.rules.max_recalls = 99  # type: ignore[misc]


def test_lookup_of_an_unknown_matter_raises_key_error(example_config: HallConfig) -> None:
    with pytest.raises(KeyError):
        example_config.matter("NOPE")


# -- errors name the file and the dotted key --------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d.update(printer={"port": "/dev/usb/lp0"}), "printer: unknown key"),
        (lambda d: d["rules"].update(max_recall=3), "rules.max_recall: unknown key"),
        (lambda d: d["matters"][5].update(colour="red"), "matters[5].colour: unknown key"),
        (
            lambda d: d["profiles"]["green"]["rules"][0].update(minute=1),
            "profiles.green.rules[0].minute: unknown key",
        ),
        (lambda d: d["windows"][2].update(printer="lp0"), "windows[2].printer: unknown key"),
    ],
    ids=["section", "rules-key", "matter-key", "routing-rule-key", "window-key"],
)
def test_unknown_keys_are_named(edit: Any, expected: str) -> None:
    assert problem(changed(edit)) == f"hall.toml: {expected}"


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda d: d["matters"][3].update(target_wait_minutes=0), "matters[3].target_wait_minutes"),
        (lambda d: d["matters"][3].update(target_wait_minutes="soon"), "matters[3].target_wait_minutes"),
        (lambda d: d["matters"][0].update(daily_cap=0), "matters[0].daily_cap"),
        (lambda d: d["matters"][0].update(code="cbdj"), "matters[0].code"),
        (lambda d: d["matters"][0].update(prefix="Y"), "matters[0].prefix"),
        (lambda d: d["hall"].update(number_digits=7), "hall.number_digits"),
        (lambda d: d["hall"].update(id="Demo District"), "hall.id"),
        (lambda d: d["hall"].update(language="fr"), "hall.language"),
        (lambda d: d["hall"].pop("name"), "hall.name"),
        (lambda d: d["hall"].update(channel_prefixes={"green": "X"}), "hall.channel_prefixes.green"),
        (lambda d: d["rules"].update(starvation_bound=0), "rules.starvation_bound"),
        (lambda d: d["rules"].update(appointment_late="ignore"), "rules.appointment_late"),
        (lambda d: d["profiles"].update(x={"matters": ["NOPE"]}), "profiles.x.matters"),
        (lambda d: d["profiles"].update(x={"matters": []}), "profiles.x.matters"),
        (lambda d: d["profiles"]["green"].update(channels=["vip"]), "profiles.green.channels[0]"),
        (lambda d: d["profiles"]["green"].update(rules=[{"rule": "nope"}]), "profiles.green.rules[0].rule"),
        (
            lambda d: d["profiles"]["integrated"]["rules"][2].update(minutes=-1),
            "profiles.integrated.rules[2].minutes",
        ),
        (lambda d: d["windows"][0].update(kind="vip"), "windows[0].kind"),
        (lambda d: d["windows"][0].update(id=0), "windows[0].id"),
        (lambda d: d.update(windows=[]), "windows"),
        (lambda d: d["groups"].append({"prefix": "A", "name": "again"}), "groups"),
    ],
)
def test_bad_values_name_the_dotted_key(edit: Any, key: str) -> None:
    message = problem(changed(edit))
    assert message.startswith(f"hall.toml: {key}: "), message


def test_window_with_an_unknown_profile_is_refused() -> None:
    message = problem(changed(lambda d: d["windows"][2].update(profile="vip")))
    assert message == "hall.toml: windows[2].profile: unknown profile 'vip'"


def test_duplicate_matter_code_names_the_repeat() -> None:
    message = problem(changed(lambda d: d["matters"][5].update(code="CBDJ")))
    assert message.startswith("hall.toml: matters[5].code: 'CBDJ' is listed twice")
    assert "matters[0]" in message


def test_duplicate_window_id_names_the_repeat() -> None:
    message = problem(changed(lambda d: d["windows"].append({**d["windows"][0], "name": "again"})))
    assert message.startswith("hall.toml: windows[8].id: window 1 is listed twice")


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "Asia", "", "../etc/passwd", "Asia/Shanghai "])
def test_bad_time_zone_is_refused(zone: str) -> None:
    message = problem(changed(lambda d: d["hall"].update(timezone=zone)))
    assert message == f"hall.toml: hall.timezone: unknown time zone {zone!r}"


def test_several_problems_are_reported_together() -> None:
    def edit(d: dict[str, Any]) -> None:
        d["matters"][1]["service_minutes"] = 0
        d["rules"]["max_recalls"] = -1

    message = problem(changed(edit))
    assert "matters[1].service_minutes" in message
    assert "rules.max_recalls" in message


# -- opening hours ----------------------------------------------------------------------------------


def test_opening_span_parses_hh_mm_pairs() -> None:
    assert OpeningSpan.parse("08:30-12:00") == OpeningSpan(start=time(8, 30), end=time(12, 0))


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("8:30-12:00", "is not HH:MM-HH:MM"),
        ("08:30 - 12:00", "is not HH:MM-HH:MM"),
        ("08:30", "is not HH:MM-HH:MM"),
        ("12:00-08:30", "ends before it starts"),
        ("12:00-12:00", "ends before it starts"),
        ("25:00-26:00", "hour must be in 0..23"),
        ("08:61-09:00", "minute must be in 0..59"),
    ],
)
def test_bad_opening_spans_are_refused(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        OpeningSpan.parse(text)
    message = problem(changed(lambda d: d["hours"].update(monday=[text])))
    assert message.startswith("hall.toml: hours: monday: "), message
    assert repr(text) in message
    assert why in message


def test_bad_span_in_the_weekday_shorthand_names_the_shorthand() -> None:
    message = problem(changed(lambda d: d["hours"].update(weekdays=["08:30-12:00", "1pm-5pm"])))
    assert message == "hall.toml: hours: weekdays: '1pm-5pm' is not HH:MM-HH:MM"


def test_a_named_day_overrides_the_weekday_shorthand() -> None:
    hours = Hours.model_validate({"weekdays": ["08:30-12:00"], "friday": ["08:30-11:00"]})
    assert hours.spans_on(0) == (OpeningSpan(start=time(8, 30), end=time(12)),)
    assert hours.spans_on(4) == (OpeningSpan(start=time(8, 30), end=time(11)),)


@pytest.mark.parametrize("bad", ["2027-13-45", "next monday", "2027/01/01"])
def test_closed_dates_must_be_dates(bad: str) -> None:
    message = problem(changed(lambda d: d["hours"].update(closed_dates=["2027-01-01", bad])))
    assert message.startswith("hall.toml: hours.closed_dates: "), message
    assert repr(bad) in message


def test_closed_dates_accept_bare_toml_dates(tmp_path: Path) -> None:
    text = (Path(__file__).parents[2] / "config" / "hall.example.toml").read_text(encoding="utf-8")
    text = text.replace('closed_dates = ["2027-01-01"', "closed_dates = [2027-01-01")
    path = tmp_path / "hall.toml"
    path.write_text(text, encoding="utf-8")
    assert load_config(path).hours.closed_dates[0] == "2027-01-01"


def test_hall_is_open_only_within_spans_and_not_on_closed_dates(example_config: HallConfig) -> None:
    hours = example_config.hours
    assert is_open(hours, at("2026-03-02 08:30"), SHANGHAI)
    assert not is_open(hours, at("2026-03-02 08:29:59"), SHANGHAI)
    assert not is_open(hours, at("2026-03-02 12:00"), SHANGHAI)  # a span's end is exclusive
    assert is_open(hours, at("2026-03-02 13:00"), SHANGHAI)
    assert is_open(hours, at("2026-03-07 11:00"), SHANGHAI)  # Saturday morning
    assert not is_open(hours, at("2026-03-08 10:00"), SHANGHAI)  # Sunday
    assert not is_open(hours, at("2027-10-01 10:00"), SHANGHAI)  # a Friday, but a closed date


# -- loading files ----------------------------------------------------------------------------------


def test_load_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "hall.toml"
    text = (Path(__file__).parents[2] / "config" / "hall.example.toml").read_text(encoding="utf-8")
    path.write_text(text.replace("max_recalls = 3", "max_recalls = 30"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^.*hall\.toml: rules\.max_recalls: ") as caught:
        load_config(path)
    assert str(caught.value).startswith(str(path))


@pytest.mark.parametrize(
    ("content", "why"),
    [(b"[hall\n", "not valid TOML"), (b"\xff\xfe[hall]", "not UTF-8 text")],
)
def test_unreadable_files_are_config_errors(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "hall.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=why):
        load_config(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
