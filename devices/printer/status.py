"""ESC/POS real-time status (DLE EOT n): the bytes to ask, and what each bit of the answer means.

Pure: the driver sends ``STATUS_REQUEST`` and parses the three answers here; the simulator builds its
answers here too. Bits as in Epson's ESC/POS reference for DLE EOT (the 58/80 mm Chinese printers
follow it):

n = 1, printer status          n = 2, offline cause              n = 4, roll paper sensor
  bit 3: 1 offline               bit 2: 1 cover open               bits 2,3: 1 paper near its end
  bit 5: 1 waiting for online    bit 3: 1 paper fed by the button  bits 5,6: 1 paper end (no paper)
         recovery                bit 5: 1 printing stopped: paper end
  bit 6: 1 feed button pressed   bit 6: 1 an error occurred (cutter jam, head too hot, ...)

Offline (n = 1 bit 3) is what decides; the causes say why. The feed button bits are not faults: while
the button feeds paper the printer reports itself offline anyway, and it is back when the button is let go.

In every answer bits 1 and 4 are 1 and bits 0 and 7 are 0 (``(b & 0x93) == 0x12``). A byte without that
shape is not an answer: an XON/XOFF of a serial line, or part of an automatic status back (ASB, whose
first byte has bit 1 clear and the others bit 4 clear). Such bytes are skipped, never parsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Reason = Literal["offline", "paper_out", "cover_open", "timeout", "io"]

PRINTER: Final = 1
OFFLINE_CAUSE: Final = 2
PAPER_SENSOR: Final = 4
# One write asks all three; the printer answers in order, one byte each.
STATUS_REQUEST: Final = bytes([0x10, 0x04, PRINTER, 0x10, 0x04, OFFLINE_CAUSE, 0x10, 0x04, PAPER_SENSOR])
STATUS_ANSWERS: Final = 3

FIXED_MASK: Final = 0x93  # bits 0, 1, 4, 7
FIXED_BITS: Final = 0x12  # bit 1 and bit 4 set, bits 0 and 7 clear

# n = 1
OFFLINE: Final = 0x08
WAITING_FOR_RECOVERY: Final = 0x20
# n = 2
COVER_OPEN: Final = 0x04
STOPPED_PAPER_END: Final = 0x20
ERROR_OCCURRED: Final = 0x40
# n = 4
PAPER_NEAR_END: Final = 0x0C
PAPER_END: Final = 0x60


def is_status_byte(byte: int) -> bool:
    """Whether ``byte`` has the fixed bits of a DLE EOT answer."""
    return byte & FIXED_MASK == FIXED_BITS


class StatusByteError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """The printer's state from one round of real-time status.

    ``verified`` is False when the transport cannot ask (file, or a USB printer that did not answer):
    the other fields are then assumed, not read.
    """

    online: bool
    paper_ok: bool
    cover_closed: bool
    error: str | None = None  # what the printer reports beyond paper and cover, in words
    paper_near_end: bool = False  # still printing; tell the staff to change the roll soon
    verified: bool = True

    @property
    def ready(self) -> bool:
        return self.problem() is None

    def problem(self) -> Reason | None:
        """Why a ticket cannot be printed now, the most specific reason first: an open cover or an
        empty roll also put the printer offline, and the staff should be told which."""
        if not self.cover_closed:
            return "cover_open"
        if not self.paper_ok:
            return "paper_out"
        if not self.online or self.error:
            return "offline"
        return None


ASSUMED_OK: Final = PrinterStatus(online=True, paper_ok=True, cover_closed=True, verified=False)


def parse_status(printer: int, offline_cause: int, paper: int) -> PrinterStatus:
    """The answers to DLE EOT 1, 2 and 4 as one status."""
    for n, byte in ((PRINTER, printer), (OFFLINE_CAUSE, offline_cause), (PAPER_SENSOR, paper)):
        if not is_status_byte(byte):
            raise StatusByteError(f"{byte:#04x} is not an answer to DLE EOT {n} (fixed bits differ)")
    errors = []
    if offline_cause & ERROR_OCCURRED:
        errors.append("an error occurred (cutter, head temperature or mechanism)")
    if printer & WAITING_FOR_RECOVERY:
        errors.append("waiting for online recovery")
    return PrinterStatus(
        online=not printer & OFFLINE,
        paper_ok=not (paper & PAPER_END or offline_cause & STOPPED_PAPER_END),
        cover_closed=not offline_cause & COVER_OPEN,
        error="; ".join(errors) or None,
        paper_near_end=bool(paper & PAPER_NEAR_END),
    )


def status_bytes(
    *, offline: bool = False, paper_out: bool = False, cover_open: bool = False, paper_near_end: bool = False
) -> tuple[int, int, int]:
    """The answers a printer in this state gives to DLE EOT 1, 2 and 4 (for the simulator).

    A printer with an empty roll or an open cover is offline too; ``offline`` alone stands for an
    error such as a cutter jam.
    """
    printer = FIXED_BITS
    cause = FIXED_BITS
    paper = FIXED_BITS
    if offline or paper_out or cover_open:
        printer |= OFFLINE
    if cover_open:
        cause |= COVER_OPEN
    if paper_out:
        cause |= STOPPED_PAPER_END
        paper |= PAPER_END | PAPER_NEAR_END  # an empty roll is past its near end too
    elif paper_near_end:
        paper |= PAPER_NEAR_END
    if offline:
        cause |= ERROR_OCCURRED
    return printer, cause, paper
