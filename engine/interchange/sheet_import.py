"""``yangguang import xlsx|csv``: an 实施清单 spreadsheet into item YAML files, checked before anything is written.

The sheets are read through the column mapping (engine.interchange.sheet_rows); child rows (legal basis,
materials, steps, special procedures, FAQ) join their item by its code; the 扩展（YAML） column lays what a
flat sheet cannot hold over the row. Elements the sheet leaves empty that a guide may leave unstated
become ``not_stated``; nothing else is filled in. The items then stand in for their files in the real
checker (engine.check.pipeline.load with ``replaced``) over the target catalogue, and every finding in them
is reported at the cell or row it was written from. Nothing is written while any error remains, unless
``partial``: then the items without errors are written and the others named.

An item whose code the catalogue has already is rewritten in its own file; a new one goes to
items/<department>/<code in lower case>.yaml. Library code: nothing here prints or exits.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.base.result import Problem
from engine.base.stated import NOT_STATED, NOT_STATED_ELEMENTS
from engine.catalogue import yaml_policy
from engine.catalogue.model import CheckResult
from engine.catalogue.schemas import SCHEMA_DIR
from engine.check.pipeline import load as check_load
from engine.interchange import sheet_fee, sheet_yaml
from engine.interchange.sheet_files import LIMITS, Limits, SheetProblem, Table, read_csv, read_xlsx
from engine.interchange.sheet_keep import carried, keep, leaves
from engine.interchange.sheet_mapping import CHILD_LISTS, Mapping, Sheet, normal
from engine.interchange.sheet_rows import Read, Row, merge, read
from engine.interchange.sheet_values import SHOWN, Departments, quote

#: required elements the sheet must give (the rest of the schema's required ones may be not_stated)
REQUIRED = (
    ("code",),
    ("name",),
    ("type",),
    ("department",),
    ("level",),
    ("applicants",),
    ("time_limit", "legal", "value"),
    ("time_limit", "legal", "unit"),
    ("time_limit", "promised", "value"),
    ("time_limit", "promised", "unit"),
)
_LONG_QUOTE = re.compile("'([^']{" + str(SHOWN + 1) + ",})'")
_MODELINE = re.compile(r"#\s*yaml-language-server:\s*\$schema=(\S+)")


@dataclass
class Source:
    """The spreadsheet as read: its tables by sheet name."""

    file: str
    tables: dict[str, Table]
    problems: list[SheetProblem] = field(default_factory=list)
    csv: bool = False
    #: sheets refused as too large (they are not missing: their problem says why they are not read)
    refused: set[str] = field(default_factory=set)

    def table(self, sheet: Sheet) -> Table | None:
        return next((t for name, t in self.tables.items() if normal(name) == normal(sheet.name)), None)

    def missing(self, sheet: Sheet) -> SheetProblem:
        where = f"{self.file}/{sheet.name}.csv" if self.csv else f"{self.file}!{sheet.name}"
        found = ", ".join([*self.tables, *(f"{n} (too large)" for n in sorted(self.refused))]) or "none"
        return SheetProblem(
            (self.file, sheet.name), where, "missing-sheet", f"no sheet {sheet.name} (the file has: {found})"
        )


def from_xlsx(path: Path, limits: Limits = LIMITS) -> Source:
    tables, problems = read_xlsx(path, path.name, limits)
    return Source(path.name, tables, problems, refused={str(p.order[1]) for p in problems})


def from_csv(paths: list[Path], limits: Limits = LIMITS) -> Source:
    """CSV files, one a sheet, named after it (事项.csv); a directory stands for the .csv files in it."""
    files: list[Path] = []
    for p in paths:
        files += sorted(f for f in p.iterdir() if f.suffix.lower() == ".csv" and f.is_file()) if p.is_dir() else [p]
    shown = str(paths[0]) if len(paths) == 1 and paths[0].is_dir() else str(files[0].parent if files else ".")
    tables = {f.stem: read_csv(f, str(f), limits) for f in files}
    return Source(shown, tables, [], csv=True)


@dataclass
class Built:
    """One item assembled from its rows, and where each part of it came from."""

    code: str
    item: dict[str, Any]
    row: Row
    children: list[Row] = field(default_factory=list)
    #: path of a list entry (("materials", 0), ("time_limit", "legal_basis", 1)) -> the child row it came from
    entry_origin: dict[tuple[Any, ...], Row] = field(default_factory=dict)
    #: child sheets with a row of this item that failed (its list is not reported missing as well)
    failed_lists: set[str] = field(default_factory=set)
    #: dotted paths kept from the existing item file (the sheet does not carry them)
    kept: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    problems: list[SheetProblem]
    #: the files written (with ``write``) or that would be (without)
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    new: int = 0
    rewritten: int = 0
    #: the items sheet has no item rows (only its header)
    no_rows: bool = False
    #: code -> dotted paths kept from its existing file, because the sheet does not carry them
    kept: dict[str, list[str]] = field(default_factory=dict)

    @property
    def errors(self) -> list[SheetProblem]:
        return [p for p in self.problems if not p.warning]


def read_all(source: Source, mapping: Mapping, depts: Departments) -> tuple[dict[str, Read], list[SheetProblem]]:
    reads: dict[str, Read] = {}
    problems = list(source.problems)
    for role, sheet in mapping.sheets.items():
        table = source.table(sheet)
        if table is None:
            if normal(sheet.name) not in {normal(n) for n in source.refused}:
                problems.append(source.missing(sheet))
            continue
        reads[role] = read(table, sheet, depts)
        problems += reads[role].problems
    return reads, problems


def assemble(
    reads: dict[str, Read], mapping: Mapping, finish: bool = True, existing_fee: Callable[[str], Any] | None = None
) -> tuple[dict[str, Built], list[SheetProblem], set[str]]:
    """The items the rows make, the problems of joining them, and the codes of items with a bad row.
    Without ``finish`` the items are left as the rows make them (see ``complete``); ``existing_fee`` gives
    the fee of an item's existing file (engine.interchange.sheet_fee.settle)."""
    problems: list[SheetProblem] = []
    built: dict[str, Built] = {}
    bad: set[str] = set()
    code_col = mapping.sheets["items"].by_key("code")
    for row in reads["items"].rows if "items" in reads else []:
        code = row.data.get("code")
        if not isinstance(code, str):
            problems.append(
                row.problem("missing-value", f"no {code_col.heading if code_col else 'code'}: the row names no item")
            )
            continue
        if code in built:
            first = built[code].row.number
            problems.append(
                row.problem("duplicate-code", f"item {code} is also on row {first}", row.cells.get(("code",)))
            )
            bad.add(code)
            continue
        built[code] = Built(code, copy.deepcopy(row.data), row)
        if row.bad:
            bad.add(code)
    for role, list_key in (("basis", None), *CHILD_LISTS.items()):
        # without an items sheet every child row would be an orphan: its absence is reported once
        for row in reads[role].rows if role in reads and "items" in reads else []:
            problems += _join(row, built, bad, list_key, mapping.sheets[role])
    for b in built.values():
        if b.row.extension:
            merge(b.item, b.row.extension)
    settled, unsettled = sheet_fee.settle_all(built, mapping, existing_fee)
    problems += settled
    bad |= unsettled
    if finish:
        problems += complete(built, mapping, bad)
    return built, problems, bad


def complete(built: dict[str, Built], mapping: Mapping, bad: set[str]) -> list[SheetProblem]:
    """Elements left empty become not_stated; the problems of items that lack a required one."""
    problems = []
    for b in built.values():
        for key in NOT_STATED_ELEMENTS:
            b.item.setdefault(key, NOT_STATED)
        for p in _required(b, mapping):
            problems.append(p)
            bad.add(b.code)
    return problems


def _join(row: Row, built: dict[str, Built], bad: set[str], list_key: str | None, sheet: Sheet) -> list[SheetProblem]:
    link = sheet.by_key("$item")
    heading = link.heading if link else "$item"
    if row.link is None:
        return [row.problem("missing-value", f"no {heading}: the row belongs to no item")]
    owner = built.get(row.link)
    if owner is None:
        return [row.problem("orphan-row", f"{heading} {row.link}: no such item in the items sheet", row.link_col)]
    if row.bad:
        bad.add(owner.code)
        owner.failed_lists.add(sheet.role)
    path: tuple[str, ...] | None = (list_key,) if list_key else row.target
    if path is None:
        list_col = sheet.by_key("$list")
        bad.add(owner.code)
        owner.failed_lists.add(sheet.role)
        if "$list" in row.failed:
            return []  # its cell's problem says it
        return [row.problem("missing-value", f"no {list_col.heading if list_col else '$list'}: which basis is it?")]
    entry = merge(copy.deepcopy(row.data), row.extension or {})
    node: Any = owner.item
    for part in path[:-1]:
        node = node.setdefault(part, {}) if isinstance(node, dict) else None
    found = node.setdefault(path[-1], []) if isinstance(node, dict) else None
    if not isinstance(found, list):
        bad.add(owner.code)
        return [row.problem("bad-value", f"{'.'.join(path)} of item {owner.code} is not a list here")]
    found.append(entry)
    owner.children.append(row)
    owner.entry_origin[(*path, len(found) - 1)] = row
    return []


def _required(b: Built, mapping: Mapping) -> list[SheetProblem]:
    out = []
    sheet = mapping.sheets["items"]
    for path in REQUIRED:
        node: Any = b.item
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if node is None and ".".join(path) not in b.row.failed:
            col = sheet.by_key(".".join(path))
            fill = f"fill in column {col.heading}" if col else "the mapping has no column for it; add one"
            out.append(b.row.problem("missing-value", f"item {b.code} needs {'.'.join(path)}: {fill}"))
    if "basis" not in b.item and "basis" not in b.failed_lists:
        basis = mapping.sheets.get("basis")
        where = f"add a row in sheet {basis.name} for it" if basis else "the mapping has no basis sheet"
        out.append(b.row.problem("missing-value", f"item {b.code} needs its 设定依据 (basis): {where}"))
    return out


def _modeline(root: Path, rel: str) -> str:
    """The modeline a new item file gets: beside the schema center.yaml names, else the engine's schema."""
    depth = rel.count("/")
    try:
        first = (root / "center.yaml").read_text(encoding="utf-8").split("\n", 1)[0]
    except (OSError, UnicodeDecodeError):
        first = ""
    found = _MODELINE.search(first)
    if found and found.group(1).endswith("center.schema.json"):
        target = "../" * depth + found.group(1).removesuffix("center.schema.json") + "item.schema.json"
    else:
        target = Path(os.path.relpath(SCHEMA_DIR / "item.schema.json", (root / rel).parent)).as_posix()
    return f"# yaml-language-server: $schema={target}"


def _files(built: dict[str, Built], before: CheckResult, root: Path) -> dict[str, str]:
    """code -> the file (relative to root) each item goes into."""
    out: dict[str, str] = {}
    taken = {d.file for d in before.catalogue.items.values()}
    for code, b in built.items():
        doc = before.catalogue.items.get(code)
        own = doc.file if doc is not None else before.catalogue.broken_items.get(code)
        if own and not own.startswith("../") and not Path(own).is_absolute():
            out[code] = own
            continue
        slug = re.sub(r"[^a-z0-9-]+", "-", code.lower()).strip("-") or "item"
        dept = str(b.item.get("department", "unknown"))
        rel, n = f"items/{dept}/{slug}.yaml", 1
        while rel in taken or (root / rel).exists():
            n += 1
            rel = f"items/{dept}/{slug}-{n}.yaml"
        taken.add(rel)
        out[code] = rel
    return out


def _texts(
    built: dict[str, Built], files: dict[str, str], root: Path
) -> dict[str, tuple[str, list[sheet_yaml.Origin]]]:
    out = {}
    for code, b in built.items():
        sources = {path: _origin(r) for path, r in b.entry_origin.items()}
        out[code] = sheet_yaml.emit(b.item, _modeline(root, files[code]), _locator(b), sources, _origin(b.row))
    return out


def _locator(b: Built) -> Callable[[tuple[Any, ...]], sheet_yaml.Origin]:
    """Where the part of the item at a path came from: the cell that wrote it, the child row of a list
    entry (at its cell), the row's 扩展（YAML） cell, or else the row."""

    def locate(path: tuple[Any, ...]) -> sheet_yaml.Origin:
        for n in range(len(path), 0, -1):
            row = b.entry_origin.get(path[:n])
            if row is not None:
                return _origin(row, _cell(row, path[n:]))
        return _origin(b.row, _cell(b.row, path))

    return locate


def _cell(row: Row, path: tuple[Any, ...]) -> int | None:
    """The column of the row that wrote ``path`` (or the one value under it), if one did."""
    if not path:
        return None
    for n in range(len(path), 0, -1):
        if path[:n] in row.cells:
            return row.cells[path[:n]]
    under = [i for p, i in row.cells.items() if p[: len(path)] == path]
    if len(under) == 1:
        return under[0]
    node: Any = row.extension
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return row.ext_col if node is not None and not under else None


def _origin(row: Row, col: int | None = None) -> sheet_yaml.Origin:
    p = row.problem("", "", col)
    rw = row.where()
    return sheet_yaml.Origin(p.where, p.order, rw.rsplit("!", 1)[0] + f"!第{row.number}行")


def _check(
    root: Path, built: dict[str, Built], files: dict[str, str], before: CheckResult
) -> tuple[list[SheetProblem], set[str], dict[str, str]]:
    """The checker's findings in the would-be catalogue, on the cells; the codes with errors; the texts.

    A finding elsewhere that only says an imported item with errors of its own is left out (a material
    it produces, a chain stage it is in) is dropped: the item's own errors say it, once."""
    texts = _texts(built, files, root)
    by_file = {files[c]: c for c in built}
    replaced = {files[c]: t.encode("utf-8") for c, (t, _) in texts.items()}
    after = check_load(root, None, full=True, replaced=replaced)
    seen = {(p.file, p.kind, p.message) for p in before.problems}
    problems: list[SheetProblem] = []
    bad = {by_file[p.file] for p in after.problems if p.is_error and p.file in by_file and not _echo(p, set(built))}
    for p in after.problems:
        if _echo(p, bad):
            continue
        code = by_file.get(p.file)
        if code is not None:
            lines = texts[code][1]
            o = lines[min(max(p.line, 1), len(lines)) - 1]
            message = _LONG_QUOTE.sub(lambda m: quote(m[1]), p.message)  # the checker echoes values whole
            problems.append(
                SheetProblem(o.order, o.where, p.kind, f"{message} [{p.file}:{p.line}]", warning=not p.is_error)
            )
        elif (p.file, p.kind, p.message) not in seen and p.is_error:
            problems.append(SheetProblem(("~", p.file, p.line), f"{p.file}:{p.line}:{p.column}", p.kind, p.message))
            bad.add("")  # a new problem elsewhere: no item to blame, so no partial write saves it
    return problems, bad, {files[c]: t for c, (t, _) in texts.items()}


def _echo(p: Problem, codes: set[str]) -> bool:
    """Whether ``p`` only says that one of ``codes`` is left out for errors of its own."""
    return p.kind == "unknown-item" and any(no_item_message(c) in p.message for c in codes)


def no_item_message(code: str) -> str:
    return f"item {code!r} ("


def _existing(root: Path, rel: str) -> dict[str, Any] | None:
    try:
        parsed = yaml_policy.parse((root / rel).read_bytes())
    except OSError:
        return None
    return parsed.data if parsed.ok and isinstance(parsed.data, dict) else None


def _fee_before(before: CheckResult, code: str) -> Any:
    """The fee of the item ``code`` in the catalogue before the import (None: a new item)."""
    doc = before.catalogue.items.get(code)
    return before.catalogue.data(doc).get("fee") if doc is not None else None


def _keep(built: dict[str, Built], files: dict[str, str], before: CheckResult, root: Path, mapping: Mapping) -> None:
    """Lay into each item the parts of its existing file the sheet does not carry (engine.interchange.sheet_keep)."""
    said = carried(mapping)
    for code, b in built.items():
        own = before.catalogue.items.get(code) is not None or code in before.catalogue.broken_items
        existing = _existing(root, files[code]) if own else None
        if existing is not None:
            b.kept = keep(existing, b.item, said | leaves(b.row.extension or {}))


def import_items(source: Source, root: Path, mapping: Mapping, partial: bool = False, write: bool = True) -> Outcome:
    """Read, assemble, check and (when nothing blocks it) write the items of ``source`` into ``root``."""
    before = check_load(root, None, full=True)
    depts = Departments(before.catalogue.center)
    reads, problems = read_all(source, mapping, depts)
    built, joined, bad = assemble(reads, mapping, finish=False, existing_fee=lambda code: _fee_before(before, code))
    _keep(built, _files(built, before, root), before, root, mapping)
    problems += joined + complete(built, mapping, bad)
    no_rows = "items" in reads and not reads["items"].rows
    if any(not p.warning for p in source.problems) or (not partial and any(not p.warning for p in problems)):
        return Outcome(sorted(problems), no_rows=no_rows)
    if not built:
        return Outcome(sorted(problems), no_rows=no_rows)
    skipped = set(bad)
    files: dict[str, str] = {}
    checked: list[SheetProblem] = []
    for _ in range(3):  # with partial: skipping an item can break another that needs it; look again
        keep_ = {c: b for c, b in built.items() if c not in skipped}
        files = _files(keep_, before, root)
        found, broken, texts = _check(root, keep_, files, before)
        checked += [p for p in found if p not in checked]
        if not partial or not broken or "" in broken:
            break
        skipped |= broken
    outcome = Outcome(sorted(problems + checked), skipped=sorted(skipped) if partial else [])
    if broken or (not partial and outcome.errors):
        return outcome
    for code in keep_:
        if write:
            target = root / files[code]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(texts[files[code]], encoding="utf-8")
        outcome.written.append(files[code])
        if built[code].kept:
            outcome.kept[code] = built[code].kept
        if before.catalogue.items.get(code) is not None or code in before.catalogue.broken_items:
            outcome.rewritten += 1
        else:
            outcome.new += 1
    return outcome
