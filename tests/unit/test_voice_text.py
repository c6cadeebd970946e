"""The voice caller's sentence: ticket numbers read digit by digit, windows as numbers, letters alone."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.voice.text import (
    DEFAULT_TEMPLATE,
    HANZI_DIGITS,
    VoiceTemplateError,
    announcement_text,
    check_template,
    integer_in_hanzi,
    spoken_ticket_number,
)

ASCII_DIGIT = re.compile(r"[0-9]")
#: ticket numbers as the hall issues them: one or two capital letters, then the sequence
TICKET_NUMBERS = st.from_regex(r"\A[A-Z]{1,2}[0-9]{1,6}\Z")
WINDOWS = st.integers(min_value=0, max_value=10**12)


def test_the_default_sentence_reads_the_ticket_digit_by_digit_and_the_window_as_a_number() -> None:
    text = announcement_text(DEFAULT_TEMPLATE, "A012", 3)
    assert text.display == "请A012号到3号窗口办理"
    assert text.speech == "请A零一二号到三号窗口办理"


def test_a_two_letter_prefix_is_spoken_as_two_letters() -> None:
    # Together, espeak reads "BA" as the pinyin syllable bā (八).
    assert spoken_ticket_number("BA012") == "B A零一二"
    assert announcement_text(DEFAULT_TEMPLATE, "ZX0100", 12).speech == "请Z X零一零零号到十二号窗口办理"


@pytest.mark.parametrize(
    ("number", "spoken"),
    [
        ("a012", "A零一二"),  # lower case: letter names are the same, so normalise
        ("Ａ０１２", "A零一二"),  # full width: espeak would read the characters' names
        ("A-012", "A 零一二"),  # a sign is at most a short pause
        ("0", "零"),
        ("G1", "G一"),
        ("绿1", "绿一"),  # Hanzi are said as they are
    ],
)
def test_ticket_numbers_of_any_shape(number: str, spoken: str) -> None:
    assert spoken_ticket_number(number) == spoken


@pytest.mark.parametrize(
    ("window", "spoken"),
    [
        (0, "零"),
        (1, "一"),
        (2, "二"),
        (10, "十"),
        (12, "十二"),
        (20, "二十"),
        (99, "九十九"),
        (100, "一百"),
        (101, "一百零一"),
        (110, "一百一十"),
        (999, "九百九十九"),
        (1001, "一千零一"),
        (1010, "一千零一十"),
        (1100, "一千一百"),
        (10_000, "一万"),
        (10_010, "一万零一十"),
        (10_100, "一万零一百"),
        (20_000, "二万"),
        (110_000, "十一万"),
        (10_001_000, "一千万一千"),
        (100_000_000, "一零零零零零零零零"),  # beyond 亿: digit by digit
    ],
)
def test_window_numbers_as_mandarin_says_them(window: int, spoken: str) -> None:
    assert integer_in_hanzi(window) == spoken


@pytest.mark.parametrize(
    ("template", "complaint"),
    [
        ("请到{window}号窗口", "{number} is missing"),
        ("请{number}号到{counter}号", "unknown field {counter}"),
        ("请{number}号到{window:02d}号", "takes no format"),
        ("请{number}号到{window!r}号", "takes no format"),
        ("请{number号", "voice template"),
        ("请{}号", "unknown field {}"),
    ],
)
def test_a_template_that_cannot_make_a_sentence_is_refused_with_its_text(
    template: str, complaint: str
) -> None:
    with pytest.raises(VoiceTemplateError, match=re.escape(complaint)) as raised:
        check_template(template)
    assert repr(template) in str(raised.value)


def test_a_template_without_the_window_is_allowed() -> None:
    assert announcement_text("请{number}号办理", "C7", 4).speech == "请C七号办理"


@pytest.mark.parametrize("number", ["", "  ", "-", "。"])
def test_a_number_with_nothing_to_say_is_refused(number: str) -> None:
    with pytest.raises(ValueError, match="nothing to say"):
        announcement_text(DEFAULT_TEMPLATE, number, 1)


def test_a_negative_window_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        integer_in_hanzi(-1)


@given(number=TICKET_NUMBERS, window=WINDOWS)
def test_no_ascii_digit_reaches_espeak(number: str, window: int) -> None:
    text = announcement_text(DEFAULT_TEMPLATE, number, window)
    assert not ASCII_DIGIT.search(text.speech)
    assert text.display == f"请{number}号到{window}号窗口办理"


@given(number=TICKET_NUMBERS)
def test_every_digit_and_letter_of_the_number_is_said_in_order(number: str) -> None:
    spoken = spoken_ticket_number(number)
    letters = [c for c in number if c.isalpha()]
    digits = "".join(c for c in number if c.isdigit())
    assert spoken.split(" ")[:-1] == letters[:-1]  # letters stand alone, never two together
    assert spoken.replace(" ", "") == "".join(letters) + "".join(HANZI_DIGITS[int(d)] for d in digits)


@given(number=st.text(max_size=12), window=st.integers(min_value=0, max_value=10**12))
def test_any_text_as_a_number_gives_no_ascii_digits_or_a_clear_refusal(number: str, window: int) -> None:
    try:
        text = announcement_text(DEFAULT_TEMPLATE, number, window)
    except ValueError as exc:
        assert "nothing to say" in str(exc)
        return
    assert not ASCII_DIGIT.search(text.speech)
    assert not re.search(r"[A-Za-z]{2}", text.speech)  # never two Latin letters together (a pinyin syllable)


@given(st.integers(min_value=0, max_value=10**8 - 1))
def test_window_numbers_read_back_to_themselves_in_canonical_form(n: int) -> None:
    spoken = integer_in_hanzi(n)
    assert read_hanzi_number(spoken) == n
    assert "零零" not in spoken
    assert n == 0 or not spoken.endswith("零")
    assert not spoken.startswith("一十")


def read_hanzi_number(text: str) -> int:
    """A reader for the numerals integer_in_hanzi writes, to check them against (not a general one)."""
    if "万" in text:
        high, low = text.split("万")
        return read_hanzi_number(high) * 10_000 + (read_hanzi_number(low) if low else 0)
    units = {"十": 10, "百": 100, "千": 1000}
    total, pending = 0, None
    for c in text:
        if c in units:
            total += (1 if pending is None else pending) * units[c]
            pending = None
        else:
            pending = HANZI_DIGITS.index(c)
    return total + (pending or 0)
