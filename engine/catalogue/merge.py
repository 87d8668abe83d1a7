"""Merging an override into its parent's item, remembering where every merged value was written.

Mappings merge key by key; ``materials``, ``steps`` and ``form.sections`` merge by ``id`` (a
reusable section named by its id alone matches that name; ``remove: true`` deletes an entry); any
other list or value is replaced whole. ``Origins``
maps a path in the merged document to the file and path that wrote it; only the points
where the source changes are recorded, and ``lookup`` finds the nearest recorded ancestor,
so an item that no layer changed costs nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.base.result import Path as DocPath

#: lists whose entries are matched by ``id`` when an override changes them
ID_LISTS = frozenset({("materials",), ("steps",), ("form", "sections")})

Origin = tuple[str, DocPath]  # (file relative to the top catalogue, path inside that file)
Origins = dict[DocPath, Origin]


def lookup(origins: Mapping[DocPath, Origin] | None, file: str, path: DocPath) -> Origin:
    """Where the value at ``path`` of a merged document was written (the nearest recorded ancestor)."""
    if origins:
        for n in range(len(path), -1, -1):
            hit = origins.get(path[:n])
            if hit is not None:
                return hit[0], (*hit[1], *path[n:])
    return file, path


def merge(
    base: Any,
    patch: Any,
    *,
    base_origins: Mapping[DocPath, Origin],
    base_file: str,
    patch_file: str,
    patch_at: DocPath,
    origins: Origins,
    at: DocPath = (),
    base_at: DocPath = (),
) -> Any:
    """``base`` with ``patch`` applied; ``origins`` receives where each merged value was written."""
    return _Merge(base_origins, base_file, patch_file, origins).value(base, patch, patch_at, at, base_at)


@dataclass(frozen=True, slots=True)
class _Merge:
    """One ``merge``: where the base's values came from, the two files, and the origins it fills in."""

    base_origins: Mapping[DocPath, Origin]
    base_file: str
    patch_file: str
    origins: Origins

    def inherit(self, new_at: DocPath, old_at: DocPath) -> None:
        origins = self.origins
        origins[new_at] = lookup(self.base_origins, self.base_file, old_at)
        n = len(old_at)
        for p, o in self.base_origins.items():  # finer origins inside a subtree copied unchanged
            if len(p) > n and p[:n] == old_at:
                origins[(*new_at, *p[n:])] = o

    def value(self, base: Any, patch: Any, patch_at: DocPath, at: DocPath, base_at: DocPath) -> Any:
        if isinstance(base, dict) and isinstance(patch, dict):
            return self.mapping(base, patch, patch_at, at, base_at)
        if id_list(base) and id_list(patch) and _strip_index(at) in ID_LISTS:
            return self.entries(base, patch, patch_at, at, base_at)
        _drop_below(self.origins, at)
        self.origins[at] = (self.patch_file, patch_at)
        return copy.deepcopy(patch)

    def mapping(
        self, base: dict[str, Any], patch: dict[str, Any], patch_at: DocPath, at: DocPath, base_at: DocPath
    ) -> dict[str, Any]:
        """Keys of both merged, the parent's order first; keys only the patch has are its own."""
        out: dict[str, Any] = {}
        for key, value in base.items():
            self.inherit((*at, key), (*base_at, key))
            if key in patch:
                out[key] = self.value(value, patch[key], (*patch_at, key), (*at, key), (*base_at, key))
            else:
                out[key] = value
        for key, value in patch.items():
            if key not in base:
                out[key] = copy.deepcopy(value)
                _drop_below(self.origins, (*at, key))
                self.origins[(*at, key)] = (self.patch_file, (*patch_at, key))
        return out

    def entries(self, base: list[Any], patch: list[Any], patch_at: DocPath, at: DocPath, base_at: DocPath) -> list[Any]:
        """A list of entries with ids: the patch's entries merge into the parent's of the same id (or remove
        them), in the parent's order; new ones follow."""
        origins, patch_file = self.origins, self.patch_file
        by_id = {entry_key(e): (i, e) for i, e in enumerate(patch)}
        merged: list[Any] = []
        for i, entry in enumerate(base):
            hit = by_id.pop(entry_key(entry), None)
            if hit is not None and isinstance(hit[1], dict) and hit[1].get("remove") is True:
                continue
            j = len(merged)
            self.inherit((*at, j), (*base_at, i))
            if hit is None:
                merged.append(entry)
                continue
            if not (isinstance(entry, dict) and isinstance(hit[1], dict)):
                # a reusable section named where the parent had it inline, or the other way round:
                # the override's entry takes its place
                merged.append(copy.deepcopy(hit[1]))
                _drop_below(origins, (*at, j))
                origins[(*at, j)] = (patch_file, (*patch_at, hit[0]))
                continue
            changes = {k: v for k, v in hit[1].items() if k not in ("remove", "id")}  # the id is the parent's
            merged.append(self.value(entry, changes, (*patch_at, hit[0]), (*at, j), (*base_at, i)))
        for i, entry in sorted(by_id.values(), key=lambda x: x[0]):
            if isinstance(entry, dict) and entry.get("remove") is True:
                continue  # removing what the parent does not have: reported by resolve()
            j = len(merged)
            merged.append(copy.deepcopy(entry))
            origins[(*at, j)] = (patch_file, (*patch_at, i))
        # the list as a whole is this layer's now (a problem with it, e.g. too few steps left, is
        # reported here); each inherited entry keeps the origin recorded above
        origins[at] = (patch_file, patch_at)
        return merged


def _drop_below(origins: Origins, at: DocPath) -> None:
    n = len(at)
    for p in [p for p in origins if len(p) > n and p[:n] == at]:
        del origins[p]


def entry_key(entry: Any) -> Any:
    """What an entry of an id-matched list is matched by: its ``id``; a form section named by its id
    alone (a reusable section, ``- applicant``) is matched by that name."""
    if isinstance(entry, dict):
        return entry.get("id")
    return entry if isinstance(entry, str) else None


def id_list(value: Any) -> bool:
    """Every entry has a key (``entry_key``): only then can entries be matched by id. Any other list
    is replaced whole."""
    return isinstance(value, list) and all(entry_key(e) is not None for e in value)


def _strip_index(path: DocPath) -> DocPath:
    return tuple(p for p in path if isinstance(p, str))


def get(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data
