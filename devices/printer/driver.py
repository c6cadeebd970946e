"""The driver of one kiosk's ticket printer: sends a rendered ticket and says whether it came out.

``PrinterDriver`` asks the printer's real-time status (DLE EOT 1, 2, 4) before a ticket, so a ticket is
never left in the buffer of a printer without paper (it would come out later, for nobody), writes the
ticket, and asks again after it: the answer both confirms the printer took every byte and tells whether
the paper ran out or the cover opened meanwhile. Any failure is a :class:`PrintError` with a short
reason, and no call takes longer than the printer's ``timeout_seconds``. How the bytes travel (TCP,
serial, USB, a file, the simulator) is hallctl/devices/printer/transports.py's job.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self, TypeVar

from devices.printer.sim import SimulatedPrinter
from devices.printer.status import ASSUMED_OK, PrinterStatus, Reason, parse_status
from devices.printer.transports import SimulatedConnection, link_for, parse_connection
from hallctl.config_devices import Printer

log = logging.getLogger(__name__)

T = TypeVar("T")


class PrintError(Exception):
    """A ticket (or a status) that could not be had. ``reason`` is one of offline, paper_out,
    cover_open, timeout, io; the message says which printer and what happened."""

    def __init__(self, reason: Reason, *, printer: str, detail: str = "") -> None:
        super().__init__(f"printer {printer}: {reason}" + (f" ({detail})" if detail else ""))
        self.reason: Reason = reason
        self.printer = printer
        self.detail = detail


# --- The driver -------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PrinterHealth:
    """What the device hub shows about a printer."""

    printer: str
    online: bool | None  # None: not heard from yet; False: unreachable or not ready (see last_error)
    last_seen: float | None  # clock time of its last answer
    consecutive_failures: int
    failures: int  # since start
    printed: int  # tickets confirmed since start
    last_error: str | None
    last_status: PrinterStatus | None


class PrinterDriver:
    """One ticket printer. ``async with PrinterDriver(config) as printer: await printer.print_ticket(...)``.

    Nothing is opened on entry, so a daemon starts even with its printer switched off; the link opens on
    the first call and is kept, and dropped after any failure so the next call starts afresh. Calls are
    served one at a time: tickets never interleave.
    """

    def __init__(
        self,
        config: Printer,
        *,
        simulator: SimulatedPrinter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.connection = parse_connection(config.connection)
        if simulator is not None and not isinstance(self.connection, SimulatedConnection):
            raise ValueError(
                f"printer {config.id}: a simulator is given but connection is {config.connection!r}"
            )
        if isinstance(self.connection, SimulatedConnection) and simulator is None:
            simulator = SimulatedPrinter()
        self.simulator = simulator  # the simulated printer behind a "simulated" connection, else None
        self._link = link_for(self.connection, simulator)
        self._timeout = config.timeout_seconds
        self._clock = clock
        self._lock = asyncio.Lock()
        self._online: bool | None = None
        self._last_seen: float | None = None
        self._consecutive_failures = 0
        self._failures = 0
        self._printed = 0
        self._last_error: str | None = None
        self._last_status: PrinterStatus | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        async with self._lock:
            await self._link.close()

    @property
    def health(self) -> PrinterHealth:
        return PrinterHealth(
            printer=self.config.id,
            online=self._online,
            last_seen=self._last_seen,
            consecutive_failures=self._consecutive_failures,
            failures=self._failures,
            printed=self._printed,
            last_error=self._last_error,
            last_status=self._last_status,
        )

    async def status(self) -> PrinterStatus:
        """The printer's state now. A printer that answers gives a status (which may well be "paper
        out"); one that cannot be reached raises PrintError ("io" or "timeout")."""

        async def body() -> PrinterStatus:
            return await self._ask(reconnect_if_stale=True)

        result = await self._guarded("asking its status", body)
        self._online = result.ready
        if result.ready:
            self._consecutive_failures = 0
        return result

    async def print_ticket(self, data: bytes) -> None:
        """Print ``data`` (from ticket.render) or raise PrintError. On "timeout" or "io" after the bytes
        went out, the ticket may or may not have printed; the kiosk should tell the citizen so."""

        async def body() -> None:
            before = await self._ask(reconnect_if_stale=True)
            self._check(before, "before printing")
            await self._link.send(data)
            after = await self._ask(reconnect_if_stale=False)
            self._check(after, "while printing")

        await self._guarded("printing", body)
        self._online = True
        self._consecutive_failures = 0
        self._printed += 1

    # -- inside the lock and the timeout ----------------------------------------------------------------
    async def _ask(self, *, reconnect_if_stale: bool) -> PrinterStatus:
        reused = self._link.is_open
        if not reused:
            await self._link.open()
        try:
            answers = await self._link.ask_status()
        except (ConnectionError, EOFError) as e:
            # A kept connection the printer has since dropped (switched off and on, idle timeout): open
            # a new one once. Only before a ticket is sent, so a ticket is never sent twice.
            if not (reused and reconnect_if_stale):
                raise
            log.info("printer %s: connection went stale (%s); reconnecting", self.config.id, e)
            self._link.abort()
            await self._link.open()
            answers = await self._link.ask_status()
        result = ASSUMED_OK if answers is None else parse_status(*answers)
        self._last_seen = self._clock()
        self._last_status = result
        return result

    def _check(self, result: PrinterStatus, when: str) -> None:
        problem = result.problem()
        if problem is not None:
            raise PrintError(problem, printer=self.config.id, detail=f"{when}; {result.error or problem}")

    async def _guarded(self, doing: str, body: Callable[[], Awaitable[T]]) -> T:
        """Run ``body`` alone and within the timeout (waiting for the lock included), and turn every
        failure into a PrintError, counted."""
        try:
            async with asyncio.timeout(self._timeout), self._lock:
                try:
                    return await body()
                except PrintError:
                    raise  # the printer answered: the link is in step and stays
                except BaseException:
                    # Timed out, cancelled or broken halfway through a request: drop the link, under
                    # the lock, since whatever the printer says next answers a request we gave up on.
                    self._link.abort()
                    raise
        except PrintError as e:
            self._fail(e)
            raise
        except TimeoutError:
            error = PrintError(
                "timeout", printer=self.config.id, detail=f"no answer within {self._timeout} s while {doing}"
            )
            self._fail(error)
            raise error from None
        except (OSError, EOFError) as e:
            error = PrintError("io", printer=self.config.id, detail=f"{doing}: {e or type(e).__name__}")
            self._fail(error)
            raise error from e

    def _fail(self, error: PrintError) -> None:
        self._online = False
        self._consecutive_failures += 1
        self._failures += 1
        self._last_error = str(error)
        log.warning("%s", error)
