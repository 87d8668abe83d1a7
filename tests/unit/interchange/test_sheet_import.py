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
from engine.interchange.sheet_files import Limits
from engine.interchange.sheet_mapping import MappingError
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
    assert data["fee"] == "free"
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
    assert "b.xlsx!申请材料: error[missing-sheet]: no sheet 申请材料 (the file has: 事项, 设定依据)" in problems
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


def test_a_rewritten_item_keeps_what_the_sheet_does_not_carry(tmp_path: Path, cat: Path) -> None:
    # this mapping has no steps, special procedures or FAQ sheet and few item columns: those parts of the
    # existing file stay as they are; what the sheet carries (an empty 施行日期 too) is the sheet's
    original = load(cat, None).catalogue.items["QQ-AMR-XK-101"].data
    book = workbook(tmp_path / "b.xlsx", [item_row("QQ-AMR-XK-101", 事项名称="食品经营许可（新办）")],
                    [["QQ-AMR-XK-101", "设定依据", *LAW]], [["QQ-AMR-XK-101", "form", "申请书", "是"]])  # fmt: skip
    outcome = run(tmp_path, cat, book)
    assert rendered(outcome) == []
    kept = outcome.kept["QQ-AMR-XK-101"]
    assert {"steps", "special_procedures", "faq", "form", "contact", "location"} <= set(kept)
    # the basis sheet speaks for every basis list: one without rows is gone
    assert not {"materials", "basis", "implementation_basis", "effective"} & set(kept)
    data = load(cat, None).catalogue.items["QQ-AMR-XK-101"].data
    for key in ("steps", "special_procedures", "faq", "form", "contact", "location"):
        assert data[key] == original[key], key
    assert data["basis"] == [{"law": LAW[0], "article": LAW[1]}]
    assert data["materials"] == [{"id": "form", "name": "申请书", "required": True}]
    assert data["effective"] == "not_stated"  # the sheet carries 施行日期 and leaves it empty


def test_dry_run_counts_what_it_would_write_and_writes_nothing(tmp_path: Path, cat: Path) -> None:
    book = workbook(tmp_path / "b.xlsx", [item_row("QQ-AMR-XK-101"), item_row("QQ-TEST-XK-001")],
                    [["QQ-AMR-XK-101", "设定依据", *LAW], ["QQ-TEST-XK-001", "设定依据", *LAW]], [])  # fmt: skip
    before = (cat / "items/amr/food-business-licence.yaml").read_text(encoding="utf-8")
    outcome = sheet_import.import_items(sheet_import.from_xlsx(book), cat, mapping(tmp_path), write=False)
    assert (outcome.new, outcome.rewritten) == (1, 1)
    assert outcome.written == ["items/amr/food-business-licence.yaml", "items/amr/qq-test-xk-001.yaml"]
    assert (cat / "items/amr/food-business-licence.yaml").read_text(encoding="utf-8") == before
    assert not (cat / "items/amr/qq-test-xk-001.yaml").exists()


def test_checker_findings_come_back_on_the_cell_of_a_nested_key_or_a_child_row(tmp_path: Path, cat: Path) -> None:
    book = workbook(tmp_path / "b.xlsx", [item_row("QQ-TEST-XK-001", 承诺办结时限=-1)],
                    [["QQ-TEST-XK-001", "设定依据", *LAW]],
                    [["QQ-TEST-XK-001", "form", "申请书", "是"],
                     ["QQ-TEST-XK-001", "form", "申请书副本", "否"]])  # fmt: skip
    got = rendered(run(tmp_path, cat, book))
    assert any(g.startswith("b.xlsx!事项!I2: error[range]: time_limit.promised.value: -1") for g in got), got
    assert any(g.startswith("b.xlsx!申请材料!B3: error[duplicate-material]: material id 'form'") for g in got), got


def test_one_bad_item_is_reported_once_not_on_every_item_that_names_it(tmp_path: Path, cat: Path) -> None:
    # QQ-AMR-DJ-001 issues the business licence other items' materials are produced by
    book = workbook(tmp_path / "b.xlsx", [item_row("QQ-AMR-DJ-001", 承诺办结时限=-1)],
                    [["QQ-AMR-DJ-001", "设定依据", *LAW]], [])  # fmt: skip
    got = rendered(run(tmp_path, cat, book))
    assert len(got) == 1 and got[0].startswith("b.xlsx!事项!I2: error[range]"), got
    outcome = run(tmp_path, cat, book, partial=True)
    assert outcome.skipped == ["QQ-AMR-DJ-001"] and outcome.written == []


def test_excel_errors_dates_in_text_and_long_values_at_their_cells(tmp_path: Path, cat: Path) -> None:
    import datetime as dt

    items = [item_row("QQ-TEST-XK-001", 事项名称="#REF!"), item_row("QQ-TEST-XK-002", 事项名称=dt.datetime(2024, 1, 5)),
             item_row("QQ-TEST-XK-003", 事项类型="许" * 5000)]  # fmt: skip
    basis = [[f"QQ-TEST-XK-00{i}", "设定依据", *LAW] for i in (1, 2, 3)]
    outcome = run(tmp_path, cat, workbook(tmp_path / "b.xlsx", items, basis, []))
    got = [p.render() for p in outcome.problems]
    assert (
        "b.xlsx!事项!B2: error[formula]: 事项名称: the cell shows the Excel error #REF!, not a value; correct the "
        "formula or type the value" in got
    )
    assert any(g.startswith("b.xlsx!事项!B3: warning[date-as-text]: 事项名称: the cell is a date") for g in got)
    long = next(g for g in got if g.startswith("b.xlsx!事项!C4"))
    assert len(long) < 300 and "… (5000 characters)" in long


def test_a_refused_items_sheet_is_not_also_missing_nor_are_its_children_orphans(tmp_path: Path, cat: Path) -> None:
    items = [item_row(f"QQ-TEST-XK-00{i}") for i in range(1, 6)]
    basis = [[f"QQ-TEST-XK-00{i}", "设定依据", *LAW] for i in range(1, 6)]
    book = workbook(tmp_path / "b.xlsx", items, basis, [])
    source = sheet_import.from_xlsx(book, Limits(rows=4))
    del source.tables["申请材料"]
    got = rendered(sheet_import.import_items(source, cat, mapping(tmp_path)))
    missing = (
        "b.xlsx!申请材料: error[missing-sheet]: no sheet 申请材料 "
        "(the file has: 事项 (too large), 设定依据 (too large))"
    )
    assert missing in got
    got.remove(missing)
    assert got == [
        "b.xlsx!事项: error[too-large]: the sheet declares 6 rows and 12 columns; the limits are 4 rows and 200 "
        "columns; split the sheet",
        "b.xlsx!设定依据: error[too-large]: the sheet declares 6 rows and 4 columns; the limits are 4 rows and 200 "
        "columns; split the sheet",
    ]


def test_only_headers_means_no_item_rows_and_a_bad_basis_row_is_reported_once(tmp_path: Path, cat: Path) -> None:
    outcome = run(tmp_path, cat, workbook(tmp_path / "h.xlsx", [], [], []), partial=True)
    assert outcome.no_rows and outcome.written == []
    book = workbook(tmp_path / "b.xlsx", [item_row("QQ-TEST-XK-001")], [["QQ-TEST-XK-001", "乱写", *LAW]], [])
    got = rendered(run(tmp_path, cat, book))
    assert len(got) == 1 and got[0].startswith("b.xlsx!设定依据!B2: error[bad-value]: 依据类型: '乱写'"), got


def test_csv_files_are_found_whatever_the_case_of_their_extension(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "事项.CSV").write_text("事项编码\nQQ-1\n", encoding="utf-8")
    assert list(sheet_import.from_csv([tmp_path / "d"]).tables) == ["事项"]


def test_mapping_keys_that_would_crash_an_import_are_refused_by_the_loader(tmp_path: Path, cat: Path) -> None:
    def refused(sheets: str) -> str:
        (tmp_path / "m.yaml").write_text("extends: national\nsheets:\n" + sheets, encoding="utf-8")
        with pytest.raises(MappingError) as exc:
            load_mapping(tmp_path / "m.yaml")
        return "\n".join(exc.value.problems)

    ext = "  faq:\n    columns:\n      - {heading: 事项编码, key: $item}\n      - {heading: 扩展, key: $extension}\n"
    assert "column 扩展: $extension needs type yaml" in refused(ext)
    no_table = "  basis:\n    columns:\n      - {heading: 编码, key: $item}\n      - {heading: 类型, key: $list}\n"
    assert "column 类型: $list needs values" in refused(no_table)
    # a value table that names a path through a text element: the row is an error at its place, not a crash
    (tmp_path / "n.yaml").write_text(
        "extends: national\nvalues:\n  odd: {设定依据: name.x}\nsheets:\n  basis:\n    columns:\n"
        "      - {heading: 事项编码, key: $item}\n      - {heading: 依据类型, key: $list, values: odd}\n"
        "      - {heading: 法律法规名称, key: law}\n      - {heading: 条款, key: article}\n",
        encoding="utf-8",
    )
    book = workbook(tmp_path / "b.xlsx", [item_row("QQ-TEST-XK-001")], [["QQ-TEST-XK-001", "设定依据", *LAW]], [])
    outcome = sheet_import.import_items(sheet_import.from_xlsx(book), cat, load_mapping(tmp_path / "n.yaml"))
    assert "b.xlsx!设定依据!2: error[bad-value]: name.x of item QQ-TEST-XK-001 is not a list here" in rendered(outcome)
