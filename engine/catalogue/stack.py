"""The layers of a five-level stack: each ``center.yaml``'s ``extends``, followed up to the top.

``stack(root, read_center)`` returns the catalogue directories a catalogue is built from, this one
first, with the findings of the stack itself (an extends that cannot be followed, a loop, a level
not below its parent's). engine.catalogue.overlay folds the layers into one catalogue.

Library code: nothing here prints or exits.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.base.result import Finding

__all__ = ["LEVELS", "LEVEL_WORDS", "Layer", "stack"]

LEVELS = ("province", "city", "county", "township", "village")
LEVEL_WORDS = {"province": "省", "city": "市", "county": "县", "township": "乡镇", "village": "村（社区）"}


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
    root: Path, read_center: Callable[[str], tuple[dict[str, Any] | None, bool, bool]]
) -> tuple[list[Layer], list[Finding]]:
    """The layers of the catalogue at ``root``, top first, following each ``extends``.

    ``read_center(rel)`` returns a layer's center.yaml data (None when missing or unreadable; only
    ``extends``, ``level`` and ``id`` when it fails its schema), whether the file exists and whether
    it passed its schema; its own problems are reported by the loader.
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
        data, exists, valid = read_center(layer.center_file)
        layer.center = data
        layer.unreadable = exists and data is None
        # a parent's center.yaml that fails its schema hides its departments and rules: what the
        # layers below inherit is judged once it is fixed
        layer.cut = exists and not valid and bool(prefix)
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
        parent = _parent(layer, current, data["extends"], seen)
        if isinstance(parent, Finding):  # the extends cannot be followed: the stack stops here
            findings.append(parent)
            layer.cut = True
            break
        prefix = Path(os.path.relpath(parent, top)).as_posix()
        current = parent
    findings.extend(_levels(layers))
    return layers, findings


def _parent(layer: Layer, current: Path, extends: str, seen: Mapping[Path, str]) -> Path | Finding:
    """The parent catalogue's directory an ``extends`` names, or why it cannot be followed."""
    try:
        parent = (current / extends).resolve()
        usable = (parent / "center.yaml").is_file(), parent.is_file(), parent.is_dir()
    except (OSError, ValueError, RuntimeError) as exc:  # a NUL byte, a name too long, a symlink loop
        return Finding(
            layer.center_file,
            ("extends",),
            "extends",
            f"extends {extends!r} is not a usable path ({exc}); give the path of the parent "
            "catalogue's root directory, relative to this one",
        )
    if parent in seen:
        return Finding(
            layer.center_file,
            ("extends",),
            "extends",
            f"extends {extends!r} leads back to {seen[parent]}: catalogues would extend each other "
            "in a loop; a catalogue extends only the one above it",
        )
    if not usable[0]:
        if usable[1]:
            fix = f"name the directory instead: extends: {Path(extends).parent.as_posix()}"
            what = "a file, not the parent catalogue's directory"
        else:
            what = "no such directory" if not usable[2] else "a directory without center.yaml"
            fix = (
                "give the path of the parent catalogue's root directory, relative to this one "
                "(check out the git submodule if it is one)"
            )
        return Finding(layer.center_file, ("extends",), "extends", f"extends {extends!r} is {what}; {fix}")
    return parent


def _levels(layers: list[Layer]) -> list[Finding]:
    """Each layer's level is below its parent's (province → city → county → township → village)."""
    findings = []
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
    return findings
