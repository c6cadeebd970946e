"""Every tuned time of the serial devices in one place, each with what breaks if it is set wrong.

Tests pass a faster ``SerialTiming``; the defaults are for a real RS-485 line at 9600 baud with up to a
few dozen devices on one bus.
"""

from __future__ import annotations

from dataclasses import dataclass

BITS_PER_BYTE = 10  # 8N1: a start bit, eight data bits, a stop bit


def wire_seconds(n_bytes: int, baudrate: int) -> float:
    """How long ``n_bytes`` take on the line (a 9600 8N1 line carries about 960 bytes a second)."""
    return n_bytes * BITS_PER_BYTE / baudrate


@dataclass(frozen=True, slots=True, kw_only=True)
class SerialTiming:
    # How long a device has to answer a request, on top of the time the request and the longest reply
    # spend on the wire. Too low: a slow LED controller (many take 50-100 ms to redraw before they
    # ack) is taken for offline though it works. Too high: RS-485 is half duplex, so a dead device
    # holds the whole bus this long for every request, and the other devices on it wait.
    ack_timeout: float = 0.3
    # Tries per request (the first and the retries). One retry rides out a frame hit by noise on the
    # line; more only make a dead device hold the bus longer before it is marked offline.
    attempts: int = 2
    # How often an idle device is asked whether it is there (LEDs: a status query; keypads: a poll,
    # answered with a pending key press if there is one). Too low: polls fill the half-duplex bus (a
    # poll and its answer take ~17 ms at 9600 baud, so 30 keypads polled every 0.5 s use the line all
    # the time) and delay real traffic. Too high: a dead or replugged device is noticed that late,
    # and a keypad that only speaks when polled makes the clerk wait that long.
    poll_interval: float = 2.0
    # Reopening a port that is gone or failing: the first wait, doubled after each failure up to the
    # cap. Too low: a missing USB-RS485 adapter turns into a busy loop of open() calls and log lines.
    # Too high: a replugged adapter leaves the LEDs dark and the keypads dead for up to the cap.
    reopen_min: float = 0.5
    reopen_max: float = 15.0
    # A port that stayed open this long starts again from ``reopen_min`` after its next failure. Too
    # low: a port that opens and fails at once (a flaky adapter) is retried at the fastest rate
    # forever; too high: one drop after a quiet day waits the long backoff of the last outage.
    stable_after: float = 10.0
    # A half-received frame is dropped when nothing arrives for this long. Too low: a frame delayed by
    # a USB adapter's latency timer (16 ms on FTDI) or a busy event loop is cut in two and lost (the
    # device retries). Too high: after a corrupted length byte the reader waits for bytes that will
    # never come and stays deaf to the next frames for that long.
    frame_gap: float = 0.5
    # A key press with the same sequence number, key and argument within this window is the keypad
    # repeating a frame whose reply it missed: it is answered again, not executed again. Too low: a slow
    # bus retry calls the next citizen twice. Too high: a keypad that restarted and happens to reuse the
    # last sequence number has its first press swallowed (the clerk presses again).
    repeat_window: float = 10.0
    # How long a write may wait for the OS buffer before the port is taken for stuck. Too low: a burst
    # of frames on a slow line is taken for a failure; too high: a wedged adapter blocks the bus longer.
    write_timeout: float = 2.0

    def __post_init__(self) -> None:
        for name in ("ack_timeout", "poll_interval", "reopen_min", "frame_gap", "write_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"SerialTiming.{name} must be positive")
        if self.attempts < 1:
            raise ValueError("SerialTiming.attempts must be at least 1")
        if self.reopen_max < self.reopen_min:
            raise ValueError("SerialTiming.reopen_max must not be below reopen_min")
        if self.repeat_window < 0 or self.stable_after < 0:
            raise ValueError("SerialTiming.repeat_window and stable_after must not be negative")


DEFAULT_TIMING = SerialTiming()
