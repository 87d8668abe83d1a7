"""JSON Schemas: loading, bundling and validating with errors an administrator can act on.

The schemas ship inside this package (``engine/catalogue/schema/``, read through
``importlib.resources``, so an installed wheel needs no checkout; the repository's
``schema/`` is a link to them for the catalogue files' editor modelines). They refer to
each other by relative file name (``common.schema.json#/definitions/x``) so that editors
resolve them on disk.
Here each schema is bundled into one self-contained document, then compiled
twice: fastjsonschema confirms valid documents quickly (the common case), and
only a document that fails is run through jsonschema to collect every error.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from importlib.resources import files
from pathlib import Path as FsPath
from typing import Any

import fastjsonschema

from engine.base.result import Path
from engine.catalogue.schema_hints import (
    colon_text,
    const_branch,
    const_said,
    enum_labels,
    from_chinese,
    label_of,
    means_const,
)

# a real folder, not just a Traversable: the check cache stats its files and new override files point at it;
# pip installs a wheel as files, so the package's resources are always on disk
SCHEMA_DIR = FsPath(str(files("engine.catalogue") / "schema"))

#: document kind -> schema file
KINDS = {
    "item": "item.schema.json",
    "fee": "fee.schema.json",
    "form": "form.schema.json",
    "chain": "chain.schema.json",
    "center": "center.schema.json",
    "calendar": "calendar.schema.json",
    "override": "override.schema.json",
    "synonyms": "synonyms.schema.json",
    "appeals": "appeals.schema.json",
    "notifications": "notifications.schema.json",
    "appointments": "appointments.schema.json",
}


@dataclass(frozen=True, slots=True)
class SchemaError:
    path: Path
    kind: str
    message: str
    on_key: bool = False


def _read(name: str, directory: FsPath) -> dict[str, Any]:
    with open(directory / name, encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def bundle(name: str, directory: FsPath = SCHEMA_DIR) -> dict[str, Any]:
    """Inline every cross-file ``$ref`` as a local definition ``<file stem>__<name>``."""
    root = copy.deepcopy(_read(name, directory))
    root.pop("$id", None)
    defs: dict[str, Any] = root.setdefault("definitions", {})
    files: dict[str, dict[str, Any]] = {name: root}
    pending: list[tuple[str, str]] = []

    def rewrite(node: Any, owner: str) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                target_file, _, pointer = ref.partition("#")
                target_file = target_file or owner
                if not pointer.startswith("/definitions/"):
                    raise ValueError(f"{owner}: unsupported $ref {ref!r}")
                def_name = pointer.removeprefix("/definitions/")
                if target_file == name:
                    node["$ref"] = f"#/definitions/{def_name}"
                else:
                    local = f"{target_file.removesuffix('.schema.json')}__{def_name}"
                    node["$ref"] = f"#/definitions/{local}"
                    if local not in defs:
                        defs[local] = None  # reserve, filled below
                        pending.append((target_file, def_name))
            for value in node.values():
                rewrite(value, owner)
        elif isinstance(node, list):
            for value in node:
                rewrite(value, owner)

    rewrite({k: v for k, v in root.items() if k != "definitions"}, name)
    for def_name in list(defs):
        if defs[def_name] is not None and "__" not in def_name:
            rewrite(defs[def_name], name)
    while pending:
        target_file, def_name = pending.pop()
        if target_file not in files:
            files[target_file] = _read(target_file, directory)
        body = copy.deepcopy(files[target_file]["definitions"][def_name])
        rewrite(body, target_file)
        defs[f"{target_file.removesuffix('.schema.json')}__{def_name}"] = body
    return root


class Schema:
    """One bundled schema with a fast validity test and a full error walk."""

    def __init__(self, kind: str, directory: FsPath = SCHEMA_DIR) -> None:
        self.kind = kind
        self.document = bundle(KINDS[kind], directory)
        self._fast = fastjsonschema.compile(self.document, formats={})

    @cached_property
    def _full(self) -> Any:
        from jsonschema import Draft7Validator  # imported only when a document is invalid

        return Draft7Validator(self.document)

    def is_valid(self, data: Any) -> bool:
        try:
            self._fast(data)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    @cached_property
    def labels(self) -> dict[tuple[str, ...], dict[str, str]]:
        """Each enum's values with their Chinese labels, read from the schema's own descriptions
        (``单位：working_day 工作日、natural_day 自然日…``), so a value written in Chinese gets the
        right suggestion and stays right when a schema changes."""
        return enum_labels(self.document)

    def errors(self, data: Any) -> list[SchemaError]:
        if self.is_valid(data):
            return []
        labels = self.labels
        found = [e for err in self._full.iter_errors(data) for e in _translate(err, self.document, labels)]
        if not found:  # the two validators disagree; jsonschema is the reference
            return []
        # "unknown key 'matrials'; did you mean 'materials'?" already says 'materials' is missing
        meant = {
            (e.path[:-1], e.message.rsplit("'", 2)[-2])
            for e in found
            if e.kind == "unknown-key" and "did you mean" in e.message
        }
        found = [e for e in found if not (e.kind == "missing-key" and (e.path, e.message.split("'")[-2]) in meant)]
        unique: dict[tuple[Path, str], SchemaError] = {}
        for e in found:
            unique.setdefault((e.path, e.message), e)
        return sorted(unique.values(), key=lambda e: [str(p) for p in e.path])

    @cached_property
    def date_properties(self) -> frozenset[str]:
        """Names of properties whose schema is a date (to flag unquoted dates elsewhere)."""
        names: set[str] = set()
        defs = self.document.get("definitions", {})

        def is_date(schema: Any) -> bool:
            ref = schema.get("$ref", "") if isinstance(schema, dict) else ""
            return ref.endswith("__date") or ref.endswith("/date")

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for key, sub in node.get("properties", {}).items():
                    if is_date(sub) or (isinstance(sub, dict) and is_date(sub.get("items", {}))):
                        names.add(key)
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(self.document)
        walk(defs)
        return frozenset(names)


_COMPILED: dict[tuple[str, FsPath, str], Schema] = {}


def compiled(kind: str, directory: FsPath = SCHEMA_DIR) -> Schema:
    """The compiled schema for a kind, reused while the schema file is unchanged."""
    stamp = ":".join(str(p.stat().st_mtime_ns) for p in sorted(directory.glob("*.json")))
    key = (kind, directory, stamp)
    if key not in _COMPILED:
        _COMPILED[key] = Schema(kind, directory)
    return _COMPILED[key]


# --- turning jsonschema errors into messages an administrator can act on -------------------

_TYPE_WORDS = {
    "object": "a mapping (key: value lines)",
    "array": "a list (lines starting with '- ')",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}


def dotted(path: Path) -> str:
    """``('materials', 0, 'required')`` -> ``materials[0].required``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the file"


def _describe_type(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (empty value)"
    if isinstance(value, float):
        return f"the decimal number {value!r}"
    if isinstance(value, int):
        return f"the number {value}"
    return f"the text {str(value)!r}"


def _known_keys(schema: Mapping[str, Any]) -> list[str]:
    return list(schema.get("properties", {}))


def suggest(word: str, choices: list[str]) -> str:
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def _translate(
    err: Any, document: Mapping[str, Any], labels: Mapping[tuple[str, ...], Mapping[str, str]]
) -> Iterator[SchemaError]:
    """One validation error in the author's words, by the JSON Schema keyword that failed."""
    path: Path = tuple(err.absolute_path)
    where = dotted(path)
    if err.validator == "if":
        return
    if err.validator in _RANGE_KEYWORDS:
        yield SchemaError(path, "range", f"{where}: {err.message}")
        return
    explain = _EXPLAIN.get(err.validator)
    if explain is None:
        yield SchemaError(path, "schema", f"{where}: {err.message}")
        return
    yield from explain(err, path, where, document, labels)


Labels = Mapping[tuple[str, ...], Mapping[str, str]]

_RANGE_KEYWORDS = frozenset(
    {
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "uniqueItems",
        "minProperties",
        "maxProperties",
    }
)


def _unknown_keys(
    err: Any, path: Path, where: str, document: Mapping[str, Any], labels: Labels
) -> Iterator[SchemaError]:
    known = _known_keys(err.schema)
    for key in sorted(set(err.instance) - set(known)):
        hint = suggest(key, known) or f"; allowed keys here: {', '.join(known)}"
        yield SchemaError((*path, key), "unknown-key", f"unknown key {key!r} in {where}{hint}", on_key=True)


def _missing_keys(
    err: Any, path: Path, where: str, document: Mapping[str, Any], labels: Labels
) -> Iterator[SchemaError]:
    schema, inst = err.schema, err.instance
    props = schema.get("properties", {})
    for key in schema["required"]:
        if isinstance(inst, dict) and key not in inst:
            label = label_of(props.get(key, {}), document)
            about = f" ({label})" if label else ""
            if key == "article" and "law" in props:  # a legal reference (common.schema.json law_ref)
                about += "; to cite a whole law or document write article: 全文, a chapter e.g. article: 第二章"
            yield SchemaError(path, "missing-key", f"{where} is missing the required key {key!r}{about}", on_key=True)


def _not_allowed(
    err: Any, path: Path, where: str, document: Mapping[str, Any], labels: Labels
) -> Iterator[SchemaError]:
    inst = err.instance
    allowed = [str(x) for x in err.schema["enum"]]
    names = labels.get(tuple(allowed), {})
    meant = from_chinese(inst, names) if isinstance(inst, str) else None
    hint = f"; did you mean {meant!r} ({names[meant]})?" if meant else suggest(str(inst), allowed)
    yield SchemaError(
        path,
        "enum",
        f"{_describe_type(inst)} is not allowed for {where}; expected one of: {', '.join(allowed)}{hint}",
    )


def _not_const(err: Any, path: Path, where: str, document: Mapping[str, Any], labels: Labels) -> Iterator[SchemaError]:
    yield SchemaError(path, "enum", f"{where} must be {err.schema['const']!r}, not {_describe_type(err.instance)}")


def _wrong_type(err: Any, path: Path, where: str, document: Mapping[str, Any], labels: Labels) -> Iterator[SchemaError]:
    schema, inst = err.schema, err.instance
    expected: list[str] = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    words = " or ".join(_TYPE_WORDS.get(t, t) for t in expected)
    extra = ""
    if isinstance(inst, float) and "string" in expected:
        extra = '; money and decimals are written as an integer or a quoted string such as "12.50"'
    text = colon_text(inst) if "string" in expected and "object" not in expected else None
    if text is not None:
        extra = (
            f": YAML read the text {text!r} as a key and a value because of its colon (a colon followed by a "
            f'space, or ending the text, starts a key); put the whole text in quotes ("{text}") or write the '
            "colon as '：'"
        )
    yield SchemaError(path, "type", f"{where} should be {words}, not {_describe_type(inst)}{extra}")


def _branches(err: Any, path: Path, where: str, document: Mapping[str, Any], labels: Labels) -> Iterator[SchemaError]:
    """oneOf / anyOf: the constant the author likely meant, else the errors of the branch they likely meant."""
    schema, inst = err.schema, err.instance
    best = _best_branch(err)
    const = const_branch(schema.get(err.validator), document)
    if const is not None and means_const(inst, *const):
        yield SchemaError(
            path,
            "type",
            f"{_describe_type(inst)} is not allowed for {where}; did you mean `{where}: {const[0]}` ({const[1]})?",
        )
    elif best:
        said = const_said(inst, const, where)
        for sub in best:
            for found in _translate(sub, document, labels):
                if said and found.kind == "missing-key" and found.path == path:
                    found = SchemaError(found.path, found.kind, found.message + said, found.on_key)
                yield found
    else:
        label = label_of(schema, document) or where
        desc = schema.get("description", "")
        yield SchemaError(
            path,
            "type",
            f"{_describe_type(inst)} is not a valid {label} at {where}" + (f" — {desc}" if desc else ""),
        )


def _wrong_form(err: Any, path: Path, where: str, document: Mapping[str, Any], labels: Labels) -> Iterator[SchemaError]:
    label = err.schema.get("description", "")
    yield SchemaError(
        path,
        "format",
        f"{_describe_type(err.instance)} does not have the expected form for {where}"
        + (f": {label}" if label else f" (pattern {err.schema['pattern']})"),
    )


_EXPLAIN: dict[str, Callable[[Any, Path, str, Mapping[str, Any], Labels], Iterator[SchemaError]]] = {
    "additionalProperties": _unknown_keys,
    "required": _missing_keys,
    "enum": _not_allowed,
    "const": _not_const,
    "type": _wrong_type,
    "oneOf": _branches,
    "anyOf": _branches,
    "pattern": _wrong_form,
}


def _best_branch(err: Any) -> list[Any] | None:
    """Pick the oneOf/anyOf branch the author most likely meant and return its errors.

    A branch whose errors are all at the top (wrong type, wrong constant, missing
    keys) was probably not meant; one whose errors sit deeper (or concern extra keys)
    probably was.
    """
    branches: dict[int, list[Any]] = {}
    for sub in err.context or ():
        branches.setdefault(sub.schema_path[0], []).append(sub)
    best: tuple[int, list[Any]] | None = None
    for errs in branches.values():
        score = 0
        for sub in errs:
            shallow = len(sub.relative_path) == 0
            if shallow and sub.validator in ("type", "const", "enum"):
                score += 100
            elif shallow and sub.validator == "required":
                score += 30
            elif shallow and sub.validator in ("oneOf", "anyOf", "minProperties", "maxProperties"):
                score += 20
            else:
                score += 1
        if best is None or score < best[0]:
            best = (score, errs)
    if best is None or best[0] >= 100:
        return None
    return best[1]
