"""Period stats over a year of a busy hall: GET /api/v1/stats with from/to/group_by through the real daemon
(target: p99 ≤ 50 ms for a year of 1.5 million tickets).

Builds the database in a temporary directory (one executemany transaction): 1.5 M tickets over the 365
days before today, weekdays busier than weekends, morning and afternoon peaks, the example hall's 13
matters weighted, four channels, 40 windows and 60 clerks on rotation, lognormal waits and service
times, 6 % no-shows, 1 % voided, 70 % of services rated. Then builds the rollups (timed, as the daemon
does on start for a file without them), starts ``hallctl serve`` on the file, and measures p50/p99 of
several queries over HTTP. As the reference, one month is also computed from the tickets alone.
Prints the figures beside the target; never asserts (see bench/README.md).

    .venv/bin/python bench/stats.py [--tickets 1500000] [--requests 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sqlite3
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from _hall import EXAMPLE_CONFIG, Client, Daemon, bound_run, create_token, log, percentile, temp_dir

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hallctl.config import HallConfig, load_config  # noqa: E402
from hallctl.core.period import PeriodQuery, day_start  # noqa: E402
from hallctl.store.period_stats import period_stats  # noqa: E402
from hallctl.store.rollups import backfill  # noqa: E402
from hallctl.store.rows import TICKET_COLUMNS  # noqa: E402
from hallctl.store.schema import open_db  # noqa: E402

TARGET_P99_MS = 50.0
WINDOWS, CLERKS = 40, 60
CHANNELS = (("normal", 0.85), ("green", 0.05), ("enterprise", 0.05), ("appointment", 0.05))
# Share of a day's arrivals per hour from 08:00: the morning peak, lunch, the afternoon peak.
HOURS = (0.06, 0.16, 0.17, 0.13, 0.05, 0.04, 0.14, 0.12, 0.09, 0.04)
LEVELS = ((5, 0.78), (4, 0.14), (3, 0.05), (2, 0.02), (1, 0.01))


def _pick(rng: random.Random, weighted: tuple[tuple[Any, float], ...]) -> Any:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def build_database(db: Path, config: HallConfig, tickets: int, days: int, seed: int) -> tuple[str, str]:
    """The tickets and ratings of ``days`` days before today; returns the first day and today."""
    rng = random.Random(seed)
    zone = config.hall.zone
    today = datetime.now(zone).date()
    first = today - timedelta(days=days)
    weights = [1.0 if (first + timedelta(days=i)).weekday() < 5 else 0.45 for i in range(days)]
    scale = tickets / sum(weights)
    matters = [(m, 1.0 / (1 + i % 5)) for i, m in enumerate(config.matters)]
    conn = open_db(db).conn
    conn.execute("pragma synchronous=off")
    columns = ", ".join(TICKET_COLUMNS)
    insert = f"insert into tickets ({columns}) values ({', '.join('?' * len(TICKET_COLUMNS))})"
    rate = "insert into ratings (ticket, window, clerk, level, level_name, device, armed_at, rated_at) "
    rate += "values (?, ?, ?, ?, ?, ?, ?, ?)"
    rows: list[tuple[Any, ...]] = []
    ratings: list[tuple[Any, ...]] = []
    ticket_id = 0
    for i, weight in enumerate(weights):
        day = first + timedelta(days=i)
        start = day_start(day, zone) + 8 * 3600
        count = round(weight * scale) if i < days - 1 else tickets - ticket_id
        seqs: dict[str, int] = {}
        roster = rng.sample(range(1, CLERKS + 1), WINDOWS)  # who sits at which window that day
        for _ in range(count):
            ticket_id += 1
            matter = rng.choices([m for m, _ in matters], [w for _, w in matters])[0]
            hour = rng.choices(range(len(HOURS)), HOURS)[0]
            issued = start + hour * 3600 + rng.random() * 3600
            seqs[matter.prefix] = seq = seqs.get(matter.prefix, 0) + 1
            window = rng.randint(1, WINDOWS)
            clerk = f"c{roster[window - 1]}"
            roll = rng.random()
            state = "voided" if roll < 0.01 else "no_show" if roll < 0.07 else "done"
            wait = rng.lognormvariate(math.log(15 * 60), 0.6)
            called = None if state == "voided" else issued + wait
            started = finished = None
            if state == "done":
                assert called is not None
                started = called + rng.uniform(10, 60)
                finished = started + rng.lognormvariate(math.log(matter.service_minutes * 60), 0.5)
            rows.append(
                (
                    ticket_id,
                    f"{matter.prefix}{seq:04d}",
                    matter.prefix,
                    seq,
                    day.isoformat(),
                    json.dumps([matter.code]),
                    _pick(rng, CHANNELS),
                    issued,
                    f"bench-{ticket_id}",
                    state,
                    issued,
                    None if state == "voided" else window,
                    None,
                    None if state == "voided" else clerk,
                    called,
                    called,
                    started,
                    finished,
                    0,
                    called if state == "no_show" else None,
                    0,
                    0,
                    0,
                    "completed" if state == "done" else None,
                    None,
                    None,
                    None,
                    "kiosk-1",
                )
            )
            if finished is not None and rng.random() < 0.7:
                level = _pick(rng, LEVELS)
                ratings.append(
                    (ticket_id, window, clerk, level, str(level), "keypad", finished, finished + 5)
                )
    conn.execute("begin")
    conn.executemany(insert, rows)
    conn.executemany(rate, ratings)
    conn.execute("commit")
    conn.close()
    return first.isoformat(), today.isoformat()


def measure(client: Client, token: str, path: str, requests: int) -> dict[str, float]:
    """p50/p99 of the whole request (sent, answered, read) and the size of the answer."""
    size = 0
    for _ in range(max(3, requests // 10)):  # warm the page cache and the daemon
        status, answer = client.request("GET", path, token)
        if status != 200:
            raise SystemExit(f"{path} answered {status}: {str(answer)[:300]}")
        size = len(answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False))
    times = []
    for _ in range(requests):
        t0 = time.perf_counter()
        client.request("GET", path, token)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {
        "p50_ms": round(percentile(times, 50), 2),
        "p99_ms": round(percentile(times, 99), 2),
        "answer_kb": round(size / 1000, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_500_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per query")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="only JSON on stdout")
    args = parser.parse_args()
    quiet = args.json
    bound_run(1800)
    config = load_config(EXAMPLE_CONFIG)
    zone = config.hall.zone
    with temp_dir(None) as tmp:
        db = tmp / "hall.db"
        t0 = time.perf_counter()
        first, today = build_database(db, config, args.tickets, args.days, args.seed)
        built_s = time.perf_counter() - t0
        log(f"built {args.tickets:,} tickets over {args.days} days in {built_s:.1f} s", quiet=quiet)

        conn = sqlite3.connect(db, isolation_level=None)
        month_end = date.fromisoformat(today).replace(day=1)
        month_start = (month_end - timedelta(days=1)).replace(day=1)
        query = PeriodQuery(day_start(month_start, zone), day_start(month_end, zone), ("matter",), "json")
        t0 = time.perf_counter()
        period_stats(conn, config, query, time.time())
        raw_month_s = time.perf_counter() - t0
        log(f"reference: a month by matter from the tickets alone: {raw_month_s * 1000:.0f} ms", quiet=quiet)
        t0 = time.perf_counter()
        days_built, months_built = backfill(conn, config, today, time.time())
        rollup_s = time.perf_counter() - t0
        rollup_rows = conn.execute("select count(*) from stats_rollups").fetchone()[0]
        conn.close()
        size_mb = db.stat().st_size / 1e6
        log(
            f"rollups: {days_built} days, {months_built} months, {rollup_rows:,} rows in {rollup_s:.1f} s; "
            f"file {size_mb:.0f} MB",
            quiet=quiet,
        )

        yesterday = (date.fromisoformat(today) - timedelta(days=1)).isoformat()
        year = f"from={first}&to={today}"
        # The queries the target is set for (issue 5), then heavier ones shown for what they cost.
        queries = {
            "year by matter": f"{year}&group_by=matter",
            "year by day": f"{year}&group_by=day",
            "year by hour": f"{year}&group_by=hour",
            "year by clerk": f"{year}&group_by=clerk",
            "a month by matter": f"from={month_start}&to={month_end}&group_by=matter",
            "a partial day (2 h) by matter": f"from={yesterday}T10:00&to={yesterday}T12:00&group_by=matter",
        }
        extra = {
            "year by window": f"{year}&group_by=window",
            "year by clerk, xlsx": f"{year}&group_by=clerk&format=xlsx",
            "year by day,matter (4,745 groups)": f"{year}&group_by=day,matter",
        }
        results: dict[str, dict[str, float]] = {}
        with Daemon(EXAMPLE_CONFIG, db, tmp / "daemon.log") as daemon:
            token = create_token(db, "casesys")
            client = Client(daemon.port, timeout=30)
            try:
                for name, params in {**queries, **extra}.items():
                    results[name] = measure(client, token, f"/api/v1/stats?{params}", args.requests)
                    r = results[name]
                    log(
                        f"{name:36} p50 {r['p50_ms']:7.2f} ms   p99 {r['p99_ms']:7.2f} ms"
                        f"   answer {r['answer_kb']:8.1f} kB",
                        quiet=quiet,
                    )
            finally:
                client.close()
    worst = max(results[name]["p99_ms"] for name in queries)
    report = {
        "tickets": args.tickets,
        "days": args.days,
        "build_seconds": round(built_s, 1),
        "rollup_seconds": round(rollup_s, 1),
        "rollup_rows": rollup_rows,
        "file_mb": round(size_mb, 1),
        "reference_month_from_tickets_ms": round(raw_month_s * 1000, 1),
        "queries": results,
        "worst_p99_ms": worst,
        "target_p99_ms": TARGET_P99_MS,
        "meets": worst <= TARGET_P99_MS,
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        verdict = "meets" if worst <= TARGET_P99_MS else "SHORT"
        print(
            f"worst p99 of the target's queries {worst:.1f} ms against {TARGET_P99_MS:.0f} ms: {verdict}; "
            f"the rollups took {rollup_s:.0f} s to build, a month from the tickets alone "
            f"{raw_month_s * 1000:.0f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
