"""Shared pieces of the benchmarks: a ``hallctl serve`` subprocess on a free loopback port with a fresh
database, tokens made by the ``hallctl token create`` command, a keep-alive JSON client, /metrics,
and the raw SQLite durable-commit rate used as the ceiling.

Not a benchmark itself; ``bench/issue.py`` and ``bench/call.py`` import it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = PROJECT / "config" / "hall.example.toml"
HOST = "127.0.0.1"  # loopback only: the benchmarks never reach past this machine


class BenchError(Exception):
    """The benchmark could not run (the daemon did not start, a set-up request was refused)."""


# -- bounded runs -----------------------------------------------------------------------------------------
def _raise_exit(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def bound_run(seconds: int) -> None:
    """Turn SIGTERM, SIGINT and a SIGALRM after ``seconds`` into SystemExit, so that the ``finally``
    blocks that stop the daemon run however the benchmark ends."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
        signal.signal(sig, _raise_exit)
    signal.alarm(seconds)


def log(message: str, *, quiet: bool = False) -> None:
    """Progress goes to stderr, so ``--json`` leaves stdout to the JSON alone."""
    if not quiet:
        print(message, file=sys.stderr, flush=True)


# -- the hallctl command ----------------------------------------------------------------------------------
def hallctl_command() -> list[str]:
    """The ``hallctl`` console script of the interpreter running the benchmark (its venv)."""
    script = Path(sys.executable).parent / "hallctl"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from hallctl.cli import main; sys.exit(main())"]


def create_token(db: Path, role: str, clerk: str | None = None) -> str:
    """``hallctl token create``: the token is alone on the last line of stdout."""
    args = [*hallctl_command(), "token", "create", "--db", str(db), "--role", role, "--name", "bench"]
    if clerk is not None:
        args += ["--clerk", clerk]
    done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise BenchError(f"hallctl token create --role {role} failed: {(done.stderr or done.stdout)[-300:]}")
    return lines[-1].strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


class Daemon:
    """``hallctl serve --always-open`` as a subprocess in its own session; :meth:`stop` ends the whole
    group (SIGTERM, then SIGKILL after 10 s). Use it as a context manager."""

    def __init__(self, config: Path, db: Path, log_file: Path, extra: Sequence[str] = ()) -> None:
        self.extra = list(extra)
        self.config = config
        self.db = db
        self.log_file = log_file
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, wait: float = 20.0, attempts: int = 3) -> None:
        """Start and wait for /healthz; a port taken since :func:`free_port` chose it means another try."""
        for attempt in range(attempts):
            try:
                self._start_once(wait)
                return
            except BenchError:
                if attempt + 1 == attempts or "address already in use" not in self.log_tail().lower():
                    raise
                self.port = free_port()

    def _start_once(self, wait: float) -> None:
        args = [
            *hallctl_command(),
            "serve",
            "--config",
            str(self.config),
            "--db",
            str(self.db),
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--always-open",
            "--log-level",
            "warning",
            *self.extra,
        ]
        with self.log_file.open("ab") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"the daemon exited with {self.proc.returncode}: {self.log_tail()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                try:
                    conn.request("GET", "/healthz")
                    if conn.getresponse().status == 200:
                        return
                finally:
                    conn.close()
            time.sleep(0.1)
        raise BenchError(f"the daemon did not answer /healthz within {wait:.0f} s: {self.log_tail()}")

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def log_tail(self, chars: int = 400) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-chars:].strip()
        except OSError:
            return ""

    def __enter__(self) -> Daemon:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- HTTP -------------------------------------------------------------------------------------------------
class Client:
    """One keep-alive HTTP/1.1 connection speaking JSON (http.client: no proxy, no retries)."""

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=timeout)

    def request(
        self, method: str, path: str, token: str | None = None, body: object | None = None
    ) -> tuple[int, Any]:
        headers = {"Connection": "keep-alive"}
        data = None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, raw.decode(errors="replace")

    def ok(self, method: str, path: str, token: str | None = None, body: object | None = None) -> Any:
        """A set-up request that must succeed."""
        status, payload = self.request(method, path, token, body)
        if status >= 300:
            raise BenchError(f"{method} {path} answered {status}: {str(payload)[:300]}")
        return payload

    def close(self) -> None:
        self.conn.close()


def metrics(port: int) -> dict[str, float]:
    """Unlabelled samples of /metrics (``name value``), e.g. hallctl_store_commits_total."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or "{" in line:
            continue
        name, _, value = line.partition(" ")
        with contextlib.suppress(ValueError):
            found[name] = float(value)
    return found


# -- the hall's matters -----------------------------------------------------------------------------------
def matters_by_prefix(matters: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for m in matters:
        groups.setdefault(str(m["prefix"]), []).append(str(m["code"]))
    return groups


def spread_matters(matters: Sequence[dict[str, Any]]) -> list[str]:
    """Every matter, ordered so that each number prefix gets the same share of tickets.

    Numbers run out per prefix (A0001..A9999), so plain cycling over the matters runs out the prefix
    with the most matters first (A has 4 of the example's 13). Taking one matter of each prefix in turn,
    and cycling within a prefix, makes the run last until *every* prefix is near its end.
    """
    groups = matters_by_prefix(matters)
    rounds = 1
    for codes in groups.values():
        rounds = rounds * len(codes) // _gcd(rounds, len(codes))
    return [codes[i % len(codes)] for i in range(rounds) for codes in groups.values()]


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


# -- measuring --------------------------------------------------------------------------------------------
def sqlite_commit_rate(path: Path, commits: int = 4000) -> float:
    """Durable commits per second on this disk: a fresh file, WAL, synchronous=FULL, one small INSERT
    per transaction (what one ticket per commit would cost at best)."""
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("pragma journal_mode=wal")
        con.execute("pragma synchronous=full")
        con.execute("create table t (id integer primary key, a text, b text, c real)")
        start = time.perf_counter()
        for i in range(commits):
            con.execute("begin immediate")
            con.execute("insert into t (a, b, c) values (?, ?, ?)", ("A", "x" * 40, i))
            con.execute("commit")
        elapsed = time.perf_counter() - start
    finally:
        con.close()
    return commits / elapsed


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of ``values`` (need not be sorted); p in 0..100."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * p // 100)))
    return ordered[int(rank) - 1]


def _cpu_times() -> tuple[int, int] | None:
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields[:8]), idle


def cpu_busy(seconds: float = 0.5) -> float | None:
    """Share of all CPUs busy over ``seconds`` before the run (None where /proc/stat is missing)."""
    first = _cpu_times()
    time.sleep(seconds)
    second = _cpu_times()
    if first is None or second is None or second[0] == first[0]:
        return None
    return 1 - (second[1] - first[1]) / (second[0] - first[0])


def load_note(busy: float | None) -> str:
    """A warning when other work shared the machine as the run began: the figures then say little."""
    if busy is not None and busy > 0.2:
        return f"  warning: the CPUs were {busy:.0%} busy with other work as the run began; figures are low"
    return ""


def verdict(ok: bool) -> str:
    return "meets" if ok else "SHORT"


@contextlib.contextmanager
def temp_dir(parent: Path | None) -> Iterator[Path]:
    """A fresh directory for the databases; removed afterwards."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="hallctl-bench-", dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
