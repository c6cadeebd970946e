"""What both frame codecs share: the one error they raise, the checksum, and reader statistics."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# How many bytes of a bad frame an error message shows: enough to see the header and the start of the
# payload in a log line, short enough that garbage on the line does not flood the log.
PREVIEW_BYTES = 32


def preview(data: bytes | bytearray) -> str:
    """``02 03 01 …`` for log lines and error messages."""
    shown = data[:PREVIEW_BYTES].hex(" ")
    return shown + (f" … ({len(data)} bytes)" if len(data) > PREVIEW_BYTES else "")


class FrameError(ValueError):
    """Bytes that are not a valid frame.

    ``reason`` is one short word to count by (``framing``, ``escape``, ``truncated``, ``length``,
    ``checksum``, ``address``, ``command``, ``payload``, ``text``); the message says what was wrong
    and shows the bytes.
    """

    def __init__(self, reason: str, detail: str, data: bytes | bytearray) -> None:
        super().__init__(f"{detail} [{reason}] in {preview(data) or 'no bytes'}")
        self.reason = reason
        self.detail = detail
        self.data = bytes(data)


def sum8(data: bytes) -> int:
    """The checksum of both codecs: the sum of the bytes mod 256."""
    return sum(data) & 0xFF


@dataclass(slots=True)
class ReaderStats:
    """What a frame reader saw on the line: frames, rejected candidates (by reason), stray bytes."""

    frames: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    garbage_bytes: int = 0
    last_error: FrameError | None = None

    @property
    def malformed(self) -> int:
        return sum(self.rejected.values())

    def reject(self, error: FrameError) -> None:
        self.rejected[error.reason] += 1
        self.last_error = error
