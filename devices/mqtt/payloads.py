"""Every MQTT payload: JSON with a version ``v``, built and checked here and nowhere else (docs/mqtt.md).

Outbound payloads are built from plain data; inbound ones (a rating key, a call-keypad key) are
validated field by field and refused with a :class:`PayloadError` naming the reason, which the hub
counts in /metrics. Nothing that fails here reaches the hall.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson

from devices.contracts import KEYS, Key, WindowScreen

VERSION = 1
MAX_INBOUND = 4096  # bytes; a keypad's message is a few dozen


class PayloadError(ValueError):
    """An inbound payload that is refused; ``reason`` is a short stable word for the metrics."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def dumps(data: dict[str, Any]) -> bytes:
    return orjson.dumps(data)


def display(screen: WindowScreen, at: str) -> bytes:
    return dumps(
        {
            "v": VERSION,
            "window": screen.window,
            "mode": screen.mode,
            "number": screen.number,
            "text": screen.text,
            "at": at,
        }
    )


def status(online: bool) -> bytes:
    return b"online" if online else b"offline"


@dataclass(frozen=True, slots=True)
class RatingPress:
    window: int
    device: str
    level: int  # 5 = 非常满意 … 1 = 非常不满意


@dataclass(frozen=True, slots=True)
class KeyPress:
    window: int
    device: str
    key: Key
    arg: int | None
    seq: int | None


# The window number as the ACL and the config spell it: ASCII digits, no leading zero. (``\d`` would take
# "03" or a full-width "３" as window 3, a topic the broker's ACL does not know as window 3's.)
_WINDOW_TOPIC = re.compile(r"(?:keypad|terminal)/([1-9][0-9]{0,2})/(?:rating|key)")
_DEVICE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def _object(topic: str, payload: bytes) -> tuple[int, dict[str, Any]]:
    match = _WINDOW_TOPIC.fullmatch(topic)
    if not match:
        raise PayloadError("bad_topic", topic)
    if len(payload) > MAX_INBOUND:
        raise PayloadError("too_large", f"{len(payload)} bytes")
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise PayloadError("bad_json") from None
    if not isinstance(data, dict):
        raise PayloadError("bad_json", "not an object")
    version = data.get("v")
    if type(version) is not int or version != VERSION:  # JSON true and 1.0 equal 1 in Python
        raise PayloadError("bad_version", repr(version)[:20])
    device = data.get("device")
    if not isinstance(device, str) or not _DEVICE.fullmatch(device):
        raise PayloadError("bad_device")
    return int(match.group(1)), data


def _small_int(value: object, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def parse_rating(topic: str, payload: bytes) -> RatingPress:
    """``keypad/{n}/rating``: ``{"v": 1, "device": "kp-3", "level": 1..5}``."""
    window, data = _object(topic, payload)
    if set(data) - {"v", "device", "level"}:
        raise PayloadError("unknown_field")
    level = _small_int(data.get("level"), 1, 5)
    if level is None:
        raise PayloadError("bad_level")
    return RatingPress(window, data["device"], level)


def parse_key(topic: str, payload: bytes) -> KeyPress:
    """``terminal/{n}/key``: ``{"v": 1, "device": "term-3", "key": "call", "arg": 5?, "seq": 17?}``."""
    window, data = _object(topic, payload)
    if set(data) - {"v", "device", "key", "arg", "seq"}:
        raise PayloadError("unknown_field")
    key = data.get("key")
    if key not in KEYS:
        raise PayloadError("bad_key")
    arg = data.get("arg")
    if arg is not None and _small_int(arg, 1, 999) is None:
        raise PayloadError("bad_arg")
    seq = data.get("seq")
    if seq is not None and _small_int(seq, 0, 2**31) is None:
        raise PayloadError("bad_seq")
    return KeyPress(window, data["device"], key, arg, seq)
