"""The cross-references of an item that fails its schema, so one run reports both.

A file with a schema error is not a Document: the cross-reference checker (engine.check.crossref) trusts
the shapes of the documents it sees, so it never sees this one, and an unknown department hid behind
an unknown key until the key was fixed. Here, while the file is read (engine.catalogue.reading), the
references that can be judged on their own are picked out with every shape tested — a department
id, a form section id, a fee schedule id, a material's id and ``produced_by`` — leaving out any whose
part of the file has a schema error of its own (a follow-on would only repeat it). They are kept with
the file's facts in the check cache, and judged against the catalogue with the same wording as for a
valid item (engine.check.partial, called by engine.check.crossref), every run.

Conditions, form fields and time limits are not judged here: they need the shapes the schema
guarantees (a condition naming a field of a section that is itself invalid would be a follow-on).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.base.result import Path

#: (what is referred to, where in the file, the id) — marshal-able, stored in the cache's facts
Ref = tuple[str, Path, str]


def references(data: Mapping[str, Any], errors: Iterable[tuple[Path, str]]) -> list[Ref]:
    """The references in an item's ``data`` (any shape) whose part of the file has no schema error.

    ``errors`` are the file's schema errors as (path, kind). An error at a reference or inside it, or
    at a part that holds it (``materials[0]`` is not a mapping), leaves it out; a missing key beside it
    does not (``materials[0]`` without a name still names its producer)."""
    blocked = [tuple(path) for path, kind in errors if kind != "missing-key"]

    def clear(path: Path) -> bool:
        return not any(path[: len(b)] == b or b[: len(path)] == path for b in blocked)

    out: list[Ref] = []

    def add(what: str, path: Path, value: Any) -> None:
        if isinstance(value, str) and clear(path):
            out.append((what, path, value))

    add("department", ("department",), data.get("department"))
    joint = data.get("joint_departments")
    for i, dept in enumerate(joint if isinstance(joint, list) else ()):
        add("department", ("joint_departments", i), dept)
    form = data.get("form")
    sections = form.get("sections") if isinstance(form, dict) else None
    for i, entry in enumerate(sections if isinstance(sections, list) else ()):
        add("form-section", ("form", "sections", i), entry)  # an inline section (a mapping) is not a reference
    fee = data.get("fee")
    if isinstance(fee, dict):
        add("fee-schedule", ("fee", "schedule"), fee.get("schedule"))
    materials = data.get("materials")
    for i, mat in enumerate(materials if isinstance(materials, list) else ()):
        if isinstance(mat, dict):
            add("material-id", ("materials", i, "id"), mat.get("id"))
            add("produced-by", ("materials", i, "produced_by"), mat.get("produced_by"))
    return out
