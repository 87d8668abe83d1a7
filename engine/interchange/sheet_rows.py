"""One sheet's rows read through its mapping: the header found by its headings, each row's cells turned
into a partial item (or list entry) with the cell each value came from, and every problem located.

Columns are found by heading, never by position; the header is the row (of the first ten) with the
most of the mapping's headings, unless the mapping names it. A cell that says 未说明 in a column of an
element the schema lets a guide leave unstated (engine.base.stated) records that element as
``not_stated``. Export reads its own rows back through ``read`` too, so what it writes is what import
reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.base.stated import NOT_STATED, NOT_STATED_ELEMENTS
from engine.interchange.sheet_files import SheetProblem, Table
from engine.interchange.sheet_mapping import Column, Sheet, normal
from engine.interchange.sheet_values import BadValue, Departments, quote, text, to_item

NOT_STATED_WORD = "未说明"
#: column types whose cell is text as written (a date there is most likely Excel's guess, not the text)
TEXT_TYPES = ("text", "lines", "text_or_lines")
HEADER_SEARCH = 10


@dataclass
class Row:
    """One row read: ``data`` is the entry the columns build; ``cells`` is where each key path came from."""

    table: Table
    number: int
    data: dict[str, Any] = field(default_factory=dict)
    cells: dict[tuple[str, ...], int] = field(default_factory=dict)  # path -> column index
    link: str | None = None  # $item: the item code a child row belongs to
    link_col: int | None = None
    target: tuple[str, ...] | None = None  # $list: which basis list (a path into the item)
    extension: dict[str, Any] | None = None
    ext_col: int | None = None
    bad: bool = False  # a problem in this row's own cells
    failed: set[str] = field(default_factory=set)  # keys of the cells with a problem (not reported as missing)

    def where(self, col: int | None = None) -> str:
        return self.table.where(self.number, col)

    def problem(self, kind: str, message: str, col: int | None = None, **kw: Any) -> SheetProblem:
        return self.table.problem(kind, message, self.number, col, **kw)


@dataclass
class Read:
    rows: list[Row]
    problems: list[SheetProblem]
    #: normalised heading -> column index, of the mapping's columns that the sheet has
    columns: dict[str, int]


def find_header(table: Table, sheet: Sheet) -> tuple[int, list[Any]] | None:
    wanted = {normal(c.heading) for c in sheet.columns}
    candidates = [(n, r) for n, r in table.rows if sheet.header_row in (None, n)][:HEADER_SEARCH]
    best = max(candidates, key=lambda nr: sum(normal(text(v) or "") in wanted for v in nr[1]), default=None)
    if best is None or not any(normal(text(v) or "") in wanted for v in best[1]):
        return None
    return best


def read(table: Table, sheet: Sheet, depts: Departments) -> Read:
    problems: list[SheetProblem] = []
    header = find_header(table, sheet)
    if header is None:
        first = "、".join(c.heading for c in sheet.columns[:4])
        problems.append(
            table.problem("missing-column", f"no header row: none of the first rows has the headings {first}…")
        )
        return Read([], problems, {})
    head_row, head = header
    at: dict[str, int] = {}
    for i, v in enumerate(head):
        word = text(v)
        if word is None:
            continue
        if normal(word) in at:
            problems.append(table.problem("duplicate-column", f"heading {quote(word)} is in two columns", head_row, i))
        at.setdefault(normal(word), i)
    known = {normal(c.heading) for c in sheet.columns}
    for h, i in at.items():
        if h not in known:
            problems.append(
                table.problem(
                    "unknown-heading",
                    f"column {quote(text(head[i]))} is not in the mapping; ignored",
                    head_row,
                    i,
                    warning=True,
                )
            )
    for c in sheet.columns:
        if normal(c.heading) not in at:
            problems.append(table.problem("missing-column", f"no column {c.heading} ({c.key})", head_row))
    cols = [(c, at[normal(c.heading)]) for c in sheet.columns if normal(c.heading) in at]
    rows = []
    for number, values in table.rows:
        if number <= head_row:
            continue
        row = Row(table, number)
        problems.extend(_cells(row, sheet, cols, values, depts))
        for key, value in sheet.fixed:
            _fixed(row.data, tuple(key.split(".")), value)
        rows.append(row)
    return Read(rows, problems, at)


def _unreadable(row: Row, i: int) -> str | None:
    """Why the cell in column ``i`` of ``row`` has no value to read, or None when it has one."""
    if (row.number, i) in row.table.formulas:
        return (
            "a formula with no saved value; open the file in Excel or WPS, recalculate and save it "
            "(or paste the cells as values)"
        )
    if (row.number, i) in row.table.errors:
        return (
            f"the cell shows the Excel error {row.table.errors[(row.number, i)]}, not a value; "
            "correct the formula or type the value"
        )
    return None


def _cells(
    row: Row, sheet: Sheet, cols: list[tuple[Column, int]], values: list[Any], depts: Departments
) -> Iterator[SheetProblem]:
    for col, i in cols:
        raw = values[i] if i < len(values) else None
        unreadable = _unreadable(row, i)
        if unreadable:  # a formula with no saved value, or an Excel error: the cell holds no value to read
            row.bad = True
            row.failed.add(col.key)
            yield row.problem("formula", f"{col.heading}: {unreadable}", i)
            continue
        word = text(raw)
        if word is None:
            continue
        if isinstance(raw, dt.date) and col.type in TEXT_TYPES and not col.values:
            yield row.problem(
                "date-as-text",
                f"{col.heading}: the cell is a date, read as the text {word}; if that is not what it says, "
                "format the cell as text and type it again",
                i,
                warning=True,
            )
        try:
            problem = _put(row, sheet, col, i, raw, word, depts)
        except BadValue as exc:
            problem = row.problem("bad-value", f"{col.heading}: {exc}", i)
        except LookupError:
            problem = row.problem(
                "unknown-department",
                f"{col.heading}: no department {quote(word)} in center.yaml (give its id or name)",
                i,
            )
        if problem is not None:
            row.bad = True
            row.failed.add(col.key)
            yield problem


def _put(row: Row, sheet: Sheet, col: Column, i: int, raw: Any, word: str, depts: Departments) -> SheetProblem | None:
    if col.key == "$item":
        row.link, row.link_col = word, i
        return None
    if col.key == "$list":
        row.target = tuple(str(to_item(col, raw, depts)).split("."))
        return None
    if col.key == "$extension":
        row.extension, row.ext_col = to_item(col, raw, depts), i
        return None
    path = col.path
    if sheet.role == "items" and word == NOT_STATED_WORD and path[0] in NOT_STATED_ELEMENTS:
        path, value = path[:1], NOT_STATED
    else:
        value = to_item(col, raw, depts)
    return _set(row, path, value, i, col)


def _set(row: Row, path: tuple[str, ...], value: Any, i: int, col: Column) -> SheetProblem | None:
    node = row.data
    for depth, part in enumerate(path[:-1]):
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            return row.problem("bad-value", f"{col.heading}: conflicts with {_heading_at(row, path[: depth + 1])}", i)
        node = nxt
    if path[-1] in node:
        return row.problem("bad-value", f"{col.heading}: conflicts with {_heading_at(row, path)}", i)
    node[path[-1]] = value
    row.cells[path] = i
    return None


def _fixed(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """A mapping's fixed value, where the row's columns leave room for it."""
    for part in path[:-1]:
        data = data.setdefault(part, {})
        if not isinstance(data, dict):
            return
    data.setdefault(path[-1], value)


def _heading_at(row: Row, prefix: tuple[str, ...]) -> str:
    for path, i in row.cells.items():
        if path[: len(prefix)] == prefix or prefix[: len(path)] == path:
            return f"column {row.table.where(row.number, i).rsplit('!', 1)[-1]}"
    return "another column"


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` laid over ``base``: mappings merge key by key, anything else replaces."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


def leftover(original: dict[str, Any], rebuilt: dict[str, Any]) -> dict[str, Any] | None:
    """What must be laid over ``rebuilt`` (with ``merge``) to give ``original`` back; None when no overlay
    can (``rebuilt`` has a key ``original`` lacks)."""
    if any(k not in original for k in rebuilt):
        return None
    out: dict[str, Any] = {}
    for key, value in original.items():
        if key in rebuilt and rebuilt[key] == value:
            continue
        if isinstance(value, dict) and isinstance(rebuilt.get(key), dict):
            sub = leftover(value, rebuilt[key])
            if sub is None:
                return None
            out[key] = sub
        else:
            out[key] = value
    return out
