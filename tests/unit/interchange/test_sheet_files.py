"""Hostile and sloppy workbooks: refused with a clear error, never a traceback; sloppiness people cannot
see (merged cells, empty rows, trailing spaces, numbers as text, Excel dates) read as meant."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from support.workbooks import raw_xlsx, text_cell

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


def test_a_sheet_refused_as_too_large_gives_its_cells_back_to_the_workbook(tmp_path: Path) -> None:
    """A side sheet over the row cap is skipped and the other sheets read; the cells it held before the cap
    was reached do not count against the whole workbook's budget (else the workbook would be refused)."""
    wb = Workbook()
    wb.active.title = "big"
    for r in range(11):
        wb.active.append([f"v{r}{c}" for c in range(4)])
    small = wb.create_sheet("small")
    for r in range(5):
        small.append([f"w{r}{c}" for c in range(4)])
    wb.save(tmp_path / "a.xlsx")
    undeclared = tmp_path / "b.xlsx"  # no <dimension>: the cap is met while reading, not from the declared size
    with zipfile.ZipFile(tmp_path / "a.xlsx") as zin, zipfile.ZipFile(undeclared, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):
                data = re.sub(rb'<dimension ref="[^"]*"/>', b"", data)
            zout.writestr(info, data)
    tables, problems = read_xlsx(undeclared, "b.xlsx", Limits(rows=10, cells=50))
    assert list(tables) == ["small"] and len(tables["small"].rows) == 5
    assert [p.render() for p in problems] == [
        "b.xlsx!big: error[too-large]: the sheet has more than 10 rows; the limits are 10 rows and 200 columns; "
        "split the sheet"
    ]


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


def test_a_merged_range_past_the_limits_is_refused_not_expanded(tmp_path: Path) -> None:
    # a 1 KB file whose merged range covers the whole grid: never filled in, the sheet is refused
    rows = f'<row r="1">{text_cell("A1", "code")}{text_cell("B1", "name")}</row>'
    for ref in ("C2:XFD1048576", "A1:E40"):
        book = raw_xlsx(tmp_path / "m.xlsx", rows, f'<mergeCells count="1"><mergeCell ref="{ref}"/></mergeCells>')
        tables, problems = read_xlsx(book, "m.xlsx", Limits(rows=20, columns=4))
        assert tables == {}
        assert [p.render() for p in problems] == [
            f"m.xlsx!事项: error[too-large]: merged range {ref} reaches past the limits of 20 rows and 4 columns; "
            "unmerge it"
        ]


def test_a_sheet_over_the_limits_is_skipped_and_the_workbook_has_a_cell_budget(tmp_path: Path) -> None:
    wb = Workbook()
    wb.active.title = "big"
    for r in range(30):
        wb.active.append([r, "x"])
    wb.create_sheet("small").append(["a", "b"])
    wb.save(tmp_path / "a.xlsx")
    tables, problems = read_xlsx(tmp_path / "a.xlsx", "a.xlsx", Limits(rows=20))
    assert list(tables) == ["small"] and [p.kind for p in problems] == ["too-large"]
    assert "more than 50 cells" in refused(tmp_path / "a.xlsx", Limits(cells=50))
    assert "or 20 characters of text" in refused(tmp_path / "a.xlsx", Limits(chars=20))
    # rows past a declared size are read, not silently dropped (a streaming reader would trust it)
    rows = "".join(f'<row r="{r}">{text_cell(f"A{r}", f"v{r}")}</row>' for r in (1, 2, 3))
    book = raw_xlsx(tmp_path / "d.xlsx", rows, before='<dimension ref="A1"/>')
    assert [n for n, _ in read_xlsx(book)[0]["事项"].rows] == [1, 2, 3]


def test_excel_error_values_are_reported_never_read_as_text(tmp_path: Path) -> None:
    wb = Workbook()
    wb.active.append(["a", "b"])
    wb.active.append(["#REF!", "#N/A"])  # openpyxl stores these as error cells, as Excel does
    wb.save(tmp_path / "a.xlsx")
    table = read_xlsx(tmp_path / "a.xlsx")[0]["Sheet"]
    assert table.errors == {(2, 0): "#REF!", (2, 1): "#N/A"}
    assert table.rows == [(1, ["a", "b"])]
    # a formula whose cached value is an error
    rows = f'<row r="1">{text_cell("A1", "a")}</row><row r="2"><c r="A2" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>'
    assert read_xlsx(raw_xlsx(tmp_path / "f.xlsx", rows))[0]["事项"].errors == {(2, 0): "#DIV/0!"}
    (tmp_path / "a.csv").write_text("a,b\n#N/A, x\n", encoding="utf-8")
    assert read_csv(tmp_path / "a.csv").errors == {(2, 0): "#N/A"}


def test_bad_utf8_after_a_bom_and_old_or_encrypted_workbooks_are_named(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile) as exc:
        decode_csv(b"\xef\xbb\xbf\xff\xfe", "d/事项.csv")
    assert exc.value.problem.render() == (
        "d/事项.csv: error[encoding]: starts as UTF-8 text but byte 3 is not UTF-8; save it as CSV UTF-8"
    )
    ole = bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 504
    (tmp_path / "old.xlsx").write_bytes(ole)
    assert "error[not-xlsx]: an old .xls workbook or a password-protected one" in refused(tmp_path / "old.xlsx")
    (tmp_path / "locked.xlsx").write_bytes(ole + "EncryptionInfo".encode("utf-16-le") + b"\0" * 64)
    assert refused(tmp_path / "locked.xlsx") == (
        "locked.xlsx: error[encrypted]: the workbook is password-protected (encrypted); open it in Excel or WPS, "
        "remove the password and save it again"
    )
