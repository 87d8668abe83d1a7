"""``yangguang export xlsx`` and ``import xlsx|csv`` end to end: the reference catalogue round-trips
(same items, check passes); a county's hand-written workbook imports through its mapping file."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook
from support import REPO, copy_catalogue

from engine.check.pipeline import load
from engine.cli.main import main

FIXTURES = REPO / "tests" / "fixtures" / "interchange"


def test_reference_catalogue_round_trips_through_xlsx(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "清单.xlsx"
    assert main(["export", "xlsx", str(REPO), str(out)]) == 0
    ws = load_workbook(out)["事项"]
    assert ws.freeze_panes == "B2" and ws["A1"].font.bold and ws["A1"].value == "事项编码"
    # 是否收费 on every row, whatever kind of fee; a free fee's basis as 免收依据 rows of 设定依据
    heads = [c.value for c in ws[1]]
    said = [r[heads.index("是否收费")] for r in ws.iter_rows(min_row=2, values_only=True)]
    free = [d.data for d in load(REPO, None).catalogue.items.values() if isinstance(d.data["fee"], dict)]
    assert len(said) == 50 and set(said) <= {"不收费", "收费", "未说明"}
    assert said.count("收费") == sum("schedule" in f["fee"] for f in free)
    basis = load_workbook(out)["设定依据"]
    assert sum(r[1] == "免收依据" for r in basis.iter_rows(min_row=2, values_only=True)) == sum(
        len(f["fee"].get("basis", [])) for f in free
    )
    cat = copy_catalogue(tmp_path / "cat")
    shutil.rmtree(cat / "items")
    (cat / "items").mkdir()
    capsys.readouterr()
    assert main(["import", "xlsx", str(out), "--into", str(cat)]) == 0
    assert "50 new" in capsys.readouterr().out
    original, imported = load(REPO, None), load(cat, None)
    assert imported.ok
    assert {c: d.data for c, d in imported.catalogue.items.items()} == {
        c: d.data for c, d in original.catalogue.items.items()
    }
    assert main(["check", str(cat)]) == 0


def test_round_trip_through_csv_saved_as_gb18030(tmp_path: Path) -> None:
    out = tmp_path / "清单.xlsx"
    assert main(["export", "xlsx", str(REPO), str(out)]) == 0
    folder = tmp_path / "csv"
    folder.mkdir()
    for ws in load_workbook(out).worksheets:
        with open(folder / f"{ws.title}.csv", "w", encoding="gb18030", newline="") as fh:
            csv.writer(fh).writerows([["" if v is None else v for v in row] for row in ws.iter_rows(values_only=True)])
    cat = copy_catalogue(tmp_path / "cat")
    assert main(["import", "csv", str(folder), "--into", str(cat)]) == 0
    original, imported = load(REPO, None), load(cat, None)
    assert {c: d.data for c, d in imported.catalogue.items.items()} == {
        c: d.data for c, d in original.catalogue.items.items()
    }


def test_hand_written_county_workbook_imports_through_its_mapping(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cat = copy_catalogue(tmp_path / "cat")
    argv = ["import", "xlsx", str(FIXTURES / "county.xlsx"), "--into", str(cat)]
    assert main([*argv, "--mapping", str(FIXTURES / "county-mapping.yaml")]) == 0
    err = capsys.readouterr().err
    assert "county.xlsx!清单!A2: warning[unknown-heading]: column '序号' is not in the mapping; ignored" in err
    result = load(cat, None)
    assert result.ok
    item = result.catalogue.items["YA-FORESTRY-XK-201"].data
    assert item["name"] == "林木采伐许可证核发" and item["department"] == "nr"
    assert item["time_limit"]["promised"] == {"value": 5, "unit": "working_day"}
    assert item["contact"] == {"phone": "12345"}
    assert [m["id"] for m in item["materials"]] == ["application", "ownership", "design"]
    assert item["materials"][2]["required"] is False and "copies" not in item["materials"][2]
    assert item["fee"] == "free"  # its mapping says key: fee, the older spelling of fee.free
    assert result.catalogue.items["YA-FORESTRY-XK-202"].data["fee"] == "not_stated"
    # the national layout does not read it: every problem at once, nothing written
    fresh = copy_catalogue(tmp_path / "fresh")
    assert main(["import", "xlsx", str(FIXTURES / "county.xlsx"), "--into", str(fresh)]) == 1
    err = capsys.readouterr().err
    assert "county.xlsx!事项: error[missing-sheet]" in err and "nothing written" in err
    assert not (fresh / "items" / "nr" / "ya-forestry-xk-201.yaml").exists()


def test_hostile_file_and_bad_mapping_are_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cat = copy_catalogue(tmp_path / "cat")
    (tmp_path / "x.xlsx").write_bytes(b"PK\x03\x04 not really")
    assert main(["import", "xlsx", str(tmp_path / "x.xlsx"), "--into", str(cat)]) == 1
    assert "x.xlsx: error[not-xlsx]" in capsys.readouterr().err
    (tmp_path / "m.yaml").write_text("extends: national\nsheets:\n  items:\n    nmae: 清单\n", encoding="utf-8")
    assert main(["export", "xlsx", str(cat), str(tmp_path / "o.xlsx"), "--mapping", str(tmp_path / "m.yaml")]) == 1
    err = capsys.readouterr().err
    assert "m.yaml:4:5: sheets.items: Additional properties are not allowed ('nmae' was unexpected)" in err
    assert "Traceback" not in err
