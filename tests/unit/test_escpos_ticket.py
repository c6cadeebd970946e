"""The ticket printer's pure parts: a ticket rendered to ESC/POS and decoded back, the real-time status
bits, the connection setting, and the simulated printer's byte handling."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

import pytest
import qrcode  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.printer.decode import (
    BadText,
    Cut,
    Decoder,
    EscPosError,
    IncompleteCommand,
    Receipt,
    UnknownCommand,
    decode,
    decode_one,
)
from devices.printer.picture import receipt_text
from devices.printer.sim import SimulatedPrinter
from devices.printer.status import (
    STATUS_REQUEST,
    PrinterStatus,
    StatusByteError,
    is_status_byte,
    parse_status,
    status_bytes,
)
from devices.printer.ticket import (
    AHEAD_TEXT,
    ISSUED_TEXT,
    MATERIAL_BULLET,
    MATERIAL_INDENT,
    MATERIALS_HEADER,
    MAX_QR_BYTES,
    PRINTABLE_DOTS,
    QR_CAPACITY_M,
    QR_HINT_TEXT,
    QR_QUIET_MODULES,
    WAIT_TEXT,
    TicketPrint,
    clean_text,
    columns_for,
    display_width,
    qr_module_size,
    qr_version,
    render,
    wrap,
)
from devices.printer.transports import (
    FileConnection,
    NetworkConnection,
    SerialConnection,
    SimulatedConnection,
    UsbConnection,
    parse_connection,
)

URL = "http://192.168.10.5:8080/t/Xk3_9aQzP2mL7sWcV0bNq"
TICKET = TicketPrint(
    hall_name="朝阳区社会保险服务大厅",
    number="A0012",
    matters=("参保登记",),
    channel="普通",
    people_ahead=3,
    wait_minutes=15,
    issued_at="2026-03-02 09:14",
    qr_url=URL,
)
MATERIALS = (
    "居民身份证原件及复印件（A4 纸，正反面）",
    "社会保障卡",
    "单位经办人授权委托书（加盖单位公章），以及其他需要提交的证明材料",
)


def ticket(**changes: object) -> TicketPrint:
    return dataclasses.replace(TICKET, **changes)  # type: ignore[arg-type]


def materials_of(receipt: Receipt) -> list[str]:
    """The checklist items back from the printed lines: bullets start items, indents continue them."""
    lines = receipt.lines
    items: list[str] = []
    for line in lines[lines.index(MATERIALS_HEADER) + 1 :]:
        if line.startswith(MATERIAL_BULLET):
            items.append(line[len(MATERIAL_BULLET) :])
        else:
            assert line.startswith(MATERIAL_INDENT), line
            items[-1] += line[len(MATERIAL_INDENT) :]
    return items


# --- The ticket, rendered and decoded ---------------------------------------------------------------------
def test_a_ticket_is_a_few_hundred_bytes_from_init_to_partial_cut() -> None:
    data = render(TICKET)
    assert data.startswith(b"\x1b@\x1c&")  # ESC @, then Chinese mode on
    assert data.endswith(b"\x1dVB\x00")  # feed to the cutter, partial cut
    assert len(data) < 300


def test_every_field_comes_back_from_the_printed_ticket() -> None:
    receipt = decode_one(render(TICKET))
    assert receipt.lines == [
        "朝阳区社会保险服务大厅",
        "A0012",
        "参保登记",
        "普通",
        AHEAD_TEXT.format(n=3),
        WAIT_TEXT.format(m=15),
        ISSUED_TEXT.format(at="2026-03-02 09:14"),
        QR_HINT_TEXT,
    ]
    assert "前面还有 3 人" in receipt.lines and "预计等候约 15 分钟" in receipt.lines
    assert receipt.cut == Cut(partial=True, feed=0)
    [qr] = receipt.qr_codes
    assert qr.data == URL.encode()
    assert (qr.model, qr.error_level, qr.align) == (2, "M", "centre")


def test_the_number_is_big_and_bold_and_the_rest_normal() -> None:
    receipt = decode_one(render(TICKET))
    number = receipt.line("A0012")
    assert (number.width, number.height, number.bold, number.align) == (4, 4, True, "centre")
    assert receipt.line("参保登记").width == 1
    assert not receipt.line("参保登记").bold


def test_full_width_punctuation_survives_as_gb18030() -> None:
    data = render(ticket(hall_name="社保大厅：一楼", matters=("缴费基数申报（A012）",)))
    assert "：".encode("gb18030") in data and "（A012）".encode("gb18030") in data
    lines = decode_one(data).lines
    assert "社保大厅：一楼" in lines and "缴费基数申报（A012）" in lines
    assert not any("?" in line or "\ufffd" in line for line in lines)


def test_a_bundled_matter_prints_every_matter_and_the_channel() -> None:
    lines = decode_one(render(ticket(matters=("退休待遇核定", "养老保险关系转移"), channel="绿色通道"))).lines
    assert "退休待遇核定、养老保险关系转移" in lines
    assert "绿色通道" in lines


def test_no_channel_line_when_the_label_is_empty() -> None:
    assert len(decode_one(render(ticket(channel=""))).lines) == len(decode_one(render(TICKET)).lines) - 1


def test_materials_are_a_checklist_wrapped_to_the_paper() -> None:
    for width in (58, 80):
        receipt = decode_one(render(ticket(materials=MATERIALS, paper_width_mm=width)))
        assert MATERIALS_HEADER in receipt.lines
        assert receipt.line(MATERIALS_HEADER).align == "left"
        assert materials_of(receipt) == list(MATERIALS)
        assert all(display_width(line) <= columns_for(width) for line in receipt.lines)
    narrow = decode_one(render(ticket(materials=MATERIALS, paper_width_mm=58)))
    assert len(narrow.lines) > len(MATERIALS) + 9  # the long items took more than one line


def test_no_checklist_without_materials() -> None:
    assert MATERIALS_HEADER not in decode_one(render(TICKET)).lines
    assert MATERIALS_HEADER not in decode_one(render(ticket(materials=("", "  ")))).lines


def test_control_characters_cannot_reach_the_printer() -> None:
    # A DLE EOT inside a hall name would be taken by the printer as a status request mid-ticket.
    data = render(ticket(hall_name="社保\x10\x04\x01大厅\n一楼", materials=("身份证\x1bE",)))
    assert b"\x10" not in data
    assert decode_one(data).lines[0] == "社保   大厅 一楼"


def test_bad_tickets_are_refused_naming_the_field() -> None:
    cases: list[tuple[dict[str, object], str]] = [
        ({"number": "A 12"}, "number"),
        ({"number": "甲0012"}, "number"),
        ({"matters": ()}, "matters"),
        ({"matters": ("  ",)}, "matters"),
        ({"hall_name": "\n"}, "hall_name"),
        ({"people_ahead": -1}, "people_ahead"),
        ({"qr_url": "http://大厅/t/1"}, "qr_url"),
        ({"qr_url": "http://h/" + "x" * 300}, "qr_url"),
    ]
    for changes, field in cases:
        with pytest.raises(ValueError, match=field):
            ticket(**changes)


# --- Wrapping ---------------------------------------------------------------------------------------------
def test_a_chinese_character_takes_two_columns() -> None:
    assert display_width("A0012") == 5
    assert display_width("参保（A）") == 2 + 2 + 2 + 1 + 2
    assert wrap("一二三四五六", 8) == ["一二三四", "五六"]
    assert wrap("ab一二三", 6) == ["ab一二", "三"]


def test_a_line_never_starts_with_closing_punctuation() -> None:
    lines = wrap("一二三四（五）", 10)
    assert lines == ["一二三四（", "五）"]
    assert wrap("一二三四五，六", 10) == ["一二三四", "五，六"]


def test_hanging_indent() -> None:
    assert wrap("一二三四五六七", 9, first="□ ", rest="   ") == ["□ 一二三", "   四五六", "   七"]


# --- QR ---------------------------------------------------------------------------------------------------
def test_qr_capacity_table_matches_the_qrcode_package() -> None:
    for version, capacity in enumerate(QR_CAPACITY_M, start=1):
        for size, expected in ((capacity, version), (capacity + 1, version + 1)):
            code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
            code.add_data(b"x" * size)
            code.make(fit=True)
            assert code.version == expected, (size, version)


def test_the_qr_and_its_quiet_zone_fit_the_paper_for_any_url_length() -> None:
    assert qr_module_size(len(URL), 58) == 5
    assert qr_module_size(len(URL), 80) == 6
    for width in (58, 80):
        for size in range(1, MAX_QR_BYTES + 1):
            modules = 17 + 4 * qr_version(size) + 2 * QR_QUIET_MODULES
            assert modules * qr_module_size(size, width) <= PRINTABLE_DOTS[width]
    long_url = "https://hall.example.cn/t/" + "x" * 220
    [qr] = decode_one(render(ticket(qr_url=long_url, paper_width_mm=58))).qr_codes
    assert qr.data == long_url.encode()


# --- Round trips over generated text ----------------------------------------------------------------------
chinese = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
ascii_printable = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
punctuation = st.sampled_from("：（），。、；！？“”《》·—")
text = st.text(st.one_of(chinese, ascii_printable, punctuation), min_size=1, max_size=60).filter(
    lambda s: s.strip() != ""
)


@settings(max_examples=150, deadline=None)
@given(
    hall_name=text,
    matters=st.lists(text, min_size=1, max_size=3),
    materials=st.lists(text, max_size=5),
    width=st.sampled_from([58, 80]),
)
def test_any_text_round_trips(
    hall_name: str, matters: list[str], materials: list[str], width: Literal[58, 80]
) -> None:
    printed = ticket(
        hall_name=hall_name,
        matters=tuple(matters),
        materials=tuple(materials),
        paper_width_mm=width,
    )
    data = render(printed)
    assert b"\x10" not in data  # no DLE: no real-time command can hide in a ticket
    receipt = decode_one(data)
    lines = receipt.lines
    number_at = next(i for i, b in enumerate(receipt.blocks) if getattr(b, "width", 1) == 4)
    assert lines[number_at] == "A0012"
    assert "".join(lines[:number_at]) == clean_text(hall_name)
    channel_at = lines.index(AHEAD_TEXT.format(n=3), number_at) - 1
    assert lines[channel_at] == "普通"
    assert "".join(lines[number_at + 1 : channel_at]) == "、".join(clean_text(m) for m in matters)
    if materials:
        assert materials_of(receipt) == [clean_text(m) for m in materials]
    else:
        assert MATERIALS_HEADER not in lines
    assert all(display_width(line) <= columns_for(width) for line in lines)
    assert [qr.data for qr in receipt.qr_codes] == [URL.encode()]
    assert "\ufffd" not in receipt.text


def decode_in_chunks(chunks: list[bytes]) -> list[Receipt] | str:
    """The receipts, or the name of the EscPosError; anything else escapes and fails the test."""
    decoder = Decoder()
    try:
        receipts = [r for chunk in chunks for r in decoder.feed(chunk)]
        tail = decoder.close()
    except EscPosError as e:
        return type(e).__name__
    return receipts + ([tail] if tail is not None else [])


@given(st.binary(max_size=60), st.data())
def test_any_bytes_in_any_chunks_decode_alike_or_fail_with_a_reason(data: bytes, draw: st.DataObject) -> None:
    cut = draw.draw(st.integers(0, len(data)))
    assert decode_in_chunks([data[:cut], data[cut:]]) == decode_in_chunks([data])


@given(st.integers(0, 400))
def test_a_ticket_split_anywhere_decodes_whole(cut: int) -> None:
    data = render(ticket(materials=MATERIALS[:1]))
    assert decode_in_chunks([data[:cut], data[cut:]]) == [decode_one(data)]


# --- The decoder's strictness -----------------------------------------------------------------------------
def test_unknown_commands_are_named_with_their_offset() -> None:
    with pytest.raises(UnknownCommand, match=r"1B 74 at byte 4"):
        decode(b"\x1b@AB\x1bt\x00")  # ESC t: select a code page, not in the subset
    with pytest.raises(UnknownCommand, match=r"real-time"):
        decode(b"\x1b@\x10\x04\x01")
    with pytest.raises(UnknownCommand, match=r"0D at byte 1"):
        decode(b"A\r\n")


def test_high_bytes_without_chinese_mode_are_refused() -> None:
    with pytest.raises(BadText, match="Chinese mode off"):
        decode(b"\x1b@" + "社保".encode("gb18030") + b"\n")


def test_a_broken_chinese_character_is_refused() -> None:
    with pytest.raises(BadText, match="not GB18030"):
        decode(b"\x1b@\x1c&\xc9\n")


def test_a_stream_cut_inside_a_command_is_incomplete() -> None:
    with pytest.raises(IncompleteCommand):
        decode(render(TICKET)[:-2])


def test_decoding_byte_by_byte_gives_the_same_ticket() -> None:
    data = render(ticket(materials=MATERIALS))
    decoder = Decoder()
    receipts = [r for i in range(len(data)) for r in decoder.feed(data[i : i + 1])]
    assert receipts == [decode_one(data)]
    assert decoder.close() is None


def test_two_tickets_in_one_stream_are_two_receipts() -> None:
    receipts = decode(render(TICKET) + render(ticket(number="B0001")))
    assert [r.lines[1] for r in receipts] == ["A0012", "B0001"]


# --- Real-time status -------------------------------------------------------------------------------------
def test_the_request_asks_printer_offline_cause_and_paper_sensor() -> None:
    assert bytes.fromhex("100401 100402 100404") == STATUS_REQUEST


def test_a_ready_printer() -> None:
    assert parse_status(0x12, 0x12, 0x12) == PrinterStatus(online=True, paper_ok=True, cover_closed=True)
    assert parse_status(0x12, 0x12, 0x12).ready


@pytest.mark.parametrize(
    ("printer", "cause", "paper", "problem", "expected"),
    [
        # n=1 bit 3 offline; n=2 bit 5 stopped at paper end; n=4 bits 5,6 paper end (and 2,3 near end)
        (0x1A, 0x32, 0x7E, "paper_out", {"online": False, "paper_ok": False, "paper_near_end": True}),
        # n=2 bit 2 cover open
        (0x1A, 0x16, 0x12, "cover_open", {"online": False, "cover_closed": False}),
        # n=2 bit 6 an error (cutter jam)
        (0x1A, 0x52, 0x12, "offline", {"online": False}),
        # n=4 bits 2,3 near end only: still fine
        (0x12, 0x12, 0x1E, None, {"paper_near_end": True}),
        # n=1 bit 5 waiting for online recovery
        (0x3A, 0x12, 0x12, "offline", {"online": False}),
    ],
)
def test_status_bits(
    printer: int, cause: int, paper: int, problem: str | None, expected: dict[str, bool]
) -> None:
    result = parse_status(printer, cause, paper)
    assert result.problem() == problem
    for name, value in expected.items():
        assert getattr(result, name) == value, name
    assert (result.error is not None) == bool(cause & 0x40 or printer & 0x20)


def test_cover_open_is_reported_before_paper_out() -> None:
    both = parse_status(*status_bytes(paper_out=True, cover_open=True))
    assert both.problem() == "cover_open"


def test_bytes_without_the_fixed_bits_are_not_answers() -> None:
    assert is_status_byte(0x12)
    for stray in (0x11, 0x13, 0x10, 0x00, 0xFF, 0x92):  # XON, XOFF, ASB's first byte, noise
        assert not is_status_byte(stray)
    with pytest.raises(StatusByteError, match="DLE EOT 2"):
        parse_status(0x12, 0x13, 0x12)


@pytest.mark.parametrize("offline", [False, True])
@pytest.mark.parametrize("paper_out", [False, True])
@pytest.mark.parametrize("cover_open", [False, True])
def test_the_simulators_answers_parse_back_to_its_state(
    offline: bool, paper_out: bool, cover_open: bool
) -> None:
    result = parse_status(*status_bytes(offline=offline, paper_out=paper_out, cover_open=cover_open))
    assert result.online == (not (offline or paper_out or cover_open))
    assert result.paper_ok == (not paper_out)
    assert result.cover_closed == (not cover_open)
    assert (result.error is not None) == offline


# --- The connection setting -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("network:192.168.1.50", NetworkConnection("192.168.1.50", 9100)),
        ("network:printer-3.hall:9101", NetworkConnection("printer-3.hall", 9101)),
        ("network:[fe80::1]:9100", NetworkConnection("fe80::1", 9100)),
        ("serial:/dev/ttyUSB0", SerialConnection("/dev/ttyUSB0", 9600)),
        ("serial:/dev/ttyS1:115200", SerialConnection("/dev/ttyS1", 115200)),
        ("serial:rfc2217://10.0.0.9:4001", SerialConnection("rfc2217://10.0.0.9:4001", 9600)),
        ("serial:rfc2217://10.0.0.9:4001:19200", SerialConnection("rfc2217://10.0.0.9:4001", 19200)),
        ("usb:0416:5011", UsbConnection(0x0416, 0x5011)),
        ("usb:0x04b8:0x0202", UsbConnection(0x04B8, 0x0202)),
        ("simulated", SimulatedConnection()),
    ],
)
def test_connections(text: str, expected: object) -> None:
    assert parse_connection(text) == expected


def test_a_file_connection() -> None:
    assert parse_connection("file:/tmp/tickets.bin") == FileConnection(Path("/tmp/tickets.bin"))


@pytest.mark.parametrize(
    "text",
    ["network:", "network:host:port", "network:h:70000", "serial:", "usb:xyz", "usb:0416", "lpt:1", "file:"],
)
def test_bad_connections_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="printer connection"):
        parse_connection(text)


# --- The simulated printer's bytes ------------------------------------------------------------------------
def test_the_simulator_answers_a_status_request_split_across_chunks() -> None:
    printer = SimulatedPrinter()
    assert printer.receive(b"\x10") == b""
    assert printer.receive(b"\x04") == b""
    assert printer.receive(b"\x01\x10\x04\x04") == b"\x12\x12"
    assert printer.status_requests == 2 and printer.print_bytes == 0


def test_the_simulator_holds_a_ticket_while_out_of_paper_and_prints_it_once_refilled() -> None:
    printer = SimulatedPrinter()
    printer.paper_out = True
    assert printer.receive(render(TICKET) + b"\x10\x04\x04") == b"\x7e"
    assert printer.receipts == []
    printer.paper_out = False
    printer.resume()
    assert [r.lines[1] for r in printer.receipts] == ["A0012"]


def test_the_simulators_text_output_marks_the_big_number_and_the_cut() -> None:
    out = receipt_text(decode_one(render(TICKET)), 80)
    assert "A0012  (x4)" in out
    assert f"[QR {URL}]" in out
    assert out.rstrip().endswith("半切 ✂")
