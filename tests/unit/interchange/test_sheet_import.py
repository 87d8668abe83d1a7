"""Importing an 实施清单 workbook: every error kind at its exact cell, row or sheet, all at once; nothing
written on error; --partial writes the good items only; empty elements become not_stated, never invented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from support import copy_catalogue

from engine.check.pipeline import load
from engine.interchange import sheet_import
from engine.interchange.sheet_mapping import load as load_mapping

ITEM_HEAD = ["事项编码", "事项名称", "事项类型", "实施主体", "行使层级", "服务对象", "法定办结时限", "法定时限单位",
             "承诺办结时限", "承诺时限单位", "是否收费", "施行日期"]  # fmt: skip


def item_row(code: str, **over: Any) -> list[Any]:
    row = {"事项编码": code, "事项名称": "测试许可事项", "事项类型": "行政许可", "实施主体": "amr", "行使层级": "市级",
           "服务对象": "自然人", "法定办结时限": 20, "法定时限单位": "工作日", "承诺办结时限": 10,
           "承诺时限单位": "工作日", "是否收费": "不收费", "施行日期": None}  # fmt: skip
    row.update(over)
    return [row[h] for h in ITEM_HEAD]


def mapping(tmp: Path) -> Any:
    """The national mapping cut down to the columns these workbooks have."""
    text = """
extends: national
sheets:
  items:
    columns:
""" + "".join(f"      - {{heading: {h}, key: {k}{t}}}\n" for h, k, t in [
        ("事项编码", "code", ""), ("事项名称", "name", ""), ("事项类型", "type", ", values: item_type"),
        ("实施主体", "department", ", type: department"), ("行使层级", "level", ", values: level"),
        ("服务对象", "applicants", ", type: lines, values: applicant"),
        ("法定办结时限", "time_limit.legal.value", ", type: integer"),
        ("法定时限单位", "time_limit.legal.unit", ", values: unit"),
        ("承诺办结时限", "time_limit.promised.value", ", type: integer"),
        ("承诺时限单位", "time_limit.promised.unit", ", values: unit"), ("是否收费", "fee", ", values: fee"),
        ("施行日期", "effective.from", ", type: date")]) + """
  basis: {drop: [原文, 备注]}
  materials:
    columns:
      - {heading: 事项编码, key: $item}
      - {heading: 材料标识, key: id}
      - {heading: 材料名称, key: name}
      - {heading: 是否必需, key: required, type: boolean}
  steps: {omit: true}
  special_procedures: {omit: true}
  faq: {omit: true}
"""  # fmt: skip
    (tmp / "m.yaml").write_text(text, encoding="utf-8")
    return load_mapping(tmp / "m.yaml")


def workbook(path: Path, items: list[list[Any]], basis: list[list[Any]], materials: list[list[Any]]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "事项"
    ws.append(ITEM_HEAD)
    for r in items:
        ws.append(r)
    b = wb.create_sheet("设定依据")
    b.append(["事项编码", "依据类型", "法律法规名称", "条款"])
    for r in basis:
        b.append(r)
    m = wb.create_sheet("申请材料")
    m.append(["事项编码", "材料标识", "材料名称", "是否必需"])
    for r in materials:
        m.append(r)
    wb.save(path)
    return path


@pytest.fixture
def cat(tmp_path: Path) -> Path:
    return copy_catalogue(tmp_path / "cat")


def run(tmp_path: Path, cat: Path, book: Path, partial: bool = False) -> sheet_import.Outcome:
    return sheet_import.import_items(sheet_import.from_xlsx(book), cat, mapping(tmp_path), partial=partial)


def rendered(outcome: sheet_import.Outcome) -> list[str]:
    return [p.render() for p in outcome.problems if not p.warning]


LAW = ["中华人民共和国行政许可法", "第十二条"]


def test_a_minimal_item_imports_checks_and_says_what_is_not_stated(tmp_path: Path, cat: Path) -> None:
    book = workbook(tmp_path / "b.xlsx", [item_row("QQ-TEST-XK-001", 施行日期="2024/1/5")],
                    [["QQ-TEST-XK-001", "设定依据", *LAW]], [["QQ-TEST-XK-001", "form", "申请书", "是"]])  # fmt: skip
    outcome = run(tmp_path, cat, book)
    assert rendered(outcome) == []
    assert outcome.written == ["items/amr/qq-test-xk-001.yaml"]
    text = (cat / outcome.written[0]).read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=")
    assert "# 来源：b.xlsx!事项!第2行" in text and "# 来源：b.xlsx!申请材料!第2行" in text
    result = load(cat, None)
    assert result.ok
    data = result.catalogue.items["QQ-TEST-XK-001"].data
    assert data["effective"] == {"from": "2024-01-05"}
    assert data["visits"] == "not_stated" and data["result"] == "not_stated"
    assert data["materials"] == [{"id": "form", "name": "申请书", "required": True}]
    assert "steps" not in data and "location" not in data  # optional elements are left out, never invented


def test_every_error_at_its_place_all_at_once_and_nothing_written(tmp_path: Path, cat: Path) -> None:
    items = [
        item_row("QQ-TEST-XK-001", 事项类型="行政许可证", 法定办结时限="二十"),
        item_row("QQ-TEST-XK-001"),
        item_row("QQ-TEST-XK-002", 实施主体="不存在的局", 施行日期="2024-02-30"),
        item_row("QQ-TEST-XK-003", 事项名称=None),
    ]
    book = workbook(tmp_path / "b.xlsx", items, [["QQ-TEST-XK-001", "设定依据", *LAW]],
                    [["QQ-NOPE-001", "x", "无主材料", "是"]])  # fmt: skip
    before = sorted(p.relative_to(cat) for p in cat.rglob("*.yaml"))
    outcome = run(tmp_path, cat, book)
    got = rendered(outcome)
    assert any(
        g.startswith("b.xlsx!事项!C2: error[bad-value]: 事项类型: '行政许可证' is not one of 行政许可") for g in got
    )
    assert not any("needs time_limit.legal.value" in g for g in got)  # the bad cell is reported once
    assert "b.xlsx!事项!G2: error[bad-value]: 法定办结时限: '二十' is not a whole number" in got
    assert "b.xlsx!事项!A3: error[duplicate-code]: item QQ-TEST-XK-001 is also on row 2" in got
    assert (
        "b.xlsx!事项!D4: error[unknown-department]: 实施主体: no department '不存在的局' in center.yaml "
        "(give its id or name)" in got
    )
    assert "b.xlsx!事项!L4: error[bad-value]: 施行日期: '2024-02-30' is not a date that exists" in got
    assert any(
        g.startswith("b.xlsx!事项!5: error[missing-value]: item QQ-TEST-XK-003 needs name: fill in column 事项名称")
        for g in got
    )
    assert any(g.startswith("b.xlsx!事项!5: error[missing-value]: item QQ-TEST-XK-003 needs its 设定依据") for g in got)
    assert "b.xlsx!申请材料!A2: error[orphan-row]: 事项编码 QQ-NOPE-001: no such item in the items sheet" in got
    assert outcome.written == []
    assert sorted(p.relative_to(cat) for p in cat.rglob("*.yaml")) == before


def test_missing_sheet_and_column_and_unknown_heading(tmp_path: Path, cat: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "事项"
    ws.append([h for h in ITEM_HEAD if h != "行使层级"] + ["自编号"])
    wb.create_sheet("设定依据").append(["事项编码", "依据类型", "法律法规名称", "条款"])
    wb.save(tmp_path / "b.xlsx")
    problems = [p.render() for p in run(tmp_path, cat, tmp_path / "b.xlsx").problems]
    assert "b.xlsx!申请材料: error[missing-sheet]: no sheet 申请材料 (the file has: 事项、设定依据)" in problems
    assert "b.xlsx!事项!1: error[missing-column]: no column 行使层级 (level)" in problems
    assert "b.xlsx!事项!L1: warning[unknown-heading]: column '自编号' is not in the mapping; ignored" in problems


def test_checker_findings_come_back_on_the_row(tmp_path: Path, cat: Path) -> None:
    # a promised limit longer than the legal one: the real checker's finding, reported on the item's cell
    book = workbook(tmp_path / "b.xlsx", [item_row("QQ-TEST-XK-001", 承诺办结时限=30)],
                    [["QQ-TEST-XK-001", "设定依据", *LAW]], [])  # fmt: skip
    got = rendered(run(tmp_path, cat, book))
    assert got and all(g.startswith("b.xlsx!事项!") for g in got), got
    assert any("[items/amr/qq-test-xk-001.yaml:" in g for g in got)


def test_partial_writes_the_good_items_and_names_the_others(tmp_path: Path, cat: Path) -> None:
    items = [item_row("QQ-TEST-XK-001"), item_row("QQ-TEST-XK-002", 行使层级="省里")]
    basis = [["QQ-TEST-XK-001", "设定依据", *LAW], ["QQ-TEST-XK-002", "设定依据", *LAW]]
    book = workbook(tmp_path / "b.xlsx", items, basis, [])
    outcome = run(tmp_path, cat, book, partial=True)
    assert outcome.skipped == ["QQ-TEST-XK-002"]
    assert outcome.written == ["items/amr/qq-test-xk-001.yaml"]
    assert load(cat, None).ok


def test_an_existing_item_is_rewritten_in_its_own_file(tmp_path: Path, cat: Path) -> None:
    book = workbook(tmp_path / "b.xlsx", [item_row("QQ-AMR-XK-101", 事项名称="食品经营许可（新办）")],
                    [["QQ-AMR-XK-101", "设定依据", *LAW]], [])  # fmt: skip
    outcome = run(tmp_path, cat, book)
    assert outcome.written == ["items/amr/food-business-licence.yaml"] and outcome.rewritten == 1
