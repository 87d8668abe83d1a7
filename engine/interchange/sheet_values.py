"""Cell values to item values and back, one column type at a time (engine.interchange.sheet_mapping).

Import is forgiving where a spreadsheet is sloppy in ways people cannot see — trailing spaces, numbers
stored as text or as ``10.0``, full-width digits, dates as Excel dates or as 2024/1/5 or 2024年1月5日,
TRUE for 是 — and strict where a guess would invent data: a label not in the column's value table is
an error listing the labels it knows. Export writes what import reads back to the same value.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from engine.catalogue import yaml_policy
from engine.interchange.sheet_mapping import DEFAULT_BOOLEAN, Column
from engine.interchange.sheet_yaml import dump

#: separators of a list of labels in one cell (free text lists are one entry a line)
_LABEL_SPLIT = re.compile(r"[\n、，,；;]+")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


SHOWN = 40  # a value longer than this is cut short in a message (a 40,000-character cell is not repeated)


def quote(value: Any) -> str:
    """A cell's value as a message shows it: quoted, cut short when long."""
    word = str(value)
    return repr(word if len(word) <= SHOWN else word[:SHOWN] + f"… ({len(word)} characters)")


class BadValue(Exception):
    """The cell cannot be read as its column's type; the message says what it holds and what it needs."""


class Departments:
    """The catalogue's departments, found by id, full name or short name; exported by full name."""

    def __init__(self, center: Mapping[str, Any] | None) -> None:
        self.by_label: dict[str, str] = {}
        self.names: dict[str, str] = {}
        for dept in (center or {}).get("departments", []) or []:
            dept_id = str(dept.get("id"))
            for label in (dept_id, dept.get("name"), dept.get("short_name")):
                if isinstance(label, str):
                    self.by_label.setdefault(label.strip(), dept_id)
            if isinstance(dept.get("name"), str):
                self.names[dept_id] = dept["name"]
        counts: dict[str, int] = {}
        for name in self.names.values():
            counts[name] = counts.get(name, 0) + 1
        # a name two departments share cannot name either
        self.names = {k: v for k, v in self.names.items() if counts[v] == 1}

    def lookup(self, label: str) -> str | None:
        return self.by_label.get(label.strip())

    def label(self, dept_id: str) -> str:
        return self.names.get(dept_id, dept_id)


def text(value: Any) -> str | None:
    """A cell as trimmed text; None when empty. ``12345.0`` (a phone number Excel stored as a number) is
    ``12345``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date() if value.time() == dt.time() else value
    if isinstance(value, dt.date):
        return value.isoformat()
    found = str(value).strip()
    return found or None


def _label(col: Column, word: str) -> Any:
    table = col.values or (DEFAULT_BOOLEAN if col.type == "boolean" else {})
    if word in table:
        return table[word]
    folded = {str(k).strip(): v for k, v in table.items()}
    if word in folded:
        return folded[word]
    if col.type != "integer" and word in {str(v) for v in table.values()}:
        return next(v for v in table.values() if str(v) == word)  # the item's own value (license) is fine too
    if col.type == "boolean" and word.lower() in ("true", "false"):
        return word.lower() == "true"
    if col.type == "integer":
        return _integer(word)
    raise BadValue(f"{quote(word)} is not one of {'、'.join(map(str, table))}")


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise BadValue(f"{quote(value)} is not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise BadValue(f"{quote(value)} is not a whole number")
    word = unicodedata.normalize("NFKC", str(value)).strip()
    if re.fullmatch(r"[-+]?\d+(\.0+)?", word):
        return int(float(word)) if "." in word else int(word)
    raise BadValue(f"{quote(str(value).strip())} is not a whole number")


def _date(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return (value.date() if isinstance(value, dt.datetime) else value).isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        from openpyxl.utils.datetime import from_excel

        try:
            found = from_excel(value)
        except (ValueError, OverflowError, TypeError):
            raise BadValue(f"{quote(value)} is not a date") from None
        return _date(found)
    word = unicodedata.normalize("NFKC", str(value)).strip()
    m = _DATE.fullmatch(word)
    if not m:
        raise BadValue(f"{quote(word)} is not a date; write it as 2024-01-05")
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        raise BadValue(f"{quote(word)} is not a date that exists") from None


def to_item(col: Column, value: Any, depts: Departments) -> Any:
    """The item value of a non-empty cell (BadValue when it cannot be one)."""
    word = text(value)
    if word is None:
        raise BadValue("empty")
    kind = col.type
    if kind == "yaml":
        parsed = yaml_policy.parse(word.encode("utf-8"))
        if not parsed.ok:
            e = parsed.errors[0]
            raise BadValue(f"the YAML in this cell does not read (its line {e.line}): {e.message}")
        if not isinstance(parsed.data, dict):
            raise BadValue("the YAML in this cell must be a mapping (key: value lines)")
        return parsed.data
    if kind in ("lines", "text_or_lines", "departments"):
        labelled = bool(col.values) or kind == "departments"
        parts = [p.strip() for p in (_LABEL_SPLIT if labelled else re.compile(r"\n")).split(word) if p.strip()]
        if kind == "departments":
            return [_department(p, depts) for p in parts]
        found = [_label(col, p) if col.values else p for p in parts]
        return found[0] if kind == "text_or_lines" and len(found) == 1 else found
    if kind == "department":
        return _department(word, depts)
    if col.values or kind == "boolean":
        if kind == "boolean" and isinstance(value, bool):
            return value
        return _label(col, word)
    if kind == "integer":
        return _integer(value)
    if kind == "date":
        return _date(value)
    return word


def _department(word: str, depts: Departments) -> str:
    found = depts.lookup(word)
    if found is None:
        raise LookupError(word)
    return found


def to_cell(col: Column, value: Any, depts: Departments) -> Any:
    """What export writes for the item value ``value`` (None: the column cannot hold it, or it is absent)."""
    if value is None:
        return None
    kind = col.type
    if kind == "yaml":
        return dump(value).rstrip("\n")
    if kind in ("lines", "text_or_lines", "departments"):
        items = [value] if kind == "text_or_lines" and isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            return None
        words = [_word(col, v, depts) for v in items]
        if any(w is None for w in words):
            return None
        return "\n".join(str(w) for w in words)
    return _word(col, value, depts)


def _word(col: Column, value: Any, depts: Departments) -> Any:
    if col.type in ("department", "departments"):
        return depts.label(value) if isinstance(value, str) else None
    table = col.values or (DEFAULT_BOOLEAN if col.type == "boolean" else {})
    if table:
        for label, v in table.items():
            if v == value and type(v) is type(value):
                return label
        return value if col.type == "integer" and isinstance(value, int) and not isinstance(value, bool) else None
    if col.type == "integer":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    return value if isinstance(value, str) else None
