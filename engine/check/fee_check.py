"""Checks on a fee schedule that its schema cannot express (run by ``yangguang check``), on its own and
against the form of an item that charges by it (``fee_fields``).

Kept apart from engine.rules.fees (assessment) so each module stays small; messages say
what is expected and what to do. Never raises on schema-valid input.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from typing import Any, Protocol

from engine.base import conditions
from engine.base.dates import as_date
from engine.base.result import Finding, Path
from engine.catalogue.fields import FieldInfo
from engine.catalogue.merge import lookup
from engine.catalogue.model import Document
from engine.check.context import Cross
from engine.rules.fees.schedule import CHOICE_TYPES, NUMERIC_TYPES, format_fen, num_text, referenced_fields, to_fen

__all__ = ["check_fee_schedule", "fee_fields"]


# --- semantic checks -------------------------------------------------------------------


def _suggest(word: str, choices: Sequence[str]) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def _decimal_or_none(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _money_or_none(value: Any) -> int | None:
    try:
        return to_fen(value)
    except (TypeError, ValueError):
        return None


def _conditions_with_paths(schedule: Mapping[str, Any]) -> Iterator[tuple[Path, Mapping[str, Any]]]:
    """Every leaf comparison ({field: ..., op: value}) with its path."""

    for section in ("lines", "exemptions", "reductions"):
        entries = schedule.get(section)
        for i, entry in enumerate(entries if isinstance(entries, list) else ()):
            if isinstance(entry, Mapping) and "when" in entry:
                yield from conditions.leaves(entry["when"], (section, i, "when"))


def check_fee_schedule(file: str, data: Mapping[str, Any]) -> list[Finding]:
    """Semantic checks beyond the schema; never raises on schema-valid input.

    Kinds: ``fee-id`` (id differs from the file name), ``fee-dates`` (from after until, or
    not a real date), ``duplicate-id``, ``unknown-line`` (applies_to names no line),
    ``fee-tiers`` (bands not strictly increasing, or a middle band without up_to),
    ``fee-range`` (minimum above maximum, a reduction above 100 %), ``unknown-field``
    (a field read but not declared under ``fields``), ``field-type`` (a quantity read
    from a non-numeric field), ``unknown-value`` (a condition compares with a value the
    field's options do not have).
    """
    findings: list[Finding] = []

    def add(path: Path, kind: str, message: str, on_key: bool = False) -> None:
        findings.append(Finding(file, path, kind, message, on_key))

    if not isinstance(data, Mapping):
        return findings
    _schedule_id(add, file, data)
    _period(add, data.get("effective"), ("effective",))
    raw_lines = data.get("lines")
    lines: list[Any] = raw_lines if isinstance(raw_lines, list) else []
    line_ids = _lines(add, lines)
    _reliefs(add, data, line_ids)
    raw_fields = data.get("fields")
    declared: Mapping[str, Any] = raw_fields if isinstance(raw_fields, Mapping) else {}
    _field_reads(add, data, declared, lines)
    _condition_values(add, data, declared)
    return findings


class _Add(Protocol):
    def __call__(self, path: Path, kind: str, message: str, on_key: bool = False) -> None: ...


def _schedule_id(add: _Add, file: str, data: Mapping[str, Any]) -> None:
    """The schedule's id equals its file name."""
    stem = PurePath(file).name
    for suffix in (".yaml", ".yml"):
        stem = stem.removesuffix(suffix)
    if isinstance(data.get("id"), str) and data["id"] != stem:
        add(
            ("id",),
            "fee-id",
            f"schedule id {data['id']!r} must equal the file name {stem!r}: "
            f"rename the file to {data['id']}.yaml or set id: {stem}",
        )


def _period(add: _Add, effective: Any, path: Path) -> None:
    """An effective period's dates are real and in order."""
    if not isinstance(effective, Mapping):
        return
    dates: dict[str, date | None] = {}
    for key in ("from", "until"):
        if effective.get(key) is None:
            continue
        dates[key] = as_date(effective[key])
        if dates[key] is None:
            add((*path, key), "fee-dates", f"{effective[key]!r} is not a real date; write YYYY-MM-DD")
    start, end = dates.get("from"), dates.get("until")
    if start and end and start > end:
        add(
            (*path, "until"),
            "fee-dates",
            f"until {end.isoformat()} is before from {start.isoformat()}; swap them or correct the dates",
        )


def _lines(add: _Add, lines: list[Any]) -> list[str]:
    """Line ids unique, minimum not above maximum, tiers in order; the line ids, in order."""
    line_ids: list[str] = []
    seen: dict[str, int] = {}
    for i, line in enumerate(lines):
        if not isinstance(line, Mapping):
            continue
        line_id = line.get("id")
        if isinstance(line_id, str):
            if line_id in seen:
                add(
                    ("lines", i, "id"),
                    "duplicate-id",
                    f"line id {line_id!r} is already used by line {seen[line_id] + 1}; give each line its own id",
                )
            else:
                seen[line_id] = i
                line_ids.append(line_id)
        low, high = _money_or_none(line.get("minimum")), _money_or_none(line.get("maximum"))
        if low is not None and high is not None and low > high:
            add(
                ("lines", i, "maximum"),
                "fee-range",
                f"maximum {format_fen(high)} is below minimum {format_fen(low)}; "
                "the maximum must be at least the minimum",
            )
        bands = line.get("bands")
        if line.get("kind") == "tiered" and isinstance(bands, list):
            _bands(add, i, bands)
    return line_ids


def _bands(add: _Add, i: int, bands: list[Any]) -> None:
    """A tiered line's bands rise strictly, and only the last is open-ended."""
    previous: Decimal | None = None
    for j, band in enumerate(bands):
        if not isinstance(band, Mapping):
            continue
        upper = _decimal_or_none(band.get("up_to"))
        if band.get("up_to") is None:
            if j < len(bands) - 1:
                add(
                    ("lines", i, "bands", j),
                    "fee-tiers",
                    f"band {j + 1} has no up_to but is not the last band; only the last band may be "
                    "open-ended — add up_to or move it to the end",
                )
            continue
        if upper is None:
            continue
        if previous is not None and upper <= previous:
            add(
                ("lines", i, "bands", j, "up_to"),
                "fee-tiers",
                f"band {j + 1} up_to {num_text(upper)} must be greater than the previous band's "
                f"{num_text(previous)}; list bands in strictly increasing order",
            )
        previous = upper if previous is None or upper > previous else previous


def _reliefs(add: _Add, data: Mapping[str, Any], line_ids: list[str]) -> None:
    """Exemptions and reductions: ids unique across both, lines they apply to exist, periods real,
    a reduction at most 100 %."""
    relief_seen: dict[str, tuple[str, int]] = {}
    for section in ("exemptions", "reductions"):
        reliefs = data.get(section)
        for i, relief in enumerate(reliefs if isinstance(reliefs, list) else ()):
            if not isinstance(relief, Mapping):
                continue
            relief_id = relief.get("id")
            if isinstance(relief_id, str):
                if relief_id in relief_seen:
                    other, n = relief_seen[relief_id]
                    add(
                        (section, i, "id"),
                        "duplicate-id",
                        f"id {relief_id!r} is already used in {other} "
                        f"entry {n + 1}; give each exemption and reduction "
                        "its own id",
                    )
                else:
                    relief_seen[relief_id] = (section, i)
            applies = relief.get("applies_to")
            for j, target in enumerate(applies if isinstance(applies, list) else ()):
                if isinstance(target, str) and target not in line_ids:
                    add(
                        (section, i, "applies_to", j),
                        "unknown-line",
                        f"applies_to names {target!r}, which is not a line of this schedule"
                        f"{_suggest(target, line_ids) or '; lines: ' + ', '.join(line_ids)}",
                    )
            _period(add, relief.get("effective"), (section, i, "effective"))
            percent = _decimal_or_none(relief.get("reduce_percent"))
            if percent is not None and percent > 100:
                add(
                    (section, i, "reduce_percent"),
                    "fee-range",
                    f"reduce_percent {num_text(percent)} is more than 100; "
                    "write 50 to halve, 100 to take all off (or use an exemption)",
                )


def _field_reads(add: _Add, data: Mapping[str, Any], declared: Mapping[str, Any], lines: list[Any]) -> None:
    """Every field a line reads is declared, and one it computes with is a number (money for a
    percentage's base)."""
    names = [str(n) for n in declared]
    for path, name in referenced_fields(data):
        if name not in declared:
            add(
                path,
                "unknown-field",
                f"field {name!r} is read here but not declared under fields:; declare it with its label and "
                f"type so item forms can provide it{_suggest(name, names)}",
            )
            continue
        decl = declared[name]
        kind = decl.get("type") if isinstance(decl, Mapping) else None
        if path[-1] in ("quantity", "base") and isinstance(kind, str):
            line = lines[path[1]] if isinstance(path[1], int) else {}
            percentage = isinstance(line, Mapping) and line.get("kind") == "percentage"
            wanted = ("money",) if percentage else NUMERIC_TYPES
            if kind not in wanted:
                add(
                    path,
                    "field-type",
                    f"field {name!r} is declared as {kind} but this line computes with it; "
                    f"declare it as {' or '.join(wanted)}",
                )


def _condition_values(add: _Add, data: Mapping[str, Any], declared: Mapping[str, Any]) -> None:
    """A condition compares a choice field with one of its options, a yes/no field with true or false."""
    for path, cond in _conditions_with_paths(data):
        decl = declared.get(cond["field"])
        if not isinstance(decl, Mapping):
            continue
        options = decl.get("options")
        if decl.get("type") in CHOICE_TYPES and isinstance(options, list):
            allowed = [str(o.get("value")) for o in options if isinstance(o, Mapping)]
            for op in ("eq", "ne", "in"):
                if op not in cond:
                    continue
                values = cond[op] if isinstance(cond[op], list) else [cond[op]]
                for j, value in enumerate(values):
                    if str(value) not in allowed:
                        where = (*path, op, j) if isinstance(cond[op], list) else (*path, op)
                        add(
                            where,
                            "unknown-value",
                            f"{value!r} is not an option of {cond['field']!r}; options: {', '.join(allowed)}"
                            f"{_suggest(str(value), allowed)}",
                        )
        elif decl.get("type") == "boolean":
            for op in ("eq", "ne"):
                if op in cond and not isinstance(cond[op], bool):
                    add(
                        (*path, op),
                        "unknown-value",
                        f"{cond['field']!r} is a yes/no field; compare it with true or false, not {cond[op]!r}",
                    )


def fee_fields(cross: Cross, doc: Document, schedule: Document, fields: Mapping[str, FieldInfo]) -> None:
    # a lower layer's own fee schedule (child_rules.local_fee_schedules) replacing the one an
    # inherited item names must fit that item's form: its mismatch is reported in the schedule
    local = cross.cat.layer_of(schedule.file) < cross.cat.layer_of(
        lookup(cross.cat.origins.get(doc.file), doc.file, ("fee", "schedule"))[0]
    )
    code = doc.data["code"]
    missing = sorted({name for _, name in referenced_fields(schedule.data)} - set(fields))
    if missing and local:
        cross.add(
            schedule.file,
            ("fields",),
            "unknown-field",
            f"this fee schedule reads {', '.join(missing)}, which the form of the inherited item {code} does "
            "not have; charge by the item's fields, or override the item's form too",
            on_key=True,
            related=((doc.file, ("fee", "schedule"), "item"),),
        )
    elif missing:
        cross.add(
            doc.file,
            ("fee", "schedule"),
            "unknown-field",
            f"fee schedule {schedule.data['id']!r} reads {', '.join(missing)}, which this item's form "
            f"does not have; add the field(s) to the form (see {schedule.file})",
        )
    for name, spec in schedule.data.get("fields", {}).items():
        info = fields.get(name)
        if info is None or "options" not in spec:
            continue
        offered = {str(o["value"]) for o in info.spec.get("options", [])}
        needed = [str(o["value"]) for o in spec["options"] if str(o["value"]) not in offered]
        if needed and local:
            cross.add(
                schedule.file,
                ("fields", name, "options"),
                "unknown-option",
                f"this fee schedule charges by {name} = {', '.join(needed)}, but the form of the inherited item "
                f"{code} does not offer {'that value' if len(needed) == 1 else 'those values'}; charge by the "
                "options the form offers, or override the item's form field too",
                on_key=True,
                related=((doc.file, ("fee", "schedule"), "item"),),
            )
        elif needed:
            cross.add(
                doc.file,
                ("fee", "schedule"),
                "unknown-option",
                f"fee schedule {schedule.data['id']!r} charges by {name} = {', '.join(needed)}, but the form's "
                f"field {name} does not offer {'that value' if len(needed) == 1 else 'those values'}; "
                "add the option(s) to the form field",
            )
