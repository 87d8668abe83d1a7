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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.base.result import Finding
from engine.base.result import Path as DocPath
from engine.catalogue.merge import Origins, get, lookup, merge
from engine.catalogue.override_rules import additions, check_override, hint
from engine.catalogue.stack import Layer

__all__ = ["LayerDocs", "Resolved", "resolve"]

FIXED_WORDS = {
    "time_limit.legal": "the legal limit (法定时限)",
    "basis": "the legal basis (设定依据)",
    "type": "the item type (事项类型)",
    "fee": "the fee standard (收费标准)",
}


# -- folding the layers ------------------------------------------------------------------------


@dataclass(slots=True)
class LayerDocs:
    """One layer's documents that passed their schema (data may be left in the cache: ``data()``)."""

    layer: Layer
    docs: list[Any]  # engine.catalogue.model.Document


@dataclass(slots=True)
class Resolved:
    documents: list[Any]  # engine.catalogue.model.Document, in catalogue order
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
    fold = _Fold(layers, data, codes, make_doc, broken or {})
    for depth in range(len(layers) - 1, -1, -1):  # from the top of the stack (province) down to this catalogue
        fold.layer(depth)
    return fold.result()


class _Fold:
    """What folding the layers from the top down has gathered so far; ``layer`` folds in the next one."""

    def __init__(
        self,
        layers: list[LayerDocs],
        data: Callable[[Any], Any],
        codes: Mapping[str, str],
        make_doc: Callable[[str, str, Any, str], Any],
        broken: Mapping[str, str],
    ) -> None:
        self.layers, self.data, self.codes, self.make_doc, self.broken = layers, data, codes, make_doc, broken
        self.out = Resolved([])
        self.incomplete = any(ld.layer.cut for ld in layers)
        self.items: dict[str, Any] = {}  # code -> Document
        self.item_layer: dict[str, int] = {}  # code -> index (top-first) of the layer that defined the item
        self.tables: dict[str, dict[Any, tuple[Any, int]]] = {"fee": {}, "form": {}, "chain": {}, "calendar": {}}
        self.center_doc: Any = None
        self.center_origins: Origins = {}
        self.fixed: set[str] = set()
        self.fees_allowed = True
        self.fees_forbidden: tuple[str, bool] = ("", False)  # the center that forbids local fee schedules; said so?
        self.fixed_by: dict[str, str] = {}  # fixed field -> center file that fixed it

    def layer(self, depth: int) -> None:
        ld = self.layers[depth]
        is_base = depth == len(self.layers) - 1
        own_center = next((d for d in ld.docs if d.kind == "center"), None)
        overrides = [d for d in ld.docs if d.kind == "override"]
        for doc in ld.docs:
            if doc.kind == "item":
                self.item(doc, depth)
            elif doc.kind in self.tables:
                self.table_document(doc, depth, is_base)
        # the center: this layer's facts over the parent's; departments replaced entry by entry
        if own_center is not None:
            self.center_doc, self.center_origins = _merge_center(
                self.center_doc, self.center_origins, own_center, self.make_doc
            )
        if overrides and is_base:
            for doc in overrides if not (ld.layer.unreadable or ld.layer.cut) else []:
                self.out.findings.append(
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
        self.overrides(overrides, depth, withdrawing, here)
        for i, entry in enumerate(withdraw):
            self.withdrawal(i, entry, depth, withdrawing, here)
        # what this layer fixes binds every layer below it
        rules = (own_center.data or {}).get("child_rules", {}) if own_center is not None else {}
        for name in rules.get("fixed", []):
            self.fixed.add(name)
            self.fixed_by.setdefault(name, here)
        if rules.get("local_fee_schedules") is not True and self.fees_allowed:
            self.fees_allowed = False  # the first layer (from the top) that does not allow them binds all below
            self.fees_forbidden = (ld.layer.center_file, "local_fee_schedules" in rules)

    def item(self, doc: Any, depth: int) -> None:
        """An item file of the layer at ``depth``: a new code, or one a layer above already defines."""
        items, out = self.items, self.out
        code = self.codes.get(doc.file) or self.data(doc)["code"]
        if code in items and self.item_layer[code] != depth:
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
            return
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
            return
        if code not in items:
            items[code], self.item_layer[code] = doc, depth
        else:
            out.documents.append(doc)  # a duplicate within one layer: crossref reports it

    def table_document(self, doc: Any, depth: int, is_base: bool) -> None:
        """A fee schedule, form section, chain or calendar: a lower layer's replaces the parent's of the same id
        (a fee schedule only where a layer above allows local ones)."""
        key = doc.data.get("id", doc.data.get("year"))
        previous = self.tables[doc.kind].get(key)
        if doc.kind == "fee" and not is_base and not self.fees_allowed:
            related = (previous[0].file, ("id",), "parent's fee schedule") if previous else None
            forbidden_by, said = self.fees_forbidden
            self.out.findings.append(
                Finding(
                    doc.file,
                    ("id",),
                    "overlay-fee",
                    f"fee standards are set above: {forbidden_by} does not allow local fee schedules "
                    f"(child_rules.local_fee_schedules {'is false' if said else 'is not set'}); "
                    "remove this file, or ask that catalogue to allow them"
                    + (f" — this would replace {previous[0].file}" if previous else ""),
                    on_key=True,
                    related=(related,) if related else ((self.layers[depth + 1].layer.center_file, (), "parent"),),
                )
            )
            return
        self.tables[doc.kind][key] = (doc, depth)

    def overrides(self, overrides: list[Any], depth: int, withdrawing: Mapping[str, int], here: str) -> None:
        """This layer's override files, one per inherited item it changes, named by its code."""
        out = self.out
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
            if code in withdrawing and code in self.items:
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
                doc,
                self.items,
                self.item_layer,
                depth,
                self.fixed,
                self.fixed_by,
                self.data,
                self.make_doc,
                out,
                self.broken,
                self.incomplete,
            )

    def withdrawal(
        self, i: int, entry: Mapping[str, Any], depth: int, withdrawing: Mapping[str, int], here: str
    ) -> None:
        """The ``i``-th entry of this layer's ``withdraw``: an inherited item, left out from here down."""
        code, out = entry["code"], self.out
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
            return
        if code not in self.items and self.incomplete:
            return  # a layer above could not be read (reported there): its items are not known
        if code not in self.items or self.item_layer[code] == depth:
            if code in self.items:
                where = "defined in this catalogue; delete its file instead"
            else:
                where = _not_inherited(code, self.items, out, self.broken, "entry")
            out.findings.append(
                Finding(
                    here,
                    ("withdraw", i, "code"),
                    "unknown-item",
                    f"cannot withdraw {code!r}: it is {where}",
                )
            )
            return
        doc = self.items.pop(code)
        out.origins.pop(doc.file, None)
        out.withdrawn[code] = (entry["reason"], here)
        for chain, chain_depth in self.tables["chain"].values():
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

    def result(self) -> Resolved:
        out = self.out
        if self.center_doc is not None:
            out.documents.insert(0, self.center_doc)
            if self.center_origins:
                out.origins[self.center_doc.file] = self.center_origins
        out.documents.extend(self.items.values())
        for kind in ("fee", "form", "chain", "calendar"):
            out.documents.extend(doc for doc, _ in self.tables[kind].values())
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


def _not_inherited(code: str, items: Mapping[str, Any], out: Resolved, broken: Mapping[str, str], noun: str) -> str:
    """Why no layer above offers ``code``, for an override or a withdrawal naming it."""
    if code in out.withdrawn:
        reason, by = out.withdrawn[code]
        return f"withdrawn by {by} ({reason}); delete this {noun}"
    if code in broken:
        return f"an item whose file {broken[code]} has problems (reported there); fix them first"
    return f"not an item of the parent catalogue{hint(code, items, 0.8)}"


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
        if target is not None:
            what = "an item of this catalogue; edit its file instead"
        else:
            what = _not_inherited(code, items, out, broken, "override")
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
    out.findings.extend(check_override(doc, patch, base, base_origins, target.file))
    out.additions[target.file] = additions(base, changes, merged)
    key = hashlib.blake2b(f"{target.key}:{doc.key}".encode(), digest_size=16).hexdigest()
    new = make_doc(target.file, "item", merged, key)
    items[code] = new
    out.origins[target.file] = origins
    out.patches.setdefault(code, []).insert(0, doc.file)
