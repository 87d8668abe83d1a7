"""Reading a catalogue directory into the model (engine.catalogue.model).

Data flow: discover → parse (engine.catalogue.yaml_policy) → validate (engine.catalogue.schemas) →
fold the stack of layers (engine.catalogue.overlay) → ``Reading``; the checker then judges the
references across files (engine.check.pipeline.load, which returns one ``CheckResult`` holding every
problem, rendered once by engine.check.report). Per-file work is cached by file content
(engine.catalogue.cache), so a re-check after one edit only re-reads that file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.base.result import Finding, Problem
from engine.catalogue import notifications, overlay, partial, schemas, synonyms
from engine.catalogue.cache import FileCache, FileEntry
from engine.catalogue.discover import discover, kind_of
from engine.catalogue.merge import lookup
from engine.catalogue.model import Catalogue, CheckResult, Document
from engine.catalogue.stack import Layer, stack
from engine.catalogue.yaml_policy import locate, parse

__all__ = ["Reading", "read"]

#: keys that identify a document kind, to catch a file put in the wrong folder
SIGNATURES = {
    "item": ("code", "materials"),
    "fee": ("lines",),
    "form": ("fields", "title"),
    "chain": ("stages",),
    "calendar": ("holidays",),
    "center": ("departments",),
    "override": ("code", "reason"),
    "synonyms": ("groups",),
    "notifications": ("templates",),
    "appeals": ("office", "kinds"),
    "appointments": ("counters",),
}
KIND_WORDS = {
    "item": ("an item", "items/"),
    "fee": ("a fee schedule", "fees/"),
    "form": ("a form section", "forms/"),
    "chain": ("an approval chain", "chains/"),
    "calendar": ("a holiday calendar", "calendar/"),
    "center": ("the center manifest", "center.yaml at the catalogue root"),
    "override": ("an item override", "overrides/"),
    "synonyms": ("the search synonyms file", "search/synonyms.yaml at the catalogue root"),
    "notifications": ("the notification templates", "notifications/templates.yaml at the catalogue root"),
    "appeals": ("the requests and complaints file", "appeals/kinds.yaml at the catalogue root"),
    "appointments": ("the appointments file", "appointments.yaml at the catalogue root"),
}


def _content_key(raw: bytes, kind: str) -> str:
    return hashlib.blake2b(raw, digest_size=16, person=kind.encode()[:16]).hexdigest()


class _Checker:
    def __init__(self, root: Path, cache: FileCache | None, replaced: Mapping[str, bytes] | None = None) -> None:
        self.root = root
        self.cache = cache
        #: relative path -> content standing in for the file on disk (an edit checked before it is written)
        self.replaced = dict(replaced or {})
        self.origins: dict[str, Any] = {}  # merged documents' origins, once the layers are folded
        self._texts: dict[str, str] = {}
        self._schemas: dict[str, schemas.Schema] = {}

    def schema(self, kind: str) -> schemas.Schema:
        if kind not in self._schemas:  # look the compiled schema up once per load, not per file
            self._schemas[kind] = schemas.compiled(kind)
        return self._schemas[kind]

    def read(self, rel: str) -> bytes:
        if rel in self.replaced:
            return self.replaced[rel]
        return (self.root / rel).read_bytes()

    def check_file(self, rel: str, kind: str) -> FileEntry:
        path = self.root / rel
        stat_sig = ""
        try:
            if rel in self.replaced:
                raw = self.replaced[rel]
            elif self.cache is not None:
                # Like git's index: unchanged size, mtime, ctime and inode mean unchanged content.
                # ctime catches tools that restore mtime (cp -p, rsync -t, tar); a file changed in the
                # last two seconds is not trusted by its stat at all ("racy git"), only by its hash.
                st = path.stat()
                if st.st_mtime_ns < time.time_ns() - 2_000_000_000:
                    stat_sig = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}:{kind}"
                    hit = self.cache.get_unchanged(rel, stat_sig)
                    if hit is not None:
                        return hit
                raw = path.read_bytes()
            else:
                raw = path.read_bytes()
        except OSError as exc:
            return FileEntry("", kind, False, [(1, 1, "unreadable", f"cannot read the file: {exc.strerror}")])
        key = _content_key(raw, kind)
        if self.cache is not None:
            hit = self.cache.get(rel, key)
            if hit is None:
                hit = self._check_raw(raw, rel, kind, key)
            self.cache.put(rel, hit, stat_sig)
            return hit
        return self._check_raw(raw, rel, kind, key)

    def data(self, doc: Document) -> Any:
        """A valid document's data: from the cache's object store, else read again."""
        value = self.cache.data(doc.key) if self.cache is not None else None
        if value is None:
            try:
                raw = self.read(doc.file)
            except OSError:
                return None
            entry = self._check_raw(raw, doc.file, doc.kind, doc.key)
            value = entry.data
            if self.cache is not None and entry.valid:
                self.cache.put(doc.file, entry, "")
        return value

    def _check_raw(self, raw: bytes, rel: str, kind: str, key: str) -> FileEntry:
        parsed = parse(raw)
        problems = [(e.line, e.column, e.kind, e.message) for e in parsed.errors]
        data = parsed.data
        if problems or data is None:
            return FileEntry(key, kind, False, problems)
        text = raw.decode("utf-8").removeprefix("\ufeff")
        if not isinstance(data, dict):
            noun, _ = KIND_WORDS[kind]
            return FileEntry(
                key,
                kind,
                False,
                [
                    (
                        1,
                        1,
                        "type",
                        f"the file should be {noun}: a mapping of key: value lines, not a list or a single value",
                    )
                ],
            )
        other = _looks_like(data, kind)
        if other is not None:
            noun, where = KIND_WORDS[other]
            keys = ", ".join(SIGNATURES[other])
            return FileEntry(
                key,
                kind,
                False,
                [
                    (
                        1,
                        1,
                        "wrong-folder",
                        f"this looks like {noun} (it has {keys}), not {KIND_WORDS[kind][0]}; move it to {where}",
                    )
                ],
            )
        if parsed.modeline is not None and os.path.basename(parsed.modeline) != schemas.KINDS[kind]:
            problems.append(
                (
                    1,
                    1,
                    "modeline",
                    f"the modeline names {parsed.modeline!r} but this is "
                    f"{KIND_WORDS[kind][0]}; point it at {schemas.KINDS[kind]}",
                )
            )
        schema = self.schema(kind)
        schema_errors = schema.errors(data)
        for err in schema_errors:
            line, col = locate(text, err.path, err.on_key)
            problems.append((line, col, err.kind, err.message))
        date_props = schema.date_properties
        for path in parsed.date_paths:
            if not path or path[-1] not in date_props:
                line, col = locate(text, path)
                problems.append(
                    (
                        line,
                        col,
                        "yaml-1.1",
                        "an unquoted date here is read as a date by YAML 1.1 tools, but this value is text; quote it",
                    )
                )
        facts: dict[str, Any] = {"code": data["code"]} if kind == "item" and isinstance(data.get("code"), str) else {}
        if problems:
            if kind == "item":  # its references are still checked (engine.catalogue.partial)
                facts["refs"] = partial.references(data, ((e.path, e.kind) for e in schema_errors))
            return FileEntry(key, kind, False, problems, facts)
        return FileEntry(key, kind, True, problems, facts, data)

    def locate(self, finding: Finding, remap: bool = True) -> Problem:
        # a merged document's value is reported where it was written (engine.catalogue.merge.Origins)
        origins = self.origins if remap else {}
        file, path = lookup(origins.get(finding.file), finding.file, finding.path)
        line, col = self._position(file, path, finding.on_key)
        related = []
        for other_file, other_path, label in finding.related:
            f, p = lookup(origins.get(other_file), other_file, other_path)
            if f != file:  # the same file adds nothing to the message
                related.append((f, *self._position(f, p, False), label))
        return Problem(file, line, col, finding.kind, finding.message, tuple(related))

    def _position(self, file: str, path: tuple[str | int, ...], on_key: bool) -> tuple[int, int]:
        if file not in self._texts:
            try:
                self._texts[file] = self.read(file).decode("utf-8").removeprefix("\ufeff")
            except (OSError, UnicodeDecodeError):
                self._texts[file] = ""
        return locate(self._texts[file], path, on_key) if path else (1, 1)


def _looks_like(data: dict[str, Any], kind: str) -> str | None:
    if all(k in data for k in SIGNATURES[kind]):
        return None
    for other, keys in SIGNATURES.items():
        if other != kind and all(k in data for k in keys):
            return other
    return None


@dataclass(slots=True)
class Reading:
    """A catalogue directory read: every file parsed and validated, the layers of its stack folded into
    one set of documents. The references across files are judged next (engine.check.pipeline.load)."""

    catalogue: Catalogue
    problems: list[Problem]  # each file's own problems, located
    files: list[str]  # every file read, relative to the catalogue (what the cache keeps)
    has_center_file: bool
    codes: dict[str, str]  # item file -> its code, for items that fail their schema too
    refs: list[tuple[str, dict[str, Any]]]  # items that fail their schema: references still judged
    placed: list[Finding]  # found while folding the stack: they name the files they are in
    merged: list[Finding]  # may name a merged document: located where each value was written
    reader: _Checker

    @property
    def complete(self) -> bool:
        """False for a stack cut short (an extends that cannot be followed, a parent center.yaml that
        cannot be read): it hides the layers above, so references across files would all be follow-ons
        of that one error, and are checked once it is fixed."""
        return not any(layer.cut for layer in self.catalogue.layers)

    def result(self, findings: Iterable[Finding] = ()) -> CheckResult:
        """Every problem, sorted, with ``findings`` (the checker's, which may name merged documents)."""
        problems = list(self.problems)
        problems.extend(self.reader.locate(f) for f in (*self.merged, *findings))
        problems.extend(self.reader.locate(f, remap=False) for f in self.placed)
        problems.sort(key=lambda p: (p.file, p.line, p.column, p.kind, p.message))
        return CheckResult(self.catalogue, problems, len(self.files))


def read(
    root: Path,
    cache: FileCache | None = None,
    full: bool = True,
    replaced: Mapping[str, bytes] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Reading:
    """Read the catalogue directory ``root`` (it exists) with the stack it extends; never raises for bad input.

    ``full=False`` (``yangguang check``) leaves unchanged items' data in the cache. ``replaced`` maps
    paths relative to ``root`` to content that stands in for the file on disk (or adds a file that is
    not there yet): ``yangguang edit`` checks an edit this way before it writes anything.
    ``progress(done, total)`` is called after each file is checked (the CLI draws a bar from it:
    engine.cli.progress).
    """
    checker = _Checker(root, cache, replaced)
    layers, stack_findings = stack(root, lambda rel: _read_center(checker, rel))
    per_layer: list[list[tuple[str, str]]] = []
    problems: list[Problem] = []
    for layer in layers:
        found, misplaced = discover(layer.root)
        per_layer.append([(layer.rel(rel), kind) for rel, kind in found])
        problems.extend(dataclasses.replace(p, file=layer.rel(p.file)) for p in misplaced)
    known = {rel for rel, _ in per_layer[0]}
    for rel in sorted(replaced or {}):
        kind = kind_of(rel)
        if rel not in known and kind is not None:
            per_layer[0].append((rel, kind))  # a new file of this catalogue, not yet on disk
    files = [entry for layer_files in per_layer for entry in layer_files]
    items_facts: list[tuple[Document, dict[str, Any]]] = []
    digest = hashlib.sha256()
    broken: dict[str, str] = {}
    refs: list[tuple[str, dict[str, Any]]] = []  # items that fail their schema: references still checked
    layer_docs: list[list[Document]] = []
    checked = 0

    def tick() -> None:
        nonlocal checked
        checked += 1
        if progress is not None:
            progress(checked, len(files))

    for layer_files in per_layer:
        layer_docs.append([])
        _check_files(layer_files, checker, full, layer_docs[-1], items_facts, digest, problems, broken, refs, tick)
    codes = dict(_codes(items_facts))
    synonym_docs = _take(layer_docs, "synonyms")
    template_docs = _take(layer_docs, "notifications")
    appeal_docs = _take(layer_docs, "appeals")
    appointment_docs = _take(layer_docs, "appointments")
    catalogue = Catalogue(
        root,
        digest.hexdigest()[:16],
        loader=checker.data,
        broken_items=broken,
        sources=[layer.root for layer in layers],
        layers=layers,
    )
    # the overlay's findings name real files already; the checker's may name a merged document
    placed = list(stack_findings)
    for doc in synonym_docs:  # every layer's groups count (engine.catalogue.synonyms.Expander merges them)
        placed.extend(synonyms.check(doc.file, doc.data))
        catalogue.synonyms.extend(list(g["terms"]) for g in doc.data.get("groups", []))
    for doc in template_docs[:1]:  # the nearest layer's templates; a county without a file uses its parent's
        placed.extend(notifications.check(doc.file, doc.data))
        catalogue.notifications = dict(doc.data.get("templates") or {})
    # a county without its own file uses its city's: the nearest layer's file, whole (never merged)
    catalogue.appeals = appeal_docs[0] if appeal_docs else None
    if appointment_docs:  # the nearest layer's file, whole: a county's own file replaces its city's
        catalogue.appointments = appointment_docs[0].data
        catalogue.appointments_file = appointment_docs[0].file
    merged: list[Finding] = []
    if len(layers) == 1 and not any(d.kind == "override" for d in layer_docs[0]):
        catalogue.documents = layer_docs[0]
    else:
        placed.extend(_resolve(catalogue, checker, layers, layer_docs, codes, merged))
    has_center_file = any(k == "center" for _, k in per_layer[0])
    files_read = [rel for rel, _ in files]
    return Reading(catalogue, problems, files_read, has_center_file, codes, refs, placed, merged, checker)


def _read_center(checker: _Checker, rel: str) -> tuple[dict[str, Any] | None, bool, bool]:
    """A layer's center.yaml data, whether it exists, and whether it passed its schema (its problems
    are reported with the other files)."""
    if not (checker.root / rel).is_file() and rel not in checker.replaced:
        return None, False, False
    entry = checker.check_file(rel, "center")
    if not entry.valid:
        # its schema problems are reported; the stack still follows a readable extends, so the
        # layer's overrides are checked against its parent rather than all told "extends none"
        try:
            parsed = parse(checker.read(rel))
        except OSError:
            return None, True, False
        data = parsed.data if isinstance(parsed.data, dict) else {}
        kept = {k: data[k] for k in ("extends", "level", "id") if isinstance(data.get(k), str)}
        return (kept or None), True, False
    data = entry.data if entry.data is not None else checker.data(Document(rel, "center", None, entry.key))
    return data, True, True


def _resolve(
    catalogue: Catalogue,
    checker: _Checker,
    layers: list[Layer],
    layer_docs: list[list[Document]],
    codes: Mapping[str, str],
    merged_findings: list[Finding],
) -> list[Finding]:
    """Fold a stack of layers into the catalogue's documents; merged items must still pass the item schema
    (those findings, located through the merged item's origins, go to ``merged_findings``)."""

    def fetch(doc: Document) -> Any:
        if doc.data is None:
            doc.data = checker.data(doc)
        return doc.data

    resolved = overlay.resolve(
        [overlay.LayerDocs(layer, docs) for layer, docs in zip(layers, layer_docs, strict=True)],
        fetch,
        codes,
        lambda file, kind, data, key: Document(file, kind, data, key),
        catalogue.broken_items,
    )
    findings = resolved.findings
    item_schema = checker.schema("item")
    documents = []
    for doc in resolved.documents:
        if doc.kind == "item" and doc.file in resolved.origins:
            errors = list(item_schema.errors(doc.data))
            if errors:
                additions = resolved.additions.get(doc.file, {})
                explained: set[tuple[Any, ...]] = set()
                for e in errors:
                    message = e.message
                    head = next((tuple(e.path[:n]) for n in (2, 3) if tuple(e.path[:n]) in additions), None)
                    if head is not None:  # an entry the override adds: its index there, and why
                        index, why = additions[head]
                        label = ".".join(map(str, head[:-1]))
                        message = message.replace(f"{label}[{head[-1]}]", f"{label}[{index}]", 1)
                        if head not in explained:
                            explained.add(head)
                            message += f"; {why}"
                    merged_findings.append(Finding(doc.file, e.path, e.kind, message, e.on_key))
                code = doc.data["code"]
                catalogue.broken_items.setdefault(code, resolved.patches.get(code, [doc.file])[0])
                continue
        documents.append(doc)
    catalogue.documents = documents
    catalogue.origins = resolved.origins
    catalogue.patches = resolved.patches
    catalogue.withdrawn = resolved.withdrawn
    catalogue.reported_members = resolved.reported_members
    checker.origins = resolved.origins
    return findings


def _check_files(
    files: list[tuple[str, str]],
    checker: _Checker,
    full: bool,
    docs: list[Document],
    items_facts: list[tuple[Document, dict[str, Any]]],
    digest: Any,
    problems: list[Problem],
    broken: dict[str, str],
    refs: list[tuple[str, dict[str, Any]]],
    tick: Callable[[], None],
) -> None:
    for rel, kind in files:
        entry = checker.check_file(rel, kind)
        tick()
        digest.update(f"{rel}\0{entry.key}\0".encode())
        problems.extend(Problem(rel, line, col, k, msg) for line, col, k, msg in entry.problems)
        if not entry.valid and "code" in entry.facts:
            broken.setdefault(entry.facts["code"], rel)
        if not entry.valid and entry.facts.get("refs"):
            refs.append((rel, entry.facts))
        if entry.valid:
            doc = Document(rel, kind, entry.data, entry.key)
            if doc.data is None and (full or kind != "item"):
                doc.data = checker.data(doc)
            if kind == "item" and doc.data is None and not entry.facts:
                continue  # lost from the cache and unreadable now: reported on the next run
            if kind == "item":
                items_facts.append((doc, entry.facts))
            docs.append(doc)


def _take(layer_docs: list[list[Document]], kind: str) -> list[Document]:
    """Remove a single center-level file's documents (search synonyms, notification templates,
    appeals)
    from the layers' documents (they are no document the overlay or the cross-reference check folds or
    indexes) and return them, this catalogue's first."""
    taken: list[Document] = []
    for docs in layer_docs:
        taken.extend(d for d in docs if d.kind == kind and isinstance(d.data, dict))
        docs[:] = [d for d in docs if d.kind != kind]
    return taken


def _codes(items: list[tuple[Document, dict[str, Any]]]) -> Iterable[tuple[str, str]]:
    for doc, facts in items:
        code = facts.get("code") if facts else (doc.data or {}).get("code")
        if code is not None:
            yield doc.file, code
