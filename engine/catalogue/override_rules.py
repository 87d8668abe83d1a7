"""The rules an override must keep on its parent's item's lists (materials, steps, form sections),
and which of its entries are new ones that must be complete (engine.catalogue.overlay applies overrides).

Library code: nothing here prints or exits.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from engine.base import stated
from engine.base.result import Finding
from engine.base.result import Path as DocPath
from engine.catalogue.merge import Origin, entry_key, get, id_list, lookup

__all__ = ["additions", "check_override", "hint"]


def check_override(
    doc: Any, patch: Mapping[str, Any], base: Mapping[str, Any], base_origins: Mapping[DocPath, Origin], base_file: str
) -> list[Finding]:
    """What an override of the parent's item ``base`` may not do to its id-matched lists: drop or loosen
    a material the parent requires, remove an entry the parent does not have, name an entry twice."""
    found = _check_materials(doc, patch, base, base_origins, base_file)
    for at, word in ((("materials",), "material"), (("steps",), "step"), (("form", "sections"), "form section")):
        parent_list = get(base, ".".join(at))
        have = [entry_key(e) for e in parent_list] if isinstance(parent_list, list) else []
        entries = get(patch, ".".join(at))
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, dict) and entry.get("remove") is True and entry.get("id") not in have:
                found.append(
                    Finding(
                        doc.file,
                        (*at, i, "remove"),
                        "unknown-id",
                        f"the parent's item has no {word} {entry.get('id')!r} to remove"
                        f"{hint(str(entry.get('id')), [str(h) for h in have])}",
                    )
                )
    for at in (("materials",), ("steps",), ("form", "sections")):
        seen: dict[Any, int] = {}
        listed = get(patch, ".".join(at))
        for i, entry in enumerate(listed if isinstance(listed, list) else []):
            key = entry_key(entry)
            if key is not None and key in seen:
                found.append(
                    Finding(
                        doc.file,
                        (*at, i, "id") if isinstance(entry, dict) else (*at, i),
                        "duplicate-id",
                        f"{'.'.join(at)} names {key!r} twice in this override (entry {seen[key] + 1} too); "
                        "only one would take effect — write its changes in one entry",
                    )
                )
            elif key is not None:
                seen[key] = i
    return found


def additions(base: Mapping[str, Any], changes: Mapping[str, Any], merged: Mapping[str, Any]) -> dict[Any, Any]:
    """The entries of materials, steps and form sections an override adds (or puts in place of a
    reusable section) rather than changes: (list path, merged index) -> (index in the override, why
    the entry is new and must be complete)."""
    found: dict[tuple[Any, ...], tuple[int, str]] = {}
    for at, word in ((("materials",), "material"), (("steps",), "step"), (("form", "sections"), "form section")):
        dotted = ".".join(at)
        entries, parent, result = get(changes, dotted), get(base, dotted), get(merged, dotted)
        if not isinstance(entries, list) or not isinstance(result, list):
            continue
        by_key = {entry_key(e): e for e in parent} if isinstance(parent, list) and id_list(parent) else None
        index = {entry_key(e): j for j, e in enumerate(result)}
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or entry.get("remove") is True or entry.get("id") not in index:
                continue
            if by_key is None:
                why = (
                    f"the parent's item has {dotted}: {parent!r}, not a list of {word}s by id, so this override's "
                    f"{dotted} replace it whole and each {word} is written in full"
                )
            elif isinstance(by_key.get(entry["id"]), dict):
                continue  # changes the parent's entry
            elif entry["id"] in by_key:
                why = f"this entry replaces the reusable form section {entry['id']!r}, so it is written in full"
            else:
                why = (
                    f"this entry adds a new {word} (the parent's item has no {word} {entry['id']!r}), so it is "
                    f"written in full{hint(entry['id'], [str(k) for k in by_key])}"
                )
            found[(*at, index[entry["id"]])] = (i, why)
    return found


def _check_materials(
    doc: Any,
    patch: Mapping[str, Any],
    base: Mapping[str, Any],
    base_origins: Mapping[DocPath, Origin],
    base_file: str,
) -> list[Finding]:
    """A material the parent requires (always, or under a condition) may not be removed, made optional
    or required under another condition; it may be made required always."""
    found: list[Finding] = []
    parent = {m["id"]: (i, m) for i, m in enumerate(stated.materials(base))}
    if patch.get("materials") == stated.NOT_STATED:  # "not stated here" would drop every required one
        kept = [(i, m) for i, m in parent.values() if m.get("required") not in (False, None)]
        if kept:
            names = "、".join(repr(m["name"]) for _, m in kept[:3]) + ("…" if len(kept) > 3 else "")
            found.append(
                Finding(
                    doc.file,
                    ("materials",),
                    "overlay-material",
                    f"this override says the materials are not stated, but the parent requires {len(kept)} "
                    f"({names}); a lower catalogue may add materials or explain them, but not drop one the parent "
                    "requires",
                    related=((*lookup(base_origins, base_file, ("materials", kept[0][0])), "parent's material"),),
                )
            )
        return found
    for i, entry in enumerate(patch.get("materials", []) or []):
        hit = parent.get(entry["id"])
        if hit is None:
            continue  # a new material, or removing one the parent lacks (check_override reports that)
        pi, material = hit
        required = material.get("required")
        if required is False or required is None:
            continue
        # required: true, or a condition under which it is required: the parent's 要件 bind the layers
        # below; only making it required always is allowed
        changed = "required" in entry and entry["required"] is not True and entry["required"] != required
        if entry.get("remove") is True or changed:
            if entry.get("remove") is True:
                what = "removes"
            elif entry["required"] is False:
                what = "makes optional"
            else:
                what = "changes the condition of"
            found.append(
                Finding(
                    doc.file,
                    ("materials", i, "remove" if entry.get("remove") is True else "required"),
                    "overlay-material",
                    f"this override {what} the required material {material['name']!r} ({entry['id']}); a lower "
                    "catalogue may add materials or explain them, but not drop one the parent requires",
                    related=((*lookup(base_origins, base_file, ("materials", pi)), "parent's material"),),
                )
            )
    return found


def hint(word: str, choices: Iterable[str], cutoff: float = 0.5) -> str:
    """``; did you mean 'x'?`` for the closest of ``choices``, or nothing."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return f"; did you mean {match[0]!r}?" if match else ""
