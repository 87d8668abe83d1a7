from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.base.identifiers import (
    USCC_ALPHABET,
    id_card_check_char,
    uscc_check_char,
    valid_area,
    valid_email,
    valid_id_card,
    valid_phone,
    valid_uscc,
)

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)
birth_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date.today())


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    """6 random digits, a real birth date, 3 random digits, and the computed check character."""
    area = draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
    born = draw(birth_dates).strftime("%Y%m%d")
    seq = draw(st.text(alphabet="0123456789", min_size=3, max_size=3))
    body = area + born + seq
    return body + id_card_check_char(body)


@st.composite
def credit_codes(draw: st.DrawFn) -> str:
    body = draw(st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17))
    return body + uscc_check_char(body)


# ---------------------------------------------------------------- ID numbers (GB 11643)


@pytest.mark.parametrize("text", ["11010519491231002X", "11010519491231002x", "230202199003071232"])
def test_id_card_examples(text: str) -> None:
    assert valid_id_card(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "11010519491231002",  # 17 characters
        "11010519491231002X1",  # 19
        "110105194912310021",  # wrong check character
        "11010519491231002Y",
        "1101051949123100 X",
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits: normalised by the form layer, not here
        None,
        110105194912310020,
    ],
)
def test_id_card_rejects(text: object) -> None:
    assert not valid_id_card(text)


def test_id_card_birth_date_must_be_real() -> None:
    for born in ("19490230", "19491301", "18000101", "29990101"):
        body = "110105" + born + "002"
        assert not valid_id_card(body + id_card_check_char(body)), born


@given(id_numbers())
def test_generated_id_numbers_validate(number: str) -> None:
    assert valid_id_card(number)
    assert valid_id_card(number.lower())


@given(id_numbers(), st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_any_single_change_invalidates_an_id_number(number: str, position: int, char: str) -> None:
    if number[position].upper() == char:
        return
    changed = number[:position] + char + number[position + 1 :]
    assert not valid_id_card(changed)


# ---------------------------------------------------------------- credit codes (GB 32100)


def test_uscc_example() -> None:
    assert valid_uscc("91350100M000100Y43")
    assert uscc_check_char("91350100M000100Y4") == "3"


@pytest.mark.parametrize(
    "text",
    ["", "91350100M000100Y4", "91350100M000100Y44", "91350100M000100Y43X", "91350100m000100y43", "91350100I000100Y43"],
)
def test_uscc_rejects(text: str) -> None:
    assert not valid_uscc(text)


@given(credit_codes())
def test_generated_credit_codes_validate(code: str) -> None:
    assert valid_uscc(code)


@given(credit_codes(), st.integers(min_value=0, max_value=17), st.sampled_from(USCC_ALPHABET))
def test_any_single_change_invalidates_a_credit_code(code: str, position: int, char: str) -> None:
    if code[position] == char:
        return
    assert not valid_uscc(code[:position] + char + code[position + 1 :])


def test_check_char_functions_refuse_bad_input() -> None:
    with pytest.raises(ValueError):
        id_card_check_char("1234")
    with pytest.raises(ValueError):
        uscc_check_char("I" * 17)


# ---------------------------------------------------------------- phone, area, e-mail


@pytest.mark.parametrize(
    "text",
    [
        "13800138000",
        "19912345678",
        "138 0013 8000",
        "+8613800138000",
        "0452-1234567",
        "04521234567",
        "010-88886666",
        "(0452)2345678",
        "0452-2345678-801",
        "12345",
        "12315",
        "95588",
        "400-123-4567",
    ],
)
def test_valid_phones(text: str) -> None:
    assert valid_phone(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "12800138000",
        "1380013800",
        "138001380001",
        "452-1234567",
        "0452-123",
        "abc",
        "110",
        "１３８００１３８０００",
    ],
)
def test_invalid_phones(text: str) -> None:
    assert not valid_phone(text)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("230202", True),
        ("110000", True),
        ("810000", True),
        ("000000", False),
        ("99", False),
        ("2302021", False),
        ("23020A", False),
        ("990101", False),
    ],
)
def test_area(text: str, ok: bool) -> None:
    assert valid_area(text) is ok


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("zhang.san@example.com", True),
        ("a+b@mail.qq.gov.cn", True),
        ("12345@qq.com", True),
        ("no-at-sign.com", False),
        ("a@b", False),
        ("a@@b.com", False),
        (".a@b.com", False),
        ("a..b@b.com", False),
        ("a@-b.com", False),
        ("a b@b.com", False),
        ("a@b.c", False),
        ("张三@example.com", False),
    ],
)
def test_email(text: str, ok: bool) -> None:
    assert valid_email(text) is ok
