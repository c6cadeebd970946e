"""The simulator against queueing theory: an M/M/c hall (one matter, Poisson arrivals at a constant rate,
exponential service, c identical windows, nobody leaves or fails to come) reproduces Erlang C's chance of
waiting, mean wait and service level within sampling error.

The tolerance is derived from the run itself: waits of successive citizens are strongly correlated, so the
run is cut into day-long batches whose means are close to independent, and the estimate must lie within
four standard errors of the batch means of the theory (a false alarm about once in 15,000 runs; the seeds
are fixed, so the test is deterministic anyway). A warm-up day is dropped: the hall opens empty.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import datetime

import pytest

from hallctl.config import HallConfig, parse_config
from hallctl.core.erlang import erlang_c
from hallctl.sim import parse_profile, simulate
from hallctl.sim.results import SimResult

SERVICE_SECONDS = 300.0
TARGET_SECONDS = 120.0
Z = 4.0  # standard errors allowed


def mmc_hall(windows: int) -> HallConfig:
    return parse_config(
        {
            "hall": {"id": "mmc", "name": "M/M/c", "number_digits": 6},
            "groups": [{"prefix": "A", "name": "综合"}],
            "matters": [
                {
                    "code": "M1",
                    "name": "事项",
                    "prefix": "A",
                    "target_wait_minutes": TARGET_SECONDS / 60,
                    "service_minutes": SERVICE_SECONDS / 60,
                }
            ],
            "profiles": {"pool": {"matters": ["M1"], "channels": ["normal"]}},
            "windows": [{"id": i, "kind": "integrated", "profile": "pool"} for i in range(1, windows + 1)],
        },
        "mmc.toml",
    )


def batches(result: SimResult) -> list[tuple[float, float, float]]:
    """Per day after the first: (share who waited, mean wait, share called within the target)."""
    days: dict[str, list[float]] = defaultdict(list)
    for t in result.tickets:
        assert t.wait is not None, "an M/M/c hall serves everyone"
        days[datetime.fromtimestamp(t.issued_at, result.zone).date().isoformat()].append(t.wait)
    out = []
    for day in result.dates[1:]:
        waits = days[day]
        out.append(
            (
                sum(w > 0 for w in waits) / len(waits),
                sum(waits) / len(waits),
                sum(w <= TARGET_SECONDS for w in waits) / len(waits),
            )
        )
    return out


def within(values: list[float], expected: float) -> tuple[bool, str]:
    mean = statistics.fmean(values)
    error = statistics.stdev(values) / math.sqrt(len(values))
    return abs(mean - expected) <= Z * error, f"{mean:.4f} ± {error:.4f} vs theory {expected:.4f}"


@pytest.mark.parametrize(
    ("windows", "occupancy", "days"),
    [(1, 0.7, 21), (5, 0.8, 21), (20, 0.85, 13)],
    ids=["M/M/1", "M/M/5", "M/M/20"],
)
def test_an_mmc_hall_reproduces_erlang_c(windows: int, occupancy: float, days: int) -> None:
    hall = mmc_hall(windows)
    per_hour = occupancy * windows * 3600 / SERVICE_SECONDS
    demand = parse_profile(
        {
            "service_defaults": {"distribution": "exponential"},
            "arrivals": [{"matters": "M1", "rate_per_hour": per_hour}],
        },
        hall,
    )
    result = simulate(hall, demand, days=days, seed=1, always_open=True)
    theory = erlang_c(per_hour, SERVICE_SECONDS, windows)
    figures = batches(result)
    for name, index, expected in (
        ("P(wait)", 0, theory.p_wait),
        ("mean wait", 1, theory.asa_seconds),
        ("service level", 2, theory.service_level(TARGET_SECONDS)),
    ):
        ok, detail = within([b[index] for b in figures], expected)
        assert ok, f"{name}: {detail}"
    # the windows are busy as much as the offered load says (no idle window while someone waits)
    busy = sum(w.busy_seconds for w in result.windows.values())
    staffed = sum(w.staffed_seconds for w in result.windows.values())
    assert busy / staffed == pytest.approx(occupancy, abs=0.03)
