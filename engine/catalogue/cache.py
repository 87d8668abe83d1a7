"""Per-file check results cached by file content, so unchanged files are not parsed again.

Layout, under ``$YANGGUANG_CACHE_DIR`` (else ``$XDG_CACHE_HOME/yangguang``, else
``~/.cache/yangguang``):

- ``check-<catalogue>.marshal`` — the index: for each file its content key, size and
  mtime, its own problems, a few facts other files refer to (an item's code), and
  its cross-reference findings with the hash of what they depended on;
- ``objects-<catalogue>/<content key>.marshal`` — each valid document's data, read only when a
  check needs it (as git stores blobs), so a re-check after one edit reads the index
  and that one file, not the whole catalogue.

Everything is keyed by the engine's fingerprint (schemas and engine source), so a
new engine never reads an old result. A missing, corrupt or unwritable cache only
costs time.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.catalogue import schemas

FORMAT = 4  # 4: cross-reference findings carry related locations

Problems = list[tuple[int, int, str, str]]  # (line, column, kind, message)


@dataclass(slots=True)
class FileEntry:
    key: str  # content hash of the file
    kind: str
    valid: bool  # parsed and passed its schema
    problems: Problems
    facts: dict[str, Any] = field(default_factory=dict)
    data: Any = None  # the document, when valid and loaded


def cache_dir() -> Path:
    explicit = os.environ.get("YANGGUANG_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "yangguang"


def engine_fingerprint() -> str:
    h = hashlib.sha256(f"format={FORMAT}".encode())
    # every engine module, subpackages included: a change anywhere in the checker invalidates the cache
    engine_dir = Path(__file__).resolve().parents[1]
    for directory, pattern in ((schemas.SCHEMA_DIR, "*.json"), (engine_dir, "**/*.py")):
        for path in sorted(directory.glob(pattern)):
            st = path.stat()
            h.update(f"{path.relative_to(directory)}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:20]


def _write_atomic(path: Path, value: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            marshal.dump(value, fh)
        os.replace(tmp, path)
    except BaseException:
        with _suppress():
            os.unlink(tmp)
        raise


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return True


class FileCache:
    def __init__(self, catalogue_root: Path, directory: Path | None = None) -> None:
        base = directory or cache_dir()
        root_key = hashlib.sha256(str(Path(catalogue_root).resolve()).encode()).hexdigest()[:16]
        self.path = base / f"check-{root_key}.marshal"
        self.objects = base / f"objects-{root_key}"
        self.fingerprint = engine_fingerprint()
        # rel -> [content key, kind, valid, problems, facts, stat signature, xref dep, xref findings]
        self.entries: dict[str, list[Any]] = {}
        self._data: dict[str, Any] = {}  # content key -> document data held in memory
        self._new_objects: set[str] = set()
        self.dirty = False
        try:
            with open(self.path, "rb") as fh:
                stored = marshal.loads(fh.read())  # loads() on bytes is several times faster than load(fh)
            if isinstance(stored, dict) and stored.get("fingerprint") == self.fingerprint:
                self.entries = stored["files"]
        except (OSError, EOFError, ValueError, TypeError, KeyError):
            self.entries = {}

    @staticmethod
    def _entry(hit: list[Any]) -> FileEntry:
        return FileEntry(hit[0], hit[1], hit[2], [tuple(p) for p in hit[3]], hit[4])  # type: ignore[misc]

    def get(self, rel: str, key: str) -> FileEntry | None:
        """The entry for a file whose content hashes to ``key`` (data not loaded)."""
        hit = self.entries.get(rel)
        return self._entry(hit) if hit is not None and hit[0] == key else None

    def get_unchanged(self, rel: str, stat_sig: str) -> FileEntry | None:
        """The entry for a file whose size and modification time have not changed (no read needed)."""
        hit = self.entries.get(rel)
        return self._entry(hit) if stat_sig and hit is not None and hit[5] == stat_sig else None

    def put(self, rel: str, entry: FileEntry, stat_sig: str = "") -> None:
        old = self.entries.get(rel)
        xref = old[6:8] if old is not None and old[0] == entry.key else [None, None]
        self.entries[rel] = [entry.key, entry.kind, entry.valid, list(entry.problems), entry.facts, stat_sig, *xref]
        if entry.valid and entry.data is not None and entry.key not in self._data:
            self._data[entry.key] = entry.data
            self._new_objects.add(entry.key)
        self.dirty = True

    def data(self, key: str) -> Any:
        """A valid document's data by content key, from memory or the object store (None if lost)."""
        if key in self._data:
            return self._data[key]
        try:
            with open(self.objects / f"{key}.marshal", "rb") as fh:
                value = marshal.loads(fh.read())
        except (OSError, EOFError, ValueError, TypeError):
            return None
        self._data[key] = value
        return value

    def xref(self, rel: str, dep: str) -> list[tuple[Any, ...]] | None:
        """Cross-reference findings stored for a file when they depended on ``dep``."""
        hit = self.entries.get(rel)
        if hit is None or hit[6] != dep:
            return None
        return [tuple(f) for f in hit[7]]

    def put_xref(self, rel: str, dep: str, findings: list[tuple[Any, ...]]) -> None:
        hit = self.entries.get(rel)
        if hit is not None:
            hit[6], hit[7] = dep, findings
            self.dirty = True

    def retain(self, rels: Iterable[str]) -> None:
        keep = set(rels)
        for rel in list(self.entries):
            if rel not in keep:
                del self.entries[rel]
                self.dirty = True

    def _prune(self) -> None:
        """Delete stored documents no file refers to any more (old versions of edited files)."""
        names = os.listdir(self.objects)
        if len(names) <= len(self.entries) * 3 // 2 + 50:
            return
        live = {f"{e[0]}.marshal" for e in self.entries.values()}
        for name in names:
            if name not in live and not name.startswith(".tmp-"):
                with _suppress():
                    os.unlink(self.objects / name)

    def save(self) -> None:
        if not self.dirty:
            return
        try:
            self.objects.mkdir(parents=True, exist_ok=True)
            for key in self._new_objects:
                target = self.objects / f"{key}.marshal"
                if not target.exists():
                    _write_atomic(target, self._data[key])
            self._new_objects.clear()
            _write_atomic(self.path, {"fingerprint": self.fingerprint, "files": self.entries})
            self.dirty = False
            self._prune()
        except (OSError, ValueError):
            pass  # an unwritable cache only costs time
