"""``yangguang export xlsx``: the catalogue's items as an 实施清单 workbook, in the layout import reads.

Each sheet of the mapping gets its header (styled, frozen, columns sized to their text) and one row per
item or list entry. What the columns cannot hold — a duration's note, a material required on a
condition, the application form — goes into the row's 扩展（YAML） cell: export reads its own rows back
through the importer's code (engine.interchange.sheet_rows, sheet_import.assemble) and writes there
exactly what the columns lost, so export → import gives the same items. Values are written as values,
never formulas (text that starts with = stays text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.base.stated import NOT_STATED
from engine.catalogue.model import Catalogue
from engine.interchange import sheet_fee
from engine.interchange.sheet_files import Table
from engine.interchange.sheet_import import assemble
from engine.interchange.sheet_mapping import CHILD_LISTS, Column, Mapping, Sheet
from engine.interchange.sheet_rows import NOT_STATED_WORD, leftover, read
from engine.interchange.sheet_values import Departments, to_cell

MAX_CELL = 32_767  # Excel's limit on one cell's text


@dataclass
class Exported:
    items: int = 0
    rows: dict[str, int] = field(default_factory=dict)  # sheet name -> data rows
    #: codes whose data the layout cannot carry exactly (a mapping without an extension column)
    inexact: list[str] = field(default_factory=list)


def _get(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _row(sheet: Sheet, entry: dict[str, Any], depts: Departments, fixed: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    said: set[str] = set()
    for col in sheet.columns:
        if col.key in fixed:
            out.append(fixed[col.key])
        elif col.key == "$extension":
            out.append(None)
        elif sheet.role == "items" and entry.get(col.path[0]) == NOT_STATED:
            out.append(NOT_STATED_WORD if col.path[0] not in said else None)
            said.add(col.path[0])
        else:
            out.append(to_cell(col, _get(entry, col.path), depts))
    return out


def _grids(mapping: Mapping, depts: Departments, items: list[dict[str, Any]]) -> dict[str, list[list[Any]]]:
    """Each sheet's rows, header first."""
    grids: dict[str, list[list[Any]]] = {role: [[c.heading for c in s.columns]] for role, s in mapping.sheets.items()}
    for item in items:
        code = item["code"]
        grids["items"].append(_row(mapping.sheets["items"], sheet_fee.shown(item), depts, {}))
        for role, entries in _children(item, mapping):
            for label, entry in entries:
                fixed = {"$item": code, "$list": label}
                grids[role].append(_row(mapping.sheets[role], entry, depts, fixed))
    return grids


def _children(item: dict[str, Any], mapping: Mapping) -> list[tuple[str, list[tuple[Any, dict[str, Any]]]]]:
    out: list[tuple[str, list[tuple[Any, dict[str, Any]]]]] = []
    basis = mapping.sheets.get("basis")
    if basis is not None:
        list_col = basis.by_key("$list")
        found = []
        for label, target in (list_col.values if list_col else {}).items():
            entries = _get(item, tuple(str(target).split(".")))
            if isinstance(entries, list) and all(isinstance(e, dict) for e in entries):
                found += [(label, e) for e in entries]
        out.append(("basis", found))
    for role, key in CHILD_LISTS.items():
        if role in mapping.sheets:
            entries = item.get(key)
            ok = isinstance(entries, list) and all(isinstance(e, dict) for e in entries)
            out.append((role, [(None, e) for e in entries] if ok else []))  # type: ignore[union-attr]
    return out


def _tables(grids: dict[str, list[list[Any]]], mapping: Mapping, name: str) -> dict[str, Table]:
    out = {}
    for role, grid in grids.items():
        sheet_name = mapping.sheets[role].name
        out[sheet_name] = Table(name, sheet_name, [(n, list(r)) for n, r in enumerate(grid, 1)])
    return out


def _ext_col(sheet: Sheet) -> int | None:
    return next((i for i, c in enumerate(sheet.columns) if c.key == "$extension"), None)


def _extend(
    grids: dict[str, list[list[Any]]], mapping: Mapping, depts: Departments, items: list[dict[str, Any]], name: str
) -> list[str]:
    """Fill each row's extension cell with what its columns lose; the codes that stay inexact."""
    inexact: set[str] = set()
    originals: dict[str, list[tuple[str, dict[str, Any]]]] = {role: [] for role in grids}
    for item in items:
        originals["items"].append((item["code"], item))
        for role, entries in _children(item, mapping):
            originals[role] += [(item["code"], e) for _, e in entries]
    for role in [r for r in grids if r != "items"]:
        sheet = mapping.sheets[role]
        rows = read(_tables(grids, mapping, name)[sheet.name], sheet, depts).rows
        for n, (row, (code, entry)) in enumerate(zip(rows, originals[role], strict=True), 1):
            _fill(grids[role][n], sheet, row.data, entry, code, inexact, depts)
    sheet = mapping.sheets["items"]
    reads = {role: read(t, mapping.sheets[role], depts) for role, t in _by_role(grids, mapping, name).items()}
    built = assemble(reads, mapping)[0]
    for n, (code, item) in enumerate(originals["items"], 1):
        if code in built:
            _fill(grids["items"][n], sheet, built[code].item, item, code, inexact, depts)
    return sorted(inexact)


def _by_role(grids: dict[str, list[list[Any]]], mapping: Mapping, name: str) -> dict[str, Table]:
    tables = _tables(grids, mapping, name)
    return {role: tables[mapping.sheets[role].name] for role in grids}


def _fill(
    cells: list[Any],
    sheet: Sheet,
    rebuilt: dict[str, Any],
    original: dict[str, Any],
    code: str,
    inexact: set[str],
    depts: Departments,
) -> None:
    extra = leftover(original, rebuilt)
    col = _ext_col(sheet)
    if extra is None or (extra and col is None):
        inexact.add(code)
        return
    if extra and col is not None:
        cells[col] = to_cell(Column("", "$extension", "yaml"), extra, depts)


def export(cat: Catalogue, mapping: Mapping, out: Path) -> Exported:
    """Write ``cat``'s items to ``out`` (an .xlsx file)."""
    depts = Departments(cat.center)
    docs = sorted(cat.items.values(), key=lambda d: (str(d.data.get("department")), d.data["code"]))
    items = [d.data for d in docs]
    grids = _grids(mapping, depts, items)
    inexact = _extend(grids, mapping, depts, items, out.name)
    # read back what would be written: the same items, or the export says which are not
    reads = {role: read(t, mapping.sheets[role], depts) for role, t in _by_role(grids, mapping, out.name).items()}
    built = assemble(reads, mapping)[0]
    inexact = sorted(set(inexact) | {i["code"] for i in items if i["code"] not in built or built[i["code"]].item != i})
    _write(grids, mapping, out)
    return Exported(len(items), {mapping.sheets[r].name: len(g) - 1 for r, g in grids.items()}, inexact)


def _width(value: Any) -> int:
    lines = str(value).split("\n") if value is not None else [""]
    return max(sum(2 if ord(ch) > 0x2E7F else 1 for ch in ln) for ln in lines)


def _write(grids: dict[str, list[list[Any]]], mapping: Mapping, out: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    wrap = Alignment(wrap_text=True, vertical="top")
    for role, grid in grids.items():
        ws = wb.create_sheet(mapping.sheets[role].name)
        for r, values in enumerate(grid, 1):
            for c, value in enumerate(values, 1):
                if value is None:
                    continue
                if isinstance(value, str) and len(value) > MAX_CELL:
                    raise ValueError(
                        f"{mapping.sheets[role].name} row {r}: a cell longer than Excel's {MAX_CELL} characters"
                    )
                cell = ws.cell(r, c, value)
                if isinstance(value, str) and value.startswith("="):
                    cell.data_type = "s"  # text, never a formula
                if r == 1:
                    cell.font, cell.fill = bold, fill
                elif isinstance(value, str) and "\n" in value:
                    cell.alignment = wrap
        for c in range(1, len(grid[0]) + 1):
            widest = max(_width(row[c - 1]) if c - 1 < len(row) else 0 for row in grid[:200])
            ws.column_dimensions[get_column_letter(c)].width = min(max(widest + 2, 8), 60)
        ws.freeze_panes = "B2"
    wb.save(out)
