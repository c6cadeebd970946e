"""The RS-485 frame codecs on plain bytes: the window LED's and the keypads' (docs/devices.md).

Round trips for every frame, readers that reassemble frames cut anywhere and mixed with garbage, and
decoders that reject every malformed input with a FrameError and nothing else.
"""

from __future__ import annotations

import contextlib
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from devices.contracts import KEYS, KeyReply
from devices.serial import keypad_codec as kc
from devices.serial import keypad_frames as kf
from devices.serial import led_codec as lc
from devices.serial.call_keypad import reply_frame
from devices.serial.framing import FrameError
from devices.serial.keypad_device import RepeatFilter

DOCS = Path(__file__).resolve().parents[2] / "docs" / "devices.md"

# -- strategies

addresses = st.integers(min_value=1, max_value=254)
# Any text GB18030 can encode (all of Unicode but lone surrogates), cut to what fits a frame.
any_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=lc.MAX_TEXT_BYTES)
led_texts = any_text.map(lc.fit_text)
led_frames = st.one_of(
    st.builds(lc.ShowText, addresses, led_texts),
    st.builds(lc.Clear, addresses),
    st.builds(lc.SetBrightness, addresses, st.sampled_from(lc.BRIGHTNESS_LEVELS)),
    st.builds(lc.StatusQuery, addresses),
    st.builds(
        lc.Ack,
        addresses,
        st.sampled_from([c for c in lc.Command if c is not lc.Command.ACK]),
        st.sampled_from(lc.Status),
    ),
)

seqs = st.integers(min_value=0, max_value=kf.MAX_SEQ)
numbers = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=kf.MAX_NUMBER)
messages = st.text(st.characters(exclude_categories=["Cs"]), max_size=kf.MAX_MESSAGE_BYTES).map(
    kf.fit_message
)
plain_keys = st.sampled_from([k for k in KEYS if k != "transfer"])
keypad_frames = st.one_of(
    st.builds(kf.KeyFrame, addresses, seqs, plain_keys),
    st.builds(kf.KeyFrame, addresses, seqs, st.just("transfer"), st.integers(1, 0xFFFF)),
    st.builds(kf.RatingFrame, addresses, seqs, st.sampled_from(kf.LEVELS)),
    st.builds(kf.AckFrame, addresses, st.sampled_from([kf.Function.POLL, kf.Function.ARM])),
    st.builds(kf.PollFrame, addresses),
    st.builds(
        kf.KeyReplyFrame,
        addresses,
        seqs,
        st.booleans(),
        st.none() | numbers,
        st.integers(0, kf.MAX_WAITING),
        messages,
    ),
    st.builds(kf.ArmFrame, addresses, numbers, st.integers(1, 0xFFFF)),
    st.builds(kf.RatingReplyFrame, addresses, seqs, st.booleans(), st.sampled_from(list(kf.REASON_CODES))),
)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given offsets (taken modulo its length), in order."""
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in pairwise(points)]


def _feed_all(reader: lc.FrameReader | kc.FrameReader, chunks: list[bytes]) -> list[object]:
    frames: list[object] = []
    for chunk in chunks:
        frames += reader.feed(chunk)
    return frames


# -- the window LED


def test_the_led_example_in_the_docs_is_what_the_codec_sends() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    show = lc.encode(lc.ShowText(3, "A012 请到3号窗口"))
    ack = lc.encode(lc.Ack(3, lc.Command.SHOW_TEXT))
    query = lc.encode(lc.StatusQuery(2))
    for frame in (show, ack, query):
        assert frame.hex(" ").upper() in docs


@given(led_frames)
@example(lc.ShowText(2, "\x02\x03\x1b"))  # every special byte in the text
@example(lc.ShowText(254, "A012 请到3号窗口"))
def test_every_led_frame_survives_encode_and_decode(frame: lc.LedFrame) -> None:
    assert lc.decode(lc.encode(frame)) == frame


@given(led_frames)
def test_stuffing_keeps_start_and_end_bytes_out_of_a_frame(frame: lc.LedFrame) -> None:
    wire = lc.encode(frame)
    assert wire[0] == lc.START and wire[-1] == lc.END
    assert lc.START not in wire[1:-1] and lc.END not in wire[1:-1]
    assert len(wire) <= lc.MAX_WIRE_FRAME


@given(led_frames, st.data())
def test_any_single_byte_change_to_an_led_frame_is_rejected(frame: lc.LedFrame, data: st.DataObject) -> None:
    """Why sum mod 256 with a length byte is enough for one corrupted byte (docs/devices.md)."""
    wire = bytearray(lc.encode(frame))
    position = data.draw(st.integers(0, len(wire) - 1))
    wire[position] = data.draw(st.integers(0, 255).filter(lambda b: b != wire[position]))
    with pytest.raises(FrameError):
        lc.decode(bytes(wire))


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (b"", "framing"),
        (bytes.fromhex("41 02 05 00 1B 22 07 03"), "framing"),  # garbage before STX
        (bytes.fromhex("02 05 00 1B 22 07"), "truncated"),  # no ETX
        (bytes.fromhex("02 05 03"), "truncated"),  # too short for ADDR LEN CMD CHK
        (bytes.fromhex("02 05 00 1B 22 08 03"), "checksum"),
        (bytes.fromhex("02 05 05 1B 22 0C 03"), "length"),  # LEN 5, no payload
        (bytes.fromhex("02 1B 41 00 1B 22 07 03"), "escape"),  # 1B 41 escapes nothing
        (bytes.fromhex("02 05 00 1B 22 07 1B 03"), "escape"),  # the frame ends inside an escape
        (bytes.fromhex("02 05 00 02 07 03"), "framing"),  # an unstuffed STX inside
        (bytes.fromhex("02 00 00 1B 22 1B 22 03"), "address"),
        (bytes.fromhex("02 FF 00 1B 22 01 03"), "address"),
        (bytes.fromhex("02 05 00 7E 83 03"), "command"),
        (bytes.fromhex("02 05 01 1B 22 00 08 03"), "payload"),  # CLEAR with a payload
        (bytes.fromhex("02 05 01 1B 23 10 19 03"), "payload"),  # brightness 16
        (bytes.fromhex("02 05 1B 22 01 FF FF 06 03"), "text"),  # FF FF is not GB18030
        (bytes.fromhex("02 05 1B 22 90 90 00 27 03"), "payload"),  # an ACK of an ACK
    ],
)
def test_each_malformed_led_frame_says_what_is_wrong(wire: bytes, reason: str) -> None:
    with pytest.raises(FrameError) as caught:
        lc.decode(wire)
    assert caught.value.reason == reason


@given(st.binary(max_size=300))
def test_decoding_random_bytes_raises_nothing_but_frame_error(data: bytes) -> None:
    with contextlib.suppress(FrameError):
        lc.decode(data)


# Garbage on the line that cannot hold a frame boundary: the reader must skip it whole.
led_garbage = st.binary(max_size=40).map(lambda b: bytes(x for x in b if x not in (lc.START, lc.END)))


@given(
    st.lists(st.tuples(led_frames, led_garbage, st.booleans()), max_size=8),
    st.lists(st.integers(min_value=0), max_size=20),
)
def test_the_led_reader_reassembles_frames_cut_anywhere_among_garbage(
    items: list[tuple[lc.LedFrame, bytes, bool]], cuts: list[int]
) -> None:
    stream = bytearray()
    for frame, garbage, cut_off_before in items:
        wire = lc.encode(frame)
        if cut_off_before:  # a frame cut off before its ETX (a device reset mid-frame) before this one
            stream += wire[: 1 + len(garbage) % (len(wire) - 1)]
        stream += garbage + wire
    reader = lc.FrameReader()
    assert _feed_all(reader, _split(bytes(stream), cuts)) == [frame for frame, _, _ in items]
    assert reader.stats.frames == len(items)


@given(st.binary(max_size=600), st.lists(st.integers(min_value=0), max_size=30))
def test_the_led_reader_finds_the_same_frames_however_the_bytes_are_cut(data: bytes, cuts: list[int]) -> None:
    whole = lc.FrameReader().feed(data)
    assert _feed_all(lc.FrameReader(), _split(data, cuts)) == whole


def test_the_led_reader_counts_what_it_skipped() -> None:
    good = lc.encode(lc.StatusQuery(3))
    bad = bytearray(good)
    bad[-2] ^= 0x01  # the checksum
    reader = lc.FrameReader()
    frames = reader.feed(b"noise" + bytes(bad) + good[:3] + good)
    assert frames == [lc.StatusQuery(3)]
    assert reader.stats.garbage_bytes == 5
    assert reader.stats.rejected == {"checksum": 1, "truncated": 1}


def test_fit_text_cuts_at_a_character_boundary() -> None:
    text = lc.fit_text("请" * 150)  # 300 bytes in GB18030
    assert text == "请" * 100
    assert lc.fit_text("A\ud800B") == "A?B"


# -- the keypads


def test_the_keypad_examples_in_the_docs_are_what_the_codec_sends() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for frame in (
        kf.KeyFrame(5, 7, "call"),
        kf.KeyFrame(5, 8, "transfer", 12),
        kf.KeyReplyFrame(5, 7, True, "A012", 5, ""),
        kf.PollFrame(5),
        kf.AckFrame(5, kf.Function.POLL),
        kf.ArmFrame(6, "A012", 60),
        kf.RatingFrame(6, 1, 5),
        kf.RatingReplyFrame(6, 1, True, ""),
    ):
        assert kc.encode(frame).hex(" ").upper() in docs, frame


@given(keypad_frames)
@example(kf.KeyReplyFrame(1, 0, False, None, 0, "请稍候"))
def test_every_keypad_frame_survives_encode_and_decode(frame: kf.KeypadFrame) -> None:
    wire = kc.encode(frame)
    assert kc.decode(wire) == frame
    assert kc.decode(wire[1:]) == frame  # the preamble is optional on receipt


@given(keypad_frames, st.data())
def test_any_single_byte_change_to_a_keypad_frame_is_rejected(
    frame: kf.KeypadFrame, data: st.DataObject
) -> None:
    wire = bytearray(kc.encode(frame))
    position = data.draw(st.integers(1, len(wire) - 1))  # the preamble is not part of the frame
    wire[position] = data.draw(st.integers(0, 255).filter(lambda b: b != wire[position]))
    with pytest.raises(FrameError):
        kc.decode(bytes(wire))


def _keypad(hex_body: str) -> bytes:
    """A frame around ``hex_body`` (ADDR FUNC DATA) with a correct header, sum and end."""
    body = bytes.fromhex(hex_body)
    return bytes((0xFF, 0x68, len(body), len(body), 0x68)) + body + bytes((sum(body) & 0xFF, 0x16))


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (b"", "truncated"),
        (bytes.fromhex("FF 68 06"), "truncated"),
        (bytes.fromhex("FF 67 06 06 68 05 01 07 01 00 00 0E 16"), "framing"),
        (bytes.fromhex("FF 68 06 07 68 05 01 07 01 00 00 0E 16"), "length"),  # the two LL differ
        (bytes.fromhex("FF 68 01 01 68 05 05 16"), "length"),  # LL below ADDR+FUNC
        (bytes.fromhex("FF 68 06 06 68 05 01 07 01 00 00 0E"), "truncated"),
        (bytes.fromhex("FF 68 06 06 68 05 01 07 01 00 00 0E 16 16"), "length"),
        (bytes.fromhex("FF 68 06 06 68 05 01 07 01 00 00 0E 17"), "framing"),  # end byte
        (bytes.fromhex("FF 68 06 06 68 05 01 07 01 00 00 0F 16"), "checksum"),
        (_keypad("00 80"), "address"),
        (_keypad("05 42"), "command"),
        (_keypad("05 01 07 09 00 00"), "payload"),  # key code 9
        (_keypad("05 01 07 01 00 03"), "payload"),  # call with a target
        (_keypad("05 01 07 05 00 00"), "payload"),  # transfer without one
        (_keypad("05 01 07 01"), "payload"),  # short
        (_keypad("06 02 01 06"), "payload"),  # level 6
        (_keypad("05 10 81"), "payload"),  # ACK of a KEY_REPLY
        (_keypad("05 81 07 02 00 05 00"), "payload"),  # unknown flag
        (_keypad("05 81 07 01 00 05 04 41 30"), "payload"),  # number shorter than its length
        (_keypad("05 81 07 01 00 05 00 FF FF"), "text"),
        (_keypad("06 82 00 00 41"), "payload"),  # armed for 0 s
        (_keypad("06 82 00 3C 41 20 31"), "payload"),  # a space in the number
        (_keypad("06 83 01 01 07"), "payload"),  # unknown reason
    ],
)
def test_each_malformed_keypad_frame_says_what_is_wrong(wire: bytes, reason: str) -> None:
    with pytest.raises(FrameError) as caught:
        kc.decode(wire)
    assert caught.value.reason == reason


@given(st.binary(max_size=300))
def test_decoding_random_keypad_bytes_raises_nothing_but_frame_error(data: bytes) -> None:
    with contextlib.suppress(FrameError):
        kc.decode(data)


# Garbage that cannot begin a header (no 68): the reader must skip it whole.
keypad_garbage = st.binary(max_size=40).map(lambda b: bytes(x for x in b if x != kc.HEAD))


@given(
    st.lists(st.tuples(keypad_frames, keypad_garbage, st.booleans()), max_size=8),
    st.lists(st.integers(min_value=0), max_size=20),
)
def test_the_keypad_reader_reassembles_frames_cut_anywhere_among_garbage(
    items: list[tuple[kf.KeypadFrame, bytes, bool]], cuts: list[int]
) -> None:
    stream = bytearray()
    for frame, garbage, without_preamble in items:
        wire = kc.encode(frame)
        stream += garbage + (wire[1:] if without_preamble else wire)
    reader = kc.FrameReader()
    assert _feed_all(reader, _split(bytes(stream), cuts)) == [frame for frame, _, _ in items]
    assert reader.stats.malformed == 0


@given(st.binary(max_size=600), st.lists(st.integers(min_value=0), max_size=30))
def test_the_keypad_reader_finds_the_same_frames_however_the_bytes_are_cut(
    data: bytes, cuts: list[int]
) -> None:
    whole = kc.FrameReader().feed(data)
    assert _feed_all(kc.FrameReader(), _split(data, cuts)) == whole


def test_the_keypad_reader_finds_a_frame_inside_a_cut_off_one() -> None:
    """A frame cut off after its header swallows the start of the next: the reader drops one byte of
    the failed candidate and finds the next frame inside it."""
    good = kc.encode(kf.KeyFrame(5, 7, "call"))
    reader = kc.FrameReader()
    assert reader.feed(good[:7] + good) == [kf.KeyFrame(5, 7, "call")]
    assert reader.stats.rejected == {"framing": 1}  # the candidate's end byte is not 16


def test_a_stray_header_gives_its_frames_back_when_the_line_goes_quiet() -> None:
    """68 30 30 68 in noise looks like the header of a 54-byte frame; the real frame after it is only
    delivered when the bus gives up on the stray one (``flush`` after a quiet line)."""
    good = kc.encode(kf.PollFrame(5))
    reader = kc.FrameReader()
    assert reader.feed(bytes.fromhex("68 30 30 68") + good) == []
    assert reader.pending
    assert reader.flush() == [kf.PollFrame(5)]
    assert not reader.pending
    assert reader.stats.rejected == {"truncated": 1}


def test_the_preamble_is_not_counted_as_garbage() -> None:
    reader = kc.FrameReader()
    reader.feed(b"\xff\xff\xff" + kc.encode(kf.PollFrame(5)) + b"\x00\x01")
    assert reader.stats.garbage_bytes == 2


def test_a_repeated_press_is_answered_from_memory_within_the_window() -> None:
    repeats: RepeatFilter[str] = RepeatFilter(window=10.0)
    press = kf.KeyFrame(5, 7, "call")
    assert repeats.answer_for(press, now=100.0) is None
    repeats.remember(press, 100.0, "answer")
    assert repeats.answer_for(press, now=105.0) == "answer"
    assert repeats.answer_for(press, now=114.0) == "answer"  # each repeat extends the window
    assert repeats.answer_for(kf.KeyFrame(5, 8, "call"), now=114.0) is None  # a new press
    assert repeats.answer_for(kf.KeyFrame(5, 7, "recall"), now=114.0) is None  # same seq, other key
    assert repeats.answer_for(press, now=125.0) is None  # too late: a restarted keypad reusing seq 7


def test_a_key_reply_is_clipped_to_what_the_keypad_can_show() -> None:
    frame = reply_frame(5, 7, KeyReply(ok=False, number="A012", waiting=70_000, message="请" * 40))
    assert frame == kf.KeyReplyFrame(5, 7, False, "A012", kf.MAX_WAITING, "请" * 16)
    assert reply_frame(5, 7, KeyReply(ok=True, number="号码太长了", waiting=-1, message="")).number is None
    assert reply_frame(5, 7, KeyReply(ok=True, number=None, waiting=3, message="")).waiting == 3


def test_frames_refuse_values_the_wire_cannot_carry() -> None:
    with pytest.raises(ValueError, match="address"):
        lc.ShowText(0, "x")
    with pytest.raises(ValueError, match="bytes"):
        lc.ShowText(1, "请" * 101)
    with pytest.raises(ValueError, match="target"):
        kf.KeyFrame(1, 0, "call", 3)
    with pytest.raises(ValueError, match="ticket number"):
        kf.ArmFrame(1, "", 60)
