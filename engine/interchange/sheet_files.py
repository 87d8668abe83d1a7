"""Reading a spreadsheet safely: an .xlsx workbook or CSV files, as plain rows of cell values.

Nothing here trusts the file. An .xlsx is a zip of XML: before openpyxl sees it, its size, its entries'
total uncompressed size, each entry's compression ratio and the size of every part that is not a sheet
are capped (a zip bomb is refused, not unpacked), and openpyxl parses the XML through defusedxml. Sheets
are streamed, never loaded whole: a sheet's rows, columns and merged ranges are capped while it is read
(a sheet over them is skipped and reported), and all sheets together hold at most ``Limits.cells`` cells
and ``Limits.chars`` characters of text (over that the workbook is refused), so a small hostile file
cannot make a large one in memory. Formulas are read as their cached values; a formula Excel never
calculated has none and is reported, never guessed, and an Excel error value (#REF!, #N/A, also a
formula's cached one) is reported at its cell, never read as text. Merged cells give every cell of the
range the value of its first cell (a code merged down a block of material rows belongs to each row). An
encrypted (password-protected) workbook is named as such. CSV files are read as UTF-8 (with or without
a BOM) or GB18030, which is what Excel and WPS on a Chinese system save; a cell that is exactly an Excel
error value (Excel writes #N/A into a CSV) is reported like one in a workbook.

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
    #: every sheet together: cells held (a row counts up to its last value) and characters of their text
    cells: int = 1_000_000
    chars: int = 16_000_000
    #: the largest part other than a sheet (shared strings, styles), unpacked; sheets are streamed
    part_bytes: int = 32 * 1024 * 1024


LIMITS = Limits()
#: what Excel shows (and writes into a CSV) for a formula that failed
EXCEL_ERRORS = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"))


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
    #: (row, column index) -> the Excel error value the cell holds (#REF!, #N/A…; a formula's cached one too)
    errors: dict[tuple[int, int], str] = field(default_factory=dict)

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
        raise _not_zip(path, shown)
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
        if info.file_size > limits.part_bytes and not info.filename.startswith("xl/worksheets/"):
            raise _refuse(
                shown,
                "too-large",
                f"part {info.filename} unpacks to {_mib(info.file_size)}; the limit is {_mib(limits.part_bytes)}",
            )
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


#: the start of an OLE compound file: an .xls, or an .xlsx saved with a password (Excel encrypts it into one)
_OLE = bytes.fromhex("D0CF11E0A1B11AE1")
_ENCRYPTED = "EncryptionInfo".encode("utf-16-le")


def _not_zip(path: Path, shown: str) -> UnreadableFile:
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_OLE))
            raw = fh.read() if head == _OLE else b""
    except OSError as exc:
        return _refuse(shown, "unreadable", f"cannot read the file: {exc.strerror or exc}")
    if head == _OLE and _ENCRYPTED in raw:
        return _refuse(
            shown,
            "encrypted",
            "the workbook is password-protected (encrypted); open it in Excel or WPS, remove the password "
            "and save it again",
        )
    if head == _OLE:
        return _refuse(
            shown,
            "not-xlsx",
            "an old .xls workbook or a password-protected one; open it in Excel or WPS and save it as Excel "
            "Workbook (.xlsx) without a password",
        )
    return _refuse(shown, "not-xlsx", "not an .xlsx workbook (not a zip file); save it as Excel Workbook (.xlsx)")


def read_xlsx(
    path: Path, shown: str | None = None, limits: Limits = LIMITS
) -> tuple[dict[str, Table], list[SheetProblem]]:
    """Every sheet of the workbook by name, and the problems of sheets too large to read.

    Everything is streamed (openpyxl's read-only mode): the workbook is read twice side by side, once
    for the formulas' text and once for their cached values, so a cell's formula and value are seen
    together without holding either sheet; merged ranges are read from the sheet's XML by a SAX parser.
    Nothing larger than the limits is ever held: a sheet over them is skipped (its problem says why)
    and a workbook over the cell budget is refused."""
    from openpyxl import load_workbook

    shown = shown or path.name
    check_zip(path, shown, limits)
    problems: list[SheetProblem] = []
    tables: dict[str, Table] = {}
    budget = _Budget(limits)
    try:
        with zipfile.ZipFile(path) as zf:
            parts = _sheet_parts(zf)
            formulas = load_workbook(path, read_only=True, data_only=False)
            values = load_workbook(path, read_only=True, data_only=True)
            try:
                for fs, vs in zip(formulas.worksheets, values.worksheets, strict=True):
                    table = Table(shown, vs.title)
                    found = _stream(fs, vs, table, limits, budget)
                    if found is None:
                        found = _merge(zf, parts.get(vs.title), table, limits, budget)
                    if found is None:
                        tables[vs.title] = table
                    else:
                        problems.append(found)
                        budget.give_back(table)
                        table.rows.clear()
            finally:
                formulas.close()
                values.close()
    except UnreadableFile:
        raise
    except Exception as exc:  # openpyxl raises many kinds on a malformed part; all mean the same to the user
        raise _refuse(shown, "not-xlsx", f"not a readable .xlsx workbook: {type(exc).__name__}: {exc}") from None
    return tables, problems


class _Budget:
    """What the tables of one workbook may hold together: cells (a row's length up to its last value) and
    characters of text. Over it, the workbook is refused as a whole."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.cells = 0
        self.chars = 0

    def take(self, row: list[Any], table: Table) -> None:
        self.cells += len(row)
        self.chars += sum(len(v) for v in row if isinstance(v, str))
        if self.cells > self.limits.cells or self.chars > self.limits.chars:
            raise _refuse(
                table.file,
                "too-large",
                f"the workbook holds more than {self.limits.cells} cells or {self.limits.chars} characters of "
                "text; split it",
            )

    def give_back(self, table: Table) -> None:
        for _, row in table.rows:
            self.cells -= len(row)
            self.chars -= sum(len(v) for v in row if isinstance(v, str))


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> the zip part of its XML (where its merged ranges are)."""
    from openpyxl.reader.workbook import WorkbookParser

    parser = WorkbookParser(zf, "xl/workbook.xml")
    parser.parse()
    return {sheet.name: rel.target for sheet, rel in parser.find_sheets()}


def _stream(fs: Any, vs: Any, table: Table, limits: Limits, budget: _Budget) -> SheetProblem | None:
    """Read one sheet's rows into ``table``; a problem (and nothing kept) when it is over the limits."""
    declared_rows, declared_cols = vs.max_row or 0, vs.max_column or 0
    too_big = f"the limits are {limits.rows} rows and {limits.columns} columns; split the sheet"
    if declared_rows > limits.rows or declared_cols > limits.columns:
        return table.problem(
            "too-large", f"the sheet declares {declared_rows} rows and {declared_cols} columns; {too_big}"
        )
    # a declared size is not trusted: openpyxl would drop every cell outside it
    fs.reset_dimensions()
    vs.reset_dimensions()
    for n, (frow, vrow) in enumerate(zip(fs.iter_rows(), vs.iter_rows(), strict=True), 1):
        if n > limits.rows:  # its rows are given back to the budget by the caller, then dropped
            return table.problem("too-large", f"the sheet has more than {limits.rows} rows; {too_big}")
        if len(vrow) > limits.columns:
            return table.problem("too-large", f"the sheet has more than {limits.columns} columns; {too_big}")
        row: list[Any] = []
        for fcell, vcell in zip(frow, vrow, strict=True):
            value = getattr(vcell, "value", None)
            col = getattr(vcell, "column", len(row) + 1) - 1
            if getattr(vcell, "data_type", None) == "e":
                table.errors[(n, col)] = str(value)
                value = None
            elif getattr(fcell, "data_type", None) == "f" and _empty(value):
                table.formulas.add((n, col))
            row.extend([None] * (col - len(row)))
            row.append(value)
        while row and _empty(row[-1]):
            row.pop()
        if row:
            budget.take(row, table)
            table.rows.append((n, row))
    return None


def _merge(zf: zipfile.ZipFile, part: str | None, table: Table, limits: Limits, budget: _Budget) -> SheetProblem | None:
    """Give every cell of a merged range its first cell's value (within the rows the sheet has)."""
    if part is None:
        return None
    ranges = _merged_ranges(zf, part, limits)
    if isinstance(ranges, str):
        return table.problem("too-large", ranges)
    by_number = {n: row for n, row in table.rows}
    last = max(by_number, default=0)  # past the last row with a value there is nothing to fill
    for min_col, min_row, max_col, max_row in ranges:
        first_row = by_number.get(min_row, [])
        first = first_row[min_col - 1] if min_col - 1 < len(first_row) else None
        if _empty(first):
            continue
        for r in range(min_row, min(max_row, last) + 1):
            row = by_number.setdefault(r, [])
            grown = max(0, max_col - len(row))
            row.extend([None] * grown)
            for c in range(min_col, max_col + 1):
                row[c - 1] = first
            budget.take([first] * (max_col - min_col + 1 + grown), table)
    table.rows = sorted(by_number.items())
    return None


def _merged_ranges(zf: zipfile.ZipFile, part: str, limits: Limits) -> list[tuple[int, int, int, int]] | str:
    """The sheet's merged ranges as (min col, min row, max col, max row), read by SAX (the sheet is not
    held); a message when one reaches past the limits."""
    from xml.sax.handler import ContentHandler

    import defusedxml.sax
    from openpyxl.utils.cell import range_boundaries

    found: list[tuple[int, int, int, int]] = []

    class Handler(ContentHandler):
        def startElement(self, name: str, attrs: Any) -> None:
            if name.rsplit(":", 1)[-1] != "mergeCell":
                return
            ref = attrs.get("ref", "")
            try:
                min_col, min_row, max_col, max_row = range_boundaries(ref)
            except (ValueError, TypeError):
                raise _Stop(f"a merged range {ref[:40]!r} that is not a range") from None
            if None in (min_col, min_row, max_col, max_row) or max_row > limits.rows or max_col > limits.columns:
                raise _Stop(
                    f"merged range {ref[:40]} reaches past the limits of {limits.rows} rows and "
                    f"{limits.columns} columns; unmerge it"
                )
            if len(found) >= limits.rows:
                raise _Stop(f"the sheet has more than {limits.rows} merged ranges; unmerge them")
            found.append((min_col, min_row, max_col, max_row))

    try:
        with zf.open(part) as fh:
            defusedxml.sax.parse(fh, Handler())
    except _Stop as stop:
        return str(stop)
    return found


class _Stop(Exception):
    pass


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def decode_csv(raw: bytes, shown: str) -> str:
    """The text of a CSV file saved as UTF-8 (with or without BOM) or GB18030 (Excel and WPS in China)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8", errors="strict")
        except UnicodeDecodeError as exc:
            raise _refuse(
                shown, "encoding", f"starts as UTF-8 text but byte {exc.start + 3} is not UTF-8; save it as CSV UTF-8"
            ) from None
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
                table.errors.update({(n, i): v.strip() for i, v in enumerate(row) if v.strip() in EXCEL_ERRORS})
    except csv.Error as exc:
        raise _refuse(shown, "not-csv", f"not a readable CSV file: {exc}") from None
    return table
