"""A queue ticket (号票) as ESC/POS bytes: pure, no I/O, a few hundred bytes per ticket.

Every Chinese line is encoded here as GB18030 and sent raw with the printer's Chinese mode on (FS &).
python-escpos is not used for text: it has no GB code page and prints full-width punctuation such as
"：" or "（A012）" as "?" (docs/devices.md). The QR is the printer's native one (GS ( k), about 80
bytes, instead of a 4–12 KB raster image.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Final, Literal

PaperWidth = Literal[58, 80]

# --- The commands this module emits (decode.py reads exactly these) ---------------------------------
ESC: Final = 0x1B
FS: Final = 0x1C
GS: Final = 0x1D
LF: Final = b"\n"
INIT: Final = b"\x1b@"  # ESC @: reset modes and clear the print buffer
CHINESE_ON: Final = b"\x1c&"  # FS &: bytes from 0x81 up start a two- or four-byte GB18030 character
ALIGN_LEFT: Final = b"\x1ba\x00"  # ESC a n
ALIGN_CENTRE: Final = b"\x1ba\x01"
BOLD_ON: Final = b"\x1bE\x01"  # ESC E n
BOLD_OFF: Final = b"\x1bE\x00"
# GS V 66 n: feed to the cutter and cut partially (one point left uncut, so the ticket hangs until the
# citizen takes it instead of falling on the floor).
PARTIAL_CUT_AFTER_FEED: Final = b"\x1dVB\x00"


def select_size(width: int, height: int) -> bytes:
    """GS ! n: character magnification, 1–8 times in each direction."""
    if not (1 <= width <= 8 and 1 <= height <= 8):
        raise ValueError(f"character size {width}x{height} is outside 1..8")
    return bytes([GS, ord("!"), (width - 1) << 4 | (height - 1)])


def feed_lines(lines: int) -> bytes:
    """ESC d n: print what is buffered and feed n lines."""
    return bytes([ESC, ord("d"), lines])


# --- Paper geometry ----------------------------------------------------------------------------------
# Printable dots across the paper in font A (12×24 dots an ASCII character, 24×24 a Chinese one).
# 58 mm printers print 48 mm at 203 dpi = 384 dots. For 80 mm paper Epson prints 512 dots and most
# Chinese clones 576; 512 is taken so a line never runs over on either. Too high: the printer wraps a
# line itself, splitting it mid-word with no indent; too low: lines wrap earlier than they need to.
PRINTABLE_DOTS: Final[dict[int, int]] = {58: 384, 80: 512}
ASCII_DOTS: Final = 12


def columns_for(paper_width_mm: PaperWidth) -> int:
    """Columns of ASCII characters a line holds: 32 on 58 mm paper, 42 on 80 mm."""
    return PRINTABLE_DOTS[paper_width_mm] // ASCII_DOTS


def display_width(text: str) -> int:
    """Columns ``text`` takes in Chinese mode: an ASCII character one, every other character two.

    Not ``unicodedata.east_asian_width``: in Chinese mode the printer draws every multi-byte code
    (including "·" or "é", which Unicode calls narrow) with the 24-dot Chinese font.
    """
    return sum(1 if ord(ch) < 0x80 else 2 for ch in text)


# Punctuation a Chinese line must not start with (避头点): the character before it moves down with it.
NO_LINE_START: Final = frozenset("，。、：；！？）》」』】〉”’,.;:!?)]}%")


def wrap(text: str, width: int, *, first: str = "", rest: str = "") -> list[str]:
    """Split ``text`` into lines of at most ``width`` columns, the first led by ``first``, the others by
    ``rest`` (a hanging indent). Every character of ``text`` is kept, so the lines joined (prefixes
    removed) give ``text`` back."""
    if width < max(display_width(first), display_width(rest)) + 4:
        raise ValueError(f"a line of {width} columns cannot hold the prefixes {first!r} / {rest!r}")
    lines: list[str] = []
    line, body = first, ""  # body: the characters of text on this line
    for ch in text:
        if display_width(line + ch) > width and body:
            carry = ""
            if ch in NO_LINE_START and len(body) >= 2:
                carry, line, body = line[-1], line[:-1], body[:-1]
            lines.append(line)
            line, body = rest + carry, carry
        line += ch
        body += ch
    lines.append(line)
    return lines


def clean_text(text: str) -> str:
    """The text as it will be printed: control characters become spaces (so no field can smuggle a
    printer command, in particular a real-time DLE EOT, into the ticket), lone surrogates (which have
    no GB18030 code) become U+FFFD, and the ends are stripped."""
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cc":
            out.append(" ")
        elif category == "Cs":
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out).strip()


# --- QR -------------------------------------------------------------------------------------------------
# Bytes a model 2 QR holds in byte mode at error level M, for versions 1..11 (tested against the qrcode
# package). Enough for MAX_QR_BYTES.
QR_CAPACITY_M: Final = (14, 26, 42, 62, 84, 106, 122, 152, 180, 213, 251)
MAX_QR_BYTES: Final = QR_CAPACITY_M[-1]
# Module (dot square) size of the QR. 0.125 mm a dot: 6 dots make a 0.75 mm module and a 25 mm symbol for
# a 60-character URL. Too small: phones struggle on worn or smudged thermal paper; too large: a long URL's
# symbol no longer fits the paper (the size is then lowered to fit, see qr_module_size).
QR_MODULE_DOTS: Final[dict[int, int]] = {58: 5, 80: 6}
QR_QUIET_MODULES: Final = 4  # the blank margin a reader needs on each side of the symbol


def qr_version(size: int) -> int:
    """The smallest QR version (error level M) that holds ``size`` bytes."""
    for version, capacity in enumerate(QR_CAPACITY_M, start=1):
        if size <= capacity:
            return version
    raise ValueError(f"a QR of {size} bytes exceeds the ticket's limit of {MAX_QR_BYTES}")


def qr_module_size(size: int, paper_width_mm: PaperWidth) -> int:
    """The module size for ``size`` bytes of data: the preferred one, lowered until the symbol and its
    quiet zone fit the printable width."""
    modules = 17 + 4 * qr_version(size) + 2 * QR_QUIET_MODULES
    return max(1, min(QR_MODULE_DOTS[paper_width_mm], PRINTABLE_DOTS[paper_width_mm] // modules))


def _qr_function(fn: int, payload: bytes) -> bytes:
    """GS ( k pL pH cn fn payload, cn 49 = QR code; pL pH count cn, fn and the payload."""
    size = len(payload) + 2
    return bytes([GS, ord("("), ord("k"), size & 0xFF, size >> 8, 49, fn]) + payload


def qr_code(data: bytes, module_size: int) -> bytes:
    """The five GS ( k functions that store and print ``data`` as a model 2 QR at error level M."""
    if not 1 <= module_size <= 16:
        raise ValueError(f"QR module size {module_size} is outside 1..16")
    return b"".join(
        [
            _qr_function(65, b"\x32\x00"),  # fn 65: model 2 (n1 = 50)
            _qr_function(67, bytes([module_size])),  # fn 67: module size in dots
            # fn 69: error level M (49), ~15 % recoverable: L fails on a smudged ticket, Q and H make
            # the symbol larger for damage a ticket kept in a hand for an hour rarely has.
            _qr_function(69, b"\x31"),
            _qr_function(80, b"\x30" + data),  # fn 80: store the data (m = 48)
            _qr_function(81, b"\x30"),  # fn 81: print the stored symbol
        ]
    )


# --- The ticket ---------------------------------------------------------------------------------------
NUMBER_PATTERN: Final = re.compile(r"[A-Za-z0-9-]{1,8}")
QR_URL_PATTERN: Final = re.compile(r"[\x21-\x7e]+")  # printable ASCII: a URL, percent-encoded

AHEAD_TEXT: Final = "前面还有 {n} 人"
WAIT_TEXT: Final = "预计等候约 {m} 分钟"
ISSUED_TEXT: Final = "取号时间：{at}"
QR_HINT_TEXT: Final = "扫码查看排队进度"
MATERIALS_HEADER: Final = "一次性告知：请备齐以下材料"
MATERIAL_BULLET: Final = "□ "
MATERIAL_INDENT: Final = "   "  # as wide as the bullet (□ is two columns), for the lines that follow


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketPrint:
    """What a kiosk prints on a ticket. Text fields are plain text; see ``clean_text`` for what is
    done to control characters."""

    hall_name: str  # e.g. "XX区社会保险服务大厅"
    number: str  # e.g. "A0012"
    matters: tuple[str, ...]  # one, or several for a bundled matter (打包“一件事”)
    channel: str  # the channel's label in Chinese, e.g. "绿色通道"; "" prints no line
    people_ahead: int
    wait_minutes: int
    issued_at: str  # already formatted by the caller, e.g. "2026-03-02 09:14"
    qr_url: str  # the phone tracking page, {public_url}/t/{track_token}
    materials: tuple[str, ...] = field(default=())  # the 一次性告知 checklist; () prints none
    paper_width_mm: PaperWidth = 80

    def __post_init__(self) -> None:
        if not clean_text(self.hall_name):
            raise ValueError("ticket: hall_name is empty")
        if not NUMBER_PATTERN.fullmatch(self.number):
            raise ValueError(f"ticket: number {self.number!r} is not 1-8 ASCII letters, digits or '-'")
        if not self.matters or not all(clean_text(m) for m in self.matters):
            raise ValueError(f"ticket: matters {self.matters!r} must be one or more non-empty names")
        if self.people_ahead < 0 or self.wait_minutes < 0:
            raise ValueError(
                f"ticket: people_ahead {self.people_ahead} and wait_minutes {self.wait_minutes} "
                "must not be negative"
            )
        if not QR_URL_PATTERN.fullmatch(self.qr_url) or len(self.qr_url) > MAX_QR_BYTES:
            raise ValueError(
                f"ticket: qr_url {self.qr_url!r} must be 1-{MAX_QR_BYTES} printable ASCII characters "
                "(percent-encode anything else)"
            )
        if self.paper_width_mm not in PRINTABLE_DOTS:
            raise ValueError(f"ticket: paper_width_mm {self.paper_width_mm} is not 58 or 80")


def _line(text: str) -> bytes:
    return text.encode("gb18030") + LF


def number_size(number: str, paper_width_mm: PaperWidth) -> int:
    """Magnification of the ticket number: 4 (quad), or less when the number would not fit a line."""
    cols = columns_for(paper_width_mm)
    return next(size for size in (4, 3, 2, 1) if len(number) * size <= cols)


def render(ticket: TicketPrint) -> bytes:
    """The ticket as ESC/POS bytes, from ESC @ to the partial cut."""
    cols = columns_for(ticket.paper_width_mm)
    out = bytearray(INIT + CHINESE_ON + ALIGN_CENTRE)
    for part in wrap(clean_text(ticket.hall_name), cols):
        out += _line(part)

    big = number_size(ticket.number, ticket.paper_width_mm)
    out += select_size(big, big) + BOLD_ON + _line(ticket.number) + BOLD_OFF + select_size(1, 1)

    for part in wrap("、".join(clean_text(m) for m in ticket.matters), cols):
        out += _line(part)
    channel = clean_text(ticket.channel)
    if channel:
        out += _line(channel)
    out += _line(AHEAD_TEXT.format(n=ticket.people_ahead))
    out += _line(WAIT_TEXT.format(m=ticket.wait_minutes))
    out += _line(ISSUED_TEXT.format(at=clean_text(ticket.issued_at)))

    qr = ticket.qr_url.encode("ascii")
    out += qr_code(qr, qr_module_size(len(qr), ticket.paper_width_mm))
    out += _line(QR_HINT_TEXT)

    materials = [m for m in (clean_text(m) for m in ticket.materials) if m]
    if materials:
        out += ALIGN_LEFT + _line(MATERIALS_HEADER)
        for item in materials:
            for part in wrap(item, cols, first=MATERIAL_BULLET, rest=MATERIAL_INDENT):
                out += _line(part)

    out += PARTIAL_CUT_AFTER_FEED
    return bytes(out)
