"""Per-file check results cached by file content, so unchanged files are not parsed again.

The cache is one marshal file per catalogue directory under the user's cache
folder (``$YANGGUANG_CACHE_DIR``, else ``$XDG_CACHE_HOME/yangguang``, else
``~/.cache/yangguang``). It is keyed by the engine's own fingerprint (schemas and
engine source), so a new engine version never reads an old result. A missing,
corrupt or unwritable cache only costs time.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import schemas

FORMAT = 2


@dataclass(slots=True)
class FileEntry:
    key: str  # content hash of the file
    kind: str
    data: Any  # the document when it passed parsing and its schema, else None
    problems: list[tuple[int, int, str, str]]  # (line, column, kind, message)


def cache_dir() -> Path:
    explicit = os.environ.get("YANGGUANG_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "yangguang"


def engine_fingerprint() -> str:
    h = hashlib.sha256(f"format={FORMAT}".encode())
    for directory, pattern in ((schemas.SCHEMA_DIR, "*.json"), (Path(__file__).parent, "*.py")):
        for path in sorted(directory.glob(pattern)):
            st = path.stat()
            h.update(f"{path.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:20]


class FileCache:
    def __init__(self, catalogue_root: Path, directory: Path | None = None) -> None:
        root_key = hashlib.sha256(str(catalogue_root.resolve()).encode()).hexdigest()[:16]
        self.path = (directory or cache_dir()) / f"check-{root_key}.marshal"
        self.fingerprint = engine_fingerprint()
        # rel -> (content key, kind, data, problems, stat signature)
        self.entries: dict[str, tuple[str, str, Any, list[tuple[int, int, str, str]], str]] = {}
        self.dirty = False
        try:
            with open(self.path, "rb") as fh:
                stored = marshal.load(fh)
            if isinstance(stored, dict) and stored.get("fingerprint") == self.fingerprint:
                self.entries = stored["files"]
        except (OSError, EOFError, ValueError, TypeError, KeyError):
            self.entries = {}

    def get(self, rel: str, key: str) -> FileEntry | None:
        """The entry for a file whose content hashes to ``key``."""
        hit = self.entries.get(rel)
        if hit is None or hit[0] != key:
            return None
        return FileEntry(hit[0], hit[1], hit[2], [tuple(p) for p in hit[3]])  # type: ignore[misc]

    def get_unchanged(self, rel: str, stat_sig: str) -> FileEntry | None:
        """The entry for a file whose size and modification time have not changed (no read needed)."""
        hit = self.entries.get(rel)
        if hit is None or hit[4] != stat_sig:
            return None
        return FileEntry(hit[0], hit[1], hit[2], [tuple(p) for p in hit[3]])  # type: ignore[misc]

    def put(self, rel: str, entry: FileEntry, stat_sig: str = "") -> None:
        self.entries[rel] = (entry.key, entry.kind, entry.data, list(entry.problems), stat_sig)
        self.dirty = True

    def retain(self, rels: Iterable[str]) -> None:
        keep = set(rels)
        for rel in list(self.entries):
            if rel not in keep:
                del self.entries[rel]
                self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".check-")
            with os.fdopen(fd, "wb") as fh:
                marshal.dump({"fingerprint": self.fingerprint, "files": self.entries}, fh)
            os.replace(tmp, self.path)
            self.dirty = False
        except (OSError, ValueError):
            pass  # an unwritable cache only costs time
