"""Benchmark: durable tickets issued per second over HTTP, against this machine's raw SQLite ceiling.

Starts ``hallctl serve`` (example config, fresh database in a temporary directory, a free loopback
port) and drives ``POST /api/v1/tickets`` with wrk at 50 connections (``wrk -t1 -c50``, ~5 s; the Lua
script cycles the bodies over every matter with a kiosk token). Every 201 is a ticket on disk
(synchronous=FULL). Also measures, in the same run, the raw SQLite durable commit rate of this disk
(WAL, synchronous=FULL, one small INSERT per transaction, fresh file, before and after the HTTP run,
averaged) as the ceiling one-commit-per-ticket would have, and reads the daemon's own
``hallctl_store_commits_total`` / ``hallctl_store_commands_total`` so the group-commit batch is visible.

Prints numbers beside the targets (>=3,000 tickets/s, >=55% of the ceiling, p99 <=15 ms); it never
fails on a figure. Without wrk it says how to install it and falls back to an aiohttp client.

    .venv/bin/python bench/issue.py [--seconds 5] [--connections 50] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _hall import (
    EXAMPLE_CONFIG,
    BenchError,
    Client,
    Daemon,
    bound_run,
    cpu_busy,
    create_token,
    load_note,
    log,
    matters_by_prefix,
    metrics,
    percentile,
    spread_matters,
    sqlite_commit_rate,
    temp_dir,
    verdict,
)

TARGET_RATE = 3000.0  # tickets per second
TARGET_SHARE = 0.55  # of the raw SQLite durable commit rate
TARGET_P99_MS = 15.0
MAX_SECONDS = 30  # the whole run stays near a minute even at the largest --seconds
LUA = """\
local bodies = {%(bodies)s}
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer %(token)s"}
local i = 0
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", "/api/v1/tickets", headers, bodies[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH" .. string.rep(" %%.0f", 13) .. "\\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean))
end
"""
WRK_FIELDS = (
    "requests",
    "duration_us",
    "non2xx",
    "connect_errors",
    "read_errors",
    "write_errors",
    "timeouts",
    "p50_us",
    "p90_us",
    "p99_us",
    "p999_us",
    "max_us",
    "mean_us",
)


def lua_string(text: str) -> str:
    """A Lua string literal (JSON's escaping of ASCII text is valid Lua)."""
    return json.dumps(text)


def run_wrk(
    url: str, token: str, bodies: list[str], seconds: int, connections: int, work: Path
) -> dict[str, Any]:
    script = work / "issue.lua"
    script.write_text(LUA % {"bodies": ", ".join(lua_string(b) for b in bodies), "token": token})
    args = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        url + "/api/v1/tickets",
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 20, check=False)
    found = re.search(r"^BENCH ([\d. ]+)$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or not found:
        raise BenchError(f"wrk gave no figures: {(done.stdout + done.stderr).strip()[-400:]}")
    values = [float(v) for v in found.group(1).split()]
    result: dict[str, Any] = dict(zip(WRK_FIELDS, values, strict=True))
    result["client"] = f"wrk -t1 -c{connections} -d{seconds}s"
    result["command"] = " ".join(args)
    return result


async def run_aiohttp(
    url: str, token: str, bodies: list[str], seconds: int, connections: int
) -> dict[str, Any]:
    """The fallback load: ``connections`` coroutines, each one request at a time, in this process."""
    import aiohttp

    loop = asyncio.get_running_loop()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    counts = {"non2xx": 0, "errors": 0, "next": 0}
    timeout = aiohttp.ClientTimeout(total=5)
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        deadline = loop.time() + seconds

        async def worker() -> None:
            while loop.time() < deadline:
                body = bodies[counts["next"] % len(bodies)]
                counts["next"] += 1
                start = time.perf_counter_ns()
                try:
                    async with session.post(url + "/api/v1/tickets", data=body, headers=headers) as r:
                        await r.read()
                        status = r.status
                except (aiohttp.ClientError, TimeoutError):
                    counts["errors"] += 1
                    continue
                latencies.append((time.perf_counter_ns() - start) / 1000)
                if status >= 300:
                    counts["non2xx"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return {
        "requests": float(len(latencies)),
        "duration_us": elapsed * 1e6,
        "non2xx": float(counts["non2xx"]),
        "connect_errors": 0.0,
        "read_errors": float(counts["errors"]),
        "write_errors": 0.0,
        "timeouts": 0.0,
        "p50_us": percentile(latencies, 50),
        "p90_us": percentile(latencies, 90),
        "p99_us": percentile(latencies, 99),
        "p999_us": percentile(latencies, 99.9),
        "max_us": max(latencies, default=float("nan")),
        "mean_us": sum(latencies) / len(latencies) if latencies else float("nan"),
        "client": f"aiohttp, {connections} coroutines (wrk missing)",
        "command": "",
    }


def refusal_reason(client: Client, token: str, codes: list[str]) -> str:
    """After non-2xx answers: ask once per matter and say what the first refusal was."""
    for code in codes:
        status, payload = client.request("POST", "/api/v1/tickets", token, {"matter": code})
        if status != 201:
            return f"{code}: {status} {str(payload)[:160]}"
    return "every matter issues again now"


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from hallctl.config import load_config

    quiet = args.json
    busy_at_start = cpu_busy()
    digits = load_config(args.config).hall.number_digits
    db = work / "hall.db"
    log("creating a kiosk token ...", quiet=quiet)
    kiosk = create_token(db, "kiosk")
    with Daemon(args.config, db, work / "daemon.log") as daemon:
        client = Client(daemon.port)
        try:
            matters = client.ok("GET", "/api/v1/matters", kiosk)["matters"]
            codes = spread_matters(matters)
            prefixes = matters_by_prefix(matters)
            bodies = [json.dumps({"matter": c, "channel": "normal"}, separators=(",", ":")) for c in codes]

            log(f"raw SQLite durable commits ({args.commits}, before) ...", quiet=quiet)
            ceiling_before = sqlite_commit_rate(work / "raw-before.db", args.commits)
            before = metrics(daemon.port)
            wrk = shutil.which("wrk")
            if wrk:
                log(f"wrk -t1 -c{args.connections} -d{args.seconds}s POST /api/v1/tickets ...", quiet=quiet)
                load = run_wrk(daemon.url, kiosk, bodies, args.seconds, args.connections, work)
            else:
                print(
                    "wrk is not installed (Debian/Ubuntu: sudo apt-get install wrk); "
                    "falling back to an aiohttp client, which needs a core of its own and so "
                    "understates the daemon",
                    file=sys.stderr,
                )
                load = asyncio.run(run_aiohttp(daemon.url, kiosk, bodies, args.seconds, args.connections))
            time.sleep(0.2)  # let the commands still in flight when the client stopped commit
            after = metrics(daemon.port)
            log(f"raw SQLite durable commits ({args.commits}, after) ...", quiet=quiet)
            ceiling_after = sqlite_commit_rate(work / "raw-after.db", args.commits)
            why = refusal_reason(client, kiosk, sorted(set(codes))) if load["non2xx"] else ""
        finally:
            client.close()

    def delta(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    seconds = load["duration_us"] / 1e6
    requests = load["requests"]
    ok = requests - load["non2xx"]
    rate = ok / seconds if seconds else 0.0
    ceiling = (ceiling_before + ceiling_after) / 2
    commits = delta("hallctl_store_commits_total")
    commands = delta("hallctl_store_commands_total")
    issued = delta("hallctl_tickets_issued_total")
    capacity = (10**digits - 1) * len(prefixes)
    busiest = max(len(v) for v in prefixes.values())
    return {
        "cpus": os.cpu_count(),
        "cpu_busy_at_start": None if busy_at_start is None else round(busy_at_start, 3),
        "client": load["client"],
        "wrk_command": load["command"],
        "seconds": round(seconds, 3),
        "connections": args.connections,
        "requests": int(requests),
        "requests_per_s": round(requests / seconds, 1) if seconds else 0.0,
        "tickets_per_s": round(rate, 1),
        "non2xx": int(load["non2xx"]),
        "socket_errors": int(
            load["connect_errors"] + load["read_errors"] + load["write_errors"] + load["timeouts"]
        ),
        "refusal": why,
        "latency_ms": {
            k: round(load[f"{k}_us"] / 1000, 3) for k in ("p50", "p90", "p99", "p999", "max", "mean")
        },
        "sqlite_ceiling_per_s": {
            "before": round(ceiling_before, 1),
            "after": round(ceiling_after, 1),
            "average": round(ceiling, 1),
        },
        "share_of_ceiling": round(rate / ceiling, 3) if ceiling else 0.0,
        "daemon": {
            "tickets_issued": int(issued),
            "commits": int(commits),
            "commands": int(commands),
            "commands_per_commit": round(commands / commits, 1) if commits else None,
            "commits_per_s": round(commits / seconds, 1) if seconds else None,
        },
        "numbers": {
            "digits": digits,
            "prefixes": len(prefixes),
            "capacity": capacity,
            "plain_cycling_capacity": (10**digits - 1) * len(matters) // busiest,
        },
        "targets": {
            "tickets_per_s": TARGET_RATE,
            "share_of_ceiling": TARGET_SHARE,
            "p99_ms": TARGET_P99_MS,
        },
    }


def report(r: dict[str, Any]) -> str:
    lat = r["latency_ms"]
    ceil = r["sqlite_ceiling_per_s"]
    d = r["daemon"]
    n = r["numbers"]
    lines = [
        f"hallctl issue benchmark: {r['cpus']} CPUs, {r['client']}, durable commits (synchronous=FULL)",
        f"  tickets issued     {r['tickets_per_s']:>9,.0f} /s    target >= {TARGET_RATE:,.0f}/s"
        f"      {verdict(r['tickets_per_s'] >= TARGET_RATE)}",
        f"  raw SQLite FULL    {ceil['average']:>9,.0f} tx/s  (before {ceil['before']:,.0f}, "
        f"after {ceil['after']:,.0f}; one INSERT per commit)",
        f"  share of ceiling   {r['share_of_ceiling']:>9.0%}       target >= {TARGET_SHARE:.0%}"
        f"           {verdict(r['share_of_ceiling'] >= TARGET_SHARE)}",
        f"  latency p50        {lat['p50']:>9.2f} ms",
        f"  latency p99        {lat['p99']:>9.2f} ms    target <= {TARGET_P99_MS:.0f} ms"
        f"          {verdict(lat['p99'] <= TARGET_P99_MS)}",
        f"  latency p99.9/max  {lat['p999']:>9.2f} / {lat['max']:.2f} ms",
        f"  requests           {r['requests']:>9,}       in {r['seconds']:.2f} s, "
        f"{r['requests_per_s']:,.0f} req/s",
        f"  non-2xx            {r['non2xx']:>9,}       socket errors {r['socket_errors']}"
        + (f"; e.g. {r['refusal']}" if r["refusal"] else ""),
        f"  daemon commits     {d['commits']:>9,}       for {d['commands']:,} commands: "
        f"{d['commands_per_commit']} commands per commit, {d['commits_per_s']:,.0f} commits/s",
        f"  numbers            {d['tickets_issued']:>9,}       issued of {n['capacity']:,} "
        f"({n['prefixes']} prefixes x {10 ** n['digits'] - 1:,})",
    ]
    note = load_note(r["cpu_busy_at_start"])
    if note:
        lines.insert(1, note)
    if d["tickets_issued"] > 0.8 * n["capacity"]:
        lines.append("  warning: the run used most of the day's numbers; a longer run would exhaust a prefix")
    if r["wrk_command"]:
        lines.append(f"  ({r['wrk_command']})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=int, default=5, help=f"load duration (1-{MAX_SECONDS}, default 5)")
    parser.add_argument("--connections", type=int, default=50, help="concurrent connections (default 50)")
    parser.add_argument("--commits", type=int, default=4000, help="raw SQLite commits per ceiling sample")
    parser.add_argument("--config", type=Path, default=EXAMPLE_CONFIG, help="hall config (default: example)")
    parser.add_argument("--tmp", type=Path, default=None, help="where the databases go (default: $TMPDIR)")
    parser.add_argument("--json", action="store_true", help="print only JSON on stdout")
    args = parser.parse_args(argv)
    args.seconds = max(1, min(MAX_SECONDS, args.seconds))
    args.connections = max(1, min(1000, args.connections))
    args.commits = max(100, min(20_000, args.commits))
    bound_run(args.seconds + 60)
    try:
        with temp_dir(args.tmp) as work:
            result = measure(args, work)
    except BenchError as exc:
        print(f"issue benchmark could not run: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
