"""The driver of one kiosk's ticket printer: sends a rendered ticket and says whether it came out.

``PrinterDriver`` asks the printer's real-time status (DLE EOT 1, 2, 4) before a ticket, so a ticket is
never left in the buffer of a printer without paper (it would come out later, for nobody), writes the
ticket, and asks again after it: the answer both confirms the printer took every byte and tells whether
the paper ran out or the cover opened meanwhile. Any failure is a :class:`PrintError` with a short
reason, and no call takes longer than the printer's ``timeout_seconds``.

Transports, from the ``connection`` setting: ``network:HOST[:PORT]`` (raw TCP, port 9100 by default),
``serial:PORT[:BAUD]`` (pyserial-asyncio-fast), ``usb:VENDOR:PRODUCT`` (python-escpos in a thread, status
best effort), ``file:PATH`` (appends the bytes; for debugging, or a /dev/usb/lp* device; no status) and
``simulated`` (sim.py in process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self, TypeVar

from devices.printer.sim import SimulatedPrinter
from devices.printer.status import (
    ASSUMED_OK,
    STATUS_ANSWERS,
    STATUS_REQUEST,
    PrinterStatus,
    Reason,
    is_status_byte,
    parse_status,
)
from hallctl.config_devices import Printer

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TCP_PORT: Final = 9100
DEFAULT_BAUDRATE: Final = 9600  # the factory setting of most serial ESC/POS printers
# Bytes that are not status answers (XON/XOFF, automatic status back) skipped while waiting for one.
# Too low: a printer with ASB on fails its status now and then; too high: a device that is not a
# printer at all keeps us reading until the timeout instead of failing at once.
MAX_STRAY_BYTES: Final = 64
# How long a clean close may wait for the printer to take the last bytes before the link is dropped.
# Too long would hold up the daemon's shutdown behind a printer that stopped reading.
CLOSE_SECONDS: Final = 1.0
# USB read timeout in milliseconds for a status answer. Many USB printers answer in a few ms; some never
# answer on USB at all, and then each ticket waits this long before the status is taken as unknown.
USB_READ_MS: Final = 500


class PrintError(Exception):
    """A ticket (or a status) that could not be had. ``reason`` is one of offline, paper_out,
    cover_open, timeout, io; the message says which printer and what happened."""

    def __init__(self, reason: Reason, *, printer: str, detail: str = "") -> None:
        super().__init__(f"printer {printer}: {reason}" + (f" ({detail})" if detail else ""))
        self.reason: Reason = reason
        self.printer = printer
        self.detail = detail


# --- Where the printer is ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NetworkConnection:
    host: str
    port: int = DEFAULT_TCP_PORT


@dataclass(frozen=True, slots=True)
class SerialConnection:
    port: str  # a device path, or a pyserial URL such as rfc2217://host:port
    baudrate: int = DEFAULT_BAUDRATE


@dataclass(frozen=True, slots=True)
class UsbConnection:
    vendor: int
    product: int


@dataclass(frozen=True, slots=True)
class FileConnection:
    path: Path


@dataclass(frozen=True, slots=True)
class SimulatedConnection:
    pass


Connection = NetworkConnection | SerialConnection | UsbConnection | FileConnection | SimulatedConnection


def parse_connection(text: str) -> Connection:
    """The ``connection`` setting of a printer, checked; ValueError names what is wrong."""
    kind, _, rest = text.partition(":")

    def bad(why: str) -> ValueError:
        return ValueError(f"printer connection {text!r}: {why}")

    if kind == "simulated" and not rest:
        return SimulatedConnection()
    if kind == "network":
        host, port = rest, str(DEFAULT_TCP_PORT)
        if rest.startswith("["):  # [IPv6]:port
            host, _, tail = rest[1:].partition("]")
            if tail:
                if not tail.startswith(":"):
                    raise bad("expected [ADDRESS]:PORT")
                port = tail[1:]
        elif ":" in rest:
            host, port = rest.rsplit(":", 1)
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise bad("expected network:HOST[:PORT] with a port 1-65535")
        return NetworkConnection(host, int(port))
    if kind == "serial":
        port, baud = rest, str(DEFAULT_BAUDRATE)
        head, _, tail = rest.rpartition(":")
        # The last field is a baud rate unless it is the port of a URL such as rfc2217://host:4000.
        if head and tail.isdigit() and not ("://" in head and ":" not in head.split("://", 1)[1]):
            port, baud = head, tail
        if not port or not baud.isdigit() or int(baud) == 0:
            raise bad("expected serial:PORT[:BAUD]")
        return SerialConnection(port, int(baud))
    if kind == "usb":
        vendor, _, product = rest.partition(":")
        try:
            return UsbConnection(int(vendor, 16), int(product, 16))
        except ValueError:
            raise bad("expected usb:VENDOR:PRODUCT in hexadecimal, e.g. usb:0416:5011") from None
    if kind == "file" and rest:
        return FileConnection(Path(rest))
    raise bad("expected network:HOST[:PORT], serial:PORT[:BAUD], usb:VENDOR:PRODUCT, file:PATH or simulated")


# --- Links: bytes to and from the printer ---------------------------------------------------------------
class _Link(ABC):
    """One way of moving bytes to a printer. Errors are OSError or EOFError; the driver maps them."""

    @property
    @abstractmethod
    def is_open(self) -> bool: ...

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def send(self, data: bytes) -> None: ...

    @abstractmethod
    async def ask_status(self) -> tuple[int, int, int] | None:
        """The answers to DLE EOT 1, 2 and 4, or None where the printer cannot be asked."""

    @abstractmethod
    def abort(self) -> None:
        """Drop the link at once, discarding anything unsent (after a timeout or an error)."""

    async def close(self) -> None:
        self.abort()


class _StreamLink(_Link):
    """A byte stream both ways: TCP, a serial port, the in-process simulator."""

    def __init__(self) -> None:
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def is_open(self) -> bool:
        return self._reader is not None

    @abstractmethod
    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter | None]: ...

    async def open(self) -> None:
        self._reader, self._writer = await self._connect()

    async def send(self, data: bytes) -> None:
        assert self._writer is not None
        self._writer.write(data)
        await self._writer.drain()

    async def ask_status(self) -> tuple[int, int, int]:
        assert self._reader is not None
        await self.send(STATUS_REQUEST)
        answers: list[int] = []
        stray = 0
        while len(answers) < STATUS_ANSWERS:
            byte = (await self._reader.readexactly(1))[0]
            if is_status_byte(byte):
                answers.append(byte)
            else:
                stray += 1
                if stray > MAX_STRAY_BYTES:
                    raise OSError(f"{stray} bytes that are not status answers: is this an ESC/POS printer?")
        return answers[0], answers[1], answers[2]

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.transport.abort()
        self._reader = self._writer = None

    async def close(self) -> None:
        writer = self._writer
        self._reader = self._writer = None
        if writer is None:
            return
        writer.close()
        try:
            async with asyncio.timeout(CLOSE_SECONDS):
                await writer.wait_closed()
        except (TimeoutError, OSError):
            writer.transport.abort()


class _NetworkLink(_StreamLink):
    def __init__(self, connection: NetworkConnection) -> None:
        super().__init__()
        self._connection = connection

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter | None]:
        # asyncio turns Nagle off on TCP, so the 9-byte status request goes out at once after a ticket.
        return await asyncio.open_connection(self._connection.host, self._connection.port)


class _SerialLink(_StreamLink):
    def __init__(self, connection: SerialConnection) -> None:
        super().__init__()
        self._connection = connection

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter | None]:
        from serial_asyncio_fast import open_serial_connection

        return await open_serial_connection(url=self._connection.port, baudrate=self._connection.baudrate)


class _SimulatedLink(_StreamLink):
    """The in-process simulator; its answers go into a stream reader like a socket's would."""

    def __init__(self, printer: SimulatedPrinter) -> None:
        super().__init__()
        self._printer = printer

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter | None]:
        return asyncio.StreamReader(), None

    async def send(self, data: bytes) -> None:
        assert self._reader is not None
        self._reader.feed_data(await self._printer.deliver(data))

    def abort(self) -> None:
        self._reader = None

    async def close(self) -> None:
        self._reader = None


class _FileLink(_Link):
    """Appends each ticket to a file. No status: a file (or /dev/usb/lp0) cannot be asked."""

    def __init__(self, connection: FileConnection) -> None:
        self._path = connection.path

    @property
    def is_open(self) -> bool:
        return True

    async def open(self) -> None:
        pass

    async def send(self, data: bytes) -> None:
        await asyncio.to_thread(self._append, data)

    def _append(self, data: bytes) -> None:
        with self._path.open("ab") as file:
            file.write(data)

    async def ask_status(self) -> None:
        return None

    def abort(self) -> None:
        pass


class _UsbLink(_Link):
    """python-escpos's Usb printer, in a worker thread (pyusb blocks). Status is best effort: a printer
    that does not answer on its IN endpoint within USB_READ_MS is taken as ready, unverified."""

    def __init__(self, connection: UsbConnection) -> None:
        self._connection = connection
        self._printer: Any = None  # escpos.printer.Usb; python-escpos has no type hints

    @property
    def is_open(self) -> bool:
        return self._printer is not None

    async def open(self) -> None:
        self._printer = await asyncio.to_thread(self._open)

    def _open(self) -> Any:
        from escpos.printer import usb  # type: ignore[import-untyped]

        where = f"USB {self._connection.vendor:04x}:{self._connection.product:04x}"
        if not usb.is_usable():
            # Checked first: a Usb object made without pyusb raises again from its __del__.
            raise OSError(f"{where}: needs pyusb and libusb (pip install 'python-escpos[usb]')")
        try:
            printer = usb.Usb(self._connection.vendor, self._connection.product, timeout=USB_READ_MS)
            printer.open()
        except Exception as e:  # no libusb, no device, no permission: all "cannot reach"
            raise OSError(f"{where}: {e}") from e
        return printer

    async def send(self, data: bytes) -> None:
        await asyncio.to_thread(self._call, "_raw", data)

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._printer, method)(*args)
        except OSError:
            raise
        except Exception as e:
            raise OSError(f"USB: {e}") from e

    async def ask_status(self) -> tuple[int, int, int] | None:
        await self.send(STATUS_REQUEST)
        answers: list[int] = []
        with contextlib.suppress(OSError):
            while len(answers) < STATUS_ANSWERS:
                chunk = bytes(await asyncio.to_thread(self._call, "_read"))
                if not chunk:
                    break
                answers += [b for b in chunk if is_status_byte(b)]
        if len(answers) < STATUS_ANSWERS:
            return None
        return answers[0], answers[1], answers[2]

    def abort(self) -> None:
        printer, self._printer = self._printer, None
        device = getattr(printer, "device", None)
        if device is not None:
            # Not printer.close(): in python-escpos 3.1 it checks an attribute open() never sets, so
            # it releases nothing.
            import usb.util  # type: ignore[import-not-found, import-untyped, unused-ignore]

            with contextlib.suppress(Exception):
                usb.util.dispose_resources(device)


def _link_for(connection: Connection, simulator: SimulatedPrinter | None) -> _Link:
    match connection:
        case NetworkConnection():
            return _NetworkLink(connection)
        case SerialConnection():
            return _SerialLink(connection)
        case UsbConnection():
            return _UsbLink(connection)
        case FileConnection():
            return _FileLink(connection)
        case SimulatedConnection():
            assert simulator is not None
            return _SimulatedLink(simulator)


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
        self._link = _link_for(self.connection, simulator)
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
