"""``hallctl token create`` against the file of a running daemon: the new token works at once, without a
restart, and nothing else is disturbed."""

from __future__ import annotations

import asyncio
import re

import pytest

from .daemonkit import Daemon, Tokens, hallctl_command

pytestmark = pytest.mark.slow

TOKEN = re.compile(r"hc_[A-Za-z0-9_-]{20,}")


async def _token_create(daemon: Daemon, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        *hallctl_command(),
        "token",
        "create",
        "--db",
        str(daemon.db),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(30):
        out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    last = out.decode().splitlines()[-1]  # the contract: the token alone on the last line of stdout
    assert TOKEN.fullmatch(last), f"the last stdout line is not a token: {last!r}"
    return last


async def test_token_created_while_daemon_runs_works_at_once(daemon: Daemon, tokens: Tokens) -> None:
    async with daemon.client() as api:
        # A lookup before the token exists, so a daemon that remembered "unknown" would be caught.
        assert (await api.get("/api/v1/me", "hc_not-yet-made-not-yet-made")).status == 401

        clerk = await _token_create(daemon, "--role", "clerk", "--clerk", "c42", "--name", "新柜员")
        me = await api.ok("GET", "/api/v1/me", clerk)
        assert (me["role"], me["clerk"]) == ("clerk", "c42")
        login = await api.ok("POST", "/api/v1/windows/2/login", clerk)
        assert login["window"]["clerk"] == "c42"

        kiosk = await _token_create(daemon, "--role", "kiosk")
        ticket = await api.post("/api/v1/tickets", kiosk, {"matter": "CBDJ"})
        assert ticket.status == 201, str(ticket)
        called = await api.ok("POST", "/api/v1/windows/2/call-next", clerk)
        assert called["ticket"]["id"] == ticket.body["id"]

        # The tokens made before the daemon started still work: the new rows disturbed nothing.
        assert (await api.get("/api/v1/me", tokens.manager)).status == 200
