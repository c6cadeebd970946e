"""The simulator's figures as text tables for people (Chinese headings, minutes), and its tickets as the
history CSV that ``hallctl replay`` reads."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hallctl.config import HallConfig
from hallctl.core.model import CHANNEL_NAMES
from hallctl.history.events import HistoryRecord, write_history
from hallctl.sim.results import SERVED, SimResult

KIND_NAMES = {"integrated": "综合", "consultation": "咨询", "dedicated": "专窗"}
REFUSAL_NAMES = {
    "hall_closed": "闭厅后到达",
    "daily_cap_reached": "当日号源已取完",
    "numbers_exhausted": "号段已发完",
    "no_window_serves": "无窗口可办理",
}
SETUP_NAMES = {"current": "当前配置", "siloed": "分设窗口（改革前）"}


def setup_name(setup: str) -> str:
    return SETUP_NAMES.get(setup, setup)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, right: bool) -> str:
    space = " " * max(0, width - _width(text))
    return space + text if right else text + space


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded by display width (a Chinese character takes two); the first column left-aligned."""
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [_pad(cell, widths[i], right=i > 0) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f}"


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.0f}%"


def _matter_name(config: HallConfig, label: str) -> str:
    names = [config.matters_by_code[m].name if m in config.matters_by_code else m for m in label.split("+")]
    return f"{label} {'+'.join(names)}"


def _figure_row(name: str, f: dict[str, Any]) -> list[str]:
    return [
        name,
        str(f["tickets"]),
        str(f["served"]),
        str(f["no_shows"]),
        str(f["abandoned"]),
        _minutes(f["wait_mean_s"]),
        _minutes(f["wait_p50_s"]),
        _minutes(f["wait_p90_s"]),
        _percent(f["service_level"]),
    ]


FIGURE_HEADER = ["", "取号", "办理", "过号", "离队", "平均等候", "P50", "P90", "达标率"]


def text_report(config: HallConfig, summary: dict[str, Any]) -> str:
    """The readable form of :func:`~hallctl.sim.results.summarize`'s figures (waits in minutes)."""
    days = summary["days"]
    first = summary["dates"][0] if summary["dates"] else "-"
    setup = f"（{setup_name(summary['setup'])}）" if summary["setup"] else ""
    parts = [
        f"{summary['hall']}{setup}：模拟 {days} 天（自 {first} 起），随机种子 {summary['seed']}",
        "等候时间单位为分钟；达标率 = 在事项目标等候时间内被叫号的比例。",
        "",
        table(
            ["事项", *FIGURE_HEADER[1:]],
            [_figure_row(_matter_name(config, k), f) for k, f in summary["by_matter"].items()]
            + [_figure_row("合计", summary["overall"])],
        ),
        "",
        table(
            ["通道", *FIGURE_HEADER[1:]],
            [_figure_row(CHANNEL_NAMES.get(k, k), f) for k, f in summary["by_channel"].items()],
        ),
        "",
        table(
            ["窗口", "类型", "工作模式", "办理", "在岗小时", "利用率"],
            [
                [
                    f"{w['id']}号",
                    KIND_NAMES.get(w["kind"], w["kind"]),
                    w["profile"],
                    str(w["served"]),
                    f"{w['staffed_hours']:.1f}",
                    _percent(w["utilisation"]),
                ]
                for w in summary["windows"]
            ],
        ),
        f"窗口总利用率：{_percent(summary['utilisation'])}",
    ]
    if summary["refused"]:
        refused = _refusals(summary["refused"])
        parts.append(f"未能取号：{refused}")
    return "\n".join(parts)


def _refusals(refused: dict[str, int]) -> str:
    return "，".join(f"{REFUSAL_NAMES.get(code, code)} {n} 人" for code, n in refused.items())


def _signed(value: float | None, scale: float, unit: str) -> str:
    return "-" if value is None else f"{value * scale:+.1f}{unit}"


def compare_report(config: HallConfig, base: dict[str, Any], others: Sequence[dict[str, Any]]) -> str:
    """Per matter, each other setup beside the base: mean wait, p90 and service level, and the change."""
    parts = []
    for other in others:
        diff = other["difference"]
        figures = other["figures"]
        rows = []
        for key in diff:
            a = base["overall"] if key == "overall" else base["by_matter"].get(key, {})
            b = figures["overall"] if key == "overall" else figures["by_matter"].get(key, {})
            d = diff[key]
            rows.append(
                [
                    "合计" if key == "overall" else _matter_name(config, key),
                    _minutes(a.get("wait_mean_s")),
                    _minutes(b.get("wait_mean_s")),
                    _signed(d["wait_mean_s"], 1 / 60, ""),
                    _minutes(a.get("wait_p90_s")),
                    _minutes(b.get("wait_p90_s")),
                    _percent(a.get("service_level")),
                    _percent(b.get("service_level")),
                    _signed(d["service_level"], 100, ""),
                ]
            )
        header = ["事项", "平均等候", "对比", "差", "P90", "对比", "达标率", "对比", "差（百分点）"]
        util = diff["overall"]["utilisation"]
        parts += [
            f"对比：{setup_name(base['setup'])} → {setup_name(other['setup'])}"
            "（同一客流、同一随机种子；等候单位：分钟）",
            table(header, rows),
            f"窗口总利用率：{_percent(base['utilisation'])} → {_percent(figures['utilisation'])}"
            f"（{_signed(util, 100, ' 个百分点')}）",
        ]
        if figures["refused"]:
            refused = _refusals(figures["refused"])
            parts.append(f"对比方案未能取号：{refused}")
        parts.append("")
    return "\n".join(parts).rstrip()


def history_records(result: SimResult) -> list[HistoryRecord]:
    """The run's tickets in the history format: a no-show (or a citizen who left) has no call, finish or
    window; tickets still waiting when a run ended are left out (they have no outcome yet)."""
    out = []
    for t in result.tickets:
        if t.outcome == "unserved":
            continue
        served = t.outcome == SERVED
        out.append(
            HistoryRecord(
                ticket_id=str(t.id),
                matters=t.matters,
                channel=t.channel,
                issued_at=t.issued_at,
                called_at=t.called_at if served else None,
                finished_at=t.finished_at if served else None,
                window=t.window if served else None,
            )
        )
    return out


def write_events(result: SimResult, path: Path) -> int:
    """Write ``ticket_id,matter,channel,issued_at,called_at,finished_at,window``; returns the row count."""
    records = history_records(result)
    write_history(records, path, result.zone)
    return len(records)
