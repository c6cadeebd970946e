"""A PNG chart of a simulation for people: mean wait and window utilisation by hour of the day, one line
per setup (the base run and each compared one). Chinese labels, in a CJK font when the machine has one."""

from __future__ import annotations

import functools
import math
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1100, 760
MARGIN_LEFT, MARGIN_RIGHT = 90, 40
COLOURS = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (23, 190, 207))
FONT_PATHS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@functools.cache
def cjk_font_path() -> str | None:
    """A font with Chinese glyphs: fontconfig's choice for zh (fonts-noto-cjk), else a known path."""
    if shutil.which("fc-match"):
        try:
            found = subprocess.run(
                ["fc-match", "-f", "%{file}", ":lang=zh-cn"], capture_output=True, text=True, timeout=5
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            found = ""
        # fc-match always answers with something; only take a file that is plainly a CJK font
        if found and any(k in found.lower() for k in ("cjk", "wqy", "droidsansfallback")):
            return found
    return next((p for p in FONT_PATHS if Path(p).is_file()), None)


@functools.cache
def _font(size: int) -> Font:
    path = cjk_font_path()
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size)


def _nice_top(value: float) -> float:
    """The smallest 4 × (1, 2, 2.5 or 5 × 10^k) at or above ``value``: four grid steps of round numbers."""
    step = value / 4
    magnitude: float = 10.0 ** math.floor(math.log10(step))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= step:
            return 4 * factor * magnitude
    return 4 * 10 * magnitude


def _panel(
    draw: ImageDraw.ImageDraw,
    top: int,
    height: int,
    title: str,
    hours: list[int],
    series: Sequence[tuple[str, dict[int, float]]],
    unit: str,
    ceiling: float | None = None,
) -> None:
    left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    bottom = top + height
    values = [v for _, points in series for v in points.values()]
    peak = ceiling if ceiling is not None else _nice_top(max([1.0, *values]) * 1.1)
    draw.text((left, top - 34), title, fill=(0, 0, 0), font=_font(20))
    for i in range(5):  # horizontal grid with its labels
        y = bottom - height * i / 4
        draw.line([(left, y), (right, y)], fill=(225, 225, 225))
        draw.text((left - 10, y), f"{peak * i / 4:g}{unit}", fill=(90, 90, 90), font=_font(14), anchor="rm")
    draw.line([(left, top), (left, bottom), (right, bottom)], fill=(0, 0, 0), width=2)
    step = (right - left) / max(1, len(hours))
    for i, hour in enumerate(hours):
        draw.text(
            (left + step * (i + 0.5), bottom + 8), f"{hour}时", fill=(60, 60, 60), font=_font(14), anchor="mt"
        )
    for n, (_, points) in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        xy = [
            (left + step * (i + 0.5), bottom - height * min(points[h], peak) / peak)
            for i, h in enumerate(hours)
            if h in points
        ]
        if len(xy) > 1:
            draw.line(xy, fill=colour, width=3)
        for x, y in xy:
            draw.ellipse([(x - 4, y - 4), (x + 4, y + 4)], fill=colour)


def draw_chart(path: Path, title: str, runs: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Write the chart of one or more runs' ``summarize`` figures (label, figures) to ``path`` as PNG."""
    image = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.text((WIDTH // 2, 24), title, fill=(0, 0, 0), font=_font(24), anchor="mt")
    hours = sorted({row["hour"] for _, figures in runs for row in figures["by_hour"]})
    waits = [
        (label, {r["hour"]: r["wait_mean_s"] / 60 for r in f["by_hour"] if r["wait_mean_s"] is not None})
        for label, f in runs
    ]
    usage = [
        (label, {r["hour"]: r["utilisation"] * 100 for r in f["by_hour"] if r["utilisation"] is not None})
        for label, f in runs
    ]
    _panel(draw, 130, 230, "各时段取号者的平均等候时间（分钟）", hours, waits, "")
    _panel(draw, 480, 200, "各时段窗口利用率（%）", hours, usage, "%", ceiling=100.0)
    x = MARGIN_LEFT
    for n, (label, _) in enumerate(runs):  # the legend, in a row under the title
        colour = COLOURS[n % len(COLOURS)]
        draw.rectangle([(x, 66), (x + 22, 80)], fill=colour)
        draw.text((x + 30, 73), label, fill=(0, 0, 0), font=_font(16), anchor="lm")
        x += 60 + int(draw.textlength(label, font=_font(16)))
    image.save(path, format="PNG")
