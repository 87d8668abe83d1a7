"""Masking of personal data on public pages (engine.masking)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.masking import mask_id, mask_name, mask_phone

NATURAL = "natural_person"
LEGAL = "legal_person"


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张", "*"),  # a single character (a surname alone) shows nothing
        ("张三", "张*"),
        ("张小三", "张*三"),
        ("王建国华", "王**华"),
        ("张王小红华", "张***华"),
        ("爱新觉罗溥仪", "爱****仪"),
        # compound surnames are not special: the whole surname would show 3 of 4 characters
        ("欧阳锋", "欧*锋"),
        ("欧阳小锋", "欧**锋"),
        ("司马相如", "司**如"),
    ],
)
def test_chinese_names_keep_the_first_and_last_character(name: str, masked: str) -> None:
    assert mask_name(name, NATURAL) == masked


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("阿卜杜·热合曼", "阿**·**曼"),
        ("买买提·艾力", "买**·*力"),
        ("阿卜杜・热合曼", "阿**·**曼"),  # katakana middle dot
        ("阿卜杜•热合曼", "阿**·**曼"),  # bullet
        ("阿卜杜 · 热合曼", "阿**·**曼"),  # spaced dot
        ("阿卜杜.热合曼", "阿**·**曼"),  # full stop
        ("阿卜杜．热合曼", "阿**·**曼"),  # full-width full stop
        ("阿依·古", "阿*·古"),
        ("阿·古", "阿·*"),  # two characters: only the first shows
    ],
)
def test_middle_dot_names_mask_the_whole_name_and_keep_the_dot(name: str, masked: str) -> None:
    assert mask_name(name, NATURAL) == masked


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("John Smith", "J*** S****"),
        ("  John   Smith  ", "J*** S****"),
        ("Jean-Luc Picard", "J***-L** P*****"),
        ("O'Brien", "O******"),
        ("ＪＯＨＮ ＳＭＩＴＨ", "J*** S****"),  # full-width letters are folded first
        ("Li", "L*"),
        ("X", "X"),  # a lone initial is all a Latin name shows anyway
    ],
)
def test_latin_names_keep_the_initial_of_each_word(name: str, masked: str) -> None:
    assert mask_name(name, NATURAL) == masked


def test_whitespace_inside_a_chinese_name_is_dropped() -> None:
    assert mask_name(" 张 小 三 ", NATURAL) == "张*三"
    assert mask_name("张\u3000三", NATURAL) == "张*"


@pytest.mark.parametrize("name", [None, "", "   ", "\u3000"])
@pytest.mark.parametrize("kind", [NATURAL, LEGAL, None])
def test_empty_names_give_empty_text(name: str | None, kind: str | None) -> None:
    assert mask_name(name, kind) == ""


def test_legal_persons_are_shown_in_full() -> None:
    assert mask_name("齐齐哈尔市某某建筑工程有限公司", LEGAL) == "齐齐哈尔市某某建筑工程有限公司"
    assert mask_name("  某某村股份经济合作社 ", LEGAL) == "某某村股份经济合作社"
    assert mask_name("Acme Ltd.", LEGAL) == "Acme Ltd."


@pytest.mark.parametrize("kind", [None, "", "Legal_Person", "organisation", "agent", "natural_person"])
def test_every_type_but_legal_person_is_masked(kind: str | None) -> None:
    assert mask_name("张小三", kind) == "张*三"


@given(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=2, max_size=12))
def test_a_masked_chinese_name_keeps_its_length_and_hides_the_middle(name: str) -> None:
    masked = mask_name(name, NATURAL)
    assert len(masked) == len(name)
    assert masked[0] == name[0]
    assert masked != name
    assert set(masked[1:-1]) <= {"*"}
    assert masked[-1] == (name[-1] if len(name) > 2 else "*")


# -- identifiers -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("11010519491231002X", "110105********002X"),  # GB 11643's example: the birth date is hidden
        ("11010519491231002x", "110105********002X"),
        (" 11010519491231002X ", "110105********002X"),
        ("110105194912310021", "110105********0021"),  # wrong check character: still somebody's ID
        ("110105491231002", "110105******002"),  # old 15-digit number, yymmdd hidden
        ("91350100M000100Y43", "91350100M000100Y43"),  # a credit code is public
        ("91350100M000100Y44", "******************"),  # not a valid credit code: masked
        ("E12345678", "*********"),  # a passport: unknown, masked
        ("", ""),
        (None, ""),
    ],
)
def test_mask_id(value: str | None, masked: str) -> None:
    assert mask_id(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13800138000", "138****8000"),
        ("138 0013 8000", "138****8000"),
        ("138-0013-8000", "138****8000"),
        ("+8613800138000", "+86 138****8000"),
        ("+86 138 0013 8000", "+86 138****8000"),
        ("0452-2345678", "0452-***5678"),
        ("010-12345678", "010-****5678"),
        ("(0452)2345678", "0452-***5678"),
        ("98765432", "****5432"),
        ("1234", "****"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_phone(value: str | None, masked: str) -> None:
    assert mask_phone(value) == masked
