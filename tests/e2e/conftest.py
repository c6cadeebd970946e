"""End-to-end fixtures: the real daemon (``hallctl serve --always-open``) as a subprocess on a free loopback
port with its own temporary SQLite file. Named after the state they give: ``hall_db`` (a new hall's file),
``tokens`` (its tokens), ``stopped_daemon`` (a daemon for it, not started), ``daemon`` (the hall serving).
The daemon's process group is killed at teardown, whatever happened; a failing test prints its log."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest

from hallctl.store.schema import open_db
from hallctl.store.tokens import create_token

from .daemonkit import Daemon, Tokens

CLERKS = tuple(f"c{n}" for n in range(1, 9))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, object, object]:
    # Keep each phase's report on the test, so a fixture's teardown can tell whether the test failed.
    report = yield
    setattr(item, f"report_{call.when}", report)
    return report


@pytest.fixture
def hall_db(tmp_path: Path) -> Path:
    """A new hall's database file, migrated, with no tickets yet."""
    db = tmp_path / "hall.db"
    open_db(db).conn.close()
    return db


@pytest.fixture
def tokens(hall_db: Path) -> Tokens:
    """A kiosk, a manager, an auditor and clerks c1..c8, made the way ``hallctl token create`` makes them."""
    conn = open_db(hall_db).conn
    try:
        return Tokens(
            kiosk=create_token(conn, "kiosk", name="e2e kiosk"),
            manager=create_token(conn, "manager", name="e2e manager"),
            auditor=create_token(conn, "auditor", name="e2e auditor"),
            clerk={c: create_token(conn, "clerk", clerk=c, name=f"e2e clerk {c}") for c in CLERKS},
        )
    finally:
        conn.close()


@pytest.fixture
def stopped_daemon(
    hall_db: Path, tokens: Tokens, tmp_path: Path, request: pytest.FixtureRequest
) -> Generator[Daemon, None, None]:
    """A daemon for the hall, not yet started (a test that seeds the file first starts it itself)."""
    del tokens  # made before the daemon starts, as an installer would
    daemon = Daemon(hall_db, tmp_path / "daemon.log")
    yield daemon
    daemon.close()
    failed = any(
        getattr(getattr(request.node, f"report_{w}", None), "failed", False) for w in ("setup", "call")
    )
    if failed:
        print(f"\n==== daemon log ({daemon.log_path}) ====\n{daemon.log()}")


@pytest.fixture
def daemon(stopped_daemon: Daemon) -> Daemon:
    """The hall serving on a free loopback port."""
    stopped_daemon.start()
    return stopped_daemon
