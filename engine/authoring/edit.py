"""Edit the catalogue without losing comments: ``yangguang edit``.

Every edit is checked before it is written: the new bytes stand in for the file in
``engine.check.pipeline.load(replaced=…)``, and the edit is written only when it adds no problem
to the catalogue. The rule is "no new problems" rather than "clean" so that a catalogue that
already has problems can still be repaired one edit at a time; the outcome says how many
problems were there before (``EditOutcome.pre_existing``), and an edit to a clean catalogue
must leave it clean. Problems are compared by file, kind and message, not by line, because
adding or removing an entry moves the lines of the problems below it.

Text changes themselves are engine.authoring.yaml_edit's (only the edited lines change); scaffolding a new
item from an existing one (``yangguang new item --like``) is engine.authoring.new_item's; whether an edit
goes into this file or an inherited item's override file (engine.authoring.override_edit) is
engine.authoring.editing's. Library code: raises EditError (with a message to show as is) and never
prints or exits.
"""

from __future__ import annotations

import difflib
import json
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.authoring import yaml_edit
from engine.base.result import Path as DocPath
from engine.base.result import Problem
from engine.catalogue.cache import FileCache
from engine.catalogue.discover import CENTER_FILE, kind_of
from engine.catalogue.model import CheckResult, Document
from engine.catalogue.schemas import SCHEMA_DIR
from engine.catalogue.yaml_policy import parse
from engine.check.pipeline import load

KIND_NOUNS = {
    "item": "item",
    "fee": "fee schedule",
    "form": "form section",
    "chain": "approval chain",
    "center": "center manifest",
}
FOLDERS = {"fee": "fees", "form": "forms", "chain": "chains"}


class EditError(Exception):
    """An edit that cannot be made; the message says why and what to do instead."""


class InheritedError(EditError):
    """The target lives in a parent catalogue (a path outside this catalogue's root)."""


class EditRefused(EditError):
    """The edit would add problems to the catalogue; nothing was written."""

    def __init__(self, outcome: EditOutcome) -> None:
        super().__init__(f"the edit would add {len(outcome.new_problems)} problem(s); nothing was written")
        self.outcome = outcome


@dataclass(frozen=True, slots=True)
class Target:
    """What an edit changes: ``file`` (relative to the catalogue root) and, inside it, the YAML
    node at ``document`` that holds the item (the whole file today; an override file may hold
    an item's changes under a key, so every edit path is taken relative to this one)."""

    kind: str
    key: str
    file: str
    document: DocPath = ()


@dataclass(frozen=True, slots=True)
class SetValue:
    path: str  # dotted; an id or an index selects a list entry
    value: yaml_edit.Value


@dataclass(frozen=True, slots=True)
class AddEntry:
    list: str  # "material" or "materials", or any dotted path to a list
    value: yaml_edit.Value
    after: str | None = None  # id or index of the entry to insert after (default: at the end)


@dataclass(frozen=True, slots=True)
class RemoveEntry:
    entry: str  # an id or index in ``list``; or, without ``list``, a dotted path
    list: str | None = None


Action = SetValue | AddEntry | RemoveEntry


@dataclass(slots=True)
class EditOutcome:
    target: Target
    file: str
    before: str
    after: str
    diff: str
    changed: bool
    written: bool = False
    result: CheckResult | None = None
    #: problems the catalogue had before the edit (still there; the edit added none)
    pre_existing: int = 0
    new_problems: list[Problem] = field(default_factory=list)


def value(text: str, what: str = "VALUE") -> yaml_edit.Value:
    """A value written in YAML, read under the catalogue's YAML policy (``yes`` is refused)."""
    try:
        return yaml_edit.value_from_text(text, what)
    except yaml_edit.YamlEditError as exc:
        raise EditError(str(exc)) from exc


# -- which file ------------------------------------------------------------------------------------


def target_file(root: Path, name: str, result: CheckResult, for_writing: bool = True) -> Target:
    """The one place that decides which file (and which document in it) an edit of ``name``
    changes: an item code (or exact item name), a fee schedule, form section or chain id, an
    ``item:``/``fee:``/``form:``/``chain:`` prefixed name, or a catalogue path. A target
    inherited from a parent catalogue is refused for writing (InheritedError)."""
    cat = result.catalogue
    tables: dict[str, dict[str, Document]] = {
        "item": cat.items,
        "fee": cat.fees,
        "form": cat.forms,
        "chain": cat.chains,
    }
    prefix, sep, rest = name.partition(":")
    kinds = [prefix] if sep and prefix in tables else list(tables)
    key = rest if sep and prefix in tables else name
    found: list[Target] = []
    for kind in kinds:
        doc = tables[kind].get(key)
        if doc is not None:
            found.append(Target(kind, key, doc.file))
        elif kind == "item" and key in cat.broken_items:  # an item with errors can be edited to fix them
            found.append(Target("item", key, cat.broken_items[key]))
        elif kind != "item" and (root / FOLDERS[kind] / f"{key}.yaml").is_file():  # one with errors
            found.append(Target(kind, key, f"{FOLDERS[kind]}/{key}.yaml"))
    if not found and "item" in kinds:
        found += [Target("item", c, d.file) for c, d in cat.items.items() if (cat.data(d) or {}).get("name") == key]
    rel = key.removeprefix("./")
    if not found and (kind_of(rel) in KIND_NOUNS or rel == CENTER_FILE) and (root / rel).is_file():
        found.append(Target(str(kind_of(rel)), rel, rel))  # a path: items/psb/x.yaml, center.yaml
    found = list(dict.fromkeys(found))
    if not found and key in cat.withdrawn:
        reason, where = cat.withdrawn[key]
        raise EditError(
            f"item {key} is withdrawn by {where} ({reason}), so this catalogue does not offer it; to change it "
            f"here, first take it out of withdraw: in {where}"
        )
    if not found:
        every = [*cat.items, *cat.fees, *cat.forms, *cat.chains]
        close = difflib.get_close_matches(key, every, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `yangguang list` shows every item"
        raise EditError(f"no item, fee schedule, form section or chain is called {key!r}{hint}")
    if len(found) > 1:
        names = ", ".join(f"{t.kind}:{t.key} ({t.file})" for t in found)
        raise EditError(f"{key!r} names more than one thing: {names}; write one of these instead")
    target = found[0]
    # An inherited item is changed through this catalogue's override file (engine.authoring.override_edit, which
    # edit() calls before asking for a writable target), never in the parent's file.
    overridden = target.kind == "item" and (kind_of(target.file) == "override" or target.key in cat.patches)
    if for_writing and (outside(root, target.file) or overridden):
        if target.kind == "item":
            raise InheritedError(
                f"item {target.key} is inherited from {target.file}; a county changes it with an override "
                f"file, overrides/{target.key}.yaml (yangguang edit writes it, given --reason)"
            )
        where = {
            "fee": "fee standards are set above unless the parent's child_rules.local_fee_schedules allows a "
            "local one (then copy the file into fees/ here and edit the copy)",
            "form": f"to change it here, copy it into forms/{target.key}.yaml (the same id replaces the parent's)",
            "chain": f"to change it here, copy it into chains/{target.key}.yaml (the same id replaces the parent's)",
        }.get(target.kind, "it is changed in the catalogue it comes from")
        raise InheritedError(
            f"{KIND_NOUNS[target.kind]} {target.key} is inherited from {target.file}, which this catalogue does "
            f"not change; {where}"
        )
    return target


def outside(root: Path, rel: str) -> bool:
    if rel.startswith("../") or os.path.isabs(rel):
        return True
    return not (root / rel).resolve().is_relative_to(root.resolve())


# -- which entry -----------------------------------------------------------------------------------


def resolve(data: Any, dotted: str, allow_new_key: bool = False) -> tuple[DocPath, bool]:
    """Turn ``materials.licence.required`` into keys and indexes; True when the entry exists.
    A key with dots in it (a fee schedule's ``fields.realestate.use``) is matched as one key."""
    parts = dotted.split(".")
    if not dotted or any(not p for p in parts):
        raise EditError(f"path {dotted!r} has an empty part; write keys separated by dots, e.g. time_limit.promised")
    node, i = data, 0
    out: list[str | int] = []
    while i < len(parts):
        where = ".".join(parts[:i]) or "the file"
        if isinstance(node, dict):
            for j in range(i + 1, len(parts) + 1):
                key = ".".join(parts[i:j])
                if key in node:
                    break
            else:
                if allow_new_key and i == len(parts) - 1:
                    return (*out, parts[i]), False
                raise EditError(f"{where} has no key {parts[i]!r}{hint(parts[i], list(node))}")
            out.append(key)
            node, i = node[key], j
        elif isinstance(node, list):
            index = entry_index(node, parts[i], where)
            out.append(index)
            node, i = node[index], i + 1
        else:
            raise EditError(f"{where} is the value {node!r}, not a mapping or a list, so it has no {parts[i]!r}")
    return tuple(out), True


def entry_index(entries: list[Any], part: str, where: str) -> int:
    """The index of the entry ``part`` names in a list (a number, or an entry's id or value); EditError,
    naming the ids there are, when none matches (``where`` names the list in the message)."""
    if part.isdigit():
        if int(part) < len(entries):
            return int(part)
        raise EditError(f"{where} has {len(entries)} entries, numbered 0 to {len(entries) - 1}; there is no {part}")
    for i, entry in enumerate(entries):
        if entry == part or (isinstance(entry, dict) and entry.get("id") == part):
            return i
    ids = [e if isinstance(e, str) else str(e["id"]) for e in entries if isinstance(e, str) or _has_id(e)]
    listed = f" (ids: {', '.join(ids)})" if ids else f"; its entries have no ids, use a number 0 to {len(entries) - 1}"
    raise EditError(f"{where} has no entry {part!r}{hint(part, ids)}{listed}")


def _has_id(entry: Any) -> bool:
    return isinstance(entry, dict) and "id" in entry


def hint(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.5)
    return f"; did you mean {', '.join(close)}?" if close else ""


def list_path(data: Any, word: str) -> tuple[DocPath, bool]:
    """``material`` -> ``materials`` (the list, when the file has it); else the path as written."""
    for name in (word, word + "s"):
        try:
            path, _ = resolve(data, name)
        except EditError:
            continue
        if not isinstance(walk(data, path), list):
            raise EditError(f"{name} is not a list (it is {walk(data, path)!r}); use `set {name} …` to change it")
        return path, True
    return resolve(data, word, allow_new_key=True)


def walk(node: Any, path: DocPath) -> Any:
    """The value at ``path`` in a document's data (the path exists)."""
    for part in path:
        node = node[part]
    return node


def change_for(data: Any, action: Action) -> yaml_edit.Change:
    """The concrete change an action makes on this document's data."""
    if isinstance(action, SetValue):
        path, exists = resolve(data, action.path, allow_new_key=True)
        current = walk(data, path) if exists else None
        plain = action.value.plain
        if isinstance(current, dict) and {"value", "unit"} <= current.keys() and type(plain) is int:
            path = (*path, "value")  # `set time_limit.promised 5`: a number for a duration keeps its unit
        return yaml_edit.Change("set", path, action.value)
    if isinstance(action, AddEntry):
        path, exists = list_path(data, action.list)
        if not exists:  # the first entry of a list the file does not have yet
            return yaml_edit.Change("set", path, yaml_edit.new_list(action.value))
        entries = walk(data, path)
        new = action.value.plain
        if _has_id(new) and any(_has_id(e) and e["id"] == new["id"] for e in entries):
            raise EditError(f"{_dotted(path)} already has an entry with id {new['id']!r}; choose another id")
        at = len(entries) if action.after is None else entry_index(entries, action.after, _dotted(path)) + 1
        return yaml_edit.Change("insert", (*path, at), action.value)
    if action.list is not None:
        path, exists = list_path(data, action.list)
        if not exists:
            raise EditError(f"the file has no list {action.list!r} (nor {action.list + 's'!r})")
        return yaml_edit.Change("delete", (*path, entry_index(walk(data, path), action.entry, _dotted(path))))
    path, _ = resolve(data, action.entry)
    return yaml_edit.Change("delete", path)


def _fee_line_key(data: Any, change: yaml_edit.Change) -> None:
    """A key a fee line of its kind does not have (``amount`` on a per_unit line, which charges a
    ``rate``) is refused here, before the check buries it under every item using the schedule."""
    path = change.path
    if change.op != "set" or len(path) != 3 or path[0] != "lines" or not isinstance(path[1], int):
        return
    line = data["lines"][path[1]]
    kind = line.get("kind") if isinstance(line, dict) else None
    fee_schema = json.loads((SCHEMA_DIR / "fee.schema.json").read_text(encoding="utf-8"))
    definition = fee_schema.get("definitions", {}).get(f"{kind}_line")
    if not isinstance(definition, dict) or path[2] in line:
        return
    keys = list(definition.get("properties", {}))
    if path[2] not in keys:
        money = _LINE_MONEY.get(str(kind), "")
        why = f"; its money is {money!r}" if path[2] in _LINE_MONEY.values() else hint(str(path[2]), keys)
        raise EditError(
            f"lines.{line.get('id', path[1])} is a {kind} line, which has no {path[2]!r}{why} "
            f"(its keys: {', '.join(keys)})"
        )


#: the key that holds a fee line's money, by its kind (fee.schema.json)
_LINE_MONEY = {"fixed": "amount", "per_unit": "rate", "tiered": "bands", "percentage": "percent"}


def _dotted(path: DocPath) -> str:
    return ".".join(str(p) for p in path) or "the file"


# -- an edit of a file of this catalogue ----------------------------------------------------------


def edit_own(
    root: Path, cache: FileCache, before: CheckResult, name: str, action: Action, dry_run: bool
) -> EditOutcome:
    """Make ``action`` in ``name``'s own file of this catalogue, check the catalogue with it (``before`` is
    the check without it), and write it (atomically) unless ``dry_run`` or it adds a problem
    (EditRefused, carrying the outcome). engine.authoring.editing.edit decides it is not an inherited
    item, which is changed in its override file instead (engine.authoring.override_edit)."""
    target = target_file(root, name, before)
    path = root / target.file
    raw = read_file(path, target.file)
    data = file_data(raw, target.file)
    change = change_for(walk(data, target.document), action)
    if target.kind == "fee":
        _fee_line_key(data, change)
    change = yaml_edit.Change(change.op, (*target.document, *change.path), change.value)
    old_text = file_text(raw, target.file)
    try:
        new_text = yaml_edit.apply(old_text, change)
    except yaml_edit.YamlEditError as exc:
        raise EditError(f"{target.file}: {exc}") from exc
    new_raw = new_text.encode("utf-8")
    outcome = EditOutcome(target, target.file, old_text, new_text, unified_diff(target.file, old_text, new_text), False)
    if new_raw == raw:
        return outcome
    outcome.changed = True
    check_replaced(root, cache, before, {target.file: new_raw}, outcome)
    if not dry_run:
        write_atomic(path, new_raw, expect=raw)
        outcome.written = True
    return outcome


def catalogue_root(root: Path | str) -> Path:
    root = Path(root)
    if not (root / CENTER_FILE).is_file():
        raise EditError(f"{root} is not a catalogue (it has no {CENTER_FILE}); pass --catalog DIR")
    return root


def check_replaced(root: Path, cache: FileCache, before: CheckResult, replaced: dict[str, bytes], outcome: Any) -> None:
    """Check the catalogue with ``replaced`` standing in for files; EditRefused if that adds an error
    (a warning it adds is kept in ``outcome.new_problems`` and printed, but does not refuse the edit)."""
    after = load(root, cache, full=False, replaced=replaced)
    outcome.result = after
    outcome.pre_existing = len(before.errors)  # warnings never stop an edit: not counted as problems
    outcome.new_problems = new_problems(before.problems, after.problems)
    if any(p.is_error for p in outcome.new_problems):
        raise EditRefused(outcome)


def new_problems(before: list[Problem], after: list[Problem]) -> list[Problem]:
    """Problems ``after`` has that ``before`` did not (same file, kind and message; lines move)."""
    left = Counter((p.file, p.kind, p.message) for p in before)
    out = []
    for p in after:
        key = (p.file, p.kind, p.message)
        if left[key]:
            left[key] -= 1
        else:
            out.append(p)
    return out


def unified_diff(rel: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), fromfile=f"a/{rel}", tofile=f"b/{rel}", lineterm="", n=2
    )
    return "".join(line + "\n" for line in lines)


def read_file(path: Path, rel: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise EditError(f"cannot read {rel}: {exc.strerror}") from exc


def file_text(raw: bytes, rel: str) -> str:
    try:
        return yaml_edit.decode_text(raw)
    except yaml_edit.YamlEditError as exc:
        raise EditError(f"{rel}: {exc}") from exc


def file_data(raw: bytes, rel: str) -> Any:
    parsed = parse(raw)
    if parsed.data is None:
        e = parsed.errors[0] if parsed.errors else None
        where = f":{e.line}:{e.column}: {e.message}" if e else ""
        raise EditError(f"{rel}{where}; the file cannot be read, so fix it by hand first")
    if not isinstance(parsed.data, dict):
        raise EditError(f"{rel} is not a mapping of key: value lines; fix it by hand first")
    return parsed.data


def write_atomic(path: Path, data: bytes, expect: bytes | None = None, exclusive: bool = False) -> None:
    """Write through a temporary file and a rename, so a reader (or a crash) never sees half a
    file; keep the file's mode. ``expect``: refuse if the file changed since it was read.
    ``exclusive``: the file must not exist (a new item), checked by the final link itself."""
    if exclusive:
        mode = 0o666 & ~_umask()
    else:
        try:
            mode = path.stat().st_mode & 0o7777
        except OSError as exc:
            raise EditError(f"cannot write {path}: {exc.strerror}") from exc
    # A leading dot: the catalogue's discovery skips dot files, so a crash never leaves a stray file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        if expect is not None and path.read_bytes() != expect:
            raise EditError(f"{path} changed on disk while the edit was checked; nothing was written — run it again")
        if exclusive:
            try:
                os.link(tmp, path)  # fails if the file appeared meanwhile, unlike a rename
            except FileExistsError as exc:
                raise EditError(f"{path} already exists; nothing was written") from exc
            except OSError:  # no hard links on this file system
                if path.exists():
                    raise EditError(f"{path} already exists; nothing was written") from None
                os.replace(tmp, path)
        else:
            os.replace(tmp, path)
    except OSError as exc:
        raise EditError(f"cannot write {path}: {exc.strerror}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
