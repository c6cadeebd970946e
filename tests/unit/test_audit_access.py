"""The endpoint rules (tokens used from a role's unusual endpoint) on access records as the daemon writes
them: each variant fires, its settings move it, and an ordinary week does not fire at all. Also the
client address behind a trusted proxy, and the settings' validation."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hallkit import MINUTE, SHANGHAI, at

from hallctl.audit.anomalies import screen
from hallctl.audit.classes import Classifier, OpeningHours
from hallctl.audit.findings import AddressUse, Anomaly, Inputs, Refusal
from hallctl.audit.rules_access import forbidden_requests, foreign_network, inside, new_address
from hallctl.config import HallConfig
from hallctl.config_audit import TOKEN_ROLES, Audit, UnusualEndpoint
from hallctl.core.model import Role
from hallctl.web.access import forwarded_client, normal_address

HOUR = 3600.0
MONDAY, TUESDAY, WEDNESDAY = at("2026-03-02 00:00"), at("2026-03-03 00:00"), at("2026-03-04 00:00")
KIOSK_NET = {"kiosk": ("10.1.0.0/24",), "clerk": ("10.2.0.0/24",)}


def use(
    token: int, address: str, first: float, last: float, uses: int = 100, role: str = "kiosk"
) -> AddressUse:
    return AddressUse(token, f"{role}-{token}", role, address, first, last, uses)


def refusal(token: int, when: float, endpoint: str = "POST /api/v1/windows/{window}/open") -> Refusal:
    return Refusal(when, token, f"kiosk-{token}", "kiosk", "10.1.0.11", endpoint)


def inputs(
    config: HallConfig,
    addresses: list[AddressUse],
    refusals: list[Refusal] = [],  # noqa: B006 - never mutated
    *,
    start: float = TUESDAY,
    end: float = WEDNESDAY,
    **rule: Any,
) -> Inputs:
    audit = Audit(unusual_endpoint=UnusualEndpoint(**rule))
    hours = OpeningHours(config.hours, SHANGHAI, audit.grace_minutes)
    return Inputs(
        [], {}, [], audit, Classifier(audit.classes, hours), SHANGHAI, "d", addresses, refusals, start, end
    )


def only(found: list[Anomaly], rule: str) -> Anomaly:
    assert [a.rule for a in found] == [rule], [a.summary for a in found]
    return found[0]


# -- outside the role's networks -------------------------------------------------------------------------


def test_a_kiosk_token_used_from_outside_the_kiosk_network_fires_with_its_addresses(
    example_config: HallConfig,
) -> None:
    rows = [
        use(3, "10.1.0.11", MONDAY + 9 * HOUR, TUESDAY + 17 * HOUR),
        use(3, "192.168.7.20", TUESDAY + 20 * HOUR, TUESDAY + 21 * HOUR, uses=4),
    ]
    found = only(foreign_network(inputs(example_config, rows, networks=KIOSK_NET)), "foreign_network")
    assert found.day == "2026-03-03"
    assert found.actor == "kiosk-3"
    assert "token #3" in found.summary and "192.168.7.20" in found.summary and "10.1.0.0/24" in found.summary
    assert [(e["token"], e["role"], e["address"], e["uses"]) for e in found.evidence] == [
        (3, "kiosk", "192.168.7.20", 4)
    ]
    assert found.evidence[0]["first_seen"].startswith("2026-03-03T20:00")


def test_without_networks_a_role_may_be_used_from_anywhere(example_config: HallConfig) -> None:
    rows = [use(3, "192.168.7.20", TUESDAY + 9 * HOUR, TUESDAY + 10 * HOUR)]
    assert foreign_network(inputs(example_config, rows)) == []
    assert foreign_network(inputs(example_config, rows, networks={"clerk": ("10.2.0.0/24",)})) == []


def test_a_use_outside_the_reports_range_is_not_screened(example_config: HallConfig) -> None:
    rows = [use(3, "192.168.7.20", MONDAY + 9 * HOUR, MONDAY + 10 * HOUR)]
    assert foreign_network(inputs(example_config, rows, networks=KIOSK_NET)) == []


def test_an_address_that_does_not_parse_is_outside_every_network() -> None:
    nets = [ipaddress.ip_network("10.1.0.0/24"), ipaddress.ip_network("fd00::/8")]
    assert inside("10.1.0.200", nets) and inside("fd00::5", nets)
    assert not inside("10.1.1.1", nets) and not inside("unknown", nets) and not inside("::1", nets)


# -- a new address after settling ------------------------------------------------------------------------


def test_a_token_settled_at_one_address_then_used_from_another_fires(example_config: HallConfig) -> None:
    rows = [
        use(5, "10.1.0.12", MONDAY + 8 * HOUR, TUESDAY + 17 * HOUR, uses=400),
        use(5, "10.1.0.99", TUESDAY + 11 * HOUR, TUESDAY + 11 * HOUR + MINUTE, uses=3),
    ]
    found = only(new_address(inputs(example_config, rows)), "new_address")
    assert found.day == "2026-03-03" and found.actor == "kiosk-5"
    assert "10.1.0.99" in found.summary and "10.1.0.12" in found.summary
    assert [(e["address"], e["note"]) for e in found.evidence] == [
        ("10.1.0.99", "new address"),
        ("10.1.0.12", "settled address"),
    ]


def test_a_new_tokens_second_address_on_its_first_day_is_not_a_move(example_config: HallConfig) -> None:
    rows = [
        use(5, "10.1.0.12", TUESDAY + 8 * HOUR, TUESDAY + 17 * HOUR, uses=400),
        use(5, "10.1.0.99", TUESDAY + 11 * HOUR, TUESDAY + 12 * HOUR),
    ]
    assert new_address(inputs(example_config, rows)) == []
    # ... unless the hall says a token settles within the hour
    assert new_address(inputs(example_config, rows, settle_hours=1)) != []


def test_an_address_used_only_a_few_times_does_not_settle_a_token(example_config: HallConfig) -> None:
    rows = [
        use(5, "10.1.0.12", MONDAY + 8 * HOUR, MONDAY + 9 * HOUR, uses=3),
        use(5, "10.1.0.99", TUESDAY + 11 * HOUR, TUESDAY + 12 * HOUR),
    ]
    assert new_address(inputs(example_config, rows)) == []
    assert new_address(inputs(example_config, rows, settle_uses=3)) != []
    assert new_address(inputs(example_config, rows, settle_uses=3, settle_hours=0)) == []  # switched off


# -- refused again and again ----------------------------------------------------------------------------


def test_refusals_in_a_burst_fire_with_the_endpoints_and_times(example_config: HallConfig) -> None:
    nine = TUESDAY + 9 * HOUR
    probes = [
        refusal(7, nine + 20 * i, f"POST /api/v1/windows/{{window}}/{verb}")
        for i, verb in enumerate(["open", "close", "open", "profile", "open"])
    ]
    found = only(forbidden_requests(inputs(example_config, [], probes)), "forbidden_requests")
    assert found.day == "2026-03-03" and found.actor == "kiosk-7" and found.evidence_total == 5
    assert "POST /api/v1/windows/{window}/profile" in found.summary and "10.1.0.11" in found.summary
    assert found.evidence[0] == {
        "token": 7,
        "actor": "kiosk-7",
        "role": "kiosk",
        "address": "10.1.0.11",
        "at": "2026-03-03T09:00:00+08:00",
        "endpoint": "POST /api/v1/windows/{window}/open",
        "note": "role_forbidden",
    }


def test_refusals_spread_over_the_day_do_not_fire(example_config: HallConfig) -> None:
    spread = [refusal(7, TUESDAY + 9 * HOUR + i * 11 * MINUTE) for i in range(8)]
    assert forbidden_requests(inputs(example_config, [], spread)) == []
    assert forbidden_requests(inputs(example_config, [], spread, forbidden_minutes=60)) != []
    burst = [refusal(7, TUESDAY + 9 * HOUR + i) for i in range(8)]
    assert forbidden_requests(inputs(example_config, [], burst, forbidden_count=0)) == []  # switched off


# -- an ordinary week -----------------------------------------------------------------------------------


def test_an_ordinary_week_of_tokens_raises_nothing(example_config: HallConfig) -> None:
    days = [at(f"2026-03-0{d} 00:00") for d in range(2, 7)]
    rows = [
        use(1, "10.1.0.11", days[0] + 8 * HOUR, days[-1] + 17 * HOUR, uses=3000),  # kiosk 1
        use(2, "10.1.0.12", days[0] + 8 * HOUR, days[-1] + 17 * HOUR, uses=2800),  # kiosk 2
        use(3, "10.2.0.21", days[0] + 8 * HOUR, days[-1] + 17 * HOUR, uses=900, role="clerk"),
        use(4, "10.2.0.22", days[2] + 8 * HOUR, days[-1] + 17 * HOUR, uses=500, role="clerk"),  # a new clerk
        use(5, "10.9.9.9", days[0] + 8 * HOUR, days[-1] + 17 * HOUR, uses=300, role="manager"),
        use(5, "10.9.9.10", days[0] + 8 * HOUR, days[0] + 9 * HOUR, uses=30, role="manager"),
    ]
    # a page left on a kiosk token tries the dashboard's figures twice a day
    refusals = [refusal(1, d + h * HOUR, "GET /api/v1/stats") for d in days for h in (9, 15)]
    week = inputs(example_config, rows, refusals, start=days[0], end=days[-1] + 24 * HOUR, networks=KIOSK_NET)
    assert screen(week) == []


def test_the_rule_can_be_switched_off(example_config: HallConfig) -> None:
    rows = [use(3, "192.168.7.20", TUESDAY + 9 * HOUR, TUESDAY + 10 * HOUR)]
    assert [a.rule for a in screen(inputs(example_config, rows, networks=KIOSK_NET))] == ["foreign_network"]
    assert screen(inputs(example_config, rows, networks=KIOSK_NET, enabled=False)) == []


# -- settings and addresses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"networks": {"kiosk": ["10.1.0.300/24"]}}, "networks.kiosk: '10.1.0.300/24' is not a network"),
        ({"networks": {"kiosk": ["10.1.0.5/24"]}}, "has host bits set"),
        ({"networks": {"robot": ["10.1.0.0/24"]}}, "networks: 'robot' is not a role"),
        ({"settle_hours": -1}, "settle_hours"),
    ],
)
def test_bad_endpoint_settings_are_refused_naming_the_key(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        Audit.model_validate({"unusual_endpoint": rule})


def test_a_bad_trusted_proxy_is_refused() -> None:
    with pytest.raises(ValueError, match="trusted_proxies: 'proxy' is not a network"):
        Audit.model_validate({"access": {"trusted_proxies": ["proxy"]}})


def test_the_settings_know_every_token_role() -> None:
    assert set(TOKEN_ROLES) == {r.value for r in Role if r is not Role.SYSTEM}


TRUSTED = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/30"))


@pytest.mark.parametrize(
    ("header", "client"),
    [
        ("10.1.0.11", "10.1.0.11"),
        ("10.1.0.11, 10.0.0.2", "10.1.0.11"),  # through a second trusted proxy
        ("6.6.6.6, 10.1.0.11", "10.1.0.11"),  # what the client wrote itself is left of the last hop
        ("::ffff:10.1.0.11", "10.1.0.11"),
        ("10.0.0.1, 127.0.0.1", "10.0.0.1"),  # only proxies: the first of them
        ("not-an-address", None),
        ("", None),
    ],
)
def test_the_client_behind_trusted_proxies(header: str, client: str | None) -> None:
    assert forwarded_client(header, TRUSTED) == client


def test_an_ipv4_client_on_an_ipv6_socket_is_one_address() -> None:
    assert normal_address("::ffff:10.1.0.11") == "10.1.0.11"
    assert normal_address("fd00::1") == "fd00::1"
