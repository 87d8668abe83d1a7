"""An imported item written as YAML, with comments naming the rows it came from, and a map from each line
back to the cell or row it was written from (so the checker's findings can be reported on the sheet).

Keys follow the item schema's order. PyYAML's safe dumper quotes every string a YAML 1.1 reader would take
for something else (yes, 010, 1:30, dates); y and n, which the catalogue's reader refuses plain, are
quoted here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from engine.catalogue.schemas import compiled

SOURCE = "# 来源："


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if value in ("y", "Y", "n", "N"):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_str(value)


_Dumper.add_representer(str, _str)


def dump(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=10_000, default_flow_style=False)


def key_order() -> list[str]:
    return list(compiled("item").document["properties"])


@dataclass
class Origin:
    """Where a part of an item came from: ``where`` as reported, ``order`` to sort reports."""

    where: str
    order: tuple[Any, ...]
    row_where: str  # the whole row, for a comment


def emit(
    item: dict[str, Any],
    modeline: str,
    key_origin: dict[str, Origin],
    entry_origin: dict[tuple[str, int], Origin],
    item_origin: Origin,
) -> tuple[str, list[Origin]]:
    """The item's YAML text and, for each line, where it came from. ``entry_origin`` locates list entries
    that came from child rows: (top-level key, index) -> origin."""
    lines: list[str] = [modeline, f"{SOURCE}{item_origin.row_where}"]
    where: list[Origin] = [item_origin, item_origin]
    order = key_order()
    for key in sorted(item, key=lambda k: order.index(k) if k in order else len(order)):
        value = item[key]
        origin = key_origin.get(key, item_origin)
        if isinstance(value, list) and value and any((key, i) in entry_origin for i in range(len(value))):
            lines.append(f"{key}:")
            where.append(origin)
            for i, entry in enumerate(value):
                at = entry_origin.get((key, i), origin)
                if (key, i) in entry_origin:
                    lines.append(f"  {SOURCE}{at.row_where}")
                    where.append(at)
                chunk = dump([entry]).rstrip("\n").split("\n")
                lines += ["  " + ln for ln in chunk]
                where += [at] * len(chunk)
            continue
        chunk = dump({key: value}).rstrip("\n").split("\n")
        lines += chunk
        where += [origin] * len(chunk)
    return "\n".join(lines) + "\n", where
