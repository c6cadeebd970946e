"""An ESC/POS interpreter for the subset ticket.py emits: bytes back into lines, QR codes and cuts.

Used by the tests (render → decode round trips) and by the simulated printer. It is strict on purpose:
a command outside the subset raises :class:`UnknownCommand` naming its bytes and offset, and text that
a printer would not print as GB18030 (high bytes with Chinese mode off, a broken multi-byte character)
raises :class:`BadText`. Line attributes (alignment, size, bold) are those in force when the line's
first byte arrives, which is where ticket.py changes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

Align = Literal["left", "centre", "right"]
ErrorLevel = Literal["L", "M", "Q", "H"]

_ALIGN: Final[dict[int, Align]] = {0: "left", 1: "centre", 2: "right", 48: "left", 49: "centre", 50: "right"}
_LEVEL: Final[dict[int, ErrorLevel]] = {48: "L", 49: "M", 50: "Q", 51: "H"}
_QR_MODEL: Final = {49: 1, 50: 2, 51: 3}  # 51 is Micro QR


class EscPosError(ValueError):
    """Bytes that this interpreter will not take; the message says which and where."""


class UnknownCommand(EscPosError):
    def __init__(self, offset: int, command: bytes, why: str = "not in the ticket subset") -> None:
        super().__init__(f"unknown ESC/POS command {command.hex(' ').upper()} at byte {offset}: {why}")
        self.offset = offset
        self.command = command


class BadText(EscPosError):
    pass


class IncompleteCommand(EscPosError):
    pass


@dataclass(frozen=True, slots=True)
class TextLine:
    text: str
    align: Align = "left"
    width: int = 1  # magnification, GS !
    height: int = 1
    bold: bool = False


@dataclass(frozen=True, slots=True)
class QrCode:
    data: bytes
    model: int = 2
    module_size: int = 3
    error_level: ErrorLevel = "L"
    align: Align = "left"


@dataclass(frozen=True, slots=True)
class Feed:
    lines: int


@dataclass(frozen=True, slots=True)
class Cut:
    partial: bool
    feed: int  # extra feed before the cut, in motion units (GS V 65/66 n); 0 otherwise


Block = TextLine | QrCode | Feed


@dataclass(frozen=True, slots=True)
class Receipt:
    """What one stretch of paper carries, up to and including its cut (``cut`` None: not cut yet)."""

    blocks: tuple[Block, ...]
    cut: Cut | None

    @property
    def lines(self) -> list[str]:
        return [b.text for b in self.blocks if isinstance(b, TextLine)]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def qr_codes(self) -> list[QrCode]:
        return [b for b in self.blocks if isinstance(b, QrCode)]

    def line(self, text: str) -> TextLine:
        """The first line whose text is ``text`` (KeyError if none), to look at its attributes."""
        for block in self.blocks:
            if isinstance(block, TextLine) and block.text == text:
                return block
        raise KeyError(text)


@dataclass
class _State:
    align: Align = "left"
    width: int = 1
    height: int = 1
    bold: bool = False
    chinese: bool = False
    qr_model: int = 2
    qr_module: int = 3
    qr_level: ErrorLevel = "L"
    qr_data: bytes | None = None


class _NeedMore(Exception):
    """The buffer ends inside a command; wait for more bytes."""


@dataclass
class Decoder:
    """An incremental interpreter: ``feed`` bytes as they arrive, get each receipt once it is cut."""

    _buffer: bytearray = field(default_factory=bytearray)
    _offset: int = 0  # of _buffer[0] in the whole stream, for error messages
    _state: _State = field(default_factory=_State)
    _line: bytearray = field(default_factory=bytearray)
    _line_state: TextLine | None = None  # attributes when the pending line began
    _blocks: list[Block] = field(default_factory=list)

    def feed(self, data: bytes) -> list[Receipt]:
        self._buffer += data
        done: list[Receipt] = []
        pos = 0
        try:
            while pos < len(self._buffer):
                pos, receipt = self._step(pos)
                if receipt is not None:
                    done.append(receipt)
        except _NeedMore:
            pass
        finally:
            del self._buffer[:pos]
            self._offset += pos
        return done

    def close(self) -> Receipt | None:
        """The end of the stream: what was printed after the last cut (None if nothing), or
        :class:`IncompleteCommand` if the stream stopped inside a command."""
        if self._buffer:
            raise IncompleteCommand(
                f"the stream ends inside a command at byte {self._offset}: {bytes(self._buffer).hex(' ')}"
            )
        self._flush_line()
        if not self._blocks:
            return None
        receipt = Receipt(tuple(self._blocks), None)
        self._blocks = []
        return receipt

    # -- one command ------------------------------------------------------------------------------
    def _need(self, pos: int, count: int) -> bytes:
        if pos + count > len(self._buffer):
            raise _NeedMore
        return bytes(self._buffer[pos : pos + count])

    def _step(self, pos: int) -> tuple[int, Receipt | None]:
        byte = self._buffer[pos]
        at = self._offset + pos
        if byte == 0x0A:
            self._flush_line(blank_ok=True)
            return pos + 1, None
        if 0x20 <= byte < 0x7F:
            self._text(byte)
            return pos + 1, None
        if byte >= 0x80:
            if not self._state.chinese:
                raise BadText(
                    f"byte {byte:#04x} at {at} with Chinese mode off: a printer would print it from "
                    "its code page, not as GB18030 (send FS & first)"
                )
            self._text(byte)
            return pos + 1, None
        if byte == 0x1B:
            return self._esc(pos, at)
        if byte == 0x1C:
            command = self._need(pos, 2)
            if command[1] == ord("&"):
                self._state.chinese = True
            elif command[1] == ord("."):
                self._state.chinese = False
            else:
                raise UnknownCommand(at, command)
            return pos + 2, None
        if byte == 0x1D:
            return self._gs(pos, at)
        if byte == 0x10:
            raise UnknownCommand(
                at,
                self._need(pos, 2),
                "a real-time command (DLE) in print data: a printer acts on it wherever it appears",
            )
        raise UnknownCommand(at, bytes([byte]), "control byte not in the ticket subset")

    def _esc(self, pos: int, at: int) -> tuple[int, Receipt | None]:
        command = self._need(pos, 2)
        name = command[1]
        if name == ord("@"):
            # ESC @ clears the print buffer: text not yet ended by LF is lost, as on a printer.
            self._state = _State()
            self._line.clear()
            self._line_state = None
            return pos + 2, None
        command = self._need(pos, 3)
        n = command[2]
        if name == ord("a"):
            if n not in _ALIGN:
                raise UnknownCommand(at, command, "alignment must be 0-2 or 48-50")
            self._state.align = _ALIGN[n]
        elif name == ord("E"):
            self._state.bold = bool(n & 1)
        elif name == ord("d"):
            self._flush_line()
            self._blocks.append(Feed(n))
        else:
            raise UnknownCommand(at, command[:2])
        return pos + 3, None

    def _gs(self, pos: int, at: int) -> tuple[int, Receipt | None]:
        command = self._need(pos, 2)
        name = command[1]
        if name == ord("!"):
            n = self._need(pos, 3)[2]
            self._state.width = (n >> 4) + 1
            self._state.height = (n & 0x0F) + 1
            if self._state.width > 8 or self._state.height > 8:
                raise UnknownCommand(at, self._need(pos, 3), "size beyond 8 times")
            return pos + 3, None
        if name == ord("V"):
            m = self._need(pos, 3)[2]
            if m in (0, 1, 48, 49):
                return pos + 3, self._cut(Cut(partial=m in (1, 49), feed=0))
            if m in (65, 66):
                n = self._need(pos, 4)[3]
                return pos + 4, self._cut(Cut(partial=m == 66, feed=n))
            raise UnknownCommand(at, self._need(pos, 3), "cut mode must be 0, 1, 48, 49, 65 or 66")
        if name == ord("("):
            header = self._need(pos, 5)
            if header[2] != ord("k"):
                raise UnknownCommand(at, header[:3])
            size = header[3] | header[4] << 8
            body = self._need(pos + 5, size)
            self._qr(at, header + body, body)
            return pos + 5 + size, None
        raise UnknownCommand(at, command)

    def _qr(self, at: int, command: bytes, body: bytes) -> None:
        if len(body) < 2 or body[0] != 49:
            raise UnknownCommand(at, command[:7], "only symbol type 49 (QR code) is supported")
        fn, args = body[1], body[2:]
        state = self._state
        if fn == 65 and len(args) == 2 and args[0] in _QR_MODEL:
            state.qr_model = _QR_MODEL[args[0]]
        elif fn == 67 and len(args) == 1 and 1 <= args[0] <= 16:
            state.qr_module = args[0]
        elif fn == 69 and len(args) == 1 and args[0] in _LEVEL:
            state.qr_level = _LEVEL[args[0]]
        elif fn == 80 and len(args) >= 2 and args[0] == 48:
            state.qr_data = args[1:]
        elif fn == 81 and args == b"\x30":
            if state.qr_data is None:
                raise UnknownCommand(at, command, "QR print with no data stored")
            self._flush_line()
            self._blocks.append(
                QrCode(state.qr_data, state.qr_model, state.qr_module, state.qr_level, state.align)
            )
        else:
            raise UnknownCommand(at, command[:7], "QR function or its arguments not supported")

    # -- text ---------------------------------------------------------------------------------------
    def _text(self, byte: int) -> None:
        if self._line_state is None:
            s = self._state
            self._line_state = TextLine("", s.align, s.width, s.height, s.bold)
        self._line.append(byte)

    def _flush_line(self, *, blank_ok: bool = False) -> None:
        """End the pending line. A bare LF (``blank_ok``) prints an empty line; a command that prints
        the buffer (ESC d, a cut, a QR) adds a line only if text is pending."""
        if self._line_state is None:
            if blank_ok:
                s = self._state
                self._blocks.append(TextLine("", s.align, s.width, s.height, s.bold))
            return
        raw = bytes(self._line)
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError as e:
            raise BadText(f"not GB18030 text: {raw.hex(' ')} ({e.reason})") from None
        begun = self._line_state
        self._blocks.append(TextLine(text, begun.align, begun.width, begun.height, begun.bold))
        self._line.clear()
        self._line_state = None

    def _cut(self, cut: Cut) -> Receipt:
        self._flush_line()
        receipt = Receipt(tuple(self._blocks), cut)
        self._blocks = []
        return receipt


def decode(data: bytes) -> list[Receipt]:
    """Every receipt in ``data``; the last one has ``cut`` None if the stream ends uncut."""
    decoder = Decoder()
    receipts = decoder.feed(data)
    tail = decoder.close()
    if tail is not None:
        receipts.append(tail)
    return receipts


def decode_one(data: bytes) -> Receipt:
    """The single cut receipt in ``data`` (one ticket), or EscPosError."""
    receipts = decode(data)
    if len(receipts) != 1 or receipts[0].cut is None:
        cuts = [r.cut is not None for r in receipts]
        raise EscPosError(f"expected one cut receipt, got {len(receipts)} (cut: {cuts})")
    return receipts[0]
