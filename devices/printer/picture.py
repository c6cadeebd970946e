"""Pictures of printed receipts: the plain text and the PNG (one pixel a printer dot) the simulated
printer writes for each ticket, and how much paper a receipt takes.
"""

from __future__ import annotations

import contextlib
import functools
import math
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from devices.printer.decode import Feed, QrCode, Receipt, TextLine
from devices.printer.ticket import (
    PRINTABLE_DOTS,
    QR_CAPACITY_M,
    QR_QUIET_MODULES,
    PaperWidth,
    columns_for,
    display_width,
)

if TYPE_CHECKING:
    from PIL import Image, ImageFont

LINE_DOTS: Final = 30  # a text line at normal size: the 24-dot glyph and the default line spacing
GLYPH_DOTS: Final = 24
MARGIN_DOTS: Final = 16  # blank paper either side of the printable width in the PNG


@dataclass(frozen=True, slots=True)
class FontChoice:
    path: Path | None  # None: Pillow's default font, which has no Chinese glyphs

    @property
    def description(self) -> str:
        if self.path is None:
            return "Pillow's default font (no CJK font found: Chinese characters show as boxes in the PNG)"
        return f"CJK font {self.path}"


@functools.cache
def find_cjk_font() -> FontChoice:
    """A font with Chinese glyphs (fontconfig's ``:lang=zh``, then the usual Debian paths), or none."""
    if shutil.which("fc-list"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            listed = subprocess.run(
                ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=5, check=False
            ).stdout
            paths = sorted(line.strip().rstrip(":") for line in listed.splitlines() if line.strip())
            for path in paths:
                if path.endswith((".ttc", ".ttf", ".otf")):
                    return FontChoice(Path(path))
    for name in (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
        "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    ):
        if Path(name).is_file():
            return FontChoice(Path(name))
    return FontChoice(None)


def _qr_modules(qr: QrCode) -> int:
    version = next((v for v, cap in enumerate(QR_CAPACITY_M, 1) if len(qr.data) <= cap), 40)
    return 17 + 4 * version


def receipt_lines(receipt: Receipt) -> int:
    """Paper a receipt takes, in normal text lines."""
    dots = 0
    for block in receipt.blocks:
        if isinstance(block, TextLine):
            dots += LINE_DOTS * block.height
        elif isinstance(block, QrCode):
            dots += (_qr_modules(block) + 2 * QR_QUIET_MODULES) * block.module_size
        else:
            dots += LINE_DOTS * block.lines
    return math.ceil(dots / LINE_DOTS)


def receipt_text(receipt: Receipt, paper_width_mm: PaperWidth) -> str:
    """The receipt as plain text, aligned on the paper's columns, big characters marked by their size."""
    cols = columns_for(paper_width_mm)
    out: list[str] = []

    def place(text: str, width: int, align: str) -> str:
        gap = max(0, cols - width)
        left = {"left": 0, "centre": gap // 2, "right": gap}[align]
        return " " * left + text

    for block in receipt.blocks:
        if isinstance(block, TextLine):
            label = block.text if block.width == block.height == 1 else f"{block.text}  (x{block.width})"
            out.append(place(label, display_width(block.text) * block.width, block.align))
        elif isinstance(block, QrCode):
            text = f"[QR {block.data.decode('latin-1')}]"
            out.append(place(text, display_width(text), block.align))
        elif isinstance(block, Feed):
            out += [""] * block.lines
    if receipt.cut is not None:
        out.append("-" * (cols - 10) + (" 半切 ✂" if receipt.cut.partial else " 全切 ✂"))
    return "\n".join(out) + "\n"


def receipt_image(receipt: Receipt, paper_width_mm: PaperWidth, font: FontChoice) -> Image.Image:
    """The receipt drawn at the printer's resolution (one pixel a dot), black on white."""
    from PIL import Image, ImageDraw

    paper = PRINTABLE_DOTS[paper_width_mm] + 2 * MARGIN_DOTS
    rows: list[tuple[Image.Image, str]] = []
    for block in receipt.blocks:
        if isinstance(block, TextLine):
            rows.append((_text_row(block, font), block.align))
        elif isinstance(block, QrCode):
            rows.append((_qr_image(block), block.align))
        else:
            rows.append((Image.new("L", (1, LINE_DOTS * block.lines), 255), "left"))
    cut_height = LINE_DOTS if receipt.cut is not None else 0
    height = sum(img.height for img, _ in rows) + cut_height + 2 * MARGIN_DOTS
    canvas = Image.new("L", (paper, height), 255)
    y = MARGIN_DOTS
    for img, align in rows:
        gap = max(0, PRINTABLE_DOTS[paper_width_mm] - img.width)
        x = MARGIN_DOTS + {"left": 0, "centre": gap // 2, "right": gap}[align]
        canvas.paste(img, (x, y))
        y += img.height
    if receipt.cut is not None:
        draw = ImageDraw.Draw(canvas)
        middle = y + cut_height // 2
        for x in range(0, paper, 12):  # a dashed line where the cutter goes
            draw.line([(x, middle), (x + 6, middle)], fill=0, width=2)
    return canvas


@functools.cache
def _font(path: Path | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    if path is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(str(path), size)


def _text_row(line: TextLine, font: FontChoice) -> Image.Image:
    from PIL import Image, ImageDraw

    size = GLYPH_DOTS * line.height
    face = _font(font.path, size)
    # Draw at the height's size, then stretch across to the width's: GS ! scales each way on its own.
    natural = max(1, math.ceil(ImageDraw.Draw(Image.new("L", (1, 1))).textlength(line.text, font=face)))
    row = Image.new("L", (natural, LINE_DOTS * line.height), 255)
    ImageDraw.Draw(row).text(
        (0, (LINE_DOTS - GLYPH_DOTS) * line.height // 2),
        line.text,
        font=face,
        fill=0,
        stroke_width=1 if line.bold else 0,
        stroke_fill=0,
    )
    if line.width != line.height:
        row = row.resize((max(1, natural * line.width // line.height), row.height))
    return row


def _qr_image(qr: QrCode) -> Image.Image:
    import qrcode  # type: ignore[import-untyped]
    from PIL import Image, ImageDraw

    levels = {
        "L": qrcode.constants.ERROR_CORRECT_L,
        "M": qrcode.constants.ERROR_CORRECT_M,
        "Q": qrcode.constants.ERROR_CORRECT_Q,
        "H": qrcode.constants.ERROR_CORRECT_H,
    }
    code = qrcode.QRCode(error_correction=levels[qr.error_level], border=QR_QUIET_MODULES)
    code.add_data(qr.data)
    code.make(fit=True)
    matrix: list[list[bool]] = code.get_matrix()
    size = qr.module_size
    image = Image.new("L", (len(matrix) * size, len(matrix) * size), 255)
    draw = ImageDraw.Draw(image)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                draw.rectangle([x * size, y * size, (x + 1) * size - 1, (y + 1) * size - 1], fill=0)
    return image
