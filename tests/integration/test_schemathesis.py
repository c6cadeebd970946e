"""Schemathesis fuzzes every operation of the served OpenAPI document against the live app: whatever it
sends, the hall never answers with a server error.

The app runs on a free loopback port in a thread with its own event loop; schemathesis runs as its CLI
(a subprocess, so its Hypothesis settings stay apart from the test suite's), bounded and seeded.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pytest
from aiohttp import web

from hallctl.config import HallConfig
from hallctl.service import HallService
from hallctl.web.app import create_app

from .halltest import new_token

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# Enough to reach every branch of the request models with a few dozen cases an operation, and the whole
# run (about 40 operations, two tokens) stays well under a minute.
MAX_EXAMPLES = 25
SEED = 20260302


class LiveHall:
    """``with LiveHall(config, db) as hall:`` the app served on ``hall.url`` until the block ends."""

    def __init__(self, config: HallConfig, db_path: Path) -> None:
        self.config = config
        self.db_path = db_path
        self.url = ""
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="live-hall", daemon=True)

    def __enter__(self) -> LiveHall:
        self._thread.start()
        if not self._ready.wait(timeout=15):
            raise RuntimeError("the live hall did not start within 15 s")
        if self._failed is not None:
            raise RuntimeError("the live hall failed to start") from self._failed
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=15)
        assert not self._thread.is_alive(), "the live hall did not stop"
        if self._failed is not None:
            raise RuntimeError("the live hall failed") from self._failed

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the test thread, which would otherwise wait in vain
            self._failed = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with HallService(self.config, self.db_path, always_open=True) as service:
            runner = web.AppRunner(create_app(service), access_log=None)
            await runner.setup()
            try:
                site = web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                server = site._server
                assert isinstance(server, asyncio.Server)
                port = server.sockets[0].getsockname()[1]
                self.url = f"http://127.0.0.1:{port}"
                self._ready.set()
                await self._stop.wait()
            finally:
                await runner.cleanup()


@pytest.fixture
def live_hall(example_config: HallConfig, tmp_path: Path) -> Iterator[LiveHall]:
    with LiveHall(example_config, tmp_path / "hall.db") as hall:
        yield hall


def _schemathesis(hall: LiveHall, token: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{hall.url}/api/v1/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--phases",
        "examples,coverage,fuzzing",
        "--generation-database",
        "none",
        "--no-shrink",
        "--workers",
        "1",
        "--no-color",
        "--header",
        f"Authorization: Bearer {token}",
        *extra,
    ]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=150, check=False)


def _assert_no_failures(run: subprocess.CompletedProcess[str]) -> None:
    assert run.returncode == 0, f"schemathesis found problems:\n{run.stdout[-8000:]}\n{run.stderr[-2000:]}"
    counts = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert counts is not None, run.stdout[-3000:]
    generated, passed = int(counts[1]), int(counts[2])
    assert generated == passed > 100, run.stdout[-3000:]  # it ran, and every case passed


@pytest.mark.slow
def test_no_operation_answers_a_server_error_to_anything_schemathesis_sends(
    live_hall: LiveHall, tmp_path: Path
) -> None:
    manager = new_token(live_hall.db_path, "manager", name="schemathesis")
    _assert_no_failures(_schemathesis(live_hall, manager, tmp_path))


@pytest.mark.slow
def test_no_window_action_answers_a_server_error_to_a_logged_in_clerk(
    live_hall: LiveHall, tmp_path: Path
) -> None:
    """The window actions are the clerk's: fuzz them with a clerk token, logged in at window 1."""
    clerk = new_token(live_hall.db_path, "clerk", clerk="c1", name="schemathesis clerk")
    login = urllib.request.Request(
        f"{live_hall.url}/api/v1/windows/1/login",
        method="POST",
        headers={"Authorization": f"Bearer {clerk}"},
    )
    with urllib.request.urlopen(login, timeout=10) as answer:
        assert answer.status == 200
    _assert_no_failures(_schemathesis(live_hall, clerk, tmp_path, "--include-tag", "window"))
