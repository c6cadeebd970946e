"""The audit report as a printable HTML page (no external resources) and as one CSV table."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from html import escape
from typing import Any

from hallctl.audit.classes import CLASS_NAMES, CLASSES, GENERAL, IN_PROCESS, KEY

# Dark, middle and light: the three classes stay apart on a black-and-white printer too.
COLOURS = {KEY: "#b91c1c", IN_PROCESS: "#f59e0b", GENERAL: "#cbd5e1"}

_CSS = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; margin: 2em;
       color: #111; font-size: 11pt; }
h1 { font-size: 17pt; margin-bottom: 0.2em; } h2.hall { font-size: 15pt; border: none; }
h2 { font-size: 13pt; margin-top: 1.6em; border-bottom: 1px solid #999; }
h3 { font-size: 11pt; margin: 1em 0 0.3em; }
table { border-collapse: collapse; margin: 0.4em 0; max-width: 100%; }
td { overflow-wrap: break-word; } td.wrap { overflow-wrap: anywhere; } th, td { border: 1px solid #999;
     padding: 2px 6px; text-align: left; vertical-align: top; } th { background: #eee; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.hash { font-family: monospace; font-size: 8.5pt; word-break: break-all; }
.ok { color: #166534; font-weight: bold; } .bad { color: #b91c1c; font-weight: bold; }
.meta { color: #444; } .anomaly { page-break-inside: avoid; margin-bottom: 1em; }
.legend span { display: inline-block; width: 0.9em; height: 0.9em; margin: 0 0.3em 0 1em;
     vertical-align: middle; }
@page { size: A4; margin: 1.5cm; }
@media print { body { margin: 1cm; } h2 { page-break-after: avoid; } .chart { page-break-inside: avoid; } }
"""


def _n(value: Any) -> str:
    return "–" if value is None else escape(str(value))


def _counts_row(label: str, c: dict[str, Any]) -> str:
    cells = [c[KEY], c[IN_PROCESS], c[GENERAL], c["actions"], c["served"], c["key_per_100_served"]]
    return f"<tr><td>{label}</td>" + "".join(f'<td class="n">{_n(v)}</td>' for v in cells) + "</tr>"


_COUNT_HEAD = (
    "<tr><th>{first}</th><th>重点审计</th><th>事中审计</th><th>一般审计</th><th>操作</th>"
    "<th>办结</th><th>重点/百件</th></tr>"
)


def day_chart(day: str, actors: list[tuple[str, dict[str, int]]]) -> str:
    """One day's actions per actor as stacked horizontal bars (key, in-process, general)."""
    if not actors:
        return ""
    bar, gap, label_w, width = 14, 6, 150, 640
    widest = max(sum(c[k] for k in CLASSES) for _, c in actors) or 1
    scale = (width - label_w - 60) / widest
    height = len(actors) * (bar + gap) + gap
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(day)}">'
    ]
    for i, (actor, c) in enumerate(actors):
        y = gap + i * (bar + gap)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar - 3}" text-anchor="end" font-size="11">'
            f"{escape(actor[:18])}</text>"
        )
        x = float(label_w)
        for k in CLASSES:
            w = c[k] * scale
            if w > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar}" fill="{COLOURS[k]}">'
                    f"<title>{CLASS_NAMES[k]} {c[k]}</title></rect>"
                )
            x += w
        served = f" · 办结 {c['served']}" if c.get("served") else ""
        parts.append(
            f'<text x="{x + 4:.1f}" y="{y + bar - 3}" font-size="10">'
            f"{sum(c[k] for k in CLASSES)}{served}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


COMPARISON_COLUMNS = (
    ("hall", "大厅"),
    ("served", "办结"),
    ("actions", "操作"),
    ("key_per_100_served", "重点/百件"),
    ("in_process_per_100_served", "事中/百件"),
    ("no_show_rate_percent", "过号率%"),
    ("transfers_per_100_served", "转办/百件"),
    ("voids_per_100_served", "作废/百件"),
    ("out_of_order_per_100_served", "插队/百件"),
    ("anomalies", "异常"),
    ("chain_ok", "日志链"),
)


def comparison_table(halls: list[dict[str, Any]]) -> str:
    head = "".join(f"<th>{escape(label)}</th>" for _, label in COMPARISON_COLUMNS)
    rows = "".join(
        "<tr>" + "".join(f'<td class="n">{_n(h[key])}</td>' for key, _ in COMPARISON_COLUMNS) + "</tr>"
        for h in halls
    )
    return f"<h2>各厅对比 Halls compared</h2><table><tr>{head}</tr>{rows}</table>"


def render_html(
    report: dict[str, Any],
    *,
    comparison: list[dict[str, Any]] | None = None,
    more: list[dict[str, Any]] | None = None,
) -> str:
    """The report as one printable page; with ``comparison``, the halls side by side first and every
    hall's report after it (``report`` and then ``more``)."""
    out: list[str] = [
        "<!doctype html>",
        '<html lang="zh"><head><meta charset="utf-8">',
        f"<title>数据库日志审查报告 {escape(report['hall'])} {report['from']}–{report['to']}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>数据库日志审查报告 <small>Journal audit report</small></h1>",
    ]
    if comparison:
        out.append(comparison_table(comparison))
    for r in [report, *(more or [])]:
        out.extend(_hall_section(r))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _hall_section(r: dict[str, Any]) -> list[str]:
    out: list[str] = [
        f'<h2 class="hall">大厅 Hall {escape(r["hall"] or "–")}</h2>',
        f'<p class="meta">{r["from"]} 至 {r["to"]} ({escape(r["timezone"])}) · '
        f"生成于 {escape(r['generated_at'] or '')} · 规则来源：{escape(r['settings'])}</p>",
    ]
    ch = r["chain"]
    if ch["ok"]:
        out.append(
            f'<p class="ok">日志哈希链校验通过 / chain verified: {ch["rows"]} 行'
            f"（seq {_n(ch['first_seq'])}–{_n(ch['last_seq'])}）</p>"
        )
    else:
        first = ch["breaks"][0] if ch["breaks"] else {"seq": "?", "problem": ""}
        out.append(
            f'<p class="bad">日志哈希链断裂 / chain BROKEN: {ch["broken"]} 行，第一处 seq {first["seq"]}：'
            f"{escape(first['problem'])}</p>"
        )

    out.append("<h2>汇总 Summary</h2><table>" + _COUNT_HEAD.format(first="范围"))
    out.append(_counts_row("合计", r["totals"]))
    out.append("</table>")
    classes = r["classes"]
    out.append(
        "<p class='meta'>重点审计动作："
        + escape(", ".join(classes[KEY]["actions"]))
        + (" · 非工作时间的操作" if r.get("outside_hours_key") else "")
        + "<br>事中审计动作："
        + escape(", ".join(classes[IN_PROCESS]["actions"]))
        + f" · 第 {r['recalls_general'] + 1} 次起的重呼<br>其余为一般审计。</p>"
    )

    out.append("<h2>按日 By day</h2><table>" + _COUNT_HEAD.format(first="日期"))
    for d in r["by_day"]:
        out.append(_counts_row(d["day"], d))
    out.append("</table>")

    per_day: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    for cell in r["cells"]:
        c = per_day[cell["day"]].setdefault(cell["actor"], dict.fromkeys((*CLASSES, "served"), 0))
        for k in (*CLASSES, "served"):
            c[k] += cell[k]
    legend = "".join(f'<span style="background:{COLOURS[k]}"></span>{CLASS_NAMES[k]}' for k in CLASSES)
    out.append(f'<h2>每日图表 Charts per day</h2><p class="legend">{legend}</p>')
    for d in r["by_day"]:
        actors = sorted(per_day.get(d["day"], {}).items(), key=lambda kv: -sum(kv[1][k] for k in CLASSES))
        out.append(f"<h3>{d['day']}</h3>")
        out.append(day_chart(d["day"], actors) if actors else "<p class='meta'>无操作 / no actions</p>")

    out.append("<h2>按人员 By clerk and actor</h2><table>" + _COUNT_HEAD.format(first="人员（角色）"))
    for a in r["by_actor"]:
        out.append(_counts_row(f"{escape(a['actor'])} ({escape(a['role'])})", a))
    out.append("</table><h2>按窗口 By window</h2><table>" + _COUNT_HEAD.format(first="窗口"))
    for w in r["by_window"]:
        out.append(_counts_row(f"{w['window']}号窗口", w))
    out.append("</table>")

    out.append(f"<h2>异常 Anomalies ({len(r['anomalies'])})</h2>")
    if not r["anomalies"]:
        out.append("<p>未发现异常 / none found.</p>")
    for a in r["anomalies"]:
        where = " · ".join(
            x
            for x in (a["day"], a["actor"] and f"人员 {a['actor']}", a["window"] and f"{a['window']}号窗口")
            if x
        )
        out.append(
            f'<div class="anomaly"><h3>{escape(a["title"])} <small>{escape(a["title_en"])}</small></h3>'
            f"<p>{escape(where)}<br>{escape(a['summary'])}</p>"
        )
        keys = sorted({k for row in a["evidence"] for k in row}, key=_evidence_order)
        out.append("<table><tr>" + "".join(f"<th>{escape(k)}</th>" for k in keys) + "</tr>")
        for row in a["evidence"]:
            out.append("<tr>" + "".join(f"<td>{_n(row.get(k))}</td>" for k in keys) + "</tr>")
        out.append("</table>")
        if a["evidence_total"] > len(a["evidence"]):
            out.append(f"<p class='meta'>…共 {a['evidence_total']} 条，此处列出 {len(a['evidence'])} 条</p>")
        out.append("</div>")

    out.append(f"<h2>重点审计事项 Key events ({len(r['key_events'])})</h2>")
    if r["key_events"]:
        out.append(
            "<table><tr><th>seq</th><th>时间</th><th>人员</th><th>动作</th><th>原因</th>"
            "<th>窗口</th><th>号票</th><th>说明</th></tr>"
        )
        for k in r["key_events"]:
            detail = "; ".join(f"{key}={value}" for key, value in k["detail"].items() if key != "profile")
            out.append(
                f"<tr><td class='n'>{k['seq']}</td><td>{_n(k['at'])}</td>"
                f"<td>{escape(k['actor'])} ({escape(k['role'])})</td><td>{escape(k['action'])}</td>"
                f"<td>{escape(k['why'] if k['why'] != k['action'] else '')}</td>"
                f"<td>{_n(k['window'])}</td><td>{_n(k['number'])}</td>"
                f"<td class='wrap'>{escape(detail[:200])}</td></tr>"
            )
        out.append("</table>")

    g = r.get("ratings")
    if g is not None:
        rule = (
            f"超过 {g['unrated_after_days']} 天未评价的办件按“{escape(g['unrated_level'])}”计"
            if g["unrated_level"] != "none"
            else "未评价的办件不计入"
        )
        out.append(
            f"<h2>好差评 Ratings</h2><p>本期评价 {g['total']} 条：评价器 {g['keypad']} 条，"
            f"默认评价 {g['defaulted']} 条（{rule}）；满意率 {_n(g['satisfied_percent'])}%。</p>"
            "<table><tr>"
            + "".join(f"<th>{escape(name)}</th>" for name in g["by_level"])
            + "</tr><tr>"
            + "".join(f"<td class='n'>{n}</td>" for n in g["by_level"].values())
            + "</tr></table>"
        )

    f = r.get("followups")
    if f is not None:
        out.append(
            f"<h2>差评整改 Follow-ups</h2><p>本期差评 {f['opened']} 件：未销号 {f['open']} 件，"
            f"其中逾期 {f['overdue']} 件；已销号 {f['closed']} 件。</p>"
        )
        if f["cases"]:
            out.append(
                "<table><tr><th>编号</th><th>号票</th><th>窗口</th><th>柜员</th><th>评价</th>"
                "<th>期限</th><th>状态</th></tr>"
            )
            for c in f["cases"]:
                late = " <b class='bad'>逾期</b>" if c["overdue"] else ""
                out.append(
                    f"<tr><td class='n'>{c['id']}</td><td>{_n(c['number'])}</td><td>{_n(c['window'])}</td>"
                    f"<td>{_n(c['clerk'])}</td><td>{escape(c['level_name'])}</td><td>{c['due_day']}</td>"
                    f"<td>{escape(c['state'])}{late}</td></tr>"
                )
            out.append("</table>")

    out.append(
        "<h2>每日锚点 Daily anchors</h2><p>每日最后一行日志的哈希。请另行保存一份：日后用 "
        "<code>hallctl verify-journal --anchors FILE</code> 核对，即可证明此前的日志未被改写。</p>"
        "<table><tr><th>日期</th><th>seq</th><th>行数</th><th>哈希 (sha256)</th></tr>"
    )
    for anchor in r["anchors"]:
        out.append(
            f"<tr><td>{anchor['day']}</td><td class='n'>{anchor['seq']}</td>"
            f"<td class='n'>{anchor['rows']}</td><td class='hash'>{escape(anchor['hash'])}</td></tr>"
        )
    out.append("</table>")
    return out


_FIRST = (
    "seq",
    "at",
    "rated_at",
    "queued_at",
    "actor",
    "clerk",
    "role",
    "action",
    "window",
    "ticket",
    "number",
)


def _evidence_order(key: str) -> tuple[int, str]:
    return (_FIRST.index(key) if key in _FIRST else len(_FIRST), key)


CSV_COLUMNS = (
    "record",
    "day",
    "actor",
    "role",
    "window",
    KEY,
    IN_PROCESS,
    GENERAL,
    "actions",
    "served",
    "rule",
    "summary",
    "seq",
    "hash",
)


def render_csv(report: dict[str, Any], *, comparison: list[dict[str, Any]] | None = None) -> str:
    """One table for a spreadsheet: ``count`` rows (day × actor × window), then ``anomaly`` and
    ``anchor`` rows; filter on the first column. With ``comparison``, the halls side by side instead."""
    buffer = io.StringIO()
    if comparison:
        table = csv.DictWriter(buffer, [key for key, _ in COMPARISON_COLUMNS], extrasaction="ignore")
        table.writeheader()
        table.writerows(comparison)
        return buffer.getvalue()
    writer = csv.DictWriter(buffer, CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for cell in report["cells"]:
        writer.writerow({"record": "count", **cell})
    for a in report["anomalies"]:
        writer.writerow(
            {
                "record": "anomaly",
                "day": a["day"],
                "actor": a["actor"],
                "window": a["window"],
                "rule": a["rule"],
                "summary": a["summary"],
            }
        )
    for anchor in report["anchors"]:
        writer.writerow(
            {"record": "anchor", "day": anchor["day"], "seq": anchor["seq"], "hash": anchor["hash"]}
        )
    return buffer.getvalue()
