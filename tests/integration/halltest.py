"""Helpers the integration tests share: a fake clock in hall time, and the hall as an HTTP caller sees it.

Kept out of conftest.py so tests can import them by name; the fixtures themselves live in conftest.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient, TestServer

from hallctl.config import HallConfig
from hallctl.core.credit_code import check_character
from hallctl.service import HallService
from hallctl.store.schema import connect
from hallctl.store.tokens import create_token
from hallctl.web.app import create_app

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "hall.example.toml"
SHANGHAI = ZoneInfo("Asia/Shanghai")
MINUTE = 60.0

#: Every role a token may have, in the order the role tests walk them.
ROLES = ("kiosk", "clerk", "manager", "auditor", "display", "casesys", "booking")
#: The example hall's windows; clerk cN works at window N.
WINDOWS = range(1, 9)


def at(local: str) -> float:
    """Epoch seconds of a wall-clock time in the hall's zone, e.g. ``at("2026-03-02 09:00")``."""
    return datetime.fromisoformat(local).replace(tzinfo=SHANGHAI).timestamp()


# A Monday in March: the example hall is open 08:30-12:00 and 13:00-17:30 (the fixtures run it with
# always_open anyway, so a test never depends on the hour it runs at).
NINE = at("2026-03-02 09:00")


class FakeClock:
    """The service's clock: stands still until a test moves it, so waits and ETAs are exact."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def credit_code(first17: str = "91350100M000100Y4") -> str:
    """A valid unified social credit code: 17 characters and their check character."""
    return first17 + check_character(first17)


def bad_credit_code() -> str:
    """The valid code with a wrong check character."""
    good = credit_code()
    wrong = "0" if good[-1] != "0" else "1"
    return good[:-1] + wrong


def new_token(db_path: Path, role: str, *, clerk: str | None = None, name: str = "") -> str:
    """A token stored straight into the hall's file (as ``hallctl token create`` does), even while it runs."""
    conn = connect(db_path)
    try:
        return create_token(conn, role, clerk=clerk, name=name)
    finally:
        conn.close()


def count_rows(db_path: Path, table: str) -> int:
    """Rows of a table, read from the file by a connection of its own (what is committed, nothing else)."""
    conn = sqlite3.connect(db_path)
    try:
        return int(conn.execute(f"select count(*) from {table}").fetchone()[0])
    finally:
        conn.close()


class ApiError(AssertionError):
    pass


@dataclass
class Hall:
    """A running hall: the service, its HTTP test client, the file behind it and the clock it reads.

    ``tokens`` holds one token per role (``kiosk``, ``manager`` ...) and one per clerk (``c1`` for the
    clerk who works at window 1); ``queue`` the tickets a fixture issued.
    """

    service: HallService
    client: TestClient[Any, Any]
    db_path: Path
    clock: FakeClock
    tokens: dict[str, str] = field(default_factory=dict)
    queue: list[dict[str, Any]] = field(default_factory=list)  # tickets a fixture issued, in order

    async def request(
        self,
        method: str,
        path: str,
        token: str | None = None,
        *,
        json: Any = None,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """Any request; returns the status and the decoded JSON (or the text when it is not JSON)."""
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        kwargs: dict[str, Any] = {"headers": sent}
        if json is not None:
            kwargs["json"] = json
        elif data is not None:
            kwargs["data"] = data
            sent.setdefault("Content-Type", "application/json")
        async with self.client.request(method, path, **kwargs) as resp:
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, await resp.text()

    async def api(
        self, method: str, path: str, token: str | None, body: Any = None, *, status: int = 200
    ) -> Any:
        """A request that must answer ``status``; returns its JSON. The assertion shows what came back."""
        got, answer = await self.request(method, path, token, json=body)
        if got != status:
            raise ApiError(f"{method} {path} answered {got}, expected {status}: {answer}")
        return answer

    async def refused(
        self, method: str, path: str, token: str | None, body: Any = None, *, status: int, code: str
    ) -> dict[str, Any]:
        """A request that must be refused with this status and error code; returns the error object."""
        got, answer = await self.request(method, path, token, json=body)
        if got != status or not isinstance(answer, dict) or answer.get("error", {}).get("code") != code:
            raise ApiError(f"{method} {path} answered {got} {answer}, expected {status} {code}")
        error: dict[str, Any] = answer["error"]
        assert isinstance(error.get("message"), str) and error["message"], answer
        return error

    def rows(self, table: str) -> int:
        return count_rows(self.db_path, table)

    def token_for(self, role: str, **kwargs: Any) -> str:
        return new_token(self.db_path, role, **kwargs)


@asynccontextmanager
async def run_hall(
    config: HallConfig, db_path: Path, clock: FakeClock, *, tokens: dict[str, str] | None = None
) -> AsyncIterator[Hall]:
    """Start the service on the file and the app in front of it; stop both at the end of the block.

    Without ``tokens`` it stores one token per role and one per clerk (``c1`` .. ``c8``); a restart
    passes the tokens of the first run, which the file still holds.
    """
    async with (
        HallService(config, db_path, always_open=True, clock=clock) as service,
        TestClient(TestServer(create_app(service))) as client,
    ):
        hall = Hall(service, client, db_path, clock)
        if tokens is not None:
            hall.tokens = dict(tokens)
        else:
            for role in ROLES:
                if role != "clerk":
                    hall.tokens[role] = new_token(db_path, role, name=f"test {role}")
            for n in WINDOWS:
                hall.tokens[f"c{n}"] = new_token(db_path, "clerk", clerk=f"c{n}", name=f"柜员{n}")
        yield hall
