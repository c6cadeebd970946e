"""Anomaly rules on where tokens are used from (tokens used from a role's unusual endpoint): a token used
from outside its role's networks, from a new address after it had settled on others, or refused again and
again on endpoints its role may not use. They read the access record (hallctl/audit/access_log.py), not
the journal: a refused request is never journaled."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from hallctl.audit.classes import local_day
from hallctl.audit.findings import AddressUse, Anomaly, Inputs, Refusal, anomaly
from hallctl.core.calendar import iso

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def token_label(token_id: int, name: str, role: str) -> str:
    """A token as the evidence names it: its name (what the journal calls its holder) and its id."""
    return f"{name or role} (token #{token_id})"


def inside(address: str, networks: Sequence[Network]) -> bool:
    """Whether ``address`` is in one of ``networks``; an address that does not parse is in none."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def _use_row(use: AddressUse, inputs: Inputs, note: str) -> dict[str, Any]:
    return {
        "token": use.token_id,
        "actor": use.name,
        "role": use.role,
        "address": use.address,
        "first_seen": iso(use.first_seen, inputs.zone),
        "last_seen": iso(use.last_seen, inputs.zone),
        "uses": use.uses,
        "note": note,
    }


def _in_range(use: AddressUse, inputs: Inputs) -> bool:
    return use.last_seen >= inputs.start and use.first_seen < inputs.end


def foreign_network(inputs: Inputs) -> list[Anomaly]:
    """A token used, in the range, from an address outside its role's ``networks``."""
    configured = inputs.audit.unusual_endpoint.networks
    networks = {role: [ipaddress.ip_network(n) for n in nets] for role, nets in configured.items()}
    outside: dict[int, list[AddressUse]] = defaultdict(list)
    for use in inputs.addresses:
        if use.role in networks and _in_range(use, inputs) and not inside(use.address, networks[use.role]):
            outside[use.token_id].append(use)
    found = []
    for token_id, uses in sorted(outside.items()):
        uses.sort(key=lambda u: u.first_seen)
        first = uses[0]
        expected = ", ".join(configured[first.role])
        found.append(
            anomaly(
                "foreign_network",
                local_day(max(first.first_seen, inputs.start), inputs.zone),
                f"{token_label(token_id, first.name, first.role)}, role {first.role}, used from "
                f"{', '.join(u.address for u in uses)}: outside the role's networks ({expected})",
                [_use_row(u, inputs, f"outside {expected}") for u in uses],
                actor=first.name,
            )
        )
    return found


def new_address(inputs: Inputs) -> list[Anomaly]:
    """A token first used, in the range, from an address while it had been used from others for at least
    ``settle_hours`` and ``settle_uses`` times (a token copied to another machine, or the machine moved)."""
    rules = inputs.audit.unusual_endpoint
    if rules.settle_hours <= 0:
        return []
    settle = rules.settle_hours * 3600
    by_token: dict[int, list[AddressUse]] = defaultdict(list)
    for use in inputs.addresses:
        by_token[use.token_id].append(use)
    found = []
    for token_id, uses in sorted(by_token.items()):
        uses.sort(key=lambda u: (u.first_seen, u.address))
        for new in uses:
            if not inputs.start <= new.first_seen < inputs.end:
                continue
            settled = [
                u
                for u in uses
                if u.address != new.address
                and u.first_seen <= new.first_seen - settle
                and u.uses >= rules.settle_uses
            ]
            if not settled:
                continue
            who = token_label(token_id, new.name, new.role)
            found.append(
                anomaly(
                    "new_address",
                    local_day(new.first_seen, inputs.zone),
                    f"{who}, role {new.role}, first used from {new.address} at "
                    f"{iso(new.first_seen, inputs.zone)}, after {rules.settle_hours:g} h and "
                    f"{rules.settle_uses}+ uses from {', '.join(u.address for u in settled)}",
                    [_use_row(new, inputs, "new address")]
                    + [_use_row(u, inputs, "settled address") for u in settled],
                    actor=new.name,
                )
            )
    return found


def forbidden_requests(inputs: Inputs) -> list[Anomaly]:
    """``forbidden_count`` or more requests of one token refused with role_forbidden within
    ``forbidden_minutes``: a token probing what its role may not do (or a page set up with the wrong one)."""
    rules = inputs.audit.unusual_endpoint
    if rules.forbidden_count <= 0:
        return []
    by_token: dict[int, list[Refusal]] = defaultdict(list)
    for r in inputs.refusals:
        if inputs.start <= r.at < inputs.end:
            by_token[r.token_id].append(r)
    span = rules.forbidden_minutes * 60
    found = []
    for token_id, refused in sorted(by_token.items()):
        refused.sort(key=lambda r: r.at)
        flagged: dict[int, Refusal] = {}
        left = 0
        for i, r in enumerate(refused):
            while r.at - refused[left].at > span:
                left += 1
            if i - left + 1 >= rules.forbidden_count:
                flagged.update((j, refused[j]) for j in range(left, i + 1))
        if not flagged:
            continue
        rows = [flagged[j] for j in sorted(flagged)]
        first = rows[0]
        endpoints = sorted({r.endpoint for r in rows})
        found.append(
            anomaly(
                "forbidden_requests",
                local_day(first.at, inputs.zone),
                f"{token_label(token_id, first.name, first.role)}, role {first.role}: {len(rows)} requests "
                f"refused (role_forbidden) with {rules.forbidden_count}+ within {rules.forbidden_minutes} "
                f"minutes, from {', '.join(sorted({r.address for r in rows}))}, to {'; '.join(endpoints)}",
                [
                    {
                        "token": r.token_id,
                        "actor": r.name,
                        "role": r.role,
                        "address": r.address,
                        "at": iso(r.at, inputs.zone),
                        "endpoint": r.endpoint,
                        "note": "role_forbidden",
                    }
                    for r in rows
                ],
                actor=first.name,
            )
        )
    return found


def unusual_endpoint(inputs: Inputs) -> list[Anomaly]:
    """The three variants of "tokens used from a role's unusual endpoint", in that order."""
    return foreign_network(inputs) + new_address(inputs) + forbidden_requests(inputs)
