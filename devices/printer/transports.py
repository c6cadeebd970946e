"""Transports of a ticket printer: where it is (the ``connection`` setting, checked) and the links that
move bytes to it and its status answers back. hallctl/devices/printer/driver.py decides what to send.

``network:HOST[:PORT]`` (raw TCP, port 9100 by default), ``serial:PORT[:BAUD]`` (pyserial-asyncio-fast),
``usb:VENDOR:PRODUCT`` (python-escpos in a thread, status best effort), ``file:PATH`` (appends the bytes;
for debugging, or a /dev/usb/lp* device; no status) and ``simulated`` (sim.py in process).
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from devices.printer.sim import SimulatedPrinter
from devices.printer.status import STATUS_ANSWERS, STATUS_REQUEST, is_status_byte

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
class Link(ABC):
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


class _StreamLink(Link):
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


class _FileLink(Link):
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


class _UsbLink(Link):
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


def link_for(connection: Connection, simulator: SimulatedPrinter | None) -> Link:
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
