"""A simulated ESC/POS ticket printer for the demo and the tests, in process, on TCP or on a pty.

:class:`SimulatedPrinter` is the printer itself, sans I/O: bytes in, real-time answers out. It answers
DLE EOT like a real one (status.py), holds print data while it cannot print (as a real one keeps it in
its buffer), decodes what it prints with decode.py and writes each ticket to a text file and a PNG
(drawn by picture.py). Its state (``paper_out``, ``offline``, ``cover_open``, ``slow_seconds``,
``paper_left_lines``) is set by the test or the demo. :class:`SimulatedNetworkPrinter` serves it on
127.0.0.1 like a raw port 9100 printer; :class:`SimulatedSerialPrinter` serves it on a pseudo-terminal
like a serial one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tty
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from devices.printer import status
from devices.printer.decode import Decoder, EscPosError, Receipt
from devices.printer.picture import FontChoice, find_cjk_font, receipt_image, receipt_lines, receipt_text
from devices.printer.ticket import PaperWidth

log = logging.getLogger(__name__)

READ_CHUNK: Final = 4096


class SimulatedPrinter:
    """A ticket printer in memory. Not thread-safe; use it from one event loop."""

    def __init__(
        self,
        *,
        output_dir: Path | None = None,
        paper_width_mm: PaperWidth = 80,
        font: FontChoice | None = None,
    ) -> None:
        self.output_dir = output_dir
        self.paper_width_mm: PaperWidth = paper_width_mm
        self.font = font if font is not None else find_cjk_font()
        if output_dir is not None:
            log.info("simulated printer: tickets go to %s, drawn with %s", output_dir, self.font.description)
        # State, set from outside. A printer with an empty roll or an open cover reports itself
        # offline too (status.status_bytes); ``offline`` alone stands for an error such as a cutter jam.
        self.paper_out = False
        self.cover_open = False
        self.offline = False
        self.paper_near_end = False
        self.slow_seconds = 0.0  # delay before each chunk is taken in and answered
        self.paper_left_lines: int | None = None  # None: an endless roll; at 0 the paper is out
        # What happened.
        self.receipts: list[Receipt] = []
        self.torn: list[Receipt] = []  # tickets the paper ran out on; a real printer would finish them
        self.outputs: list[Path] = []  # text and PNG files written, in order
        self.errors: list[str] = []  # bytes the decoder refused
        self.print_bytes = 0  # bytes received other than real-time requests
        self.status_requests = 0
        self._decoder = Decoder()
        self._held = bytearray()  # print data received while the printer could not print
        self._carry = b""  # a DLE EOT split across two chunks
        self._changed = asyncio.Event()

    @property
    def can_print(self) -> bool:
        return not (self.paper_out or self.cover_open or self.offline)

    def status_byte(self, n: int) -> int | None:
        """The answer to DLE EOT n, or None for an n a printer ignores."""
        answers = status.status_bytes(
            offline=self.offline,
            paper_out=self.paper_out,
            cover_open=self.cover_open,
            paper_near_end=self.paper_near_end,
        )
        if n in (1, 49):
            return answers[0]
        if n in (2, 50):
            return answers[1]
        if n in (3, 51):  # error cause: no cutter or unrecoverable error bits in this simulation
            return status.FIXED_BITS
        if n in (4, 52):
            return answers[2]
        return None

    def receive(self, data: bytes) -> bytes:
        """Take ``data`` from the host; return the real-time answers to send back.

        Like a real printer, a DLE EOT is acted on wherever it appears in the stream (which is why
        ticket.py never emits the bytes 10 04). Unlike a real one, the data before it has been printed
        when it is answered, so a status after a ticket tells how that ticket went.
        """
        data = self._carry + data
        self._carry = b""
        replies = bytearray()
        start = pos = 0
        while True:
            found = data.find(0x10, pos)
            if found < 0:
                break
            if found + 1 < len(data) and data[found + 1] != 0x04:
                pos = found + 1
                continue
            if found + 2 >= len(data):  # DLE or DLE EOT at the very end: wait for the rest
                self._carry = data[found:]
                data = data[:found]
                break
            self._print(data[start:found])
            self.status_requests += 1
            answer = self.status_byte(data[found + 2])
            if answer is not None:
                replies.append(answer)
            start = pos = found + 3
        self._print(data[start:])
        return bytes(replies)

    async def deliver(self, data: bytes) -> bytes:
        """``receive``, after ``slow_seconds`` (a printer busy with something else)."""
        if self.slow_seconds > 0:
            await asyncio.sleep(self.slow_seconds)
        return self.receive(data)

    async def wait_for_receipts(self, count: int) -> list[Receipt]:
        """Wait until ``count`` tickets have come out; bound it with ``asyncio.timeout``."""
        while len(self.receipts) < count:
            self._changed.clear()
            await self._changed.wait()
        return self.receipts[:count]

    # -- the print mechanism ---------------------------------------------------------------------
    def resume(self) -> None:
        """Print what was held while the printer could not, as a real one does once it is fixed (call
        it after clearing ``paper_out``, ``cover_open`` or ``offline``)."""
        self._print(b"")

    def _print(self, chunk: bytes) -> None:
        self.print_bytes += len(chunk)
        self._held += chunk
        if not self._held or not self.can_print:
            return
        pending = bytes(self._held)
        self._held.clear()
        try:
            receipts = self._decoder.feed(pending)
        except EscPosError as e:
            log.warning("simulated printer: %s", e)
            self.errors.append(str(e))
            self._decoder = Decoder()
            return
        for receipt in receipts:
            self._paper(receipt)

    def _paper(self, receipt: Receipt) -> None:
        if self.paper_left_lines is not None:
            needed = receipt_lines(receipt)
            if self.paper_out or needed > self.paper_left_lines:
                self.paper_left_lines = 0
                self.paper_out = True
                self.torn.append(receipt)
                return
            self.paper_left_lines -= needed
        self.receipts.append(receipt)
        if self.output_dir is not None:
            self._write(receipt, len(self.receipts))
        self._changed.set()

    def _write(self, receipt: Receipt, seq: int) -> None:
        # Written in the event loop on purpose: a few milliseconds per ticket, and the files exist by
        # the time the printer answers the status request that follows the ticket.
        assert self.output_dir is not None
        self.output_dir.mkdir(parents=True, exist_ok=True)
        stem = self.output_dir / f"ticket-{seq:04d}"
        text_path = stem.with_suffix(".txt")
        text_path.write_text(receipt_text(receipt, self.paper_width_mm), encoding="utf-8")
        png_path = stem.with_suffix(".png")
        receipt_image(receipt, self.paper_width_mm, self.font).save(png_path)
        self.outputs += [text_path, png_path]


# --- Serving it -----------------------------------------------------------------------------------------
class SimulatedNetworkPrinter:
    """The simulated printer on a raw TCP port (like port 9100 of a network printer), 127.0.0.1 by
    default, on a free port unless one is given."""

    def __init__(self, printer: SimulatedPrinter, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.printer = printer
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._clients: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self.connections = 0  # accepted so far

    @property
    def connection(self) -> str:
        """The ``connection`` value of a [[devices.printers]] entry that reaches this printer."""
        return f"network:{self.host}:{self.port}"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        self.disconnect_all()
        tasks = list(self._clients)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()

    def disconnect_all(self) -> None:
        """Drop every connection at once (a printer switched off and on)."""
        for writer in self._clients.values():
            writer.transport.abort()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients[task] = writer
        self.connections += 1
        try:
            while chunk := await reader.read(READ_CHUNK):
                reply = await self.printer.deliver(chunk)
                if reply:
                    writer.write(reply)
                    await writer.drain()
        except ConnectionError:
            pass
        except asyncio.CancelledError:
            # Only __aexit__ cancels a handler. Python 3.11's stream server calls exception() on the
            # handler's task when it ends, which raises (and gets logged) for a cancelled task.
            pass
        finally:
            del self._clients[task]
            writer.transport.abort()


class SimulatedSerialPrinter:
    """The simulated printer behind a pseudo-terminal: open ``port`` as a serial port to reach it."""

    def __init__(self, printer: SimulatedPrinter) -> None:
        self.printer = printer
        self.port = ""
        self._controller = -1
        self._device = -1
        self._inbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    def connection(self, baudrate: int = 9600) -> str:
        return f"serial:{self.port}:{baudrate}"

    async def __aenter__(self) -> Self:
        self._controller, self._device = os.openpty()
        # Raw: no echo and no newline translation, or the printer would see LF as CR LF and answer
        # its own status requests back to the host.
        tty.setraw(self._device)
        self.port = os.ttyname(self._device)
        os.set_blocking(self._controller, False)
        asyncio.get_running_loop().add_reader(self._controller, self._readable)
        self._worker = asyncio.create_task(self._work(), name="simulated-serial-printer")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        asyncio.get_running_loop().remove_reader(self._controller)
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        # The device end stays open until here: closing it earlier makes reads on the controller end
        # fail with EIO whenever the driver has the port closed.
        os.close(self._controller)
        os.close(self._device)

    def _readable(self) -> None:
        try:
            data = os.read(self._controller, READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            log.warning("simulated serial printer: %s", e)
            return
        self._inbox.put_nowait(data)

    async def _work(self) -> None:
        while True:
            reply = await self.printer.deliver(await self._inbox.get())
            if reply:
                os.write(self._controller, reply)
