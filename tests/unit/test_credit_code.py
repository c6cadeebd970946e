"""The unified social credit code (统一社会信用代码) check character, and the enterprise channel."""

from __future__ import annotations

import pytest
from hallkit import NINE, credit_code, fingerprint, issue
from hypothesis import given, settings
from hypothesis import strategies as st

from hallctl.core.credit_code import ALPHABET, check_character, is_valid
from hallctl.core.errors import Invalid
from hallctl.core.state import HallState

# Published codes in the real format (the first is the standard's worked example).
KNOWN_VALID = ["91350100M000100Y43", "91110000802100433B"]

first17 = st.text(alphabet=ALPHABET, min_size=17, max_size=17)


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_known_codes_are_valid(code: str) -> None:
    assert check_character(code[:17]) == code[17]
    assert is_valid(code)


def test_alphabet_leaves_out_letters_that_look_like_digits() -> None:
    assert len(ALPHABET) == 31
    assert not set("IOSVZ") & set(ALPHABET)


@pytest.mark.parametrize(
    "code",
    ["", "91350100M000100Y4", "91350100M000100Y433", "91350100M000100Y44", "91350100M00010OY43"],
    ids=["empty", "17-chars", "19-chars", "wrong-check", "letter-O"],
)
def test_malformed_codes_are_invalid(code: str) -> None:
    assert not is_valid(code)


def test_lowercase_and_surrounding_spaces_are_accepted() -> None:
    assert is_valid(" 91350100m000100y43 ")


@settings(max_examples=200, deadline=None)
@given(first17)
def test_a_code_with_its_check_character_is_valid(prefix: str) -> None:
    assert is_valid(prefix + check_character(prefix))


@settings(max_examples=300, deadline=None)
@given(first17, st.integers(min_value=0, max_value=17), st.sampled_from(ALPHABET + "IOSVZ"))
def test_any_single_character_change_is_detected(prefix: str, position: int, replacement: str) -> None:
    code = prefix + check_character(prefix)
    corrupted = code[:position] + replacement + code[position + 1 :]
    if corrupted != code:
        assert not is_valid(corrupted)


# -- the enterprise channel at the kiosk ------------------------------------------------------------


@pytest.mark.parametrize("code", [None, "", "91350100M000100Y44", "not a code"])
def test_enterprise_ticket_needs_a_valid_credit_code(fresh_hall: HallState, code: str | None) -> None:
    before = fingerprint(fresh_hall)
    with pytest.raises(Invalid) as refused:
        issue(fresh_hall, NINE, "JFJS", channel="enterprise", credit_code=code)
    assert refused.value.code == "bad_credit_code"
    assert refused.value.context == {"field": "credit_code"}
    assert fingerprint(fresh_hall) == before


def test_enterprise_ticket_keeps_the_code_in_canonical_form(fresh_hall: HallState) -> None:
    ticket = issue(fresh_hall, NINE, "JFJS", channel="enterprise", credit_code=" 91350100m000100y43")
    assert ticket.credit_code == "91350100M000100Y43"
    assert ticket.channel == "enterprise"


def test_credit_code_on_the_normal_channel_is_refused(fresh_hall: HallState) -> None:
    with pytest.raises(Invalid) as refused:
        issue(fresh_hall, NINE, "JFJS", credit_code=credit_code())
    assert refused.value.code == "unexpected_field"
