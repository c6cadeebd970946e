"""The daemon as the outside world sees it: a ``hallctl serve`` process on a loopback port, an HTTP client
for its API, bursts of concurrent requests, and read-only looks at its SQLite file.

Every wait here has a deadline, so a hung daemon fails a test instead of hanging the suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import itertools
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

from hallctl.audit import chain
from hallctl.config import load_config
from hallctl.core.credit_code import check_character

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = ROOT / "config" / "hall.example.toml"
EXAMPLE = load_config(EXAMPLE_CONFIG)


def hallctl_command() -> list[str]:
    """The installed ``hallctl`` script of the interpreter running the tests (the project's venv)."""
    script = Path(sys.executable).with_name("hallctl")
    if script.exists():
        return [str(script)]
    found = shutil.which("hallctl")
    assert found, "the hallctl command is not installed (pip install -e .)"
    return [found]


def free_port() -> int:
    """A port nobody listens on right now (the kernel picks it; the daemon binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DaemonFailed(AssertionError):
    """The daemon did not start, or did not stop as asked; the message carries its log."""


class Daemon:
    """One hall's daemon, started and stopped as often as a test needs, always on the same file and port.

    Its stdout and stderr go to a log file (a pipe nobody reads would stall a chatty daemon).
    """

    def __init__(self, db: Path, log_path: Path, *, config: Path = EXAMPLE_CONFIG) -> None:
        self.db = db
        self.log_path = log_path
        self.config = config
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._sigterm_at = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else "(no log)"

    def start(self, *, timeout: float = 20.0) -> None:
        """Start ``hallctl serve --always-open`` and return once /healthz answers."""
        assert not self.running, "the daemon is already running"
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"---- start {self.starts} on port {self.port} ----\n".encode())
            self.process = subprocess.Popen(
                [
                    *hallctl_command(),
                    "serve",
                    "--config",
                    str(self.config),
                    "--db",
                    str(self.db),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--always-open",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group, so a kill reaches everything it started and nothing of ours.
                start_new_session=True,
            )
        self._wait_until_responds(timeout)

    def _wait_until_responds(self, timeout: float) -> None:
        assert self.process is not None
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DaemonFailed(f"the daemon exited with {self.process.returncode}:\n{self.log()}")
            try:
                with direct.open(f"{self.url}/healthz", timeout=1) as r:
                    if r.status == 200 and json.load(r).get("status") == "ok":
                        return
            except (OSError, urllib.error.URLError, ValueError):
                pass
            time.sleep(0.05)  # polling a port: there is no event to wait for
        self.kill()
        raise DaemonFailed(f"the daemon did not answer /healthz within {timeout} s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL the daemon's whole process group: a power cut, as far as the file can tell."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def send_sigterm(self) -> None:
        """Ask the daemon to stop, as a service manager does; :meth:`wait_exit` then waits for it."""
        assert self.process is not None and self.running
        self._sigterm_at = time.monotonic()
        self.process.send_signal(signal.SIGTERM)

    def wait_exit(self, *, timeout: float = 10.0) -> tuple[int | None, float]:
        """The exit code after :meth:`send_sigterm` (None, and killed, if still running after ``timeout``)
        and the seconds from the signal to the exit."""
        assert self.process is not None
        try:
            rc: int | None = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
            self.kill()
        return rc, time.monotonic() - self._sigterm_at

    def terminate(self, *, timeout: float = 10.0) -> tuple[int | None, float]:
        """SIGTERM and wait: the exit code (None if still running after ``timeout``) and the time taken."""
        self.send_sigterm()
        return self.wait_exit(timeout=timeout)

    def close(self) -> None:
        """Teardown: whatever state it is in, nothing of the daemon's group survives the test."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)

    def client(self, *, connections: int = 100) -> Api:
        return Api(self.url, connections=connections)


@dataclass(frozen=True)
class Tokens:
    """The hall's tokens, made before the daemon starts (see the ``tokens`` fixture)."""

    kiosk: str
    manager: str
    auditor: str
    clerk: dict[str, str] = field(default_factory=dict)  # clerk id -> token


# -- the HTTP API -------------------------------------------------------------------------------------


def error_code(body: Any) -> str | None:
    """The ``error.code`` of a refusal, or None when the body is not the documented error shape
    ``{"error": {"code", "message"}}``."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        if isinstance(code, str) and code and isinstance(body["error"].get("message"), str):
            return code
    return None


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any

    @property
    def error_code(self) -> str | None:
        return error_code(self.body)

    def __str__(self) -> str:
        return f"HTTP {self.status}: {str(self.body)[:300]}"


class Api:
    """``async with daemon.client() as api: await api.post(path, token, body)``."""

    def __init__(self, base_url: str, *, connections: int = 100, timeout: float = 30.0) -> None:
        self.base_url = base_url
        self._connections = connections
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Api:
        self._session = aiohttp.ClientSession(
            self.base_url,
            connector=aiohttp.TCPConnector(limit=self._connections),
            timeout=aiohttp.ClientTimeout(total=self._timeout),
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._session is not None
        await self._session.close()

    async def request(self, method: str, path: str, token: str | None = None, body: Any = None) -> Reply:
        assert self._session is not None, "Api used outside its context"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if method != "GET" and body is None:
            body = {}
        async with self._session.request(method, path, headers=headers, json=body) as resp:
            raw = await resp.read()
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = raw.decode(errors="replace")
        return Reply(resp.status, data)

    async def get(self, path: str, token: str | None = None) -> Reply:
        return await self.request("GET", path, token)

    async def post(self, path: str, token: str | None = None, body: Any = None) -> Reply:
        return await self.request("POST", path, token, body)

    async def put(self, path: str, token: str | None = None, body: Any = None) -> Reply:
        return await self.request("PUT", path, token, body)

    async def ok(self, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
        """A request that must succeed (2xx); its body."""
        reply = await self.request(method, path, token, body)
        assert 200 <= reply.status < 300, f"{method} {path}: {reply}"
        return reply.body


# -- bursts of tickets ----------------------------------------------------------------------------------


def credit_code(serial: int) -> str:
    """A valid unified social credit code (the enterprise channel checks the check character)."""
    first17 = f"91110108{serial:09d}"
    return first17 + check_character(first17)


INTEGRATED_MATTERS = tuple(m for m in EXAMPLE.profiles["integrated"].matters if m != "*")


def issue_bodies(n: int) -> list[tuple[dict[str, Any], str]]:
    """``n`` kiosk requests over every matter of the example hall and the normal, green and enterprise
    channels, each with the prefix its number must carry."""
    channel_prefixes = EXAMPLE.hall.channel_prefixes
    kinds: list[tuple[dict[str, Any], str]] = [
        ({"matter": m.code, "channel": "normal"}, m.prefix) for m in EXAMPLE.matters
    ]
    kinds += [({"matter": m, "channel": "green"}, channel_prefixes["green"]) for m in INTEGRATED_MATTERS[:3]]
    kinds += [
        (
            {"matter": m, "channel": "enterprise", "credit_code": credit_code(i)},
            channel_prefixes["enterprise"],
        )
        for i, m in enumerate(INTEGRATED_MATTERS[:3])
    ]
    return list(itertools.islice(itertools.cycle(kinds), n))


@dataclass(frozen=True, slots=True)
class Outcome:
    """One request of a burst as the client saw it: an answer, or the error that stopped it."""

    body_sent: dict[str, Any]
    status: int | None  # None: no answer at all (refused, cut off, timed out)
    body: Any
    error: str | None = None
    at: float = 0.0  # time.monotonic() when the client had the whole answer

    @property
    def acknowledged(self) -> bool:
        """A ticket the citizen holds: 201 and the ticket object itself."""
        return self.status == 201 and isinstance(self.body, dict) and "id" in self.body

    @property
    def cleanly_refused(self) -> bool:
        """A 4xx in the documented error shape: the daemon said no, and why."""
        return self.status is not None and 400 <= self.status < 500 and error_code(self.body) is not None


async def fire(
    api: Api,
    method: str,
    path: str,
    token: str,
    bodies: Sequence[dict[str, Any]],
    *,
    concurrency: int,
    outcomes: list[Outcome],
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Send every body at most ``concurrency`` at a time. Each outcome is appended to ``outcomes`` and
    given to ``on_outcome`` the moment it is known, so a test can act in the middle of the burst."""
    gate = asyncio.Semaphore(concurrency)

    async def one(body: dict[str, Any]) -> None:
        async with gate:
            try:
                reply = await api.request(method, path, token, body)
            except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
                outcome = Outcome(body, None, None, f"{type(exc).__name__}: {exc}", time.monotonic())
            else:
                outcome = Outcome(body, reply.status, reply.body, None, time.monotonic())
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)

    await asyncio.gather(*(one(b) for b in bodies))
    return outcomes


async def wait_for(condition: Callable[[], bool], *, within: float, what: str) -> None:
    """Poll a cheap in-process condition (e.g. a burst's progress) until it holds, or fail."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.005)


# -- the file -------------------------------------------------------------------------------------------


def read_only(db: Path) -> sqlite3.Connection:
    """The hall's file opened read-only, as an auditor or a backup check would."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def db_tickets(db: Path) -> dict[int, sqlite3.Row]:
    conn = read_only(db)
    try:
        return {r["id"]: r for r in conn.execute("select id, number, prefix, seq, day, state from tickets")}
    finally:
        conn.close()


def numbering_faults(rows: Iterable[Any]) -> list[str]:
    """What breaks the numbering rule in these tickets (rows or ticket dicts with day and number): a number
    given twice on a day, or a prefix's day that does not run 1, 2, … without a gap."""
    seqs: dict[tuple[str, str], list[int]] = defaultdict(list)
    for r in rows:
        number = r["number"]
        seqs[(r["day"], number[0])].append(int(number[1:]))
    faults = []
    for (day, prefix), got in sorted(seqs.items()):
        repeated = sorted(s for s, n in Counter(got).items() if n > 1)
        if repeated:
            faults.append(f"{day} {prefix}: numbers given more than once: {repeated[:10]}")
        if sorted(set(got)) != list(range(1, len(set(got)) + 1)):
            missing = sorted(set(range(1, max(got) + 1)) - set(got))
            faults.append(f"{day} {prefix}: not gap-free from 1; missing {missing[:10]} (max {max(got)})")
    return faults


def seed_history(db: Path, *, days: int, tickets_per_day: int) -> None:
    """Weeks of finished business before today, as the daemon leaves it: every ticket done (so the daemon
    leaves them on disk) with its four journal lines. A hall's file grows like this, about 1 MB a day of
    800 tickets. Written by SQLite itself: a month of rows row by row from Python would take seconds."""
    total = days * tickets_per_day
    # Ending two days ago: before today in the hall's zone wherever the tests run.
    first = datetime.date.today() - datetime.timedelta(days=days + 2)
    shanghai = datetime.timezone(datetime.timedelta(hours=8))
    opening = datetime.datetime.combine(first, datetime.time(8, 30), shanghai).timestamp()
    conn = sqlite3.connect(db)
    try:
        with conn:
            conn.execute(
                """
                with recursive n(i) as (select 1 union all select i + 1 from n where i < :total)
                insert into tickets (id, number, prefix, seq, day, matters, channel, issued_at, track_token,
                                     state, queue_key, window, clerk, called_at, first_called_at, started_at,
                                     finished_at, outcome, issued_by)
                select i, printf('A%04d', (i - 1) % :per_day + 1), 'A', (i - 1) % :per_day + 1,
                       date(:first, printf('+%d days', (i - 1) / :per_day)), '["CBDJ"]', 'normal',
                       at, printf('history-%d', i), 'done', at, 1 + i % 5, printf('c%d', 1 + i % 5),
                       at + 600, at + 600, at + 660, at + 1000, 'completed', 'e2e kiosk'
                from (select i, :opening + (i - 1) / :per_day * 86400 + (i - 1) % :per_day * 30 as at from n)
                """,
                # from 08:30 each day, a ticket every 30 seconds
                {"total": total, "per_day": tickets_per_day, "first": first.isoformat(), "opening": opening},
            )
            conn.execute(
                """
                insert into journal (at, actor, role, action, window, ticket, before, after, detail)
                select t.issued_at + s.offset, case when s.action = 'ticket.issue' then t.issued_by
                       else t.clerk end, case when s.action = 'ticket.issue' then 'kiosk' else 'clerk' end,
                       s.action, case when s.action = 'ticket.issue' then null else t.window end, t.id,
                       s.before, s.after,
                       json_object('number', t.number, 'matters', json(t.matters), 'channel', t.channel)
                from tickets t, (
                    select 0 as offset, 'ticket.issue' as action, null as before, 'waiting' as after
                    union all select 600, 'ticket.call', 'waiting', 'called'
                    union all select 660, 'ticket.start', 'called', 'serving'
                    union all select 1000, 'ticket.finish', 'serving', 'done'
                ) s
                order by t.id, s.offset
                """
            )
    finally:
        conn.close()


def open_followup(db: Path, *, due_day: datetime.date, window: int = 3, clerk: str = "c3") -> None:
    """A 差评整改 case as the daemon opens one when a citizen rates 不满意, due on ``due_day``: its
    ``followup.open`` journal row, sealed into the hash chain from the file's head in a write transaction
    of its own (the way ``hallctl token create`` journals while the daemon runs); the file's trigger makes
    the case. A case rated weeks ago cannot be had otherwise against a daemon on the real clock."""
    rated_at = time.time() - 10 * 86400
    detail = {
        "clerk": clerk,
        "level": 2,
        "level_name": "不满意",
        "rated_at": rated_at,
        "due_day": due_day.isoformat(),
    }
    # Journaled now (the journal stays in time order); the rating and the deadline lie in the past.
    entry = (
        time.time(),
        "hallctl",
        "system",
        "followup.open",
        window,
        None,
        None,
        "open",
        json.dumps(detail),
    )
    conn = sqlite3.connect(db, isolation_level=None, timeout=30)
    try:
        conn.execute("begin immediate")
        chain.append_entries(conn, [entry])
        conn.execute("commit")
    finally:
        conn.close()
