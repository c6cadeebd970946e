"""What the voice caller says: the announcement sentence, in a form espeak-ng reads as real Mandarin.

Pure: no I/O. The daemon shows ``display`` (e.g. on a board's subtitle) and the engine speaks ``speech``.

What espeak-ng 1.51 does, checked with ``espeak-ng -v cmn-latn-pinyin -q -x`` (docs/devices.md):

- Hanzi and tone-numbered pinyin give the same phonemes under ``cmn-latn-pinyin`` (its dictionary turns
  Hanzi into pinyin first), with real tones and third-tone sandhi. Under ``cmn``/``zh`` that pinyin is read
  as English ("qing three"), so the voice matters, not the script. We pass Hanzi: a template stays
  readable and the default sentence has no word with two readings.
- Its Hanzi-to-pinyin step goes character by character: 重新 comes out zhòng xīn and 银行 yín xíng.
  A template author who needs such a word writes it in tone-marked pinyin (``chóng xīn``), which the
  voice reads as written.
- A digit run is read as one number: "A012" is A 零 十二. The ticket number is therefore written out
  digit by digit in Hanzi (A零一二); the window number as the number it is (12 → 十二), as people say it.
- One Latin letter is read as its Chinese-style letter name (A ēi, B bì, E yì, O ōu …), but two
  letters together are read as a pinyin syllable: "BA" is bā (八), "HE" hé. Letters of a prefix are
  therefore separated by spaces ("B A零一二"); a space changes nothing else in what is said.
- Full-width letters and digits (Ａ, ０１２) are read by their Unicode names; NFKC folds them first.
"""

from __future__ import annotations

import string
import unicodedata
from dataclasses import dataclass

DEFAULT_TEMPLATE = "请{number}号到{window}号窗口办理"
HANZI_DIGITS = "零一二三四五六七八九"
_FIELDS = frozenset({"number", "window"})
# Natural readings are exact up to here (亿 and beyond need grouping rules nobody uses for a window);
# larger numbers are read digit by digit, which is still unambiguous.
_NATURAL_LIMIT = 100_000_000


class VoiceTemplateError(ValueError):
    """A ``[devices.voice] template`` that cannot make a sentence; the message names the template."""


@dataclass(frozen=True, slots=True)
class AnnouncementText:
    display: str  # for people: 请A012号到3号窗口办理
    speech: str  # for espeak-ng cmn-latn-pinyin: 请A零一二号到三号窗口办理


def check_template(template: str) -> None:
    """Refuse a template that is not ``str.format`` text over ``{number}`` and optionally ``{window}``."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:  # an unmatched brace
        raise VoiceTemplateError(f"voice template {template!r}: {exc}") from None
    fields = set()
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in _FIELDS:
            raise VoiceTemplateError(
                f"voice template {template!r}: unknown field {{{field}}}; use {{number}} and {{window}}"
            )
        if spec or conversion:
            # The fields are substituted as spoken words, so a format such as {window:03d} cannot apply.
            raise VoiceTemplateError(f"voice template {template!r}: {{{field}}} takes no format")
        fields.add(field)
    if "number" not in fields:
        raise VoiceTemplateError(f"voice template {template!r}: {{number}} is missing")


def digits_in_hanzi(digits: str) -> str:
    """Each decimal digit as its Hanzi: "012" → "零一二" (for ticket numbers, read digit by digit)."""
    return "".join(HANZI_DIGITS[unicodedata.decimal(c)] for c in digits)


def integer_in_hanzi(n: int) -> str:
    """``n`` as Mandarin says the number: 3 → 三, 10 → 十, 12 → 十二, 101 → 一百零一, 20000 → 二万.

    Numbers of 10⁸ and more are read digit by digit. 二 (not 两) before 百/千/万 throughout: both are
    correct, and 二 is what people use for a label such as a window number.
    """
    if n < 0:
        raise ValueError(f"a window number cannot be negative: {n}")
    if n >= _NATURAL_LIMIT:
        return digits_in_hanzi(str(n))
    if n < 10_000:
        return _below_10000(n, leading=True)
    high, low = divmod(n, 10_000)
    text = _below_10000(high, leading=True) + "万"
    if low:
        # 一万零五: a zero between the groups is said once when the lower group has no thousands.
        text += ("零" if low < 1000 else "") + _below_10000(low, leading=False)
    return text


def _below_10000(n: int, *, leading: bool) -> str:
    if n == 0:
        return "零"
    if leading and 10 <= n < 20:
        return "十" + (HANZI_DIGITS[n - 10] if n > 10 else "")  # 十二, not 一十二, at the start
    parts: list[str] = []
    zero_pending = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit, n = divmod(n, value)
        if digit:
            if zero_pending:
                parts.append("零")  # 一百零一, 一千零一十: one 零 for any run of inner zeros
                zero_pending = False
            parts.append(HANZI_DIGITS[digit] + unit)
        elif parts and n:
            zero_pending = True
    return "".join(parts)


def spoken_ticket_number(number: str) -> str:
    """A ticket number as it is to be spoken: "A012" → "A零一二", "BA012" → "B A零一二".

    Letters are kept (upper-cased) and each stands alone, so espeak reads its letter name rather than a
    pinyin syllable; digits become Hanzi one by one; any other sign becomes a space (a short pause at
    most); other text, such as Hanzi, is kept.
    """
    out: list[str] = []
    previous_was_letter = False
    for c in unicodedata.normalize("NFKC", number):
        if c.isdecimal():
            out.append(digits_in_hanzi(c))
            previous_was_letter = False
        elif c.isascii() and c.isalpha():
            if previous_was_letter:
                out.append(" ")
            out.append(c.upper())
            previous_was_letter = True
        elif c.isalnum():  # Hanzi and letters of other scripts: said as they are
            out.append(c)
            previous_was_letter = False
        else:
            out.append(" ")
            previous_was_letter = False
    return " ".join("".join(out).split())


def display_text(template: str, number: str, window: int) -> str:
    """The sentence for people, e.g. 请A012号到3号窗口办理. Never fails for a checked template."""
    return template.format(number=number, window=window)


def announcement_text(template: str, number: str, window: int) -> AnnouncementText:
    """The sentence that calls ticket ``number`` to ``window``, for display and for speech."""
    check_template(template)
    spoken = spoken_ticket_number(number)
    if not spoken:
        raise ValueError(f"a ticket number with nothing to say: {number!r}")
    return AnnouncementText(
        display=display_text(template, number, window),
        speech=template.format(number=spoken, window=integer_in_hanzi(window)),
    )
