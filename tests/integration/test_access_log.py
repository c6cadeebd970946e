"""The access record over a real hall and file: where each token is used from (behind a trusted proxy,
the forwarded client), the requests refused because the role may not use the endpoint, written in
batches to its own tables, bounded, and screened by the audit report. A refused request still changes
nothing in the hall's tables or its journal."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from aiohttp import web

from hallctl.audit.access_log import read_access
from hallctl.config import HallConfig
from hallctl.config_audit import Access, UnusualEndpoint
from hallctl.web.access import ACCESS, AccessRecorder

from .halltest import FakeClock, Hall, run_hall

KIOSK_LAN = {"X-Forwarded-For": "10.1.0.11"}
CAFE = {"X-Forwarded-For": "192.168.7.20"}


def with_access(config: HallConfig, **access: Any) -> HallConfig:
    """The example hall behind a reverse proxy on this machine, kiosks expected on 10.1.0.0/24."""
    audit = config.audit.model_copy(
        update={
            "access": Access(**{"trusted_proxies": ("127.0.0.1/32",), **access}),
            "unusual_endpoint": UnusualEndpoint(networks={"kiosk": ("10.1.0.0/24",)}),
        }
    )
    return config.model_copy(update={"audit": audit})


def recorder(hall: Hall) -> AccessRecorder:
    app: web.Application | None = hall.client.app
    assert app is not None
    return app[ACCESS]


def table(db_path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def hall_tables(db_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {t: table(db_path, f"select * from {t} order by 1") for t in ("tickets", "windows", "journal")}


async def test_token_use_is_recorded_by_address_and_screened_by_the_audit_report(
    example_config: HallConfig, db_path: Path, clock: FakeClock
) -> None:
    async with run_hall(with_access(example_config), db_path, clock) as hall:
        kiosk, c1 = hall.tokens["kiosk"], hall.tokens["c1"]
        for _ in range(3):
            status, _ = await hall.request("GET", "/api/v1/matters", kiosk, headers=KIOSK_LAN)
            assert status == 200
        await hall.request("GET", "/api/v1/matters", kiosk, headers=CAFE)
        await recorder(hall).flush()
        before = hall_tables(db_path)
        for _ in range(5):  # a clerk's token tries the manager's window controls
            await hall.refused("POST", "/api/v1/windows/1/open", c1, status=403, code="role_forbidden")
        status, answer = await hall.request("GET", "/api/v1/audit", kiosk, headers=CAFE)
        assert status == 403 and answer["error"]["code"] == "role_forbidden"
        await recorder(hall).flush()
        assert hall_tables(db_path) == before, "a refused request changed the hall's tables or journal"

        uses = table(db_path, "select name, role, address, uses from access_addresses order by name, address")
        assert uses == [
            ("c1", "clerk", "127.0.0.1", 5),  # no X-Forwarded-For: the proxy's own address
            ("test kiosk", "kiosk", "10.1.0.11", 3),
            ("test kiosk", "kiosk", "192.168.7.20", 2),  # the matters, and the audit it was refused
        ]
        refused = table(db_path, "select name, address, endpoint from access_refusals order by id")
        assert refused == [("c1", "127.0.0.1", "POST /api/v1/windows/{window}/open")] * 5 + [
            ("test kiosk", "192.168.7.20", "GET /api/v1/audit")
        ]

        report = await hall.api("GET", "/api/v1/audit", hall.tokens["auditor"])
        found = {a["rule"]: a for a in report["anomalies"]}
        assert sorted(found) == ["forbidden_requests", "foreign_network"]
        foreign = found["foreign_network"]
        assert foreign["actor"] == "test kiosk" and "192.168.7.20" in foreign["summary"]
        assert [(e["address"], e["role"]) for e in foreign["evidence"]] == [("192.168.7.20", "kiosk")]
        probes = found["forbidden_requests"]
        assert probes["actor"] == "c1" and probes["evidence_total"] == 5
        assert {e["endpoint"] for e in probes["evidence"]} == {"POST /api/v1/windows/{window}/open"}

        response = await hall.client.get(
            "/api/v1/audit?format=html", headers={"Authorization": f"Bearer {hall.tokens['auditor']}"}
        )
        page = await response.text()
        for shown in (
            "令牌在非常用网络使用",
            "令牌反复越权请求",
            "192.168.7.20",
            "/api/v1/windows/{window}/open",
        ):
            assert shown in page


async def test_without_a_trusted_proxy_the_forwarded_header_is_not_believed(
    example_config: HallConfig, db_path: Path, clock: FakeClock
) -> None:
    async with run_hall(example_config, db_path, clock) as hall:
        await hall.request("GET", "/api/v1/matters", hall.tokens["kiosk"], headers=CAFE)
        await recorder(hall).flush()
        assert table(db_path, "select address, uses from access_addresses") == [("127.0.0.1", 1)]


async def test_the_record_is_written_when_the_daemon_stops(
    example_config: HallConfig, db_path: Path, clock: FakeClock
) -> None:
    async with run_hall(example_config, db_path, clock) as hall:
        for _ in range(4):
            await hall.request("GET", "/api/v1/windows", hall.tokens["manager"])
        assert table(db_path, "select count(*) from access_addresses") == [(0,)]  # still in memory
    assert table(db_path, "select name, uses from access_addresses") == [("test manager", 4)]


async def test_the_tables_keep_the_newest_rows_within_their_limits(
    example_config: HallConfig, db_path: Path, clock: FakeClock
) -> None:
    config = with_access(example_config, max_refusals=100, max_addresses=100)
    async with run_hall(config, db_path, clock) as hall:
        for n in range(120):
            clock.advance(1)
            await hall.request(
                "GET", "/api/v1/audit", hall.tokens["kiosk"], headers={"X-Forwarded-For": f"10.1.{n}.1"}
            )
        await recorder(hall).flush()
        kept = table(db_path, "select address from access_refusals order by id")
        assert len(kept) == 100 and kept[0] == ("10.1.20.1",) and kept[-1] == ("10.1.119.1",)
        addresses = table(db_path, "select address from access_addresses order by last_seen")
        assert len(addresses) == 100 and addresses[0] == ("10.1.20.1",)


def test_a_file_from_before_the_access_record_screens_as_empty(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / "old.db")
    try:
        assert read_access(old, 0.0, 2e9) == ([], [])
    finally:
        old.close()
