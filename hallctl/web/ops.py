"""For operators and monitoring: /healthz, /metrics (Prometheus text) and the OpenAPI document.

These three are public: they carry counts, never a citizen's data, and a monitor should not need a token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from hallctl.audit.api import followup_counts
from hallctl.core.model import QUEUED
from hallctl.core.rollup import today_by_matter
from hallctl.core.stats import wait_seconds
from hallctl.web.endpoints import FORECASTER, HUB, Context, endpoint

# Wait-time histogram buckets in seconds: up to the longest target a hall sets (an hour) and beyond.
WAIT_BUCKETS = (60, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200)


@endpoint("GET", "/healthz", roles=frozenset(), tag="ops", summary="Liveness: 200 when the daemon serves")
async def healthz(ctx: Context) -> dict[str, Any]:
    state = ctx.service.state
    return {
        "status": "ok",
        "hall": ctx.service.config.hall.id,
        "day": state.day,
        "waiting": len(state.queues),
        "uptime_s": round(ctx.service.clock() - ctx.service.started_at, 1),
    }


def _labels(**labels: object) -> str:
    inner = ",".join(
        f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in labels.items()
    )
    return "{" + inner + "}" if inner else ""


def metrics_text(ctx: Context) -> str:
    service = ctx.service
    state = service.state
    lines: list[str] = []

    def metric(name: str, kind: str, help_: str, samples: list[tuple[dict[str, object], float]]) -> None:
        lines.append(f"# HELP {name} {help_}")
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(f"{name}{_labels(**labels)} {value:g}" for labels, value in samples)

    today = [t for t in state.tickets.values() if t.day == state.day]
    metric(
        "hallctl_tickets_issued_total",
        "counter",
        "Tickets issued since the daemon started.",
        [({}, service.tickets_issued)],
    )
    issued_today: dict[tuple[str, str], int] = {}
    for t in today:
        key = (t.matters[0], t.channel)
        issued_today[key] = issued_today.get(key, 0) + 1
    metric(
        "hallctl_tickets_issued_today",
        "gauge",
        "Tickets issued today by first matter and channel.",
        [({"matter": m, "channel": c}, n) for (m, c), n in sorted(issued_today.items())],
    )
    waiting: dict[str, int] = {m.code: 0 for m in state.config.matters}
    for t in state.tickets.values():
        if t.state in QUEUED:
            waiting[t.matters[0]] = waiting.get(t.matters[0], 0) + 1
    metric(
        "hallctl_waiting",
        "gauge",
        "Tickets waiting now by first matter (the queue).",
        [({"matter": m}, n) for m, n in waiting.items()],
    )
    waits = sorted(w for t in today if (w := wait_seconds(t)) is not None)
    lines.append("# HELP hallctl_wait_seconds Wait from issue to first call of today's called tickets.")
    lines.append("# TYPE hallctl_wait_seconds histogram")
    for bound in WAIT_BUCKETS:
        lines.append(f'hallctl_wait_seconds_bucket{{le="{bound}"}} {sum(1 for w in waits if w <= bound)}')
    lines.append(f'hallctl_wait_seconds_bucket{{le="+Inf"}} {len(waits)}')
    lines.append(f"hallctl_wait_seconds_sum {sum(waits):g}")
    lines.append(f"hallctl_wait_seconds_count {len(waits)}")
    today_metrics(metric, today_by_matter(state))
    metric(
        "hallctl_windows",
        "gauge",
        "Windows by state.",
        [
            ({"state": s}, sum(1 for w in state.windows.values() if w.state.value == s))
            for s in ("open", "paused", "closed")
        ],
    )
    metric(
        "hallctl_store_commits_total",
        "counter",
        "Transactions committed (each holds one or more commands).",
        [({}, service.writer.commits)],
    )
    metric("hallctl_store_commands_total", "counter", "Commands committed.", [({}, service.writer.commands)])
    metric(
        "hallctl_bus_subscribers",
        "gauge",
        "Live subscribers of the event bus.",
        [({}, service.bus.subscribers)],
    )
    open_cases, overdue = followup_counts(service)
    metric("hallctl_followups_open", "gauge", "差评整改 follow-up cases not closed.", [({}, open_cases)])
    metric(
        "hallctl_followups_overdue",
        "gauge",
        "差评整改 follow-up cases past their deadline and not closed.",
        [({}, overdue)],
    )
    hub = ctx.request.app.get(HUB)
    if hub is not None:
        devices = hub.current_health()
        metric(
            "hallctl_device_online",
            "gauge",
            "1 when the device is online.",
            [({"device": d.id, "kind": d.kind}, 1 if d.online else 0) for d in devices],
        )
        metric(
            "hallctl_device_failures_total",
            "counter",
            "Failures seen per device.",
            [({"device": d.id, "kind": d.kind}, d.failures) for d in devices],
        )
        metric(
            "hallctl_inbound_rejected_total",
            "counter",
            "Device messages refused, by reason.",
            [({"reason": reason}, n) for reason, n in sorted(hub.rejected.items())],
        )
        if hub.link is not None:
            metric(
                "hallctl_mqtt_connected",
                "gauge",
                "1 while the broker link is up.",
                [({}, 1 if hub.link.connected.is_set() else 0)],
            )
            metric(
                "hallctl_mqtt_published_total",
                "counter",
                "Messages published to the broker.",
                [({}, hub.link.published)],
            )
            metric(
                "hallctl_mqtt_dropped_total",
                "counter",
                "Announcements dropped while the broker was away.",
                [({}, hub.link.dropped)],
            )
    forecaster = ctx.request.app.get(FORECASTER)
    if forecaster is not None:
        metric(
            "hallctl_forecast_predictions_total",
            "counter",
            "Wait predictions made since start (each covers every waiting ticket).",
            [({}, forecaster.predictions)],
        )
        metric(
            "hallctl_forecast_last_seconds",
            "gauge",
            "How long the last prediction took, worker and transfer.",
            [({}, round(forecaster.last_seconds, 4))],
        )
        metric(
            "hallctl_forecast_learned_tickets",
            "gauge",
            "Tickets of history the predictor learned at start.",
            [({}, forecaster.learned)],
        )
    return "\n".join(lines) + "\n"


Metric = Callable[[str, str, str, list[tuple[dict[str, object], float]]], None]


def today_metrics(metric: Metric, figures: dict[str, dict[str, Any]]) -> None:
    """Today's figures per matter, the same as GET /api/v1/stats?group_by=matter gives (docs/stats.md)."""
    for name, key, help_ in (
        ("hallctl_today_issued", "issued", "Tickets issued today per matter (a bundle counts for each)."),
        ("hallctl_today_served", "served", "Tickets served (done) today per matter."),
        ("hallctl_today_no_show_rate", "no_show_rate", "No-shows per ticket issued today, per matter."),
        ("hallctl_today_service_level", "service_level", "Share of today's called tickets within target."),
    ):
        samples: list[tuple[dict[str, object], float]] = [
            ({"matter": m}, f[key]) for m, f in figures.items() if f[key] is not None
        ]
        metric(name, "gauge", help_, samples)
    for name, key, help_ in (
        ("hallctl_today_wait_seconds", "wait_seconds", "Today's wait from issue to first call, per matter."),
        ("hallctl_today_service_seconds", "service_seconds", "Today's service time (start to finish)."),
    ):
        samples = [
            ({"matter": m, "stat": stat}, f[key][stat])
            for m, f in figures.items()
            for stat in ("mean", "p50", "p90", "max")
            if f[key][stat] is not None
        ]
        metric(name, "gauge", help_, samples)


@endpoint("GET", "/metrics", roles=frozenset(), tag="ops", summary="Prometheus metrics (text format)")
async def metrics(ctx: Context) -> web.Response:
    return web.Response(
        text=metrics_text(ctx),
        content_type="text/plain",
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )
