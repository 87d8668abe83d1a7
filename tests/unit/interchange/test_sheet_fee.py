"""是否收费 in a hand-written sheet of the national layout: 不收费 / 收费 / 未说明 on the item row, 收费标准 and
免收依据 rows of the 设定依据 sheet, imported into the fee the item means, or an error at the cell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from support import copy_catalogue

from engine.check.pipeline import load
from engine.interchange import sheet_import
from engine.interchange.sheet_mapping import load as load_mapping

NATIONAL = load_mapping()
ITEM = {"事项编码": "QQ-TEST-XK-001", "事项名称": "测试许可事项", "事项类型": "行政许可", "实施主体": "amr",
        "行使层级": "市级", "服务对象": "自然人", "法定办结时限": 20, "法定时限单位": "工作日", "承诺办结时限": 10,
        "承诺时限单位": "工作日"}  # fmt: skip
LAW = {"事项编码": "QQ-TEST-XK-001", "依据类型": "设定依据", "法律法规名称": "中华人民共和国行政许可法",
       "条款": "第十二条"}  # fmt: skip
FREE_BASIS = {**LAW, "依据类型": "免收依据", "法律法规名称": "关于取消和暂停征收一批行政事业性收费有关问题的通知"}


def workbook(path: Path, item: dict[str, Any], basis: list[dict[str, Any]]) -> Path:
    """A workbook with every sheet and heading of the national mapping, one item row and its basis rows."""
    wb = Workbook()
    wb.remove(wb.active)
    rows = {"items": [item], "basis": basis}
    for role, sheet in NATIONAL.sheets.items():
        ws = wb.create_sheet(sheet.name)
        ws.append([c.heading for c in sheet.columns])
        for row in rows.get(role, []):
            ws.append([row.get(c.heading) for c in sheet.columns])
    wb.save(path)
    return path


SCHEDULE = """id: test-fee
name: 测试工本费
basis:
  - {law: 测试收费标准文件, article: 全文}
effective: {from: 2020-01-01}
lines:
  - {id: standard, name: 工本费, kind: fixed, amount: 10, unit: 证}
"""


@pytest.fixture
def cat(tmp_path: Path) -> Path:
    root = copy_catalogue(tmp_path / "cat")
    (root / "fees" / "test-fee.yaml").write_text(SCHEDULE, encoding="utf-8")
    return root


def run(tmp_path: Path, cat: Path, fee: dict[str, Any], basis: list[dict[str, Any]] | None = None) -> list[str]:
    book = workbook(tmp_path / "b.xlsx", {**ITEM, **fee}, [LAW, *(basis or [])])
    outcome = sheet_import.import_items(sheet_import.from_xlsx(book), cat, NATIONAL)
    return [p.render() for p in outcome.problems if not p.warning]


def fee_of(cat: Path) -> Any:
    result = load(cat, None)
    assert result.ok
    return result.catalogue.items["QQ-TEST-XK-001"].data["fee"]


@pytest.mark.parametrize(
    ("cells", "fee"),
    [
        ({"是否收费": "不收费"}, "free"),
        ({"是否收费": "未说明"}, "not_stated"),
        ({}, "not_stated"),  # an empty cell is not stated, never invented
        ({"是否收费": "收费", "收费标准": "test-fee"}, {"schedule": "test-fee"}),
        ({"收费标准": "test-fee"}, {"schedule": "test-fee"}),
    ],
)
def test_the_fee_cell_says_what_the_item_means(tmp_path: Path, cat: Path, cells: dict[str, Any], fee: Any) -> None:
    assert run(tmp_path, cat, cells) == []
    assert fee_of(cat) == fee


def test_free_with_its_basis_rows_and_a_note_in_the_extension(tmp_path: Path, cat: Path) -> None:
    cells = {"是否收费": "不收费", "扩展（YAML）": "fee:\n  note: 工本费由财政负担"}
    assert run(tmp_path, cat, cells, [FREE_BASIS]) == []
    assert fee_of(cat) == {
        "free": True,
        "basis": [{"law": FREE_BASIS["法律法规名称"], "article": "第十二条"}],
        "note": "工本费由财政负担",
    }


def test_charged_without_a_schedule_is_an_error_at_the_cell(tmp_path: Path, cat: Path) -> None:
    col = get_column_letter([c.heading for c in NATIONAL.sheets["items"].columns].index("是否收费") + 1)
    got = run(tmp_path, cat, {"是否收费": "收费"})
    assert got == [
        f"b.xlsx!事项!{col}2: error[missing-value]: 是否收费 says 收费 but no fee schedule is given: the engine needs "
        "the id of a fee schedule (a file in fees/) to assess the fee; fill in 收费标准 with its id, or write 未说明 "
        "if the guide does not say"
    ]
    assert not (cat / "items" / "amr" / "qq-test-xk-001.yaml").exists()


def test_cells_that_contradict_each_other_are_errors(tmp_path: Path, cat: Path) -> None:
    both = run(tmp_path, cat, {"是否收费": "不收费", "收费标准": "test-fee"})
    assert len(both) == 1 and "error[bad-value]: 收费标准: 是否收费 says 不收费 but 收费标准 names a fee" in both[0]
    charged = run(tmp_path, cat, {"是否收费": "收费", "收费标准": "test-fee"}, [FREE_BASIS])
    assert len(charged) == 1 and "是否收费 says 收费 but the item has 免收依据 rows" in charged[0], charged
    empty = run(tmp_path, cat, {}, [FREE_BASIS])
    assert len(empty) == 1 and "是否收费 is empty but the item has 免收依据 rows" in empty[0], empty


def test_a_county_sheet_without_the_schedule_column_keeps_the_items_schedule(tmp_path: Path, cat: Path) -> None:
    """A county's mapping with 是否收费 but no 收费标准 re-imports an item that charges: its file's fee schedule
    stands (the sheet does not carry it), instead of an error that asks for a column the county does not have."""
    assert (
        run(tmp_path, cat, {"是否收费": "收费", "收费标准": "test-fee", "扩展（YAML）": "fee:\n  note: 按证收取"}) == []
    )
    county = tmp_path / "county.yaml"
    county.write_text("extends: national\nsheets:\n  items:\n    drop: [收费标准]\n", encoding="utf-8")
    book = workbook(tmp_path / "c.xlsx", {**ITEM, "是否收费": "收费"}, [LAW])
    outcome = sheet_import.import_items(sheet_import.from_xlsx(book), cat, load_mapping(county))
    assert [p.render() for p in outcome.problems if not p.warning] == []
    assert fee_of(cat) == {"schedule": "test-fee", "note": "按证收取"}


def test_a_county_sheet_without_the_basis_sheet_keeps_the_basis_of_a_free_fee(tmp_path: Path, cat: Path) -> None:
    assert run(tmp_path, cat, {"是否收费": "不收费"}, [FREE_BASIS]) == []
    county = tmp_path / "county.yaml"
    county.write_text("extends: national\nsheets:\n  basis: {omit: true}\n", encoding="utf-8")
    book = workbook(tmp_path / "c.xlsx", {**ITEM, "是否收费": "不收费"}, [])
    outcome = sheet_import.import_items(sheet_import.from_xlsx(book), cat, load_mapping(county))
    assert [p.render() for p in outcome.problems if not p.warning] == []
    assert fee_of(cat) == {"free": True, "basis": [{"law": FREE_BASIS["法律法规名称"], "article": "第十二条"}]}
