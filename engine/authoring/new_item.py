"""``yangguang new item --like``: scaffold an item from an existing one.

The new file is the source's text — comments, order and layout kept — with only ``code`` (and
``name``, ``department`` when given) changed through engine.authoring.yaml_edit, checked with the whole
catalogue before it is written, and written only where no file is (never over one).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from engine.authoring import yaml_edit
from engine.authoring.edit import (
    KIND_NOUNS,
    EditError,
    Target,
    catalogue_root,
    check_replaced,
    file_data,
    file_text,
    hint,
    outside,
    read_file,
    target_file,
    write_atomic,
)
from engine.base.result import Problem
from engine.catalogue.cache import FileCache
from engine.catalogue.discover import kind_of
from engine.catalogue.model import CheckResult
from engine.catalogue.schemas import SCHEMA_DIR
from engine.check.pipeline import load


@dataclass(slots=True)
class NewItemOutcome:
    file: str
    code: str
    name: str
    like: Target
    text: str
    name_kept: bool  # no --name: the source's name with NAME_MARK, for the administrator to change
    written: bool = False
    result: CheckResult | None = None
    pre_existing: int = 0
    new_problems: list[Problem] = field(default_factory=list)


#: appended to the source's name when no --name is given: visible in every list and notice, so
#: nobody mistakes the copy for the original, and it says what to do
NAME_MARK = "（副本，请改名）"


def new_item(
    root: Path | str,
    like: str,
    code: str,
    name: str | None = None,
    department: str | None = None,
    file: str | None = None,
    dry_run: bool = False,
) -> NewItemOutcome:
    """Scaffold an item from ``like``'s file: its text with comments, ``code`` (and the name and
    department when given) replaced, written to ``items/<department>/<code>.yaml`` or ``file``."""
    root = catalogue_root(root)
    cache = FileCache(root)
    before = load(root, cache, full=False)
    cat = before.catalogue
    source = target_file(root, f"item:{like}" if ":" not in like else like, before, for_writing=False)
    if source.kind != "item":
        raise EditError(f"--like {like}: {source.file} is a {KIND_NOUNS[source.kind]}, not an item")
    pattern, rule = _code_rule()
    if not re.fullmatch(pattern, code):
        raise EditError(f"--code {code!r} is not an item code: {rule}")
    taken = cat.items[code].file if code in cat.items else cat.broken_items.get(code)
    if taken is not None:
        raise EditError(f"item code {code} is already used by {taken}; choose another code")
    raw = read_file(root / source.file, source.file)
    data = file_data(raw, source.file)
    new_name = name if name is not None else _marked(str(data.get("name", "")))
    changes = [("code", code), ("name", new_name)]
    if department is not None:
        if cat.department(department) is None:
            depts = [str(d["id"]) for d in (cat.center or {}).get("departments", [])]
            raise EditError(f"--department {department!r} is not in center.yaml{hint(department, depts)}")
        changes.append(("department", department))
    text = file_text(raw, source.file)
    try:
        for key, new in changes:
            if key in data:
                text = yaml_edit.apply(text, yaml_edit.Change("set", (key,), yaml_edit.plain_value(new)))
    except yaml_edit.YamlEditError as exc:
        raise EditError(f"{source.file}: {exc}") from exc
    rel = _new_file(root, file, department or str(data.get("department", "")), code)
    text = _modeline(text, root / source.file, root / rel)
    outcome = NewItemOutcome(rel, code, new_name, source, text, name is None)
    new_raw = text.encode("utf-8")
    check_replaced(root, cache, before, {rel: new_raw}, outcome)
    if not dry_run:
        # items/<department>/ may not exist yet; an empty folder left by a failed write is harmless
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(root / rel, new_raw, exclusive=True)
        outcome.written = True
    return outcome


def _code_rule() -> tuple[str, str]:
    """The item code pattern and its description, from common.schema.json (the one definition)."""
    common = json.loads((SCHEMA_DIR / "common.schema.json").read_text(encoding="utf-8"))
    definition = common["definitions"]["item_code"]
    return str(definition["pattern"]), str(definition["description"])


def _marked(old: str) -> str:
    limit = 100 - len(NAME_MARK)  # item.schema.json: name maxLength 100
    return old[:limit] + NAME_MARK


def _new_file(root: Path, file: str | None, department: str, code: str) -> str:
    if file is None:
        rel = f"items/{department}/{code.lower()}.yaml"
    else:
        given = Path(file)
        absolute = given if given.is_absolute() else Path.cwd() / given
        try:  # --file is a path on the command line (from the current directory) or under the catalogue
            rel = absolute.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            rel = given.as_posix().removeprefix("./")
    if kind_of(rel) != "item" or outside(root, rel):
        raise EditError(f"--file {file}: an item file is a .yaml file under items/ of the catalogue ({root})")
    if (root / rel).exists():
        raise EditError(f"{rel} already exists; choose another --file")
    return rel


def _modeline(text: str, source: Path, new: Path) -> str:
    """Point the copied schema modeline at the same schema from the new file's folder."""
    first, sep, rest = text.partition("\n")
    m = re.search(r"(\$schema=)(\S+)", first)
    if not first.lstrip("\ufeff").startswith("#") or m is None:
        return text
    # lexical paths, as an editor follows a modeline: resolving would follow the repository's schema/ link
    # into engine/catalogue/schema and write that path instead of the ../schema the source file uses
    schema = Path(os.path.abspath(source.parent / m.group(2)))
    if not schema.is_file():
        return text
    rel = Path(os.path.relpath(schema, os.path.abspath(new.parent))).as_posix()
    return first[: m.start(2)] + rel + first[m.end(2) :] + sep + rest
