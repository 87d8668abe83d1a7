"""Masking of personal data on public pages (engine.base.masking)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.base.masking import EVERY_CODE, mask_applicant, mask_id, mask_name, mask_phone, mask_record, mask_text

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


# -- identifiers anywhere in free text (issue 15, personal data never published, hole 1) -----
OTHER_CODE = "91230200MA1B2C3D4E"  # a valid credit code (GB 32100 check character E) of another organisation


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("王记便利店 13912345678", "王记便利店 139****5678"),
        ("王记便利店13912345678", "王记便利店139****5678"),  # no space between name and number
        ("联系 139 1234 5678", "联系 139****5678"),
        ("联系 139-1234-5678", "联系 139****5678"),
        ("+8613912345678", "+86 139****5678"),
        ("(+86)139 1234 5678", "+86 139****5678"),
        ("0086-13912345678", "+86 139****5678"),
        ("１３９１２３４５６７８", "139****5678"),  # full-width digits
        ("电话：0452-2345678", "电话：0452-***5678"),
        ("010-12345678", "010-****5678"),
        ("(0452)2345678", "0452-***5678"),
        ("电话 2345678", "电话 ***5678"),  # no area code, but it says it is a phone
        ("Tel: 23456789 转 801", "Tel: ****6789 转 801"),
        ("身份证11010519491231002X号", "身份证110105********002X号"),
        ("110105 19491231 002X", "110105********002X"),  # typed in groups
        ("11010519491231002x", "110105********002X"),
        ("110105194912310021", "110105********0021"),  # a wrong check character is still somebody's ID
        ("110105491231002", "110105******002"),  # old 15-digit number
        ("卡号6222021234567890123", "卡号***************0123"),  # a bank card: 19 digits
        ("zhangsan@example.com", "z*******@example.com"),
        ("邮箱 li.si+work@mail.qq.com。", "邮箱 l*********@mail.qq.com。"),
        ("护照E12345678", "护照E******78"),
        ("护照EA1234567", "护照E******67"),
        (f"代 {OTHER_CODE}", "代 91230200**********"),  # another organisation's credit code
    ],
)
def test_identifiers_in_free_text_are_masked(text: str, masked: str) -> None:
    assert mask_text(text) == masked
    assert mask_text(masked) == masked  # masking twice changes nothing


@pytest.mark.parametrize(
    "text",
    [
        "QIQIHAR20260302000001",  # case numbers
        "QQ20260105000001",
        "第20260302000001号",
        "QQ-HOUSING-XK-003",  # item codes
        "QQ-PSB-BA-001",
        "2026-03-02",  # dates
        "2026年3月2日",
        "20260302",
        "2026-03-02T09:00:00+08:00",
        "1,380.00元",  # amounts
        "￥138000.00",
        "13800 元",
        "80 元/件",
        "服务热线 12345",  # public service numbers
        "电话：400-123-4567",
        "电话 95598",
        "G1234 次列车",
        "E1234567",  # too short for a passport
        "91350100M000100Y44",  # credit-code shaped, wrong check character: not a code, not an ID
        "建筑工程施工许可证核发",
        "",
    ],
)
def test_codes_dates_and_amounts_are_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_the_applicants_own_credit_code_stays() -> None:
    own = "91350100M000100Y43"
    assert mask_text(f"某某公司（{own}）", keep_codes={own}) == f"某某公司（{own}）"
    assert mask_text(f"某某公司（{own}）") == "某某公司（91350100**********）"
    assert mask_text(f"{own} {OTHER_CODE}", keep_codes={own}) == f"{own} 91230200**********"
    assert mask_text(f"{own} 13912345678", keep_codes=EVERY_CODE) == f"{own} 139****5678"


def test_mask_applicant() -> None:
    own = "91350100M000100Y43"
    assert mask_applicant("王记便利店 13912345678", LEGAL) == "王记便利店 139****5678"
    assert mask_applicant(f"某某公司 {own}", LEGAL, own) == f"某某公司 {own}"
    assert mask_applicant(f"某某公司 {own}", LEGAL, "not a code") == "某某公司 91350100**********"
    masked = mask_applicant("张小三 11010519491231002X", NATURAL)
    assert masked.startswith("张") and "1949" not in masked and "小三" not in masked
    assert mask_applicant(None, LEGAL) == ""


def test_mask_record_masks_text_and_leaves_numbers_and_dates() -> None:
    import datetime as dt

    row = {"name": "张三 13912345678", "rank": 1, "score": 98.5, "on": dt.date(2026, 3, 2), "none": None}
    assert mask_record(row) == {**row, "name": "张三 139****5678"}


@given(st.text(max_size=60))
def test_mask_text_never_raises_and_is_idempotent(text: str) -> None:
    once = mask_text(text)
    assert mask_text(once) == once


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("ＩＤ１１０１０５１９４９１２３１００２Ｘ", "ＩＤ110105********002X"),  # full-width, after letters
        ("ID110105194912310021", "ID110105********0021"),
        ("微信 wx13912345678", "微信 wx139****5678"),
        ("a13912345678、13912345678号店", "a139****5678、139****5678号店"),
        ("13912345678a", "139****5678a"),
        ("139.1234.5678", "139****5678"),
        ("139_1234_5678", "139****5678"),
        ("110105.19491231.0021", "110105********0021"),  # an ID number grouped by dots, underscores, fours
        ("110105_19491231_0021", "110105********0021"),
        ("1101 0519 4912 3100 21", "110105********0021"),
        ("13912345678 139.1234.5678", "139****5678 139****5678"),
    ],
)
def test_identifiers_written_beside_letters_are_masked(text: str, masked: str) -> None:
    """Issue 15 review: a number touching a Latin letter (ID…, wx…) was published in full."""
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "QIQIHAR20261207000010",
        "QQ230120261207000001",
        "JX0120261207000001",
        "QQ-HOUSING-XK-003",
        "CITY-0120261207000001",  # a center id with digits (schema: city-01): its case numbers stay
        "QQ-045220261207075559",
        "QQ_230220261231000123",
        "2026.03.06 1234567890",
    ],
)
def test_case_numbers_with_digits_in_their_prefix_are_not_taken_for_id_numbers(text: str) -> None:
    """A code whose numeric tail has an ID number's length but not its birth date stays as it is."""
    assert mask_text(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("139\u200b1234\u200b5678", "139****5678"),  # zero-width spaces
        ("\u0661\u0663\u0669\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668", "139****5678"),  # Arabic-Indic
        (
            "\U0001d7cf\U0001d7d1\U0001d7d7\U0001d7cf\U0001d7d0\U0001d7d1\U0001d7d2\U0001d7d3\U0001d7d4\U0001d7d5\U0001d7d6",
            "139****5678",
        ),  # mathematical bold digits
        ("139\u00a01234\u00a05678", "139****5678"),  # no-break spaces
        ("139\u00ad1234\u20605678", "139****5678"),  # soft hyphen, word joiner
        ("139-1234\u20135678", "139****5678"),  # an en dash
        ("139\t1234\t5678", "139****5678"),
        ("\u2460\u2462\u2468\u2460\u2461\u2462\u2463\u2464\u2465\u2466\u2467", "139****5678"),  # circled digits
        ("110105\u200b19491231\u200b0021", "110105********0021"),
        ("zhangsan\u200b@qq.com", "z********@qq.com"),
    ],
)
def test_identifiers_hidden_by_what_a_reader_does_not_see_are_masked(text: str, masked: str) -> None:
    """Review of issue 15: invisible characters, other scripts' digits and other spaces or dashes
    inside a number published it in full, though it reads as a plain phone or ID number."""
    assert mask_text("王记便利店 " + text) == "王记便利店 " + masked
