"""/metrics speaks the Prometheus text format, and its numbers follow what happens in the hall."""

from __future__ import annotations

import re
from collections import defaultdict

from .halltest import MINUTE, Hall

_SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r"(?:\{(?P<labels>[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\]|\\.)*\"(?:,[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\]|\\.)*\")*)\})?"
    r" (?P<value>[-+]?(?:[0-9.]+(?:[eE][-+]?[0-9]+)?|Inf|NaN))$"
)
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> tuple[Samples, dict[str, str]]:
    """Samples by (name, labels) and the declared type of each family; fails on any malformed line."""
    samples: Samples = {}
    types: dict[str, str] = {}
    helped: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helped.add(line.split(" ")[2])
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert name not in types, f"{name} declared twice"
            types[name] = kind
        else:
            match = _SAMPLE.match(line)
            assert match, f"not a Prometheus sample line: {line!r}"
            labels = frozenset(_LABEL.findall(match["labels"] or ""))
            key = (match["name"], labels)
            assert key not in samples, f"sample repeated: {line}"
            samples[key] = float(match["value"])
    for name, _ in samples:
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types and family in helped, f"{name} has no # TYPE or # HELP"
    return samples, types


async def scrape(hall: Hall) -> Samples:
    async with hall.client.get("/metrics") as resp:
        assert resp.status == 200
        assert resp.content_type == "text/plain" and resp.charset == "utf-8"
        text = await resp.text()
    assert text.endswith("\n")
    samples, types = parse(text)
    assert types["hallctl_tickets_issued_total"] == "counter"
    assert types["hallctl_waiting"] == "gauge"
    assert types["hallctl_wait_seconds"] == "histogram"
    _check_histogram(samples, "hallctl_wait_seconds")
    return samples


def _check_histogram(samples: Samples, name: str) -> None:
    buckets = sorted(
        (float(dict(labels)["le"]), value) for (n, labels), value in samples.items() if n == f"{name}_bucket"
    )
    assert buckets and buckets[-1][0] == float("inf"), "a histogram ends with the +Inf bucket"
    counts = [value for _, value in buckets]
    assert counts == sorted(counts), "buckets are cumulative"
    assert buckets[-1][1] == samples[(f"{name}_count", frozenset())]
    assert (f"{name}_sum", frozenset()) in samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def waiting(samples: Samples) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for (name, labels), v in samples.items():
        if name == "hallctl_waiting":
            out[dict(labels)["matter"]] = v
    return out


async def test_metrics_follow_the_queue(staffed_hall: Hall) -> None:
    hall = staffed_hall
    kiosk, c1 = hall.tokens["kiosk"], hall.tokens["c1"]
    empty = await scrape(hall)
    assert value(empty, "hallctl_tickets_issued_total") == 0
    assert set(waiting(empty).values()) == {0}
    assert value(empty, "hallctl_wait_seconds_count") == 0
    assert value(empty, "hallctl_windows", state="open") == 8

    for matter in ("CBDJ", "CBDJ", "ZX"):
        hall.clock.advance(MINUTE)  # 09:01, 09:02, 09:03
        await hall.api("POST", "/api/v1/tickets", kiosk, {"matter": matter}, status=201)
    issued = await scrape(hall)
    assert value(issued, "hallctl_tickets_issued_total") == 3
    assert waiting(issued)["CBDJ"] == 2 and waiting(issued)["ZX"] == 1
    assert value(issued, "hallctl_tickets_issued_today", matter="CBDJ", channel="normal") == 2
    assert value(issued, "hallctl_store_commands_total") > value(empty, "hallctl_store_commands_total")

    hall.clock.advance(4 * MINUTE)  # 09:07: A0001 has waited 6 minutes
    await hall.api("POST", "/api/v1/windows/1/call-next", c1)
    called = await scrape(hall)
    assert waiting(called)["CBDJ"] == 1
    assert value(called, "hallctl_wait_seconds_count") == 1
    assert value(called, "hallctl_wait_seconds_sum") == 360
    assert value(called, "hallctl_wait_seconds_bucket", le="300") == 0
    assert value(called, "hallctl_wait_seconds_bucket", le="600") == 1
    assert value(called, "hallctl_wait_seconds_bucket", le="+Inf") == 1

    await hall.api("POST", "/api/v1/windows/1/pause", c1, {"reason": "休息"})
    paused = await scrape(hall)
    assert value(paused, "hallctl_windows", state="paused") == 1
    assert value(paused, "hallctl_windows", state="open") == 7


async def test_metrics_need_no_token_and_carry_no_citizen_data(hall_with_queue: Hall) -> None:
    async with hall_with_queue.client.get("/metrics") as resp:
        text = await resp.text()
    for ticket in hall_with_queue.queue:
        assert ticket["track_token"] not in text and ticket["number"] not in text
