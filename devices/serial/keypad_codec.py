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

from .framing import FrameError, ReaderStats, sum8
from .keypad_frames import (
    KEY_CODES,
    LEVELS,
    MAX_ADDRESS,
    MAX_MESSAGE_BYTES,
    MAX_NUMBER,
    MIN_ADDRESS,
    REASON_CODES,
    TEXT_ENCODING,
    AckFrame,
    ArmFrame,
    Function,
    KeyFrame,
    KeypadFrame,
    KeyReplyFrame,
    PollFrame,
    RatingFrame,
    RatingReason,
    RatingReplyFrame,
)

PREAMBLE = 0xFF
HEAD = 0x68
TAIL = 0x16
HEADER_BYTES = 4  # 68 LL LL 68
MAX_DATA = 253  # LL is one byte and counts ADDR and FUNC too

_KEYS_BY_CODE = {code: key for key, code in KEY_CODES.items()}
_REASONS_BY_CODE: dict[int, RatingReason] = {code: reason for reason, code in REASON_CODES.items()}


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
