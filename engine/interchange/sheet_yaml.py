"""An imported item written as YAML, with comments naming the rows it came from, and a map from each line
back to the cell or row it was written from (so the checker's findings can be reported on the sheet): the
item is written a key at a time, down through its mappings and list entries, so a finding on
``time_limit.promised.value`` or ``materials[0].originals`` comes back to the very cell.

Keys follow the item schema's order. PyYAML's safe dumper quotes every string a YAML 1.1 reader would take
for something else (yes, 010, 1:30, dates); y and n, which the catalogue's reader refuses plain, are
quoted here too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from engine.catalogue.schemas import compiled

SOURCE = "# 来源："


# libyaml's emitter when PyYAML was built with it (the wheels are), else the pure-Python one: an item is
# written in hundreds of small pieces, and the pure-Python emitter made writing YAML most of an import's time
_Base: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_Base):  # type: ignore[valid-type,misc]
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if value in ("y", "Y", "n", "N"):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_str(value)


_Dumper.add_representer(str, _str)


def dump(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=10_000, default_flow_style=False)


@lru_cache(maxsize=4096)
def _head(key: Any) -> str:
    """``key:`` quoted as YAML needs (the same few keys are written thousands of times)."""
    return dump({key: {0: 0}}).split("\n", 1)[0]


@lru_cache(maxsize=1)
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
    locate: Callable[[tuple[Any, ...]], Origin],
    sources: dict[tuple[Any, ...], Origin],
    item_origin: Origin,
) -> tuple[str, list[Origin]]:
    """The item's YAML text and, for each line, where it came from: ``locate`` gives the origin of a path
    into the item (a cell where one wrote it). ``sources`` are the list entries that came from child
    rows, by path (("materials", 0)): each gets a comment naming its row."""
    out: list[tuple[str, Origin]] = [(modeline, item_origin), (f"{SOURCE}{item_origin.row_where}", item_origin)]
    order = key_order()
    for key in sorted(item, key=lambda k: order.index(k) if k in order else len(order)):
        _block(key, item[key], (key,), "", out, locate, sources)
    return "\n".join(line for line, _ in out) + "\n", [o for _, o in out]


def _block(
    key: Any,
    value: Any,
    path: tuple[Any, ...],
    pad: str,
    out: list[tuple[str, Origin]],
    locate: Callable[[tuple[Any, ...]], Origin],
    sources: dict[tuple[Any, ...], Origin],
) -> None:
    """``key: value`` at indent ``pad``, a line at a time, each with the origin of the path it writes."""
    head = pad + _head(key)
    if isinstance(value, dict) and value:
        out.append((head, locate(path)))
        for k, v in value.items():
            _block(k, v, (*path, k), pad + "  ", out, locate, sources)
    elif isinstance(value, list) and any(isinstance(e, dict) and e for e in value):
        out.append((head, locate(path)))
        for i, entry in enumerate(value):
            at = (*path, i)
            if at in sources:
                out.append((f"{pad}  {SOURCE}{sources[at].row_where}", sources[at]))
            if isinstance(entry, dict) and entry:
                inner: list[tuple[str, Origin]] = []
                for k, v in entry.items():
                    _block(k, v, (*at, k), pad + "    ", inner, locate, sources)
                inner[0] = (f"{pad}  - {inner[0][0][len(pad) + 4 :]}", inner[0][1])
                out += inner
            else:
                out += [(f"{pad}  {ln}", locate(at)) for ln in dump([entry]).rstrip("\n").split("\n")]
    else:
        out += [(pad + ln, locate(path)) for ln in dump({key: value}).rstrip("\n").split("\n")]
