"""The keypad protocol's frames as values, for call keypads (呼叫器) and satisfaction keypads (评价器):
what each frame carries, the codes it is sent with and the limits it must keep (docs/devices.md).

hallctl/devices/serial/keypad_codec.py turns them into bytes and back. Every frame is checked when it
is made, by one rule per field name (an ``address`` is 1..254 in every frame that has one), so a frame
that exists can always be encoded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any, Literal, get_args

from devices.contracts import KEYS, Key

MIN_ADDRESS, MAX_ADDRESS = 1, 254  # 0 and 255 are kept free (broadcast on some keypads)
# A ticket number as the keypads show it: prefix and digits ("A012", "AB000123"); hallctl's are at most
# 2 letters and 6 digits.
MAX_NUMBER = 8
# The message under the number on a keypad's LCD: 2 lines of 8 hanzi on the common 128x32 displays.
MAX_MESSAGE_BYTES = 32
MAX_WAITING = 0xFFFF
MAX_SEQ = 0xFF
LEVELS = range(1, 6)  # 5 = 非常满意 … 1 = 非常不满意
TEXT_ENCODING = "gb18030"

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

RatingReason = Literal["", "nothing_armed", "already_rated", "expired", "bad_level", "other"]
#: The reason codes on the wire: ``RatingReply.reason`` in order, from 0; "other" is 0xFF.
REASON_CODES: dict[RatingReason, int] = {
    reason: (0xFF if reason == "other" else code) for code, reason in enumerate(get_args(RatingReason))
}


class Function(IntEnum):
    KEY = 0x01  # call keypad → daemon: SEQ KEY TARGET_HI TARGET_LO
    RATING = 0x02  # satisfaction keypad → daemon: SEQ LEVEL
    ACK = 0x10  # device → daemon: FUNC received (a POLL with nothing to report, or an ARM)
    POLL = 0x80  # daemon → device: no data
    KEY_REPLY = 0x81  # daemon → call keypad: SEQ FLAGS WAITING_HI WAITING_LO NLEN NUMBER MESSAGE
    ARM = 0x82  # daemon → satisfaction keypad: SECONDS_HI SECONDS_LO NUMBER
    RATING_REPLY = 0x83  # daemon → satisfaction keypad: SEQ ACCEPTED REASON


def is_ticket_number(number: str) -> bool:
    """Whether a keypad can show ``number``: 1..8 printable ASCII characters."""
    return 1 <= len(number) <= MAX_NUMBER and all(0x21 <= ord(c) <= 0x7E for c in number)


def fit_message(text: str) -> str:
    """``text`` cut at a character boundary to fit a keypad's message (lone surrogates become ?)."""
    text = text.encode(TEXT_ENCODING, errors="replace").decode(TEXT_ENCODING)
    while len(text.encode(TEXT_ENCODING)) > MAX_MESSAGE_BYTES:
        text = text[:-1]
    return text


def _within(low: int, high: int, what: str) -> Callable[[Any], str | None]:
    return lambda value: None if low <= value <= high else f"{what} {value} is outside {low}..{high}"


def _number(value: Any) -> str | None:
    if value is None or is_ticket_number(value):
        return None
    return f"ticket number {value!r}: 1..{MAX_NUMBER} printable ASCII characters"


def _message(value: Any) -> str | None:
    # UnicodeEncodeError (a ValueError) for lone surrogates, as for every frame field that is not GB18030
    if len(value.encode(TEXT_ENCODING)) > MAX_MESSAGE_BYTES:
        return f"keypad message is longer than {MAX_MESSAGE_BYTES} bytes in GB18030"
    return None


#: field name -> its check: None when the value is fine, else what is wrong with it.
_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "address": _within(MIN_ADDRESS, MAX_ADDRESS, "keypad address"),
    "seq": _within(0, MAX_SEQ, "sequence number"),
    "key": lambda v: None if v in KEY_CODES else f"unknown key {v!r}",
    "target": lambda v: None if v is None or 1 <= v <= 0xFFFF else f"target window {v} is outside 1..65535",
    "level": lambda v: None if v in LEVELS else f"rating level {v} is outside 1..5",
    "function": lambda v: (
        None if v in (Function.POLL, Function.ARM) else "a device acknowledges POLL or ARM only"
    ),
    "number": _number,
    "waiting": _within(0, MAX_WAITING, "waiting count"),
    "message": _message,
    "seconds": lambda v: None if 1 <= v <= 0xFFFF else f"arm time {v} s is outside 1..65535",
    "reason": lambda v: None if v in REASON_CODES else f"unknown rating reason {v!r}",
}


class _Checked:
    """Every field of a frame checked by its name on creation (``_CHECKS``), in the order declared."""

    __slots__ = ()

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]  # every subclass is a dataclass
            check = _CHECKS.get(f.name)  # a field without a rule (a flag) takes any value of its type
            problem = None if check is None else check(getattr(self, f.name))
            if problem is not None:
                raise ValueError(problem)


@dataclass(frozen=True, slots=True)
class KeyFrame(_Checked):
    """A key pressed on a call keypad. The keypad repeats the frame, same ``seq``, until it is answered."""

    address: int
    seq: int
    key: Key
    target: int | None = None  # the target window of a transfer; None for every other key

    def __post_init__(self) -> None:
        _Checked.__post_init__(self)  # (zero-argument super() does not work in a slots dataclass)
        if (self.key == "transfer") != (self.target is not None):
            raise ValueError("a transfer, and only a transfer, has a target window")


@dataclass(frozen=True, slots=True)
class RatingFrame(_Checked):
    """A level pressed on a satisfaction keypad, repeated like a key press until answered."""

    address: int
    seq: int
    level: int


@dataclass(frozen=True, slots=True)
class AckFrame(_Checked):
    """A device saying it got a POLL (and has nothing to report) or an ARM."""

    address: int
    function: Function


@dataclass(frozen=True, slots=True)
class PollFrame(_Checked):
    address: int


@dataclass(frozen=True, slots=True)
class KeyReplyFrame(_Checked):
    """The daemon's answer to a key, for the keypad's display; ``seq`` is the press it answers."""

    address: int
    seq: int
    ok: bool
    number: str | None
    waiting: int
    message: str = ""


@dataclass(frozen=True, slots=True)
class ArmFrame(_Checked):
    """Arm a satisfaction keypad: ask the citizen served as ``number`` to rate, for ``seconds``."""

    address: int
    number: str
    seconds: int


@dataclass(frozen=True, slots=True)
class RatingReplyFrame(_Checked):
    """The daemon's answer to a rating press: taken, or why not."""

    address: int
    seq: int
    accepted: bool
    reason: RatingReason = ""


KeypadFrame = KeyFrame | RatingFrame | AckFrame | PollFrame | KeyReplyFrame | ArmFrame | RatingReplyFrame
