"""Tokens are read from the hall's file while it runs: a new one works at once, a revoked one stops."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import hallctl.service
from hallctl.cli import main
from hallctl.store.schema import connect
from hallctl.store.tokens import lookup, revoke

from .halltest import Hall


async def test_a_token_created_while_the_hall_runs_works_at_once(fresh_hall: Hall) -> None:
    token = fresh_hall.token_for("casesys", name="业务经办系统")
    me = await fresh_hall.api("GET", "/api/v1/me", token)
    assert (me["role"], me["name"]) == ("casesys", "业务经办系统")
    assert "today" in await fresh_hall.api("GET", "/api/v1/stats", token)


async def test_a_token_made_by_the_cli_while_the_hall_runs_works_at_once(fresh_hall: Hall) -> None:
    made = CliRunner().invoke(
        main, ["token", "create", "--db", str(fresh_hall.db_path), "--role", "clerk", "--clerk", "c9"]
    )
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    await fresh_hall.api("POST", "/api/v1/windows/3/login", token)
    assert (await fresh_hall.api("GET", "/api/v1/me", token))["window"] == 3


@pytest.fixture
def no_token_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request asks the file about its token (the service trusts a lookup for 5 s otherwise)."""
    monkeypatch.setattr(hallctl.service, "TOKEN_CACHE_SECONDS", 0)


@pytest.mark.usefixtures("no_token_cache")
async def test_a_revoked_token_stops_working(fresh_hall: Hall) -> None:
    hall = fresh_hall
    token = hall.token_for("manager", name="科长")
    assert (await hall.api("GET", "/api/v1/me", token))["role"] == "manager"
    conn = connect(hall.db_path)
    try:
        info = lookup(conn, token)
        assert info is not None
        assert revoke(conn, info.id)
    finally:
        conn.close()
    await hall.refused("GET", "/api/v1/me", token, status=401, code="bad_token")
    await hall.refused("POST", "/api/v1/tickets", token, {"matter": "CBDJ"}, status=401, code="bad_token")
    assert hall.rows("tickets") == 0
    # the others' tokens are untouched
    assert (await hall.api("GET", "/api/v1/me", hall.tokens["kiosk"]))["role"] == "kiosk"


@pytest.mark.usefixtures("no_token_cache")
async def test_a_token_revoked_with_the_cli_stops_working(fresh_hall: Hall) -> None:
    hall = fresh_hall
    kiosk = hall.tokens["kiosk"]
    await hall.api("POST", "/api/v1/tickets", kiosk, {"matter": "CBDJ"}, status=201)
    listed = CliRunner().invoke(main, ["token", "list", "--db", str(hall.db_path)])
    assert listed.exit_code == 0, listed.output
    assert kiosk not in listed.output  # the list never shows a token
    kiosk_id = next(line.split("\t")[0] for line in listed.stdout.splitlines() if "\tkiosk\t" in line)
    revoked = CliRunner().invoke(main, ["token", "revoke", "--db", str(hall.db_path), kiosk_id])
    assert revoked.exit_code == 0, revoked.output
    await hall.refused("POST", "/api/v1/tickets", kiosk, {"matter": "CBDJ"}, status=401, code="bad_token")
    assert hall.rows("tickets") == 1
    again = CliRunner().invoke(main, ["token", "revoke", "--db", str(hall.db_path), kiosk_id])
    assert again.exit_code != 0 and f"no active token with id {kiosk_id}" in again.output
