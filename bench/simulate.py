"""How long the simulator takes for one day of a 40-window hall (target: ≤ 1 s per simulated day).

Builds a 40-window hall from the example config (30 integrated, 3 consultation, 3 large-enterprise and 4
green-channel windows), gives it 1.2 times the default demand derived from its config (the default keeps
each window busy about three quarters of its open time; 1.2 times that makes ~2,300 tickets a day, windows
~83 % busy and queues at the peaks, where routing has the most to look at) with no-shows and abandonment,
and simulates a few days. Prints seconds per simulated day beside the target; never asserts (see
bench/README.md).

    .venv/bin/python bench/simulate.py [--days 5] [--seed 1] [--scale 1.2] [--json]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hallctl.config import HallConfig, parse_config  # noqa: E402
from hallctl.sim import default_demand, simulate, summarize  # noqa: E402
from hallctl.sim.demand import Abandonment, Demand, NoShows  # noqa: E402

TARGET_SECONDS_PER_DAY = 1.0
MIX = (("integrated", "integrated", 30), ("consultation", "consultation", 3))
MIX += (("dedicated", "enterprise", 3), ("dedicated", "green", 4))


def forty_window_config() -> HallConfig:
    data: dict[str, Any] = tomllib.loads((ROOT / "config" / "hall.example.toml").read_text("utf-8"))
    data = copy.deepcopy(data)
    windows = []
    for kind, profile, n in MIX:
        for _ in range(n):
            windows.append({"id": len(windows) + 1, "kind": kind, "profile": profile})
    data["windows"] = windows
    data["devices"] = {}
    return parse_config(data, "bench-40-windows")


def bench_demand(config: HallConfig, scale: float) -> Demand:
    base = default_demand(config)
    streams = tuple(
        s.model_copy(update={"per_hour": {h: r * scale for h, r in (s.per_hour or {}).items()}})
        for s in base.streams
    )
    no_show = NoShows(probability=0.03, recall_wait_seconds=60)
    abandonment = Abandonment(patience="lognormal", mean_minutes=60, cv=0.8)
    return Demand(streams, base.service, no_show, abandonment, "bench")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--scale", type=float, default=1.2, help="times the default demand (1.2: ~90%% busy, queues at peaks)"
    )
    parser.add_argument("--json", action="store_true", help="only JSON on stdout")
    args = parser.parse_args()
    config = forty_window_config()
    demand = bench_demand(config, args.scale)
    simulate(config, demand, days=1, seed=args.seed + 1000)  # warm caches (imports, pydantic, zoneinfo)
    started = time.perf_counter()
    result = simulate(config, demand, days=args.days, seed=args.seed)
    elapsed = time.perf_counter() - started
    figures = summarize(result)
    per_day = elapsed / args.days
    out = {
        "windows": len(config.windows),
        "days": args.days,
        "tickets_per_day": round(len(result.tickets) / args.days, 1),
        "seconds_per_day": round(per_day, 4),
        "target_seconds_per_day": TARGET_SECONDS_PER_DAY,
        "tickets_per_second": round(len(result.tickets) / elapsed, 1),
        "mean_wait_s": figures["overall"]["wait_mean_s"],
        "utilisation": figures["utilisation"],
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(
            f"simulator: {out['windows']} windows, {out['tickets_per_day']} tickets/day, {args.days} days\n"
            f"  {per_day:.3f} s per simulated day (target ≤ {TARGET_SECONDS_PER_DAY:.1f} s), "
            f"{out['tickets_per_second']} tickets/s\n"
            f"  mean wait {out['mean_wait_s']} s, utilisation {out['utilisation']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
