"""What a re-import keeps of an item file it rewrites: the parts the spreadsheet does not carry.

A sheet updates what it carries and nothing else. It carries the paths its mapping has columns (or fixed
values) for, the lists of its child sheets (all of them: an item with no material rows has no materials)
and, per row, whatever the row's 扩展（YAML） cell holds. Every other part of the existing item file — the
FAQ when the mapping leaves out the 常见问题 sheet, a form a county's sheet has no column for — is kept as
it is, and named, so a sheet with fewer columns never erases what it does not know about.
"""

from __future__ import annotations

import copy
from typing import Any

from engine.interchange.sheet_mapping import CHILD_LISTS, Mapping

Path = tuple[str, ...]


def carried(mapping: Mapping) -> set[Path]:
    """The paths every row of the mapping's sheets speaks for (present or left empty)."""
    out: set[Path] = set()
    items = mapping.sheets["items"]
    out |= {c.path for c in items.columns if not c.key.startswith("$")}
    out |= {tuple(key.split(".")) for key, _ in items.fixed}
    basis = mapping.sheets.get("basis")
    list_col = basis.by_key("$list") if basis else None
    out |= {tuple(str(v).split(".")) for v in (list_col.values if list_col else {}).values()}
    out |= {(key,) for role, key in CHILD_LISTS.items() if role in mapping.sheets}
    return out


def leaves(data: dict[str, Any], prefix: Path = ()) -> set[Path]:
    """The paths of the values in ``data`` (an extension cell), down through mappings."""
    out: set[Path] = set()
    for key, value in data.items():
        path = (*prefix, str(key))
        out |= leaves(value, path) if isinstance(value, dict) and value else {path}
    return out


def keep(existing: dict[str, Any], item: dict[str, Any], said: set[Path], prefix: Path = ()) -> list[str]:
    """Lay the parts of ``existing`` that no path in ``said`` covers into ``item`` (in place); the dotted
    paths of what was kept."""
    kept: list[str] = []
    for key, old in existing.items():
        path = (*prefix, str(key))
        if any(path[: len(s)] == s for s in said):
            continue  # the sheet speaks for it: what the sheet says (or leaves out) stands
        if not any(s[: len(path)] == path for s in said):
            if key not in item:
                item[key] = copy.deepcopy(old)
                kept.append(".".join(path))
            continue
        # the sheet speaks for some of it: keep the rest, key by key
        if isinstance(old, dict) and isinstance(item.get(key, {}), dict):
            inner = item.get(key, {})
            found = keep(old, inner, said, path)
            if inner:
                item[key] = inner
            kept += found
    return kept
