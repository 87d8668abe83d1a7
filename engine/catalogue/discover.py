"""Finding a catalogue's files: which paths hold which kind of document, and a cheap fingerprint
of them all (what live reload polls). Pure file-system work; nothing is parsed here."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.base.result import Problem

#: top-level folder -> document kind; only items/ may have subfolders
FOLDERS = {
    "items": "item",
    "fees": "fee",
    "forms": "form",
    "chains": "chain",
    "calendar": "calendar",
    "overrides": "override",  # a lower-level catalogue's changes to items it inherits (engine.catalogue.overlay)
}
CENTER_FILE = "center.yaml"
#: the center's search synonyms (engine.catalogue.synonyms); the only file search/ holds
SYNONYMS_FILE = "search/synonyms.yaml"
#: the center's notification templates (engine.catalogue.notifications); the only file notifications/ holds
NOTIFICATIONS_FILE = "notifications/templates.yaml"
#: the kinds of requests and complaints (诉求) and their handling (engine.check.appeals); the only file appeals/ holds
APPEALS_FILE = "appeals/kinds.yaml"
#: the center's appointments, home visits and late hours (engine.rules.slots reads it)
APPOINTMENTS_FILE = "appointments.yaml"
#: single center-level files outside the folders of FOLDERS -> their kind
SINGLE_FILES = {
    SYNONYMS_FILE: "synonyms",
    NOTIFICATIONS_FILE: "notifications",
    APPEALS_FILE: "appeals",
    APPOINTMENTS_FILE: "appointments",
}
YAML_SUFFIXES = (".yaml", ".yml")


def discover(root: Path) -> tuple[list[tuple[str, str]], list[Problem]]:
    """List (relative path, kind) of every catalogue file, and problems with misplaced files."""
    found: list[tuple[str, str]] = []
    problems: list[Problem] = []
    if (root / CENTER_FILE).is_file():
        found.append((CENTER_FILE, "center"))
    found.extend((rel, kind) for rel, kind in SINGLE_FILES.items() if (root / rel).is_file())
    for folder, kind in FOLDERS.items():
        base = root / folder
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            rel_dir = Path(dirpath).relative_to(root).as_posix()
            nested = rel_dir != folder
            for name in sorted(filenames):
                if name.startswith(".") or name.lower().endswith(".md"):
                    continue
                rel = f"{rel_dir}/{name}"
                if not name.endswith(YAML_SUFFIXES):
                    problems.append(
                        Problem(
                            rel,
                            1,
                            1,
                            "stray-file",
                            f"{folder}/ holds only .yaml files; move this file elsewhere "
                            "or rename it to .yaml if it is catalogue data",
                        )
                    )
                elif nested and folder != "items":
                    problems.append(
                        Problem(rel, 1, 1, "wrong-folder", f"{folder}/ has no subfolders; move this file to {folder}/")
                    )
                else:
                    found.append((rel, kind))
    return found, problems


def kind_of(rel: str) -> str | None:
    """The document kind a catalogue path holds by its place (``items/a/b.yaml`` -> item), or None."""
    if rel == CENTER_FILE:
        return "center"
    if rel in SINGLE_FILES:
        return SINGLE_FILES[rel]
    head, _, rest = rel.partition("/")
    if head in FOLDERS and rest.endswith(YAML_SUFFIXES) and (head == "items" or "/" not in rest):
        return FOLDERS[head]
    return None


def fingerprint(roots: Iterable[Path]) -> str:
    """A cheap fingerprint of every catalogue file under ``roots`` (names, sizes, mtimes): what
    live reload polls to notice an edit, an added or a deleted file without reading contents."""
    h = hashlib.blake2b(digest_size=16)
    for root in roots:
        names = [CENTER_FILE, *SINGLE_FILES] + [f"{folder}/" for folder in FOLDERS]
        for name in names:
            base = Path(root) / name
            if name.endswith("/"):
                if not base.is_dir():
                    continue
                for dirpath, dirnames, filenames in os.walk(base):
                    dirnames.sort()
                    for fn in sorted(filenames):
                        _stat_into(h, os.path.join(dirpath, fn))
            else:
                _stat_into(h, str(base))
    return h.hexdigest()


def _stat_into(h: Any, path: str) -> None:
    try:
        st = os.stat(path)
    except OSError:
        return
    h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n".encode())
