"""``yangguang edit`` on an item a county inherits: the change goes into ``overrides/CODE.yaml``.

A lower-level catalogue never edits its parent's files (they are the city's, pulled
unchanged). An edit of an inherited item is turned into the smallest override that
makes it — ``set time_limit.promised 5`` becomes ``time_limit: {promised: {value: 5}}``,
a material named by id becomes ``materials: [{id: …, copies: 2}]``, ``remove material X``
becomes ``{id: X, remove: true}`` — and written into this catalogue's override file for
the item, which is created (with the ``--reason`` the schema asks for) when there is none.

An existing override file keeps its comments: only the top-level key the edit touches is
rewritten (engine.authoring.yaml_edit). The whole stack is then checked with the new file standing in,
so an edit that breaks a parent's rule (a fixed legal limit, a required material) is refused
and nothing is written, exactly as for any other edit.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

from engine.authoring import edit as lib
from engine.authoring import yaml_edit
from engine.base.result import Path as DocPath
from engine.catalogue.cache import FileCache
from engine.catalogue.merge import ID_LISTS, entry_key, id_list, lookup
from engine.catalogue.model import CheckResult
from engine.catalogue.schemas import SCHEMA_DIR

MODELINE = re.compile(r"#\s*yaml-language-server:\s*\$schema=(\S+)")


def dump_new(data: dict[str, Any]) -> str:
    """A new override file's YAML: block style at the top, small mappings on one line, as written by hand."""
    import io

    from ruamel.yaml import YAML

    yml = YAML(typ="rt")
    yml.indent(mapping=2, sequence=4, offset=2)
    yml.width = 10_000
    out = io.StringIO()
    yml.dump(data, out)
    return out.getvalue()


def _schema_ref(root: Path, folder: Path) -> str:
    """Where the new file's modeline points: beside the schema the catalogue's own center.yaml names
    (so a copied or moved catalogue stays consistent), else the engine's schema directory."""
    try:
        first = (root / "center.yaml").read_text(encoding="utf-8").split("\n", 1)[0]
    except (OSError, UnicodeDecodeError):
        first = ""
    found = MODELINE.search(first)
    if found and found.group(1).endswith("center.schema.json"):
        return "../" + found.group(1).removesuffix("center.schema.json") + "override.schema.json"
    return Path(os.path.relpath(SCHEMA_DIR / "override.schema.json", folder)).as_posix()


def override_file(root: Path, result: CheckResult, code: str) -> str:
    """This catalogue's override file for ``code`` (the one it has, else ``overrides/CODE.yaml``)."""
    for rel in result.catalogue.patches.get(code, []):
        if not lib.outside(root, rel):
            return rel
    return f"overrides/{code}.yaml"


def _entry_id(data: Any, path: DocPath, n: int) -> Any:
    node = data
    for part in path[:n]:
        node = node[part]
    return entry_key(node)


def patch_for(resolved: Any, action: lib.Action) -> dict[str, Any]:
    """The override content that makes ``action`` on the resolved item ``resolved``."""
    if isinstance(action, lib.AddEntry):
        path, exists = lib.list_path(resolved, action.list)
        if tuple(p for p in path if isinstance(p, str)) not in ID_LISTS:
            raise lib.EditError(
                "an override adds entries to materials, steps or form.sections only; "
                f"{'.'.join(map(str, path))} is replaced whole: `set` it to the full new list instead"
            )
        if action.after is not None:
            raise lib.EditError(
                "an override cannot place an entry: what it adds to the parent's list comes after the parent's "
                "entries; leave out --after"
            )
        new = action.value.plain
        sections = tuple(p for p in path if isinstance(p, str)) == ("form", "sections")
        if entry_key(new) is None or (isinstance(new, str) and not sections):
            raise lib.EditError("the new entry needs an id (a mapping with id: …)")
        entries = lib.walk(resolved, path) if exists else []
        if any(entry_key(e) == entry_key(new) for e in entries):
            raise lib.EditError(f"{'.'.join(map(str, path))} already has an entry with id {entry_key(new)!r}")
        return _nest(resolved, path, [copy.deepcopy(new)])
    if isinstance(action, lib.RemoveEntry):
        if action.list is None:
            raise lib.EditError(
                "an override cannot delete a key of the parent's item; set it to another value instead "
                "(or withdraw the item in center.yaml)"
            )
        path, index = _removed(resolved, action)
        if tuple(p for p in path if isinstance(p, str)) not in ID_LISTS:
            raise lib.EditError("an override removes entries of materials, steps or form.sections only")
        return _nest(resolved, path, [{"id": entry_key(lib.walk(resolved, path)[index]), "remove": True}])

    change = lib.change_for(resolved, action)  # the same paths, ids and duration shorthand as any edit
    where = change.path
    if len(where) >= 2 and where[-1] == "id" and tuple(q for q in where[:-2] if isinstance(q, str)) in ID_LISTS:
        listed = ".".join(map(str, where[:-2]))
        raise lib.EditError(
            f"an override finds the parent's entries of {listed} by id, so an id cannot be renamed here: "
            f"`remove {listed} {_entry_id(resolved, where, len(where) - 1)}`, then `add` an entry with the new id"
        )
    return _nest(resolved, change.path, copy.deepcopy(action.value.plain))


def _removed(resolved: Any, action: lib.RemoveEntry) -> tuple[DocPath, int]:
    """The list path and index of the entry ``remove LIST ID`` names in the resolved item."""
    assert action.list is not None
    path, exists = lib.list_path(resolved, action.list)
    if not exists:
        raise lib.EditError("an override removes entries of materials, steps or form.sections only")
    return path, lib.entry_index(lib.walk(resolved, path), action.entry, ".".join(map(str, path)))


def added_here(cat: Any, code: str, rel: str, resolved: Any, action: lib.Action) -> tuple[DocPath, int] | None:
    """For ``remove`` of an entry this catalogue's own override ``rel`` added (the parent has no such
    entry): the entry's (list path, index) in that file, so the edit deletes it there rather than
    writing ``remove: true`` for an id no parent has."""
    if not isinstance(action, lib.RemoveEntry) or action.list is None:
        return None
    path, index = _removed(resolved, action)  # patch_for has already resolved it without error
    file, at = lookup(cat.origins.get(cat.items[code].file), cat.items[code].file, (*path, index))
    if file != rel or not at or not isinstance(at[-1], int):
        return None
    return at[:-1], at[-1]


def _nest(resolved: Any, path: DocPath, leaf: Any) -> dict[str, Any]:
    """``leaf`` at ``path`` of the resolved item, as override content: mappings by key, entries of
    id'd lists by their id, and any other list replaced whole with the change made in it."""
    for n in range(len(path) - 1, -1, -1):
        part = path[n]
        if isinstance(part, int):
            entries = lib.walk(resolved, path[:n])
            if tuple(p for p in path[:n] if isinstance(p, str)) in ID_LISTS and id_list(entries):
                entry_id = _entry_id(resolved, path, n + 1)
                if not isinstance(entries[part], dict) or not isinstance(leaf, dict):
                    dotted = ".".join(map(str, path[: n + 1]))
                    raise lib.EditError(
                        f"{dotted} is the entry {entry_id!r}; an override changes this list by id, so it does not "
                        f"replace an entry in place: `remove {'.'.join(map(str, path[:n]))} {entry_id}`, then "
                        "`add` the new one (it goes at the end), or change keys inside the entry"
                    )
                leaf = [{"id": entry_id, **leaf}] if isinstance(leaf, dict) else [leaf]
                continue
            # a list without ids (conditions, faq, form fields): the override replaces it whole, with
            # the change made inside the entry (its other keys kept)
            whole = copy.deepcopy(lib.walk(resolved, path[:n]))
            whole[part] = _merge_patch(whole[part], leaf) if n + 1 < len(path) else leaf
            leaf = whole
            continue
        leaf = {part: leaf}
    assert isinstance(leaf, dict)
    return leaf


def _merge_patch(old: Any, new: Any) -> Any:
    """Fold new override content into the file's existing content, the way engine.catalogue.merge reads both."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = dict(old)
        for key, value in new.items():
            out[key] = _merge_patch(old[key], value) if key in old else value
        return out
    if isinstance(old, list) and isinstance(new, list) and id_list(old) and id_list(new):
        out_list = [dict(e) if isinstance(e, dict) else e for e in old]
        for entry in new:
            at = next((i for i, e in enumerate(out_list) if entry_key(e) == entry_key(entry)), None)
            if at is None:
                out_list.append(entry)
                continue
            hit = out_list[at]
            changes = isinstance(hit, dict) and isinstance(entry, dict)
            if changes and hit.get("remove") is not True and entry.get("remove") is not True:
                out_list[at] = _merge_patch(hit, entry)
            else:  # removed now, added back after a removal, or a section named instead of inline
                out_list[at] = entry
        return out_list
    return new


def _first_change(old: Any, new: Any, at: DocPath) -> yaml_edit.Change | None:
    """The first edit that brings ``old`` closer to ``new``, as small as the data allows: a new key is
    set, an existing mapping is entered, a new id'd entry is appended, anything else is replaced."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key, value in new.items():
            if key not in old:
                return yaml_edit.Change("set", (*at, key), yaml_edit.plain_value(value))
            found = _first_change(old[key], value, (*at, key))
            if found is not None:
                return found
        for key in old:
            if key not in new:
                return yaml_edit.Change("delete", (*at, key))
        return None
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new) + 1:
        for i in range(len(old)):
            if old[:i] + old[i + 1 :] == new:
                return yaml_edit.Change("delete", (*at, i))
    if isinstance(old, list) and isinstance(new, list) and len(new) >= len(old) and old == new[: len(old)]:
        if len(new) > len(old):
            return yaml_edit.Change("insert", (*at, len(old)), yaml_edit.plain_value(new[len(old)]))
        return None
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            if a == b or entry_key(a) is None or entry_key(a) != entry_key(b):
                continue
            if isinstance(a, dict) and isinstance(b, dict) and not ("remove" in b and "remove" not in a):
                return _first_change(a, b, (*at, i))  # key by key (an earlier remove: true is deleted)
            # removed now, added back, or a section named instead of inline: that entry is rewritten,
            # the rest of the list (and its comments) stays
            return yaml_edit.Change("set", (*at, i), yaml_edit.plain_value(b))
    if old != new:
        return yaml_edit.Change("set", at, yaml_edit.plain_value(new))
    return None


def _rewrite(text: str, desired: Any, rel: str) -> str:
    """Edit an existing override file step by step until it reads as ``desired``; only those lines change."""
    for _ in range(100):  # each step makes one difference go away
        change = _first_change(lib.file_data(text.encode("utf-8"), rel), desired, ())
        if change is None:
            return text
        try:
            text = yaml_edit.apply(text, change)
        except yaml_edit.YamlEditError as exc:
            raise lib.EditError(f"{rel}: {exc}") from exc
    raise lib.EditError(f"{rel}: the override could not be rewritten; edit it by hand")


def edit(
    root: Path,
    cache: FileCache,
    before: CheckResult,
    code: str,
    action: lib.Action,
    reason: str | None,
    dry_run: bool,
) -> lib.EditOutcome:
    """Write ``action`` on the inherited item ``code`` into this catalogue's override file."""
    cat = before.catalogue
    if code not in cat.items:
        raise lib.EditError(f"item {code} has errors of its own in its override; fix them by hand first")
    resolved = cat.data(cat.items[code])
    patch = patch_for(resolved, action)
    rel = override_file(root, before, code)
    path = root / rel
    target = lib.Target("item", code, rel)
    if path.is_file():
        raw = lib.read_file(path, rel)
        old_text = lib.file_text(raw, rel)
        data = lib.file_data(raw, rel)
        desired = copy.deepcopy(data)
        if reason:
            desired["reason"] = reason
        own = added_here(cat, code, rel, resolved, action)
        if own is not None:  # an entry this override added: deleted from the file
            (list_at, index) = own
            entries = lib.walk(desired, list_at)
            del entries[index]
            if not entries and len(list_at) == 1:
                del desired[list_at[0]]
        else:
            for key, value in patch.items():
                desired[key] = _merge_patch(data.get(key), value) if key in data else value
        new_text = _rewrite(old_text, desired, rel)
    else:
        if not reason:
            raise lib.EditError(
                f"item {code} is inherited from {cat.items[code].file}; the change goes into a new override file "
                f"{rel}, which needs the reason for the local change: add --reason '…'"
            )
        raw = b""
        old_text = ""
        head = (
            f"# yaml-language-server: $schema={_schema_ref(root, path.parent)}\n"
            # a comment in the catalogue's file, bilingual like the schemas an editor shows (engine.base.i18n)
            f"# {code}：本目录对继承事项的修改，只写改动的字段 / changes to an inherited item\n"
        )
        new_text = head + dump_new({"code": code, "reason": reason, **patch})
    new_raw = new_text.encode("utf-8")
    outcome = lib.EditOutcome(target, rel, old_text, new_text, lib.unified_diff(rel, old_text, new_text), False)
    if new_raw == raw:
        return outcome
    outcome.changed = True
    lib.check_replaced(root, cache, before, {rel: new_raw}, outcome)
    if not dry_run:
        if raw:
            lib.write_atomic(path, new_raw, expect=raw)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            lib.write_atomic(path, new_raw, exclusive=True)
        outcome.written = True
    return outcome
