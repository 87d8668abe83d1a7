"""Five-level catalogues: a catalogue that ``extends`` its parent, and the rules it cannot break.

A county forks nothing: its catalogue directory holds only what is local (its
``center.yaml`` with ``extends: ../city``, its own items, overrides and withdrawals)
and the parent stays untouched beside it (a sibling directory or a git submodule),
so pulling the city's updates never conflicts. Layers stack: province → city →
county → township → village.

Data flow: ``stack`` finds the layers from each ``center.yaml``'s ``extends``; the
loader checks every layer's files as usual; ``resolve`` folds the layers from the top
of the stack down into one set of documents — the catalogue the engine serves —
and returns the findings of the overlay rules. Every value of a merged document
remembers where it came from (``Origins``: path in the merged document -> file and
path in that file), so a problem is reported at the line that set the value, with
the parent's line beside it, and ``yangguang show CODE --explain`` can say which layer
set each value.

Library code: nothing here prints or exits.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.merge import Origin, Origins, entry_key, get, id_list, lookup, merge
from engine.result import Finding
from engine.result import Path as DocPath

__all__ = ["LEVELS", "Layer", "LayerDocs", "Origin", "Origins", "Resolved", "lookup", "merge", "resolve", "stack"]

LEVELS = ("province", "city", "county", "township", "village")
LEVEL_WORDS = {"province": "省", "city": "市", "county": "县", "township": "乡镇", "village": "村（社区）"}
FIXED_WORDS = {
    "time_limit.legal": "the legal limit (法定时限)",
    "basis": "the legal basis (设定依据)",
    "type": "the item type (事项类型)",
    "fee": "the fee standard (收费标准)",
}


@dataclass(slots=True)
class Layer:
    """One catalogue directory of a stack, top (the catalogue checked) first."""

    root: Path  # absolute
    prefix: str  # the directory relative to the top catalogue, "" for the top itself, e.g. "../city"
    center: dict[str, Any] | None = None  # its own center.yaml as written (None if missing or invalid)
    #: its center.yaml exists but cannot be read at all (a YAML syntax error): the layers above it are
    #: unknown, so what this stack inherits is not judged until it is fixed
    unreadable: bool = False
    #: the stack stops here short of its top (this layer's extends cannot be followed, or a parent's
    #: center.yaml cannot be read): what the catalogue inherits is unknown until that is fixed
    cut: bool = False

    def rel(self, rel: str) -> str:
        """A path inside this layer, relative to the top catalogue."""
        return f"{self.prefix}/{rel}" if self.prefix else rel

    @property
    def label(self) -> str:
        c = self.center or {}
        level = c.get("level", "")
        return f"{c.get('id', '?')} ({level} {LEVEL_WORDS.get(level, '')})".replace("  ", " ").strip()

    @property
    def center_file(self) -> str:
        return self.rel("center.yaml")


def stack(
    root: Path, read_center: Callable[[str], tuple[dict[str, Any] | None, bool]]
) -> tuple[list[Layer], list[Finding]]:
    """The layers of the catalogue at ``root``, top first, following each ``extends``.

    ``read_center(rel)`` returns a layer's checked center.yaml data (None when missing or
    invalid) and whether the file exists; its own problems are reported by the loader.
    """
    top = root.resolve()
    layers: list[Layer] = []
    findings: list[Finding] = []
    seen: dict[Path, str] = {}
    current, prefix = top, ""
    while True:
        layer = Layer(current, prefix)
        layers.append(layer)
        seen[current] = layer.center_file
        data, exists = read_center(layer.center_file)
        layer.center = data
        layer.unreadable = exists and data is None
        layer.cut = layer.unreadable and bool(prefix)
        if not data or "extends" not in data:
            if data and data.get("withdraw"):
                findings.append(
                    Finding(
                        layer.center_file,
                        ("withdraw",),
                        "overlay",
                        "withdraw: takes back items inherited from a parent catalogue, but this catalogue extends "
                        "none; add extends: PATH, or delete the item's file from items/ instead",
                        on_key=True,
                    )
                )
            break
        try:
            parent = (current / data["extends"]).resolve()
            usable = (parent / "center.yaml").is_file(), parent.is_file(), parent.is_dir()
        except (OSError, ValueError, RuntimeError) as exc:  # a NUL byte, a name too long, a symlink loop
            findings.append(
                Finding(
                    layer.center_file,
                    ("extends",),
                    "extends",
                    f"extends {data['extends']!r} is not a usable path ({exc}); give the path of the parent "
                    "catalogue's root directory, relative to this one",
                )
            )
            layer.cut = True
            break
        if parent in seen:
            findings.append(
                Finding(
                    layer.center_file,
                    ("extends",),
                    "extends",
                    f"extends {data['extends']!r} leads back to {seen[parent]}: catalogues would extend each other "
                    "in a loop; a catalogue extends only the one above it",
                )
            )
            layer.cut = True
            break
        if not usable[0]:
            if usable[1]:
                fix = f"name the directory instead: extends: {Path(data['extends']).parent.as_posix()}"
                what = "a file, not the parent catalogue's directory"
            else:
                what = "no such directory" if not usable[2] else "a directory without center.yaml"
                fix = (
                    "give the path of the parent catalogue's root directory, relative to this one "
                    "(check out the git submodule if it is one)"
                )
            findings.append(
                Finding(layer.center_file, ("extends",), "extends", f"extends {data['extends']!r} is {what}; {fix}")
            )
            layer.cut = True
            break
        prefix = Path(os.path.relpath(parent, top)).as_posix()
        current = parent
    for child, parent_layer in itertools.pairwise(layers):
        c, p = (child.center or {}).get("level"), (parent_layer.center or {}).get("level")
        if c in LEVELS and p in LEVELS and LEVELS.index(c) <= LEVELS.index(p):
            findings.append(
                Finding(
                    child.center_file,
                    ("level",),
                    "extends-level",
                    f"a {c} catalogue cannot extend a {p} catalogue ({parent_layer.center_file}): each level extends "
                    f"the one above it ({' → '.join(LEVELS)}); fix level or extends",
                    related=((parent_layer.center_file, ("level",), "parent level"),),
                )
            )
    return layers, findings


# -- folding the layers ------------------------------------------------------------------------


@dataclass(slots=True)
class LayerDocs:
    """One layer's documents that passed their schema (data may be left in the cache: ``data()``)."""

    layer: Layer
    docs: list[Any]  # engine.catalogue.Document


@dataclass(slots=True)
class Resolved:
    documents: list[Any]  # engine.catalogue.Document, in catalogue order
    origins: dict[str, Origins] = field(default_factory=dict)  # merged document's file -> its origins
    withdrawn: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (reason, file)
    findings: list[Finding] = field(default_factory=list)
    #: item code -> override files applied to it, top of the stack first
    patches: dict[str, list[str]] = field(default_factory=dict)
    #: (chain file, code): an inherited chain's member withdrawn below it, reported here as overlay-chain
    reported_members: set[tuple[str, str]] = field(default_factory=set)
    #: merged item file -> (list, merged index) -> (index in the override, why the entry is new): an entry
    #: an override adds must be complete, and its schema errors say so
    additions: dict[str, dict[tuple[Any, ...], tuple[int, str]]] = field(default_factory=dict)


def resolve(
    layers: list[LayerDocs],
    data: Callable[[Any], Any],
    codes: Mapping[str, str],
    make_doc: Callable[[str, str, Any, str], Any],
    broken: Mapping[str, str] | None = None,
) -> Resolved:
    """Fold ``layers`` (top first, as ``stack`` returns them) into the documents of one catalogue.

    ``data(doc)`` fetches a document's data, ``codes`` maps an item file to its code and
    ``make_doc(file, kind, data, key)`` builds a merged Document; ``broken`` maps the code of
    an item file that failed its schema to that file (an override of it says so).
    """
    out = Resolved([])
    incomplete = bool(layers) and layers[-1].layer.cut
    items: dict[str, Any] = {}  # code -> Document
    item_layer: dict[str, int] = {}  # code -> index (top-first) of the layer that defined the item
    tables: dict[str, dict[Any, tuple[Any, int]]] = {"fee": {}, "form": {}, "chain": {}, "calendar": {}}
    center_doc: Any = None
    center_origins: Origins = {}
    fixed: set[str] = set()
    fees_allowed = True
    fees_forbidden: tuple[str, bool] = ("", False)  # the center that forbids local fee schedules; said so?
    fixed_by: dict[str, str] = {}  # fixed field -> center file that fixed it
    n = len(layers)
    for depth in range(n - 1, -1, -1):  # from the top of the stack (province) down to this catalogue
        ld = layers[depth]
        is_base = depth == n - 1
        own_center = next((d for d in ld.docs if d.kind == "center"), None)
        overrides = [d for d in ld.docs if d.kind == "override"]
        for doc in ld.docs:
            if doc.kind == "item":
                code = codes.get(doc.file) or data(doc)["code"]
                if code in items and item_layer[code] != depth:
                    first = items[code]
                    out.findings.append(
                        Finding(
                            doc.file,
                            ("code",),
                            "duplicate-code",
                            f"item {code!r} is inherited from {first.file}; to change it here write "
                            f"overrides/{code}.yaml naming only the fields that change, or withdraw it in center.yaml",
                            related=((first.file, ("code",), "inherited item"),),
                        )
                    )
                    continue
                if code in out.withdrawn:  # one code, one item at every level (八统一): no redefinition below
                    reason, where = out.withdrawn[code]
                    out.findings.append(
                        Finding(
                            doc.file,
                            ("code",),
                            "duplicate-code",
                            f"item {code!r} is a parent's item, withdrawn by {where} ({reason}); a local item "
                            "needs a code of its own",
                            related=((where, ("withdraw",), "withdrawal"),),
                        )
                    )
                    continue
                if code not in items:
                    items[code], item_layer[code] = doc, depth
                else:
                    out.documents.append(doc)  # a duplicate within one layer: crossref reports it
            elif doc.kind in tables:
                key = doc.data.get("id", doc.data.get("year"))
                previous = tables[doc.kind].get(key)
                if doc.kind == "fee" and not is_base and not fees_allowed:
                    related = (previous[0].file, ("id",), "parent's fee schedule") if previous else None
                    out.findings.append(
                        Finding(
                            doc.file,
                            ("id",),
                            "overlay-fee",
                            f"fee standards are set above: {fees_forbidden[0]} does not allow local fee schedules "
                            f"(child_rules.local_fee_schedules {'is false' if fees_forbidden[1] else 'is not set'}); "
                            "remove this file, or ask that catalogue to allow them"
                            + (f" — this would replace {previous[0].file}" if previous else ""),
                            on_key=True,
                            related=(related,) if related else ((layers[depth + 1].layer.center_file, (), "parent"),),
                        )
                    )
                    continue
                tables[doc.kind][key] = (doc, depth)
        # the center: this layer's facts over the parent's; departments replaced entry by entry
        if own_center is not None:
            center_doc, center_origins = _merge_center(center_doc, center_origins, own_center, make_doc)
        if overrides and is_base:
            for doc in overrides if not (layers[depth].layer.unreadable or layers[depth].layer.cut) else []:
                out.findings.append(
                    Finding(
                        doc.file,
                        (),
                        "overlay",
                        "overrides/ changes items inherited from a parent catalogue, but this catalogue extends none; "
                        "add extends: PATH to center.yaml, or move the item into items/",
                    )
                )
            overrides = []
        withdraw = (own_center.data or {}).get("withdraw", []) if own_center is not None and not is_base else []
        here = own_center.file if own_center is not None else ""
        withdrawing: dict[str, int] = {}
        for i, entry in enumerate(withdraw):
            withdrawing.setdefault(entry["code"], i)
        override_of: dict[str, str] = {}  # code -> this layer's override file for it
        for doc in overrides:
            code = doc.data["code"]
            if code in override_of:
                out.findings.append(
                    Finding(
                        doc.file,
                        ("code",),
                        "duplicate-id",
                        f"{override_of[code]} already overrides {code!r}; one override file per item — merge the "
                        "two and delete this one",
                        related=((override_of[code], ("code",), "first override"),),
                    )
                )
                continue
            override_of[code] = doc.file
            stem = doc.file.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            if stem != code:  # one file per code, named by it: two files for one item cannot stack unseen
                out.findings.append(
                    Finding(
                        doc.file,
                        ("code",),
                        "id-mismatch",
                        f"code {code!r} must equal the file name {stem!r}; rename the file to overrides/{code}.yaml "
                        "(or merge it into that file) or change the code",
                    )
                )
                continue
            if code in withdrawing and code in items:
                out.findings.append(
                    Finding(
                        doc.file,
                        ("code",),
                        "overlay",
                        f"this override changes {code!r}, which {here} withdraws: a withdrawn item is not served, so "
                        "the override would be lost; delete the override, or the withdrawal",
                        related=((here, ("withdraw", withdrawing[code], "code"), "withdrawal"),),
                    )
                )
                continue
            _apply_override(
                doc, items, item_layer, depth, fixed, fixed_by, data, make_doc, out, broken or {}, incomplete
            )
        for i, entry in enumerate(withdraw):
            code = entry["code"]
            if withdrawing[code] != i:
                out.findings.append(
                    Finding(
                        here,
                        ("withdraw", i, "code"),
                        "duplicate-id",
                        f"{code!r} is withdrawn twice; keep one entry",
                        related=((here, ("withdraw", withdrawing[code], "code"), "first withdrawal"),),
                    )
                )
                continue
            if code not in items and incomplete:
                continue  # a layer above could not be read (reported there): its items are not known
            if code not in items or item_layer[code] == depth:
                if code in items:
                    where = "defined in this catalogue; delete its file instead"
                elif code in out.withdrawn:
                    reason, by = out.withdrawn[code]
                    where = f"already withdrawn by {by} ({reason}); delete this entry"
                elif code in (broken or {}):
                    where = f"an item whose file {(broken or {})[code]} has problems (reported there); fix them first"
                else:
                    where = f"not an item of the parent catalogue{_hint(code, items, 0.8)}"
                out.findings.append(
                    Finding(
                        here,
                        ("withdraw", i, "code"),
                        "unknown-item",
                        f"cannot withdraw {code!r}: it is {where}",
                    )
                )
                continue
            doc = items.pop(code)
            out.origins.pop(doc.file, None)
            out.withdrawn[code] = (entry["reason"], here)
            for chain, chain_depth in tables["chain"].values():
                if chain_depth == depth:
                    continue  # this layer's own chain: crossref checks its members
                for si, stage in enumerate(chain.data["stages"]):
                    if code in stage["items"]:
                        out.reported_members.add((chain.file, code))
                        out.findings.append(
                            Finding(
                                here,
                                ("withdraw", i, "code"),
                                "overlay-chain",
                                f"{code!r} is a member of the chain {chain.data['id']!r} ({chain.file}, stage "
                                f"{stage['id']!r}); a chain member cannot be withdrawn alone — also write "
                                f"chains/{chain.data['id']}.yaml here with the chain as this center runs it",
                                related=((chain.file, ("stages", si, "items", stage["items"].index(code)), "chain"),),
                            )
                        )
        # what this layer fixes binds every layer below it
        rules = (own_center.data or {}).get("child_rules", {}) if own_center is not None else {}
        for name in rules.get("fixed", []):
            fixed.add(name)
            fixed_by.setdefault(name, here)
        if rules.get("local_fee_schedules") is not True and fees_allowed:
            fees_allowed = False  # the first layer (from the top) that does not allow them binds all below
            fees_forbidden = (ld.layer.center_file, "local_fee_schedules" in rules)
    if center_doc is not None:
        out.documents.insert(0, center_doc)
        if center_origins:
            out.origins[center_doc.file] = center_origins
    out.documents.extend(items.values())
    for kind in ("fee", "form", "chain", "calendar"):
        out.documents.extend(doc for doc, _ in tables[kind].values())
    return out


def _merge_center(
    center_doc: Any, center_origins: Origins, own: Any, make_doc: Callable[[str, str, Any, str], Any]
) -> tuple[Any, Origins]:
    if center_doc is None:
        return own, {}
    parent, child = center_doc.data, own.data
    origins: Origins = {}
    merged: dict[str, Any] = {}
    for key, value in parent.items():
        if key in ("extends", "withdraw", "child_rules"):
            continue  # a layer's own relation to its parent is not inherited
        merged[key] = value
        origins[(key,)] = lookup(center_origins, center_doc.file, (key,))
    departments = list(parent.get("departments", []))
    dept_origins = [lookup(center_origins, center_doc.file, ("departments", i)) for i in range(len(departments))]
    own_ids: set[str] = set()
    for i, dept in enumerate(child.get("departments", [])):
        ids = [d["id"] for d in departments]
        if dept["id"] in ids and dept["id"] not in own_ids:  # listed twice here: kept twice, crossref reports it
            own_ids.add(dept["id"])
            j = ids.index(dept["id"])
            departments[j], dept_origins[j] = dept, (own.file, ("departments", i))
        else:
            own_ids.add(dept["id"])
            departments.append(dept)
            dept_origins.append((own.file, ("departments", i)))
    for key, value in child.items():
        if key in ("departments", "extends", "withdraw"):
            continue  # departments are merged below; the other two are this layer's relation to its parent
        if key == "supervision" and isinstance(merged.get("supervision"), dict):
            merged[key] = {**merged["supervision"], **value}
            for sub in value:
                origins[(key, sub)] = (own.file, (key, sub))
            continue
        merged[key] = value
        origins[(key,)] = (own.file, (key,))
    merged["departments"] = departments
    if "departments" in child or ("departments",) not in origins:
        origins[("departments",)] = (own.file, ("departments",))
    for j, o in enumerate(dept_origins):
        origins[("departments", j)] = o
    origins[()] = (own.file, ())
    key = hashlib.blake2b(f"{center_doc.key}:{own.key}".encode(), digest_size=16).hexdigest()
    return make_doc(own.file, "center", merged, key), origins


def _apply_override(
    doc: Any,
    items: dict[str, Any],
    item_layer: dict[str, int],
    depth: int,
    fixed: set[str],
    fixed_by: Mapping[str, str],
    data: Callable[[Any], Any],
    make_doc: Callable[[str, str, Any, str], Any],
    out: Resolved,
    broken: Mapping[str, str],
    incomplete: bool = False,
) -> None:
    patch = doc.data
    code = patch["code"]
    target = items.get(code)
    if target is None and incomplete:
        return  # a layer above could not be read (reported there): its items are not known
    if target is None or item_layer[code] == depth:
        what = (
            "an item of this catalogue; edit its file instead"
            if target is not None
            else (
                "withdrawn by {} ({}); delete this override".format(*reversed(out.withdrawn[code]))
                if code in out.withdrawn
                else (
                    f"an item whose file {broken[code]} has problems (reported there); fix them first"
                    if code in broken
                    else f"not an item of the parent catalogue{_hint(code, items, 0.8)}"
                )
            )
        )
        out.findings.append(Finding(doc.file, ("code",), "unknown-item", f"overrides/ names {code!r}, which is {what}"))
        return
    base = data(target)
    base_origins = out.origins.get(target.file, {})
    changes = {k: v for k, v in patch.items() if k not in ("code", "reason", "note")}
    origins: Origins = {}
    merged = merge(
        base,
        changes,
        base_origins=base_origins,
        base_file=target.file,
        patch_file=doc.file,
        patch_at=(),
        origins=origins,
    )
    origins.setdefault((), lookup(base_origins, target.file, ()))
    for name in sorted(fixed):
        if name.split(".")[0] in changes and get(merged, name) != get(base, name):
            parts: DocPath = tuple(name.split("."))
            out.findings.append(
                Finding(
                    doc.file,
                    parts if get(patch, name) is not None else parts[:1],
                    "overlay-fixed",
                    f"{FIXED_WORDS[name]} of {code} is fixed by the parent catalogue ({fixed_by[name]}: child_rules."
                    f"fixed) and cannot be changed here; remove {name} from this override",
                    on_key=True,
                    related=((*lookup(base_origins, target.file, parts), "parent's value"),),
                )
            )
    _check_materials(doc, patch, base, base_origins, target.file, out)
    for at, word in ((("steps",), "step"), (("form", "sections"), "form section")):
        parent_list = get(base, ".".join(at))
        have = [entry_key(e) for e in parent_list] if isinstance(parent_list, list) else []
        entries = get(patch, ".".join(at))
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, dict) and entry.get("remove") is True and entry.get("id") not in have:
                out.findings.append(
                    Finding(
                        doc.file,
                        (*at, i, "remove"),
                        "unknown-id",
                        f"the parent's item has no {word} {entry.get('id')!r} to remove"
                        f"{_hint(str(entry.get('id')), [str(h) for h in have])}",
                    )
                )
    for at in (("materials",), ("steps",), ("form", "sections")):
        seen: dict[Any, int] = {}
        listed = get(patch, ".".join(at))
        for i, entry in enumerate(listed if isinstance(listed, list) else []):
            key = entry_key(entry)
            if key is not None and key in seen:
                out.findings.append(
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
    out.additions[target.file] = _additions(base, changes, merged)
    key = hashlib.blake2b(f"{target.key}:{doc.key}".encode(), digest_size=16).hexdigest()
    new = make_doc(target.file, "item", merged, key)
    items[code] = new
    out.origins[target.file] = origins
    out.patches.setdefault(code, []).insert(0, doc.file)


def _additions(base: Mapping[str, Any], changes: Mapping[str, Any], merged: Mapping[str, Any]) -> dict[Any, Any]:
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
                    f"written in full{_hint(entry['id'], [str(k) for k in by_key])}"
                )
            found[(*at, index[entry["id"]])] = (i, why)
    return found


def _check_materials(
    doc: Any,
    patch: Mapping[str, Any],
    base: Mapping[str, Any],
    base_origins: Mapping[DocPath, Origin],
    base_file: str,
    out: Resolved,
) -> None:
    """A material the parent requires (always, or under a condition) may not be removed, made optional
    or required under another condition; it may be made required always."""
    parent = {m["id"]: (i, m) for i, m in enumerate(base.get("materials", []))}
    for i, entry in enumerate(patch.get("materials", []) or []):
        hit = parent.get(entry["id"])
        if hit is None:
            if entry.get("remove") is True:
                out.findings.append(
                    Finding(
                        doc.file,
                        ("materials", i, "remove"),
                        "unknown-id",
                        f"the parent's item has no material {entry['id']!r} to remove"
                        f"{_hint(entry['id'], list(parent))}",
                    )
                )
            continue
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
            out.findings.append(
                Finding(
                    doc.file,
                    ("materials", i, "remove" if entry.get("remove") is True else "required"),
                    "overlay-material",
                    f"this override {what} the required material {material['name']!r} ({entry['id']}); a lower "
                    "catalogue may add materials or explain them, but not drop one the parent requires",
                    related=((*lookup(base_origins, base_file, ("materials", pi)), "parent's material"),),
                )
            )


def _hint(word: str, choices: Iterable[str], cutoff: float = 0.5) -> str:
    import difflib

    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return f"; did you mean {match[0]!r}?" if match else ""
