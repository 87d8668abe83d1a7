"""Hostile and sloppy workbooks: refused with a clear error, never a traceback; sloppiness people cannot
see (merged cells, empty rows, trailing spaces, numbers as text, Excel dates) read as meant."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from engine.interchange.sheet_files import Limits, UnreadableFile, decode_csv, read_csv, read_xlsx


def refused(path: Path, limits: Limits | None = None) -> str:
    with pytest.raises(UnreadableFile) as exc:
        read_xlsx(path, path.name, limits or Limits())
    return exc.value.problem.render()


def test_not_a_zip_and_not_a_workbook(tmp_path: Path) -> None:
    (tmp_path / "a.xlsx").write_text("事项编码,事项名称\n", encoding="utf-8")
    assert refused(tmp_path / "a.xlsx").startswith("a.xlsx: error[not-xlsx]: not an .xlsx workbook (not a zip file)")
    with zipfile.ZipFile(tmp_path / "b.xlsx", "w") as zf:
        zf.writestr("hello.txt", "hi")
    assert "error[not-xlsx]: a zip file but not an .xlsx workbook" in refused(tmp_path / "b.xlsx")


def test_file_over_the_size_cap(tmp_path: Path) -> None:
    Workbook().save(tmp_path / "a.xlsx")
    assert "error[too-large]: the file is" in refused(tmp_path / "a.xlsx", Limits(file_bytes=100))


def test_zip_bomb_refused_before_unpacking(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "bomb.xlsx", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    assert "error[zip-bomb]: part xl/worksheets/sheet1.xml unpacks" in refused(tmp_path / "bomb.xlsx")
    assert "error[zip-bomb]: the workbook unpacks to" in refused(
        tmp_path / "bomb.xlsx", Limits(ratio=10**9, uncompressed_bytes=1024 * 1024)
    )


def test_too_many_rows_or_columns(tmp_path: Path) -> None:
    wb = Workbook()
    for r in range(1, 31):
        wb.active.append([r, "x"])
    wb.save(tmp_path / "a.xlsx")
    _, problems = read_xlsx(tmp_path / "a.xlsx", "a.xlsx", Limits(rows=20))
    assert [p.render() for p in problems] == [
        "a.xlsx!Sheet: error[too-large]: the sheet declares 30 rows and 2 columns; the limits are 20 rows and "
        "200 columns; split the sheet"
    ]
    _, problems = read_xlsx(tmp_path / "a.xlsx", "a.xlsx", Limits(columns=1))
    assert problems and problems[0].kind == "too-large"


def test_formulas_read_as_cached_values_or_refused(tmp_path: Path) -> None:
    wb = Workbook()
    wb.active.append(["a", "b"])
    wb.active.append([1, "=A2+1"])  # openpyxl saves no cached value: as if never recalculated
    wb.save(tmp_path / "a.xlsx")
    tables, _ = read_xlsx(tmp_path / "a.xlsx")
    assert tables["Sheet"].formulas == {(2, 1)}


def test_merged_cells_empty_rows_and_dates(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["code", "when"])
    ws.append(["X-001 ", dt.datetime(2024, 1, 5)])
    ws.append([None, None])
    ws.append([None, "2024/1/6"])
    ws.merge_cells("A2:A4")
    wb.save(tmp_path / "a.xlsx")
    rows = read_xlsx(tmp_path / "a.xlsx")[0]["Sheet"].rows
    assert [n for n, _ in rows] == [1, 2, 3, 4]  # row 3 is not empty: the merged code fills it
    assert rows[2][1][0] == "X-001 " and rows[3][1][0] == "X-001 "


def test_csv_in_utf8_with_bom_and_gb18030(tmp_path: Path) -> None:
    text = "事项编码,事项名称\nQQ-1,食品经营许可\n"
    for name, raw in (("bom", b"\xef\xbb\xbf" + text.encode()), ("gbk", text.encode("gb18030"))):
        (tmp_path / f"{name}.csv").write_bytes(raw)
        assert read_csv(tmp_path / f"{name}.csv").rows[1][1] == ["QQ-1", "食品经营许可"]
    with pytest.raises(UnreadableFile):
        decode_csv(b"\xff\xfe\x00\xd8", "x.csv")
