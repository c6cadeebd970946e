"""The ticket printer driver against the simulated printer for real: over TCP on 127.0.0.1, over a
pseudo-terminal as a serial port, in process, and to a file. Every wait is bounded by the driver's own
timeout or by asyncio.timeout; nothing sleeps to wait."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from devices.printer.driver import PrinterDriver, PrintError
from devices.printer.picture import receipt_lines
from devices.printer.sim import SimulatedNetworkPrinter, SimulatedPrinter, SimulatedSerialPrinter
from devices.printer.ticket import TicketPrint, render
from hallctl.config_devices import Printer

TIMEOUT = 0.5  # the printers' timeout_seconds in these tests
MARGIN = 0.5  # what a failing call may take beyond it on a loaded CI machine
URL = "http://127.0.0.1:8080/t/q7Vd0cXk2LmN8pRs"
TICKET = TicketPrint(
    hall_name="朝阳区社会保险服务大厅（一楼）",
    number="A0012",
    matters=("参保登记", "缴费基数申报"),
    channel="绿色通道",
    people_ahead=4,
    wait_minutes=20,
    issued_at="2026-03-02 09:14",
    qr_url=URL,
    materials=("居民身份证原件及复印件（A4 纸）", "社会保障卡"),
)
TICKET_BYTES = render(TICKET)


def config(connection: str, timeout: float = TIMEOUT) -> Printer:
    return Printer(id="kiosk1-printer", kiosk="kiosk1", connection=connection, timeout_seconds=timeout)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ready_printer(tmp_path: Path) -> SimulatedPrinter:
    """A simulated printer with paper, cover closed, writing each ticket into tmp_path/out."""
    return SimulatedPrinter(output_dir=tmp_path / "out")


@pytest.fixture
async def network_printer(ready_printer: SimulatedPrinter) -> AsyncIterator[SimulatedNetworkPrinter]:
    """The ready printer on a free TCP port of 127.0.0.1."""
    async with SimulatedNetworkPrinter(ready_printer) as served:
        yield served


@pytest.fixture
async def driver(network_printer: SimulatedNetworkPrinter) -> AsyncIterator[PrinterDriver]:
    async with PrinterDriver(config(network_printer.connection), clock=FakeClock()) as printer:
        yield printer


async def expect_failure(driver: PrinterDriver, reason: str) -> float:
    """Print TICKET expecting PrintError(reason); return how long the call took."""
    started = time.monotonic()
    with pytest.raises(PrintError) as caught:
        await driver.print_ticket(TICKET_BYTES)
    assert caught.value.reason == reason, caught.value
    return time.monotonic() - started


# --- Printing over TCP -----------------------------------------------------------------------------------
async def test_a_ticket_printed_over_tcp_comes_out_with_every_field(
    driver: PrinterDriver, ready_printer: SimulatedPrinter
) -> None:
    await driver.print_ticket(TICKET_BYTES)
    [receipt] = ready_printer.receipts
    assert receipt.lines[:9] == [
        "朝阳区社会保险服务大厅（一楼）",
        "A0012",
        "参保登记、缴费基数申报",
        "绿色通道",
        "前面还有 4 人",
        "预计等候约 20 分钟",
        "取号时间：2026-03-02 09:14",
        "扫码查看排队进度",
        "一次性告知：请备齐以下材料",
    ]
    assert "□ 居民身份证原件及复印件（A4 纸）" in receipt.lines and "□ 社会保障卡" in receipt.lines
    assert [qr.data for qr in receipt.qr_codes] == [URL.encode()]
    assert receipt.cut is not None and receipt.cut.partial
    assert "?" not in receipt.text
    assert ready_printer.print_bytes == len(TICKET_BYTES)
    assert ready_printer.errors == []


async def test_each_ticket_becomes_a_text_file_and_a_png(
    driver: PrinterDriver, ready_printer: SimulatedPrinter, tmp_path: Path
) -> None:
    await driver.print_ticket(TICKET_BYTES)
    text, png = tmp_path / "out" / "ticket-0001.txt", tmp_path / "out" / "ticket-0001.png"
    assert ready_printer.outputs == [text, png]
    assert "A0012" in text.read_text(encoding="utf-8")
    assert "前面还有 4 人" in text.read_text(encoding="utf-8")
    with Image.open(png) as image:
        assert image.width == 512 + 2 * 16  # 80 mm paper, one pixel a dot, and the margins
        assert image.height > receipt_lines(ready_printer.receipts[0]) * 30
        assert image.getextrema() == (0, 255)  # black ink on white paper


async def test_status_of_a_ready_printer(driver: PrinterDriver) -> None:
    status = await driver.status()
    assert status.ready and status.verified
    assert driver.health.online is True
    assert driver.health.last_seen == 1_000.0


async def test_tickets_printed_at_once_come_out_whole_one_after_another(
    driver: PrinterDriver, ready_printer: SimulatedPrinter
) -> None:
    numbers = ["A0012", "A0013", "B0001"]
    data = [render(dataclasses.replace(TICKET, number=n)) for n in numbers]
    await asyncio.gather(*(driver.print_ticket(d) for d in data))
    assert sorted(r.lines[1] for r in ready_printer.receipts) == sorted(numbers)
    assert driver.health.printed == 3


async def test_a_connection_the_printer_dropped_is_reopened_before_the_next_ticket(
    driver: PrinterDriver, network_printer: SimulatedNetworkPrinter, ready_printer: SimulatedPrinter
) -> None:
    await driver.print_ticket(TICKET_BYTES)
    network_printer.disconnect_all()  # the printer was switched off and on
    await driver.print_ticket(TICKET_BYTES)
    assert len(ready_printer.receipts) == 2
    assert network_printer.connections == 2


# --- Failures ---------------------------------------------------------------------------------------------
async def test_no_paper_before_printing_sends_nothing(
    driver: PrinterDriver, ready_printer: SimulatedPrinter
) -> None:
    ready_printer.paper_out = True
    await expect_failure(driver, "paper_out")
    assert ready_printer.print_bytes == 0  # nothing left in the buffer to come out later for nobody
    assert ready_printer.receipts == []
    health = driver.health
    assert (health.online, health.consecutive_failures, health.failures) == (False, 1, 1)
    assert health.last_seen == 1_000.0  # it did answer
    assert health.last_error is not None and "paper_out" in health.last_error

    ready_printer.paper_out = False  # the staff put in a new roll
    await driver.print_ticket(TICKET_BYTES)
    assert (driver.health.online, driver.health.consecutive_failures, driver.health.failures) == (True, 0, 1)


async def test_paper_running_out_during_the_ticket_is_caught_by_the_status_after(
    driver: PrinterDriver, ready_printer: SimulatedPrinter
) -> None:
    ready_printer.paper_left_lines = 5  # less than a ticket
    await expect_failure(driver, "paper_out")
    assert ready_printer.print_bytes == len(TICKET_BYTES)
    assert ready_printer.receipts == [] and len(ready_printer.torn) == 1


async def test_an_open_cover(driver: PrinterDriver, ready_printer: SimulatedPrinter) -> None:
    ready_printer.cover_open = True
    await expect_failure(driver, "cover_open")
    assert ready_printer.print_bytes == 0


async def test_an_offline_printer_fails_at_once(
    driver: PrinterDriver, ready_printer: SimulatedPrinter
) -> None:
    ready_printer.offline = True
    assert await expect_failure(driver, "offline") < TIMEOUT
    status = await driver.status()
    assert not status.online and status.error is not None


async def test_an_unreachable_printer_is_an_io_error_within_the_timeout() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with PrinterDriver(config(f"network:127.0.0.1:{port}")) as driver:
        assert await expect_failure(driver, "io") < TIMEOUT + MARGIN
        with pytest.raises(PrintError, match="io"):
            await driver.status()
        assert driver.health.online is False and driver.health.last_seen is None
        assert driver.health.consecutive_failures == 2


async def test_a_slow_printer_times_out_within_timeout_seconds(
    driver: PrinterDriver, ready_printer: SimulatedPrinter
) -> None:
    ready_printer.slow_seconds = 30
    elapsed = await expect_failure(driver, "timeout")
    assert TIMEOUT - 0.05 <= elapsed < TIMEOUT + MARGIN  # asyncio may fire a hair early

    ready_printer.slow_seconds = 0  # it recovers; the next ticket goes out on a fresh connection
    await driver.print_ticket(TICKET_BYTES)
    assert len(ready_printer.receipts) == 1


async def test_a_printer_that_stops_answering_after_the_ticket_times_out(
    driver: PrinterDriver, ready_printer: SimulatedPrinter
) -> None:
    await driver.status()  # connected and answered

    async def print_then_hang(data: bytes) -> bytes:
        reply = ready_printer.receive(data)
        if ready_printer.print_bytes:  # the ticket is in: no answer ever again
            await asyncio.Event().wait()
        return reply

    ready_printer.deliver = print_then_hang  # type: ignore[method-assign]
    elapsed = await expect_failure(driver, "timeout")
    assert elapsed < TIMEOUT + MARGIN
    assert len(ready_printer.receipts) == 1  # it did print: the kiosk must say it may have


# --- Other transports ------------------------------------------------------------------------------------
async def test_the_file_transport_appends_the_bytes(tmp_path: Path) -> None:
    target = tmp_path / "tickets.bin"
    async with PrinterDriver(config(f"file:{target}")) as driver:
        status = await driver.status()
        assert status.ready and not status.verified  # a file cannot be asked
        await driver.print_ticket(TICKET_BYTES)
        await driver.print_ticket(TICKET_BYTES)
    assert target.read_bytes() == TICKET_BYTES * 2


async def test_the_serial_transport_over_a_pseudo_terminal(ready_printer: SimulatedPrinter) -> None:
    async with (
        SimulatedSerialPrinter(ready_printer) as served,
        PrinterDriver(config(served.connection(115200))) as driver,
    ):
        await driver.print_ticket(TICKET_BYTES)
        ready_printer.paper_out = True
        await expect_failure(driver, "paper_out")
    [receipt] = ready_printer.receipts
    assert receipt.lines[1] == "A0012"


async def test_the_simulated_transport_in_process(ready_printer: SimulatedPrinter) -> None:
    async with PrinterDriver(config("simulated"), simulator=ready_printer) as driver:
        await driver.print_ticket(TICKET_BYTES)
        ready_printer.slow_seconds = 30
        await expect_failure(driver, "timeout")
    async with asyncio.timeout(1):
        [receipt] = await ready_printer.wait_for_receipts(1)
    assert [qr.data for qr in receipt.qr_codes] == [URL.encode()]


async def test_a_usb_printer_that_is_not_there_is_an_io_error() -> None:
    # No device ffff:fffe exists; without pyusb installed the error is the same reason.
    async with PrinterDriver(config("usb:ffff:fffe", timeout=5)) as driver:
        with pytest.raises(PrintError) as caught:
            await driver.print_ticket(TICKET_BYTES)
    assert caught.value.reason == "io"
    assert "ffff:fffe" in str(caught.value)


def test_a_simulator_needs_the_simulated_connection() -> None:
    with pytest.raises(ValueError, match="simulator"):
        PrinterDriver(config("file:/dev/null"), simulator=SimulatedPrinter())


async def test_a_simulated_printer_is_made_when_none_is_given() -> None:
    async with PrinterDriver(config("simulated")) as driver:
        await driver.print_ticket(TICKET_BYTES)
    assert driver.simulator is not None
    assert [r.lines[1] for r in driver.simulator.receipts] == ["A0012"]
    assert driver.simulator.outputs == []  # no output directory: nothing written
