"""The keypad frame protocol on RS-485, for call keypads (呼叫器) and satisfaction keypads (评价器),
as pure functions on bytes (docs/devices.md).

One frame on the wire, in the style of the Chinese hall systems (and of DL/T 645 / FT1.2)::

    FF | 68 | LL | LL | 68 | ADDR | FUNC | DATA … | SUM | 16

FF is a preamble that lets the line settle after the RS-485 driver turns around; receivers skip it.
LL is the number of bytes ADDR..DATA (2..255), sent twice as a check; SUM is the sum mod 256 of
ADDR..DATA; 16 ends the frame. FUNC with the high bit set goes daemon → device, without it device →
daemon. There is no byte stuffing: a reader finds frames by the ``68 LL LL 68`` header and checks
them by the sum and the end byte.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from enum import IntEnum
from typing import Generic, Literal, TypeVar, get_args

from devices.contracts import KEYS, Key

from .framing import FrameError, ReaderStats, sum8

PREAMBLE = 0xFF
HEAD = 0x68
TAIL = 0x16
HEADER_BYTES = 4  # 68 LL LL 68
MIN_ADDRESS, MAX_ADDRESS = 1, 254  # 0 and 255 are kept free (broadcast on some keypads)
MAX_DATA = 253  # LL is one byte and counts ADDR and FUNC too
# A ticket number as the keypads show it: prefix and digits ("A012", "AB000123"); hallctl's are at most
# 2 letters and 6 digits.
MAX_NUMBER = 8
# The message under the number on a keypad's LCD: 2 lines of 8 hanzi on the common 128x32 displays.
MAX_MESSAGE_BYTES = 32
MAX_WAITING = 0xFFFF
MAX_SEQ = 0xFF
LEVELS = range(1, 6)  # 5 = 非常满意 … 1 = 非常不满意
TEXT_ENCODING = "gb18030"
A = TypeVar("A")

#: The key codes on the wire. Written out, not derived from the order of ``KEYS``: keypads in the field
#: keep these codes whatever happens to that tuple.
KEY_CODES: dict[Key, int] = {
    "call": 0x01,  # 呼叫
    "recall": 0x02,  # 重呼
    "rate": 0x03,  # 评价
    "pause": 0x04,  # 暂停
    "transfer": 0x05,  # 转移, with the target window
    "no_show": 0x06,  # 弃号
    "suspend": 0x07,  # 挂起
    "resume": 0x08,  # 回呼
}
assert set(KEY_CODES) == set(KEYS), "every key of devices.contracts.KEYS needs a code"
_KEYS_BY_CODE: dict[int, Key] = {code: key for key, code in KEY_CODES.items()}

RatingReason = Literal["", "nothing_armed", "already_rated", "expired", "bad_level", "other"]
#: The reason codes on the wire: ``RatingReply.reason`` in order, from 0; "other" is 0xFF.
REASON_CODES: dict[RatingReason, int] = {
    reason: (0xFF if reason == "other" else code) for code, reason in enumerate(get_args(RatingReason))
}
_REASONS_BY_CODE: dict[int, RatingReason] = {code: reason for reason, code in REASON_CODES.items()}


class Function(IntEnum):
    KEY = 0x01  # call keypad → daemon: SEQ KEY TARGET_HI TARGET_LO
    RATING = 0x02  # satisfaction keypad → daemon: SEQ LEVEL
    ACK = 0x10  # device → daemon: FUNC received (a POLL with nothing to report, or an ARM)
    POLL = 0x80  # daemon → device: no data
    KEY_REPLY = 0x81  # daemon → call keypad: SEQ FLAGS WAITING_HI WAITING_LO NLEN NUMBER MESSAGE
    ARM = 0x82  # daemon → satisfaction keypad: SECONDS_HI SECONDS_LO NUMBER
    RATING_REPLY = 0x83  # daemon → satisfaction keypad: SEQ ACCEPTED REASON


def _check_address(address: int) -> None:
    if not MIN_ADDRESS <= address <= MAX_ADDRESS:
        raise ValueError(f"keypad address {address} is outside {MIN_ADDRESS}..{MAX_ADDRESS}")


def _check_seq(seq: int) -> None:
    if not 0 <= seq <= MAX_SEQ:
        raise ValueError(f"sequence number {seq} is outside 0..255")


def is_ticket_number(number: str) -> bool:
    """Whether a keypad can show ``number``: 1..8 printable ASCII characters."""
    return 1 <= len(number) <= MAX_NUMBER and all(0x21 <= ord(c) <= 0x7E for c in number)


def _check_number(number: str) -> None:
    if not is_ticket_number(number):
        raise ValueError(f"ticket number {number!r}: 1..{MAX_NUMBER} printable ASCII characters")


@dataclass(frozen=True, slots=True)
class KeyFrame:
    """A key pressed on a call keypad. The keypad repeats the frame, same ``seq``, until it is answered."""

    address: int
    seq: int
    key: Key
    target: int | None = None  # the target window of a transfer; None for every other key

    def __post_init__(self) -> None:
        _check_address(self.address)
        _check_seq(self.seq)
        if self.key not in KEY_CODES:
            raise ValueError(f"unknown key {self.key!r}")
        if (self.key == "transfer") != (self.target is not None):
            raise ValueError("a transfer, and only a transfer, has a target window")
        if self.target is not None and not 1 <= self.target <= 0xFFFF:
            raise ValueError(f"target window {self.target} is outside 1..65535")


@dataclass(frozen=True, slots=True)
class RatingFrame:
    """A level pressed on a satisfaction keypad, repeated like a key press until answered."""

    address: int
    seq: int
    level: int

    def __post_init__(self) -> None:
        _check_address(self.address)
        _check_seq(self.seq)
        if self.level not in LEVELS:
            raise ValueError(f"rating level {self.level} is outside 1..5")


@dataclass(frozen=True, slots=True)
class AckFrame:
    """A device saying it got a POLL (and has nothing to report) or an ARM."""

    address: int
    function: Function

    def __post_init__(self) -> None:
        _check_address(self.address)
        if self.function not in (Function.POLL, Function.ARM):
            raise ValueError("a device acknowledges POLL or ARM only")


@dataclass(frozen=True, slots=True)
class PollFrame:
    address: int

    def __post_init__(self) -> None:
        _check_address(self.address)


@dataclass(frozen=True, slots=True)
class KeyReplyFrame:
    """The daemon's answer to a key, for the keypad's display; ``seq`` is the press it answers."""

    address: int
    seq: int
    ok: bool
    number: str | None
    waiting: int
    message: str = ""

    def __post_init__(self) -> None:
        _check_address(self.address)
        _check_seq(self.seq)
        if self.number is not None:
            _check_number(self.number)
        if not 0 <= self.waiting <= MAX_WAITING:
            raise ValueError(f"waiting count {self.waiting} is outside 0..65535")
        if len(self.message.encode(TEXT_ENCODING)) > MAX_MESSAGE_BYTES:
            raise ValueError(f"keypad message is longer than {MAX_MESSAGE_BYTES} bytes in GB18030")


@dataclass(frozen=True, slots=True)
class ArmFrame:
    """Arm a satisfaction keypad: ask the citizen served as ``number`` to rate, for ``seconds``."""

    address: int
    number: str
    seconds: int

    def __post_init__(self) -> None:
        _check_address(self.address)
        _check_number(self.number)
        if not 1 <= self.seconds <= 0xFFFF:
            raise ValueError(f"arm time {self.seconds} s is outside 1..65535")


@dataclass(frozen=True, slots=True)
class RatingReplyFrame:
    """The daemon's answer to a rating press: taken, or why not."""

    address: int
    seq: int
    accepted: bool
    reason: RatingReason = ""

    def __post_init__(self) -> None:
        _check_address(self.address)
        _check_seq(self.seq)
        if self.reason not in REASON_CODES:
            raise ValueError(f"unknown rating reason {self.reason!r}")


KeypadFrame = KeyFrame | RatingFrame | AckFrame | PollFrame | KeyReplyFrame | ArmFrame | RatingReplyFrame


def fit_message(text: str) -> str:
    """``text`` cut at a character boundary to fit a keypad's message (lone surrogates become ?)."""
    text = text.encode(TEXT_ENCODING, errors="replace").decode(TEXT_ENCODING)
    while len(text.encode(TEXT_ENCODING)) > MAX_MESSAGE_BYTES:
        text = text[:-1]
    return text


def _data(frame: KeypadFrame) -> tuple[Function, bytes]:
    match frame:
        case KeyFrame(seq=seq, key=key, target=target):
            return Function.KEY, bytes((seq, KEY_CODES[key])) + (target or 0).to_bytes(2, "big")
        case RatingFrame(seq=seq, level=level):
            return Function.RATING, bytes((seq, level))
        case AckFrame(function=function):
            return Function.ACK, bytes((function,))
        case PollFrame():
            return Function.POLL, b""
        case KeyReplyFrame(seq=seq, ok=ok, number=number, waiting=waiting, message=message):
            digits = (number or "").encode("ascii")
            head = bytes((seq, int(ok))) + waiting.to_bytes(2, "big") + bytes((len(digits),))
            return Function.KEY_REPLY, head + digits + message.encode(TEXT_ENCODING)
        case ArmFrame(number=number, seconds=seconds):
            return Function.ARM, seconds.to_bytes(2, "big") + number.encode("ascii")
        case RatingReplyFrame(seq=seq, accepted=accepted, reason=reason):
            return Function.RATING_REPLY, bytes((seq, int(accepted), REASON_CODES[reason]))


def encode(frame: KeypadFrame) -> bytes:
    """The frame as it goes on the wire, preamble to end byte."""
    function, data = _data(frame)
    body = bytes((frame.address, function)) + data
    return bytes((PREAMBLE, HEAD, len(body), len(body), HEAD)) + body + bytes((sum8(body), TAIL))


def decode(data: bytes) -> KeypadFrame:
    """One wire frame (preamble bytes optional) back into a frame; ``FrameError`` for anything else."""
    data = bytes(data)
    frame = data.lstrip(bytes((PREAMBLE,)))
    if len(frame) < HEADER_BYTES:
        raise FrameError("truncated", "shorter than the 68 LL LL 68 header", data)
    if frame[0] != HEAD or frame[3] != HEAD:
        raise FrameError("framing", "the header is 68 LL LL 68", data)
    length = frame[1]
    if frame[2] != length:
        raise FrameError("length", f"the two length bytes differ ({frame[1]:02x} {frame[2]:02x})", data)
    if length < 2:
        raise FrameError("length", f"LL {length}: ADDR and FUNC alone are 2", data)
    expected = HEADER_BYTES + length + 2
    if len(frame) < expected:
        raise FrameError("truncated", f"LL {length} needs {expected} bytes, got {len(frame)}", data)
    if len(frame) > expected:
        raise FrameError("length", f"LL {length} needs {expected} bytes, got {len(frame)}", data)
    body, checksum, tail = frame[HEADER_BYTES:-2], frame[-2], frame[-1]
    if tail != TAIL:
        raise FrameError("framing", f"the end byte is {tail:02x}, not 16", data)
    if sum8(body) != checksum:
        raise FrameError("checksum", f"checksum {checksum:02x}, computed {sum8(body):02x}", data)
    address, code, payload = body[0], body[1], body[2:]
    if not MIN_ADDRESS <= address <= MAX_ADDRESS:
        raise FrameError("address", f"address {address} is outside 1..254", data)
    try:
        function = Function(code)
    except ValueError:
        raise FrameError("command", f"unknown function {code:02x}", data) from None
    return _frame(address, function, payload, data)


def _ascii_number(raw: bytes, data: bytes) -> str:
    if not 1 <= len(raw) <= MAX_NUMBER or not all(0x21 <= b <= 0x7E for b in raw):
        raise FrameError("payload", f"ticket number {raw!r} is not 1..8 printable ASCII", data)
    return raw.decode("ascii")


def _sized(payload: bytes, size: int, function: Function, data: bytes) -> None:
    if len(payload) != size:
        raise FrameError("payload", f"{function.name} takes {size} data bytes, got {len(payload)}", data)


def _frame(address: int, function: Function, payload: bytes, data: bytes) -> KeypadFrame:
    if function is Function.KEY:
        _sized(payload, 4, function, data)
        key = _KEYS_BY_CODE.get(payload[1])
        if key is None:
            raise FrameError("payload", f"unknown key code {payload[1]:02x}", data)
        target = int.from_bytes(payload[2:4], "big")
        if (key == "transfer") != (target != 0):
            raise FrameError("payload", f"{key} with target window {target}", data)
        return KeyFrame(address, payload[0], key, target or None)
    if function is Function.RATING:
        _sized(payload, 2, function, data)
        if payload[1] not in LEVELS:
            raise FrameError("payload", f"rating level {payload[1]} is outside 1..5", data)
        return RatingFrame(address, payload[0], payload[1])
    if function is Function.ACK:
        _sized(payload, 1, function, data)
        if payload[0] not in (Function.POLL, Function.ARM):
            raise FrameError("payload", f"ACK of {payload[0]:02x}: only POLL and ARM are acked", data)
        return AckFrame(address, Function(payload[0]))
    if function is Function.POLL:
        _sized(payload, 0, function, data)
        return PollFrame(address)
    if function is Function.KEY_REPLY:
        if len(payload) < 5 or len(payload) < 5 + payload[4]:
            raise FrameError("payload", "KEY_REPLY is shorter than its header and number", data)
        seq, flags, waiting, size = payload[0], payload[1], int.from_bytes(payload[2:4], "big"), payload[4]
        if flags not in (0, 1):
            raise FrameError("payload", f"KEY_REPLY flags {flags:02x}: only bit 0 (ok) is defined", data)
        number = _ascii_number(payload[5 : 5 + size], data) if size else None
        raw_message = payload[5 + size :]
        if len(raw_message) > MAX_MESSAGE_BYTES:
            raise FrameError("payload", f"the message is longer than {MAX_MESSAGE_BYTES} bytes", data)
        try:
            message = raw_message.decode(TEXT_ENCODING)
        except UnicodeDecodeError as exc:
            raise FrameError("text", f"the message is not GB18030 ({exc.reason})", data) from None
        return KeyReplyFrame(address, seq, bool(flags), number, waiting, message)
    if function is Function.ARM:
        if len(payload) < 3:
            raise FrameError("payload", "ARM takes the seconds and a ticket number", data)
        seconds = int.from_bytes(payload[:2], "big")
        if seconds == 0:
            raise FrameError("payload", "ARM for 0 seconds", data)
        return ArmFrame(address, _ascii_number(payload[2:], data), seconds)
    # RATING_REPLY
    _sized(payload, 3, function, data)
    reason = _REASONS_BY_CODE.get(payload[2])
    if payload[1] not in (0, 1) or reason is None:
        raise FrameError("payload", f"RATING_REPLY accepted {payload[1]:02x} reason {payload[2]:02x}", data)
    return RatingReplyFrame(address, payload[0], bool(payload[1]), reason)


class FrameReader:
    """Frames out of a byte stream cut anywhere, skipping garbage and preambles.

    A candidate that fails its checks is counted and only its first byte is dropped: the 68 may have
    been garbage and a real frame may begin inside what looked like this one. ``feed`` never raises.
    """

    def __init__(self) -> None:
        self.stats = ReaderStats()
        self._buffer = bytearray()

    def _skip(self, count: int) -> None:
        # Preamble bytes are expected before every frame: skipping them is not garbage.
        self.stats.garbage_bytes += count - self._buffer[:count].count(PREAMBLE)
        del self._buffer[:count]

    @property
    def pending(self) -> bool:
        """Whether bytes wait for the rest of a frame (``feed`` leaves nothing else behind)."""
        return bool(self._buffer)

    def flush(self) -> list[KeypadFrame]:
        """The line went quiet: the frame in progress will not be completed. Drop its first byte and
        return the complete frames behind it: a stray 68 that looked like a header with a long length
        would otherwise hold back the real frames that came after it."""
        frames: list[KeypadFrame] = []
        while self._buffer:
            self.stats.reject(FrameError("truncated", "the line went quiet inside a frame", self._buffer))
            del self._buffer[:1]
            frames += self.feed(b"")
        return frames

    def feed(self, chunk: bytes) -> list[KeypadFrame]:
        self._buffer += chunk
        frames: list[KeypadFrame] = []
        while True:
            start = self._buffer.find(HEAD)
            if start < 0:
                self._skip(len(self._buffer))
                break
            self._skip(start)
            if len(self._buffer) < HEADER_BYTES:
                break
            length = self._buffer[1]
            if self._buffer[2] != length or self._buffer[3] != HEAD or length < 2:
                self._skip(1)  # not a header: this 68 was a stray byte
                continue
            size = HEADER_BYTES + length + 2
            if len(self._buffer) < size:
                break
            candidate = bytes(self._buffer[:size])
            try:
                frame = decode(candidate)
            except FrameError as error:
                self.stats.reject(error)
                del self._buffer[:1]
                continue
            del self._buffer[:size]
            self.stats.frames += 1
            frames.append(frame)
        return frames


class RepeatFilter(Generic[A]):
    """The last press of one keypad and the answer it got, so that the same frame sent again (the keypad
    missed the answer and repeats, same sequence number) is answered again instead of executed again.

    A press is a repeat if it is identical (sequence number and contents) to the last one and comes
    within ``window`` seconds of the last time it was seen.
    """

    def __init__(self, window: float) -> None:
        self.window = window
        self._last: tuple[Hashable, float, A] | None = None

    def answer_for(self, press: Hashable, now: float) -> A | None:
        """The answer already given to ``press`` if it is a repeat, else None."""
        if self._last is None:
            return None
        last, seen, answer = self._last
        if last != press or now - seen > self.window:
            return None
        self._last = (last, now, answer)  # a keypad may repeat several times: each repeat extends the window
        return answer

    def remember(self, press: Hashable, now: float, answer: A) -> None:
        self._last = (press, now, answer)
