"""The column mapping of an 实施清单 spreadsheet: which sheet and heading holds which item element.

A mapping is a YAML file (engine/interchange/mappings/national.yaml is the default, with the national
element names). A county's file may say ``extends: national`` (or a path to another mapping) and then
rename sheets (``name``), rename or drop inherited headings (``rename``, ``drop``), replace a sheet's
whole column list (``columns``, which also reorders them) or leave a sheet out (``omit: true``). The file
is checked against mappings/mapping.schema.json (draft-07) and against itself (a value table that does not
exist, a heading written twice); every problem carries its line. Library code: raises MappingError.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from engine.catalogue import yaml_policy

MAPPINGS_DIR = Path(__file__).parent / "mappings"
NATIONAL = "national"
#: sheet roles, in the order they are read and written; every role but ``items`` is a child sheet
#: whose rows are entries of one of the item's lists, linked by the ``$item`` column
ROLES = ("items", "basis", "materials", "steps", "special_procedures", "faq")
#: child role -> the item's list its rows fill (``basis`` rows name their list in the ``$list`` column)
CHILD_LISTS = {"materials": "materials", "steps": "steps", "special_procedures": "special_procedures", "faq": "faq"}
#: types whose cell text is turned into a value by a value table
TYPES = ("text", "integer", "boolean", "date", "lines", "text_or_lines", "department", "departments", "yaml")
DEFAULT_BOOLEAN = {"是": True, "否": False}
_KEY = re.compile(r"[a-z_]+(\.[a-z_]+)*")
#: keys written the older way -> the key they mean (是否收费 was ``key: fee`` before the sheet held every
#: kind of fee; it is the ``fee.free`` of engine.interchange.sheet_fee)
ALIASES = {"fee": "fee.free"}
MAX_DEPTH = 5  # extends chains this long are surely a loop by another name


class MappingError(Exception):
    """A mapping file that cannot be used; ``problems`` are ``file:line:column: message`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Column:
    heading: str
    key: str
    type: str = "text"
    #: label in the sheet -> value in the item (empty: the cell's own text)
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.key.split("."))


@dataclass(frozen=True)
class Sheet:
    role: str
    name: str
    columns: tuple[Column, ...]
    header_row: int | None = None
    #: key -> value given by the mapping for every row (the sheet has no column for it)
    fixed: tuple[tuple[str, Any], ...] = ()

    def by_key(self, key: str) -> Column | None:
        return next((c for c in self.columns if c.key == key), None)


@dataclass(frozen=True)
class Mapping:
    name: str
    sheets: dict[str, Sheet]  # role -> sheet, only the sheets the spreadsheet has
    source: str
    #: value tables by name (a mapping that extends this one names them)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)


def normal(heading: str) -> str:
    """A heading as compared: no whitespace or line breaks, full-width brackets as ASCII (Excel users
    wrap long headings onto two lines and mix （） with ())."""
    text = "".join(str(heading).split())
    return text.replace("（", "(").replace("）", ")")


@cache
def _schema() -> dict[str, Any]:
    with open(MAPPINGS_DIR / "mapping.schema.json", encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def _read(path: Path, shown: str) -> dict[str, Any]:
    """The file's data, valid against the mapping schema; MappingError with each problem's line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MappingError([f"{shown}: cannot read the mapping file: {exc.strerror or exc}"]) from None
    parsed = yaml_policy.parse(raw)
    if not parsed.ok:
        raise MappingError([f"{shown}:{e.line}:{e.column}: {e.message}" for e in parsed.errors])
    from jsonschema import Draft7Validator

    text = raw.decode("utf-8", errors="replace")
    problems = []
    for err in sorted(Draft7Validator(_schema()).iter_errors(parsed.data), key=lambda e: list(map(str, e.path))):
        line, col = yaml_policy.locate(text, tuple(err.absolute_path))
        where = ".".join(str(p) for p in err.absolute_path) or "(top)"
        problems.append(f"{shown}:{line}:{col}: {where}: {err.message}")
    if problems:
        raise MappingError(problems)
    data: dict[str, Any] = parsed.data
    data["__text__"] = text
    return data


def _columns(sheet: dict[str, Any], inherited: tuple[Column, ...], tables: dict[str, dict[str, Any]]) -> list[Column]:
    if "columns" in sheet:
        cols = [
            Column(
                c["heading"],
                ALIASES.get(c["key"], c["key"]),
                c.get("type", "text"),
                dict(tables.get(c.get("values", ""), {})),
            )
            for c in sheet["columns"]
        ]
    else:
        cols = list(inherited)
    renamed = {normal(k): v for k, v in sheet.get("rename", {}).items()}
    dropped = {normal(h) for h in sheet.get("drop", [])}
    return [
        Column(renamed.get(normal(c.heading), c.heading), c.key, c.type, c.values)
        for c in cols
        if normal(c.heading) not in dropped
    ]


def _self_check(data: dict[str, Any], base: Mapping | None, tables: dict[str, Any], shown: str) -> list[str]:
    """Problems JSON Schema cannot see: unknown value tables, headings renamed or dropped that the
    inherited sheet does not have, a heading or key written twice, a sheet without its link column."""
    text, problems = data["__text__"], []

    def at(path: tuple[Any, ...], message: str) -> None:
        line, col = yaml_policy.locate(text, path)
        problems.append(f"{shown}:{line}:{col}: {message}")

    for role, sheet in data.get("sheets", {}).items():
        inherited = base.sheets.get(role) if base else None
        known = {normal(c.heading) for c in inherited.columns} if inherited else set()
        for i, col in enumerate(sheet.get("columns", [])):
            if col.get("values") and col["values"] not in tables:
                at(("sheets", role, "columns", i, "values"), f"no value table {col['values']!r} under values")
        for what in ("rename", "drop"):
            names = sheet.get(what, {}) if what == "rename" else sheet.get(what, [])
            for heading in names:
                if normal(heading) not in known:
                    at(("sheets", role, what), f"{what}: the inherited {role} sheet has no column {heading!r}")
    return problems


def load(path: Path | None = None, shown: str | None = None, depth: int = 0) -> Mapping:
    """The mapping in ``path`` (None: the national default), with what it extends applied."""
    if path is None:
        path, shown = MAPPINGS_DIR / f"{NATIONAL}.yaml", NATIONAL
    shown = shown or str(path)
    data = _read(path, shown)
    base: Mapping | None = None
    if "extends" in data:
        if depth >= MAX_DEPTH:
            raise MappingError([f"{shown}: extends goes {MAX_DEPTH} mappings deep; is it a loop?"])
        target = data["extends"]
        base = load(None, None, depth + 1) if target == NATIONAL else load(path.parent / target, None, depth + 1)
    tables = {k: dict(v) for k, v in (base.tables if base else {}).items()}
    tables.update(data.get("values", {}))
    problems = _self_check(data, base, tables, shown)
    sheets: dict[str, Sheet] = {}
    given = data.get("sheets", {})
    for role in ROLES:
        inherited = base.sheets.get(role) if base else None
        spec = given.get(role)
        if spec is None and inherited is None:
            continue
        spec = spec or {}
        if spec.get("omit"):
            continue
        columns = _columns(spec, inherited.columns if inherited else (), tables)
        name = spec.get("name") or (inherited.name if inherited else role)
        header_row = spec.get("header_row") or (inherited.header_row if inherited else None)
        fixed = dict(inherited.fixed if inherited else ())
        fixed.update(spec.get("fixed", {}))
        sheets[role] = Sheet(role, name, tuple(columns), header_row, tuple(fixed.items()))
        problems += _sheet_problems(sheets[role], data["__text__"], shown)
    if "items" not in sheets:
        problems.append(f"{shown}: the mapping needs an items sheet (one row per item)")
    if problems:
        raise MappingError(problems)
    return Mapping(str(data.get("name") or shown), sheets, shown, tables)


def _sheet_problems(sheet: Sheet, text: str, shown: str) -> list[str]:
    problems = []
    line, col = yaml_policy.locate(text, ("sheets", sheet.role))
    seen: dict[str, str] = {}
    for c in sheet.columns:
        h = normal(c.heading)
        if h in seen:
            problems.append(f"{shown}:{line}:{col}: sheet {sheet.name}: heading {c.heading!r} is written twice")
        seen[h] = c.key
        if c.key == "$list" and sheet.role != "basis":
            problems.append(f"{shown}:{line}:{col}: sheet {sheet.name}: $list belongs in the basis sheet only")
        if c.key in ("$item", "$list") and sheet.role == "items":
            problems.append(f"{shown}:{line}:{col}: sheet {sheet.name}: {c.key} belongs in the child sheets")
        if c.key == "$extension" and c.type != "yaml":
            problems.append(f"{shown}:{line}:{col}: sheet {sheet.name}: column {c.heading}: $extension needs type yaml")
        if c.key == "$list" and not c.values:
            problems.append(
                f"{shown}:{line}:{col}: sheet {sheet.name}: column {c.heading}: $list needs values: a value table "
                "from the words in the sheet to the item's lists (as basis_list in the national mapping)"
            )
        lists = c.values.values() if c.key == "$list" else ()
        bad = [v for v in lists if not (isinstance(v, str) and _KEY.fullmatch(v))]
        if bad:
            problems.append(
                f"{shown}:{line}:{col}: sheet {sheet.name}: column {c.heading}: $list values must name lists of the "
                f"item (as time_limit.legal_basis), not {bad[0]!r}"
            )
    keys = [c.key for c in sheet.columns if c.key != "$extension"]
    if len(set(keys)) != len(keys):
        twice = sorted({k for k in keys if keys.count(k) > 1})
        problems.append(f"{shown}:{line}:{col}: sheet {sheet.name}: key {', '.join(twice)} has two columns")
    need = ("code",) if sheet.role == "items" else ("$item", "$list") if sheet.role == "basis" else ("$item",)
    for key in need:
        if key not in keys:
            problems.append(f"{shown}:{line}:{col}: sheet {sheet.name} needs a column with key {key}")
    return problems
