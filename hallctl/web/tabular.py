"""The period stats as a table for download: CSV (UTF-8 with a BOM, so spreadsheet programs read the
Chinese headers right) or XLSX, headers in Chinese by default and in English with ``lang=en``."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

import xlsxwriter  # type: ignore[import-untyped]
from aiohttp import web

Cell = str | int | float | None

# Group columns: (name in the answer, zh header, en header).
GROUP_COLUMNS = {
    "matter": (("matter", "事项编码", "matter"), ("matter_name", "事项名称", "matter name")),
    "window": (("window", "窗口", "window"),),
    "clerk": (("clerk", "柜员", "clerk"),),
    "channel": (("channel", "通道编码", "channel"), ("channel_name", "通道", "channel name")),
    "hour": (("hour", "取号时段（时）", "hour issued"),),
    "day": (("day", "日期", "day"),),
    "month": (("month", "月份", "month"),),
}


def _summary(part: str, stat: str) -> Callable[[dict[str, Any]], Cell]:
    def read(figures: dict[str, Any]) -> Cell:
        value: Cell = figures[part][stat]
        return value

    return read


def _plain(name: str) -> Callable[[dict[str, Any]], Cell]:
    def read(figures: dict[str, Any]) -> Cell:
        value: Cell = figures[name]
        return value

    return read


def _rating(level: str) -> Callable[[dict[str, Any]], Cell]:
    def read(figures: dict[str, Any]) -> Cell:
        value: Cell = figures["ratings"][level]
        return value

    return read


FIGURE_COLUMNS: tuple[tuple[str, str, Callable[[dict[str, Any]], Cell]], ...] = (
    ("取号数", "issued", _plain("issued")),
    ("办结数", "served", _plain("served")),
    ("过号数", "no-shows", _plain("no_show")),
    ("作废数", "voided", _plain("voided")),
    ("过号率", "no-show rate", _plain("no_show_rate")),
    ("已叫号数", "called", _summary("wait_seconds", "count")),
    ("平均等候（秒）", "wait mean (s)", _summary("wait_seconds", "mean")),
    ("等候中位数（秒）", "wait p50 (s)", _summary("wait_seconds", "p50")),
    ("等候90分位（秒）", "wait p90 (s)", _summary("wait_seconds", "p90")),
    ("最长等候（秒）", "wait max (s)", _summary("wait_seconds", "max")),
    ("办理件数", "services timed", _summary("service_seconds", "count")),
    ("平均办理（秒）", "service mean (s)", _summary("service_seconds", "mean")),
    ("办理中位数（秒）", "service p50 (s)", _summary("service_seconds", "p50")),
    ("办理90分位（秒）", "service p90 (s)", _summary("service_seconds", "p90")),
    ("最长办理（秒）", "service max (s)", _summary("service_seconds", "max")),
    ("等候达标率", "service level", _plain("service_level")),
    ("非常满意", "rating 5", _rating("5")),
    ("满意", "rating 4", _rating("4")),
    ("基本满意", "rating 3", _rating("3")),
    ("不满意", "rating 2", _rating("2")),
    ("非常不满意", "rating 1", _rating("1")),
    ("未评价", "unrated", _rating("unrated")),
)


def table(answer: dict[str, Any], language: str) -> tuple[list[str], list[list[Cell]]]:
    """Headers and rows: one row per group, then the total (the only row when nothing is grouped)."""
    en = language == "en"
    labels = [column for name in answer["group_by"] for column in GROUP_COLUMNS[name]]
    headers = [en_h if en else zh_h for _, zh_h, en_h in labels]
    headers += [en_h if en else zh_h for zh_h, en_h, _ in FIGURE_COLUMNS]
    headers.append("percentiles" if en else "百分位")
    rows: list[list[Cell]] = []

    def row(label_cells: list[Cell], figures: dict[str, Any]) -> list[Cell]:
        exact = figures["percentiles_exact"]
        precision = ("exact" if exact else "estimated") if en else ("精确" if exact else "估算（误差≤1.6%）")
        return [*label_cells, *(read(figures) for _, _, read in FIGURE_COLUMNS), precision]

    for group in answer["groups"]:
        rows.append(row([group[key] for key, _, _ in labels], group))
    total_label: list[Cell] = ["Total" if en else "合计", *([None] * (len(labels) - 1))] if labels else []
    rows.append(row(total_label, answer["total"]))
    return headers, rows


def csv_bytes(headers: list[str], rows: list[list[Cell]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(["" if cell is None else cell for cell in r] for r in rows)
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(headers: list[str], rows: list[list[Cell]], sheet: str) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    page = book.add_worksheet(sheet)
    bold = book.add_format({"bold": True})
    page.write_row(0, 0, headers, bold)
    for i, r in enumerate(rows, start=1):
        for j, cell in enumerate(r):
            if cell is not None:
                page.write(i, j, cell)
    page.freeze_panes(1, 0)
    page.set_column(0, len(headers) - 1, 12)
    book.close()
    return out.getvalue()


CONTENT_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _filename_part(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z_-]+", "", text)[:40]


def download(answer: dict[str, Any], fmt: str, language: str) -> web.Response:
    """The answer as a file to save: ``hallctl-stats-HALL-FROM-TO.csv`` (or ``.xlsx``)."""
    headers, rows = table(answer, language)
    if fmt == "csv":
        body = csv_bytes(headers, rows)
    else:
        body = xlsx_bytes(headers, rows, "stats" if language == "en" else "统计")
    name = "-".join(
        _filename_part(part)
        for part in ("hallctl-stats", answer["hall"], answer["from"][:10], answer["to"][:10])
    )
    response = web.Response(body=body, content_type=CONTENT_TYPES[fmt])
    if fmt == "csv":
        response.charset = "utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    return response
