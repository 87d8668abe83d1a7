"""Home page search (engine.supervision.search): what a user typing into the search box would notice."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.catalogue.model import Catalogue, CheckResult, Document
from engine.supervision.search import MAX_QUERY, ItemIndex

CONSTRUCTION = "QQ-HOUSING-XK-003"  # 建筑工程施工许可证核发
#: tiers of matches found only through a synonym (search/synonyms.yaml rewrote a word)
SYNONYM_TIERS = (4, 7)


def codes(ix: ItemIndex, query: str, limit: int = 50) -> list[str]:
    return [h.code for h in ix.search(query, limit) if h.kind == "item"]


def test_every_item_and_chain_is_indexed(index: ItemIndex, reference: CheckResult) -> None:
    cat = reference.catalogue
    assert len(index) == len(cat.items) + len(cat.chains) and cat.items and cat.chains


def test_a_word_inside_the_name_finds_the_item_first(index: ItemIndex) -> None:
    hits = index.search("施工")
    assert hits[0].code == CONSTRUCTION
    assert str(hits[0].snippet) == "建筑工程<mark>施工</mark>许可证核发"
    found = [h.code for h in hits]
    # 建设工程消防设计审查 mentions 施工 only in its keyword 施工图联审: found, but ranked below
    assert "QQ-HOUSING-XK-001" in found
    assert found.index(CONSTRUCTION) < found.index("QQ-HOUSING-XK-001")
    assert [h.rank for h in hits] == sorted(h.rank for h in hits)


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("税", "QQ-TAX-QT-001"),  # one character
        ("户口", "QQ-PSB-QR-101"),  # two characters
        ("食品", "QQ-AMR-XK-101"),
        ("消防", "QQ-HOUSING-XK-002"),
        ("身份证", "QQ-PSB-QR-102"),
        ("结婚证", "QQ-CIVIL-DJ-101"),  # the result's name
        ("施工许可证核发", CONSTRUCTION),
    ],
)
def test_short_and_long_chinese_queries(index: ItemIndex, query: str, first: str) -> None:
    assert codes(index, query)[0] == first


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _fields(data: dict[str, Any], dept: dict[str, Any]) -> list[str]:
    return [
        data["name"],
        data.get("short_name", ""),
        data["code"],
        dept["name"],
        dept.get("short_name", ""),
        *data.get("keywords", []),
        *data.get("themes", []),
        data["result"]["name"],
    ]


@pytest.mark.parametrize(
    "query", ["税", "证", "户口", "施工", "消防", "身份证", "工程建设", "许可证核发", "登记", "局"]
)
def test_chinese_matches_are_exactly_the_substring_matches(
    index: ItemIndex, reference: CheckResult, query: str
) -> None:
    cat = reference.catalogue
    expected = {
        code
        for code, doc in cat.items.items()
        if any(query in _fold(f) for f in _fields(doc.data, cat.department(doc.data["department"]) or {"name": ""}))
    }
    assert expected  # the query is meaningful for the reference catalogue
    as_typed = {h.code for h in index.search(query, limit=1000) if h.kind == "item" and h.tier not in SYNONYM_TIERS}
    assert as_typed == expected


def test_department_name_and_short_name_find_its_items(index: ItemIndex, reference: CheckResult) -> None:
    housing = {c for c, d in reference.catalogue.items.items() if d.data["department"] == "housing"}
    assert set(codes(index, "住建局")) == housing
    assert set(codes(index, "齐齐哈尔市住房和城乡建设局")) == housing


def test_a_theme_finds_its_items(index: ItemIndex, reference: CheckResult) -> None:
    themed = {c for c, d in reference.catalogue.items.items() if "社会组织设立" in d.data.get("themes", [])}
    assert themed and set(codes(index, "社会组织设立")) == themed


def test_words_separated_by_spaces_must_all_match(index: ItemIndex) -> None:
    both = codes(index, "施工 许可证")
    assert both[0] == CONSTRUCTION
    assert set(both) <= set(codes(index, "施工")) & set(codes(index, "许可证"))
    assert codes(index, "施工　户口") == []  # full-width space separates words too


def test_codes_and_latin_text_ignore_case(index: ItemIndex) -> None:
    assert codes(index, "qq-housing-xk-003") == [CONSTRUCTION]
    assert codes(index, "QQ-HOUSING-XK-003") == [CONSTRUCTION]
    assert codes(index, "ktv") == codes(index, "ＫＴＶ") == ["QQ-CULTURE-XK-101"]
    assert codes(index, "qq-hous") == codes(index, "qq-housing")  # the last word is a prefix while typing
    assert len(codes(index, "qq-housing")) == 5


@pytest.mark.parametrize("query", ["", "   ", "\u3000", "\t\n", '"', "*", "AND", "NEAR(", "()", "-", "^", ":"])
def test_blank_or_syntax_only_queries_return_nothing(index: ItemIndex, query: str) -> None:
    assert index.search(query) == []


@pytest.mark.parametrize(
    "query",
    [
        '施工"许可',
        "施工 AND",
        "施工 OR 消防",
        "NOT 施工",
        "NEAR(施工 许可, 2)",
        "施工*",
        "name:施工",
        "{name} : 施工",
        "施工 + 许可",
        '"施工',
        "^施工",
        "施\x00工",
        "'; DROP TABLE item_fts; --",
        "\ud800施工",
    ],
)
def test_fts_syntax_in_user_input_is_text(index: ItemIndex, query: str) -> None:
    hits = index.search(query)  # never raises
    assert all(h.code for h in hits)


def test_punctuation_separates_words(index: ItemIndex) -> None:
    assert codes(index, '施工"许可')[0] == CONSTRUCTION
    assert codes(index, "施工*")[0] == CONSTRUCTION
    assert codes(index, "name:施工") == []  # "name" is a word to find, not a column filter


def test_no_match_and_limits(index: ItemIndex) -> None:
    assert index.search("不存在的事项") == []
    assert len(index.search("登记", limit=2)) == 2
    assert index.search("登记", limit=0) == []
    assert index.search(" " * MAX_QUERY + "施工") == []  # text past the cap is ignored


# --- a small catalogue where we control the text --------------------------------------------


def _item(code: str, name: str, dept: str = "d1", **extra: Any) -> Document:
    data = {"code": code, "name": name, "department": dept, "result": {"name": "结果"}, **extra}
    return Document(f"items/{code}.yaml", "item", data)


@pytest.fixture
def small() -> Iterator[ItemIndex]:
    center = {
        "departments": [
            {"id": "d1", "name": "示例市测试局", "short_name": "测试局"},
            {"id": "d2", "name": "示例市<其他>委员会", "short_name": "其他委"},
        ]
    }
    docs = [
        _item("X-004", "仅关键词命中的事项", keywords=["苹果汁"]),
        _item("X-003", "苹果种植许可", themes=["农业"]),
        _item("X-002", "<script>alert(1)</script> & 苹果"),
        _item("X-001", "KTV歌舞厅经营许可（第18号令）", dept="d2"),
        _item("X-006", "相同的名称"),
        _item("X-005", "相同的名称"),
    ]
    cat = Catalogue(Path("."), "test", center=center, items={d.data["code"]: d for d in docs})
    ix = ItemIndex(cat)
    yield ix
    ix.close()


def test_name_outranks_keyword(small: ItemIndex) -> None:
    found = codes(small, "苹果")
    assert set(found) == {"X-002", "X-003", "X-004"}
    assert found[-1] == "X-004"


def test_equal_scores_are_ordered_by_code(small: ItemIndex) -> None:
    assert codes(small, "相同") == ["X-005", "X-006"]


def test_snippets_escape_html(small: ItemIndex) -> None:
    (hit,) = small.search("alert 苹果")
    assert str(hit.snippet) == "&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt; &amp; <mark>苹果</mark>"
    (hit,) = small.search("<script>")
    assert "<script>" not in str(hit.snippet)
    assert str(hit.snippet).startswith("&lt;<mark>script</mark>&gt;")
    assert [h.code for h in small.search("其他委")] == ["X-001"]  # department with < in its name


def test_mixed_latin_and_chinese(small: ItemIndex) -> None:
    for query in ["ktv歌舞厅", "KTV歌", "歌舞厅经营", "厅", "第18号", "18号令", "第18号令"]:
        assert codes(small, query) == ["X-001"], query
    assert codes(small, "kt歌舞") == []  # inside a word, letters must be the whole token
    assert str(small.search("歌舞")[0].snippet) == "KTV<mark>歌舞</mark>厅经营许可（第18号令）"


def test_themes_and_one_character_queries(small: ItemIndex) -> None:
    assert codes(small, "农业") == ["X-003"]
    assert codes(small, "农") == ["X-003"]
    assert codes(small, "汁") == ["X-004"]  # the last character of a run is indexed too
    hit = small.search("同")[0]
    assert str(hit.snippet) == "相<mark>同</mark>的名称"
