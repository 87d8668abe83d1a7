"""How ``yangguang diff`` matches two versions of a document: leaves that differ, entries by id."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from engine.authoring.diff_words import duration_key, is_duration

__all__ = ["Keyed", "by_id", "keyed", "leaves"]


def leaves(old: Any, new: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(dotted path, old, new) of every leaf that differs; lists and durations are leaves
    (a duration's note is its own leaf, so a reworded note is not reported as a new limit)."""
    if old == new:
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        if is_duration(old) and is_duration(new):
            if duration_key(old) != duration_key(new):
                yield path, old, new
            if old.get("note") != new.get("note"):
                yield f"{path}.note", old.get("note"), new.get("note")
            return
        for key in [*old, *(k for k in new if k not in old)]:
            yield from leaves(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))
        return
    yield path, old, new


def by_id(entries: Any) -> dict[Any, Mapping[str, Any]]:
    return {e["id"]: e for e in entries or () if isinstance(e, Mapping) and "id" in e}


Keyed = tuple[list[tuple[Any, Any]], list[tuple[Any, Any]], list[tuple[Any, Any, Any]], bool]


def keyed(old: Any, new: Any) -> Keyed:
    """Two lists of entries matched by id: removed, added, kept (id, old, new), and whether the
    kept ones changed order. Matching by id, not position, so inserting one material does not
    read as every later material changed."""
    om, nm = by_id(old), by_id(new)
    kept = [(k, om[k], nm[k]) for k in om if k in nm]
    moved = [k for k, _, _ in kept] != [k for k in nm if k in om]
    return [(k, e) for k, e in om.items() if k not in nm], [(k, e) for k, e in nm.items() if k not in om], kept, moved
