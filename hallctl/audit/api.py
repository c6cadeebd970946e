"""``GET /api/v1/audit``: the journal review for auditors and managers, as JSON, printable HTML or CSV;
and the 差评整改 follow-up cases: listed for auditors, managers and (their own) clerks, worked by managers.

The report is built in a helper thread on a read-only connection of its own: a month of journal takes a
while to count, and the event loop keeps serving the hall meanwhile.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hallctl.audit import followups
from hallctl.audit.render import render_csv, render_html
from hallctl.audit.report import EARLIEST, LATEST, build_report
from hallctl.audit.settings import AuditSettings
from hallctl.core.calendar import business_day
from hallctl.core.errors import Invalid
from hallctl.core.model import Change, Role
from hallctl.core.state import HallState
from hallctl.service import SQLITE_MAX_INT, SQLITE_MIN_INT, HallService
from hallctl.store.schema import connect
from hallctl.web.endpoints import Context, endpoint

AUDIT_READERS = frozenset({Role.AUDITOR, Role.MANAGER})


def _date(ctx: Context, name: str, default: date) -> date:
    raw = ctx.request.query.get(name)
    if raw is None:
        return default
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        raise Invalid(
            "bad_query", f"参数 {name} 应为日期 YYYY-MM-DD", f"{name} must be a date, YYYY-MM-DD", field=name
        ) from None
    if not EARLIEST <= value <= LATEST:
        raise Invalid(
            "bad_query", f"参数 {name} 超出范围", f"{name} must lie in {EARLIEST}..{LATEST}", field=name
        )
    return value


def _build(ctx: Context, settings: AuditSettings, first: date, last: date, now: float) -> dict[str, Any]:
    conn = connect(ctx.service.db_path)
    try:
        conn.execute("pragma query_only = on")  # an audit reads; it never writes
        return build_report(conn, settings, first, last, now=now)
    finally:
        conn.close()


@endpoint(
    "GET",
    "/api/v1/audit",
    roles=AUDIT_READERS,
    tag="audit",
    summary="Journal review (数据库日志审查): actions per audit class per clerk, window and day against "
    "tickets served, anomalies with evidence, daily anchors",
    query=(
        ("from", "first day, YYYY-MM-DD (default today)"),
        ("to", "last day, YYYY-MM-DD (default the first)"),
        ("format", "json (default), html (printable) or csv"),
    ),
)
async def audit(ctx: Context) -> Any:
    service = ctx.service
    now = service.clock()
    today = date.fromisoformat(business_day(now, service.state.zone))
    first = _date(ctx, "from", today)
    last = _date(ctx, "to", first)
    fmt = ctx.request.query.get("format", "json")
    if fmt not in ("json", "html", "csv"):
        raise Invalid(
            "bad_query", "format 应为 json、html 或 csv", "format must be json, html or csv", field="format"
        )
    if last < first:
        raise Invalid("bad_query", "结束日期早于开始日期", "to is before from", field="to")
    limit = service.config.audit.max_api_days
    if last - first >= timedelta(days=limit):
        raise Invalid(
            "range_too_long",
            f"一次最多查询 {limit} 天，更长的范围请用 hallctl audit-report",
            f"at most {limit} days at a time; use hallctl audit-report for longer ranges",
            field="to",
        )
    settings = AuditSettings.of(service.config, "the running configuration")
    report = await asyncio.to_thread(_build, ctx, settings, first, last, now)
    if fmt == "html":
        return web.Response(text=render_html(report), content_type="text/html", charset="utf-8")
    if fmt == "csv":
        name = f"audit-{report['hall']}-{first}-{last}.csv"
        return web.Response(
            text=render_csv(report),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return report


# -- 差评整改 follow-ups -------------------------------------------------------------------------------

FOLLOWUP_READERS = frozenset({Role.AUDITOR, Role.MANAGER, Role.CLERK})
FOLLOWUP_STATES = ("all", "open", "overdue", "closed")


class FollowUpStep(BaseModel):
    """What a manager records: the call-back note, the rectification, or the closing note."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    text: Annotated[str, Field(min_length=1, max_length=2000)]


def _today(service: HallService) -> str:
    return business_day(service.clock(), service.state.zone)


def _case(service: HallService, case_id: int) -> dict[str, Any] | None:
    if not SQLITE_MIN_INT <= case_id <= SQLITE_MAX_INT:
        return None
    rows = service.read(followups.CASE_BY_ID, (case_id,))
    return dict(rows[0]) if rows else None


def followup_counts(service: HallService) -> tuple[int, int]:
    """Cases not yet closed and those past their deadline, for /metrics."""
    row = service.read(followups.COUNTS, (_today(service),))[0]
    return int(row[0]), int(row[1])


@endpoint(
    "GET",
    "/api/v1/followups",
    roles=FOLLOWUP_READERS,
    tag="audit",
    summary="差评整改 follow-up cases, newest first (a clerk sees their own only)",
    query=(
        ("state", "all (default), open (not closed), overdue or closed"),
        ("limit", "at most this many (≤1000)"),
    ),
)
async def list_followups(ctx: Context) -> dict[str, Any]:
    state = ctx.request.query.get("state", "all")
    if state not in FOLLOWUP_STATES:
        raise Invalid(
            "bad_query", "state 取值无效", f"state must be one of {', '.join(FOLLOWUP_STATES)}", field="state"
        )
    who = ctx.who
    if who.role is Role.CLERK and not who.clerk:
        raise Invalid("clerk_required", "柜员令牌缺少柜员编号", "this clerk token names no clerk")
    filters = followups.CaseFilter(
        state=None if state == "all" else state,
        clerk=who.clerk if who.role is Role.CLERK else None,
        limit=ctx.int_query("limit", 200, 1, 1000),
    )
    today = _today(ctx.service)
    sql, params = followups.query(filters, today)
    cases = followups.list_cases(ctx.service.read(sql, params), today, ctx.service.state.zone)
    return {"followups": cases, "today": today}


def _step_endpoint(name: str, summary: str) -> None:
    async def handler(ctx: Context) -> dict[str, Any]:
        case_id, actor, service = ctx.int_param("id"), ctx.who, ctx.service
        body = ctx.body
        assert isinstance(body, FollowUpStep)

        def command(state: HallState, now: float) -> Change:
            del state
            return followups.step(_case(service, case_id), case_id, now, actor, name, body.text)

        await service.execute(command)
        case = _case(service, case_id)
        assert case is not None
        return {"followup": followups.case_view(case, _today(service), service.state.zone)}

    handler.__name__ = f"followup_{name}"
    endpoint(
        "POST",
        f"/api/v1/followups/{{id}}/{name}",
        roles=frozenset({Role.MANAGER}),
        body=FollowUpStep,
        tag="audit",
        summary=summary,
    )(handler)


_step_endpoint("callback", "Record the call-back (回访) of a follow-up case")
_step_endpoint("rectify", "Record the rectification (整改) of a follow-up case")
_step_endpoint("close", "Close (销号) a rectified follow-up case")
