"""Reading a spreadsheet safely: an .xlsx workbook or CSV files, as plain rows of cell values.

Nothing here trusts the file. An .xlsx is a zip of XML: before openpyxl sees it, its size, its entries'
total uncompressed size and each entry's compression ratio are capped (a zip bomb is refused, not
unpacked), and openpyxl parses the XML through defusedxml. A sheet's rows and columns are capped from
its declared dimension and again while its rows are read. Formulas are read as their cached values
(``data_only``); a formula Excel never calculated has none and is reported, never guessed. Merged cells
give every cell of the range the value of its first cell (a code merged down a block of material rows
belongs to each row). CSV files are read as UTF-8 (with or without a BOM) or GB18030, which is what
Excel and WPS on a Chinese system save.

Every problem is a ``SheetProblem`` located as ``FILE.xlsx!Sheet!C12`` (a cell), ``FILE.xlsx!Sheet!12``
(a row) or ``FILE.xlsx!Sheet`` (a sheet). Library code: nothing here prints or exits.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl.utils import get_column_letter


@dataclass(frozen=True)
class Limits:
    file_bytes: int = 20 * 1024 * 1024
    uncompressed_bytes: int = 200 * 1024 * 1024
    ratio: int = 100  # uncompressed / compressed, per zip entry
    entries: int = 2_000
    rows: int = 20_000
    columns: int = 200


LIMITS = Limits()


@dataclass(frozen=True, order=True)
class SheetProblem:
    """One problem with a place in the spreadsheet; ``order`` sorts them as the file reads."""

    order: tuple[Any, ...]
    where: str
    kind: str
    message: str
    warning: bool = False

    def render(self) -> str:
        return f"{self.where}: {'warning' if self.warning else 'error'}[{self.kind}]: {self.message}"


class UnreadableFile(Exception):
    """The file is refused as a whole (not a workbook, too large, a zip bomb)."""

    def __init__(self, problem: SheetProblem) -> None:
        super().__init__(problem.render())
        self.problem = problem


@dataclass
class Table:
    """One sheet's rows: ``rows`` are (row number, values by column index from 0), empty rows left out."""

    file: str
    sheet: str | None  # None for a CSV file (the file is the sheet)
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)
    #: (row, column index) of formulas that have no cached value
    formulas: set[tuple[int, int]] = field(default_factory=set)

    def where(self, row: int | None = None, col: int | None = None) -> str:
        place = self.file if self.sheet is None else f"{self.file}!{self.sheet}"
        if row is None:
            return place
        return f"{place}!{get_column_letter(col + 1)}{row}" if col is not None else f"{place}!{row}"

    def problem(
        self, kind: str, message: str, row: int | None = None, col: int | None = None, **kw: Any
    ) -> SheetProblem:
        order = (self.file, self.sheet or "", row or 0, -1 if col is None else col)
        return SheetProblem(order, self.where(row, col), kind, message, **kw)


def _refuse(file: str, kind: str, message: str) -> UnreadableFile:
    return UnreadableFile(SheetProblem((file,), file, kind, message))


def _mib(n: int) -> str:
    return f"{n / 1048576:.0f} MiB"


def check_zip(path: Path, shown: str, limits: Limits = LIMITS) -> None:
    """Refuse what is not a sane .xlsx before any XML is parsed."""
    size = path.stat().st_size
    if size > limits.file_bytes:
        raise _refuse(
            shown, "too-large", f"the file is {size / 1048576:.1f} MiB; the limit is {_mib(limits.file_bytes)}"
        )
    if not zipfile.is_zipfile(path):
        raise _refuse(shown, "not-xlsx", "not an .xlsx workbook (not a zip file); save it as Excel Workbook (.xlsx)")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _refuse(shown, "not-xlsx", f"not a readable .xlsx workbook: {exc}") from None
    if len(infos) > limits.entries:
        raise _refuse(shown, "zip-bomb", f"the workbook has {len(infos)} parts; the limit is {limits.entries}")
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        raise _refuse(
            shown, "not-xlsx", "a zip file but not an .xlsx workbook (no xl/workbook.xml); .xls and .ods are not read"
        )
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > 1024 * 1024 and info.file_size > limits.ratio * max(info.compress_size, 1):
            raise _refuse(
                shown,
                "zip-bomb",
                f"part {info.filename} unpacks {info.file_size // max(info.compress_size, 1)} times its packed size; "
                f"the limit is {limits.ratio} (a zip bomb?)",
            )
    if total > limits.uncompressed_bytes:
        raise _refuse(
            shown, "zip-bomb", f"the workbook unpacks to {_mib(total)}; the limit is {_mib(limits.uncompressed_bytes)}"
        )


def read_xlsx(
    path: Path, shown: str | None = None, limits: Limits = LIMITS
) -> tuple[dict[str, Table], list[SheetProblem]]:
    """Every sheet of the workbook by name, and the problems of sheets too large to read."""
    from openpyxl import load_workbook

    shown = shown or path.name
    check_zip(path, shown, limits)
    problems: list[SheetProblem] = []
    formulas: dict[str, set[tuple[int, int]]] = {}
    try:
        # pass 1, streaming: the sizes, and where the formulas are (their text, not their values)
        wb = load_workbook(path, read_only=True, data_only=False)
        for ws in wb.worksheets:
            found = _formulas(ws, Table(shown, ws.title), limits)
            if isinstance(found, SheetProblem):
                problems.append(found)
            else:
                formulas[ws.title] = found
        wb.close()
        # pass 2, whole: values (a formula's cached one) and merged ranges, of the sheets within the limits
        wb = load_workbook(path, read_only=False, data_only=True)
    except UnreadableFile:
        raise
    except Exception as exc:  # openpyxl raises many kinds on a malformed part; all mean the same to the user
        raise _refuse(shown, "not-xlsx", f"not a readable .xlsx workbook: {type(exc).__name__}: {exc}") from None
    tables: dict[str, Table] = {}
    for ws in wb.worksheets:
        if ws.title not in formulas:
            continue
        table = Table(shown, ws.title)
        grid = [list(r) for r in ws.iter_rows(values_only=True)]
        for rng in ws.merged_cells.ranges:
            first = ws.cell(rng.min_row, rng.min_col).value
            for r in range(rng.min_row, min(rng.max_row, len(grid)) + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    row = grid[r - 1]
                    row.extend([None] * (c - len(row)))
                    row[c - 1] = first
        table.formulas = {(r, c) for r, c in formulas[ws.title] if r <= len(grid) and _empty(grid[r - 1][c])}
        table.rows = [(n, row) for n, row in enumerate(grid, 1) if any(not _empty(v) for v in row)]
        tables[ws.title] = table
    wb.close()
    return tables, problems


def _formulas(ws: Any, table: Table, limits: Limits) -> set[tuple[int, int]] | SheetProblem:
    declared_rows, declared_cols = ws.max_row or 0, ws.max_column or 0
    too_big = f"the limits are {limits.rows} rows and {limits.columns} columns; split the sheet"
    if declared_rows > limits.rows or declared_cols > limits.columns:
        return table.problem(
            "too-large", f"the sheet declares {declared_rows} rows and {declared_cols} columns; {too_big}"
        )
    found: set[tuple[int, int]] = set()
    for n, row in enumerate(ws.iter_rows(), 1):
        if n > limits.rows:
            return table.problem("too-large", f"the sheet has more than {limits.rows} rows; {too_big}")
        for cell in row:
            col = getattr(cell, "column", None)
            if col is not None and col > limits.columns:
                return table.problem("too-large", f"the sheet has more than {limits.columns} columns; {too_big}")
            if col is not None and getattr(cell, "data_type", None) == "f":
                found.add((cell.row, col - 1))
    return found


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def decode_csv(raw: bytes, shown: str) -> str:
    """The text of a CSV file saved as UTF-8 (with or without BOM) or GB18030 (Excel and WPS in China)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict")
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _refuse(shown, "encoding", "neither UTF-8 nor GB18030 text; save the sheet as CSV UTF-8 or CSV")


def read_csv(path: Path, shown: str | None = None, limits: Limits = LIMITS) -> Table:
    """One CSV file as a table (its file name is its sheet name)."""
    shown = shown or str(path)
    try:
        size = path.stat().st_size
        if size > limits.file_bytes:
            raise _refuse(
                shown, "too-large", f"the file is {size / 1048576:.1f} MiB; the limit is {_mib(limits.file_bytes)}"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise _refuse(shown, "unreadable", f"cannot read the file: {exc.strerror or exc}") from None
    text = decode_csv(raw, shown)
    table = Table(shown, None)
    try:
        for n, row in enumerate(csv.reader(io.StringIO(text, newline="")), 1):
            if n > limits.rows or len(row) > limits.columns:
                raise _refuse(
                    shown, "too-large", f"more than {limits.rows} rows or {limits.columns} columns; split the file"
                )
            if any(not _empty(v) for v in row):
                table.rows.append((n, list(row)))
    except csv.Error as exc:
        raise _refuse(shown, "not-csv", f"not a readable CSV file: {exc}") from None
    return table
