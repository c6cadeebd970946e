"""The window LED (窗口屏) frame protocol on RS-485, as pure functions on bytes (docs/devices.md).

One frame on the wire::

    STX 02 | ADDR | LEN | CMD | PAYLOAD (LEN bytes) | CHK | ETX 03

ADDR..CHK are byte-stuffed: 02, 03 and 1B become 1B followed by the byte XOR 20, so STX and ETX mark
frame boundaries and nothing else, and a reader finds the next frame after any garbage. CHK is the sum
mod 256 of ADDR, LEN, CMD and PAYLOAD before stuffing. Text is GB18030.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from .framing import FrameError, ReaderStats, sum8

START = 0x02  # STX
END = 0x03  # ETX
ESCAPE = 0x1B  # ESC: the next byte is a special byte XOR ESCAPE_XOR
ESCAPE_XOR = 0x20
_SPECIAL = frozenset((START, END, ESCAPE))

# The longest payload. LEN is one byte; 200 bytes is 100 hanzi, more than any window strip shows
# (scrolling ones included), and keeps the worst frame (every byte stuffed) near 0.4 s at 9600 baud.
MAX_PAYLOAD = 200
MAX_TEXT_BYTES = MAX_PAYLOAD
# The longest frame on the wire: STX, ADDR LEN CMD PAYLOAD CHK all stuffed (two bytes each), ETX.
MAX_WIRE_FRAME = 2 + 2 * (3 + MAX_PAYLOAD + 1)
MIN_ADDRESS, MAX_ADDRESS = 1, 254  # 0 and 255 are kept free (broadcast on some controllers)
BRIGHTNESS_LEVELS = range(16)  # 0 (darkest) .. 15, the PWM steps of common LED driver chips
TEXT_ENCODING = "gb18030"


class Command(IntEnum):
    SHOW_TEXT = 0x01  # daemon → LED, payload: GB18030 text
    CLEAR = 0x02  # daemon → LED, no payload
    BRIGHTNESS = 0x03  # daemon → LED, payload: one byte 0..15
    STATUS_QUERY = 0x10  # daemon → LED, no payload
    ACK = 0x90  # LED → daemon, payload: the command answered, a status byte


class Status(IntEnum):
    """The status byte of an ACK."""

    OK = 0x00
    REJECTED = 0x01  # understood, not done (e.g. the text does not fit this LED)
    FAULT = 0x02  # the LED's own fault (a dead module row, a power problem)


def _check_address(address: int) -> None:
    if not MIN_ADDRESS <= address <= MAX_ADDRESS:
        raise ValueError(f"LED address {address} is outside {MIN_ADDRESS}..{MAX_ADDRESS}")


@dataclass(frozen=True, slots=True)
class ShowText:
    address: int
    text: str

    def __post_init__(self) -> None:
        _check_address(self.address)
        encoded = self.text.encode(TEXT_ENCODING)  # UnicodeEncodeError (a ValueError) for lone surrogates
        if len(encoded) > MAX_TEXT_BYTES:
            raise ValueError(f"LED text is {len(encoded)} bytes in GB18030, at most {MAX_TEXT_BYTES}")


@dataclass(frozen=True, slots=True)
class Clear:
    address: int

    def __post_init__(self) -> None:
        _check_address(self.address)


@dataclass(frozen=True, slots=True)
class SetBrightness:
    address: int
    level: int

    def __post_init__(self) -> None:
        _check_address(self.address)
        if self.level not in BRIGHTNESS_LEVELS:
            raise ValueError(f"LED brightness {self.level} is outside 0..15")


@dataclass(frozen=True, slots=True)
class StatusQuery:
    address: int

    def __post_init__(self) -> None:
        _check_address(self.address)


@dataclass(frozen=True, slots=True)
class Ack:
    """The LED's answer to a command (to a STATUS_QUERY it is the status reply)."""

    address: int
    command: Command
    status: Status = Status.OK

    def __post_init__(self) -> None:
        _check_address(self.address)
        if self.command == Command.ACK:
            raise ValueError("an ACK does not answer an ACK")


LedFrame = ShowText | Clear | SetBrightness | StatusQuery | Ack


def fit_text(text: str, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """``text`` cut at a character boundary to fit ``max_bytes`` of GB18030 (lone surrogates become ?)."""
    text = text.encode(TEXT_ENCODING, errors="replace").decode(TEXT_ENCODING)
    while len(text.encode(TEXT_ENCODING)) > max_bytes:
        text = text[:-1]
    return text


def _payload(frame: LedFrame) -> tuple[Command, bytes]:
    match frame:
        case ShowText(text=text):
            return Command.SHOW_TEXT, text.encode(TEXT_ENCODING)
        case Clear():
            return Command.CLEAR, b""
        case SetBrightness(level=level):
            return Command.BRIGHTNESS, bytes((level,))
        case StatusQuery():
            return Command.STATUS_QUERY, b""
        case Ack(command=command, status=status):
            return Command.ACK, bytes((command, status))


def _stuff(data: bytes) -> bytes:
    out = bytearray()
    for byte in data:
        if byte in _SPECIAL:
            out += bytes((ESCAPE, byte ^ ESCAPE_XOR))
        else:
            out.append(byte)
    return bytes(out)


def encode(frame: LedFrame) -> bytes:
    """The frame as it goes on the wire, STX to ETX."""
    command, payload = _payload(frame)
    body = bytes((frame.address, len(payload), command)) + payload
    return bytes((START,)) + _stuff(body + bytes((sum8(body),))) + bytes((END,))


def _unstuff(inner: bytes, data: bytes) -> bytes:
    out = bytearray()
    escaped = False
    for byte in inner:
        if escaped:
            original = byte ^ ESCAPE_XOR
            if original not in _SPECIAL:
                raise FrameError("escape", f"1B {byte:02x} is not an escape sequence", data)
            out.append(original)
            escaped = False
        elif byte == ESCAPE:
            escaped = True
        else:
            out.append(byte)
    if escaped:
        raise FrameError("escape", "the frame ends inside an escape sequence", data)
    return bytes(out)


def decode(data: bytes) -> LedFrame:
    """One wire frame (STX to ETX) back into a frame; ``FrameError`` for anything else."""
    data = bytes(data)
    if not data or data[0] != START:
        raise FrameError("framing", "a frame starts with STX 02", data)
    if len(data) < 2 or data[-1] != END:
        raise FrameError("truncated", "a frame ends with ETX 03", data)
    inner = data[1:-1]
    if START in inner or END in inner:
        # Stuffing keeps STX and ETX out of a frame: one inside means a frame was cut off and another
        # began, or two frames were run together.
        raise FrameError("framing", "STX or ETX inside a frame", data)
    body = _unstuff(inner, data)
    if len(body) < 4:
        raise FrameError("truncated", f"{len(body)} bytes between STX and ETX, at least 4 needed", data)
    if sum8(body[:-1]) != body[-1]:
        raise FrameError("checksum", f"checksum {body[-1]:02x}, computed {sum8(body[:-1]):02x}", data)
    address, length, code = body[0], body[1], body[2]
    payload = body[3:-1]
    if length != len(payload) or length > MAX_PAYLOAD:
        raise FrameError("length", f"LEN says {length} payload bytes, the frame has {len(payload)}", data)
    if not MIN_ADDRESS <= address <= MAX_ADDRESS:
        raise FrameError("address", f"address {address} is outside 1..254", data)
    try:
        command = Command(code)
    except ValueError:
        raise FrameError("command", f"unknown command {code:02x}", data) from None
    return _frame(address, command, payload, data)


def _frame(address: int, command: Command, payload: bytes, data: bytes) -> LedFrame:
    if command is Command.SHOW_TEXT:
        try:
            text = payload.decode(TEXT_ENCODING)
        except UnicodeDecodeError as exc:
            raise FrameError("text", f"the text is not GB18030 ({exc.reason})", data) from None
        return ShowText(address, text)
    if command in (Command.CLEAR, Command.STATUS_QUERY):
        if payload:
            raise FrameError("payload", f"{command.name} has no payload, got {len(payload)} bytes", data)
        return Clear(address) if command is Command.CLEAR else StatusQuery(address)
    if command is Command.BRIGHTNESS:
        if len(payload) != 1 or payload[0] not in BRIGHTNESS_LEVELS:
            raise FrameError("payload", "BRIGHTNESS takes one byte 0..15", data)
        return SetBrightness(address, payload[0])
    # ACK: the command it answers and a status.
    if len(payload) != 2:
        raise FrameError("payload", f"ACK takes 2 bytes, got {len(payload)}", data)
    try:
        answered, status = Command(payload[0]), Status(payload[1])
    except ValueError:
        raise FrameError("payload", f"ACK of {payload[0]:02x} with status {payload[1]:02x}", data) from None
    if answered is Command.ACK:
        raise FrameError("payload", "an ACK does not answer an ACK", data)
    return Ack(address, answered, status)


class FrameReader:
    """Frames out of a byte stream cut anywhere, skipping garbage and finding the next STX after it.

    ``feed`` never raises: a bad candidate is counted in ``stats`` (by ``FrameError.reason``) and the
    reader moves on.
    """

    def __init__(self) -> None:
        self.stats = ReaderStats()
        self._partial: bytearray | None = None  # from an STX on, until its ETX; None: looking for STX

    @property
    def pending(self) -> bool:
        """Whether a frame has begun and not ended."""
        return self._partial is not None

    def flush(self) -> list[LedFrame]:
        """The line went quiet: drop the half-received frame. (No complete frame can be behind it: the
        STX of one would have ended it.)"""
        if self._partial is not None:
            self.stats.reject(FrameError("truncated", "the line went quiet inside a frame", self._partial))
            self._partial = None
        return []

    def feed(self, chunk: bytes) -> list[LedFrame]:
        frames: list[LedFrame] = []
        pos, size = 0, len(chunk)
        while pos < size:
            if self._partial is None:
                start = chunk.find(START, pos)
                if start < 0:
                    self.stats.garbage_bytes += size - pos
                    break
                self.stats.garbage_bytes += start - pos
                self._partial = bytearray((START,))
                pos = start + 1
                continue
            end, restart = chunk.find(END, pos), chunk.find(START, pos)
            if end < 0 and restart < 0:
                self._partial += chunk[pos:]
                if len(self._partial) > MAX_WIRE_FRAME:
                    self.stats.reject(FrameError("length", "no ETX within the longest frame", self._partial))
                    self._partial = None
                break
            if restart >= 0 and (end < 0 or restart < end):
                # A new STX before this frame's ETX: this one was cut off; start again at the new one.
                self._partial += chunk[pos:restart]
                self.stats.reject(FrameError("truncated", "a new STX before ETX", self._partial))
                self._partial = None
                pos = restart
                continue
            candidate = bytes(self._partial) + chunk[pos : end + 1]
            self._partial = None
            pos = end + 1
            try:
                frames.append(decode(candidate))
            except FrameError as error:
                self.stats.reject(error)
            else:
                self.stats.frames += 1
        return frames
