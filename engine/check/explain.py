"""``yangguang show CODE --explain``: the resolved item, each value beside the layer and file:line it came from.

In a five-level stack an item a village serves may be the province's file with a
city override and a county override on top; an administrator asking "why does the
guide say 3 working days?" needs the one line that says so. Values are walked in
the merged document's order; each leaf is looked up in the merged document's
origins (engine.catalogue.overlay), and the file it names is parsed once for positions.

Library code: returns text, never prints.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.base.result import Path
from engine.catalogue.merge import lookup
from engine.catalogue.model import Catalogue
from engine.catalogue.stack import Layer
from engine.catalogue.yaml_policy import compose

VALUE_WIDTH = 48


def _positions(text: str) -> dict[Path, int]:
    """Every path of a YAML text -> its 1-based line (one compose per file, not per value)."""
    out: dict[Path, int] = {}
    try:
        root = compose(text)
    except Exception:  # a file that does not parse has no positions; explain still prints values
        return out

    def walk(node: Node, at: Path) -> None:
        out[at] = node.start_mark.line + 1
        if isinstance(node, MappingNode):
            for k, v in node.value:
                if isinstance(k, ScalarNode):
                    out[(*at, k.value)] = k.start_mark.line + 1
                    walk(v, (*at, k.value))
                    out[(*at, k.value)] = k.start_mark.line + 1
        elif isinstance(node, SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, (*at, i))

    if root is not None:
        walk(root, ())
    return out


class _Explainer:
    def __init__(self, cat: Catalogue, file: str) -> None:
        self.cat = cat
        self.file = file
        self.origins = cat.origins.get(file)
        self.positions: dict[str, dict[Path, int]] = {}
        self.lines: list[str] = []

    def where(self, path: Path) -> str:
        file, at = lookup(self.origins, self.file, path)
        if file not in self.positions:
            try:
                self.positions[file] = _positions((self.cat.root / file).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                self.positions[file] = {}
        pos = self.positions[file]
        line = next((pos[at[:n]] for n in range(len(at), -1, -1) if at[:n] in pos), 1)
        return f"{layer_label(self.cat, file)}  {file}:{line}"

    def emit(self, indent: str, head: str, value: str, path: Path) -> None:
        text, width = f"{indent}{head}", len(indent) + len(head)
        for ch in value:  # cut and pad by display width: a Chinese character takes two columns
            w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
            if width + w > VALUE_WIDTH + len(indent):
                text, width = text + "…", width + 1
                break
            text, width = text + ch, width + w
        self.lines.append(f"{text}{' ' * max(1, VALUE_WIDTH + 14 - width)}# {self.where(path)}")

    def walk(self, value: Any, path: Path, indent: str, head: str) -> None:
        if isinstance(value, dict) and value:
            self.emit(indent, head.rstrip(), "", path)
            for key, sub in value.items():
                self.walk(sub, (*path, key), indent + "  ", f"{key}: ")
        elif isinstance(value, list) and value:
            self.emit(indent, head.rstrip(), "", path)
            for i, sub in enumerate(value):
                self.walk(sub, (*path, i), indent + "  ", "- ")
        else:
            self.emit(indent, head, _scalar(value), path)


def _scalar(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, dict | list):
        return "{}" if isinstance(value, dict) else "[]"
    return str(value).replace("\n", " ")


def layer_label(cat: Catalogue, file: str) -> str:
    """The layer a catalogue file belongs to, as ``id (level)``; the longest matching prefix wins."""
    best: Layer | None = None
    for layer in cat.layers:
        if (layer.prefix == "" or file.startswith(layer.prefix + "/")) and (
            best is None or len(layer.prefix) > len(best.prefix)
        ):
            best = layer
    return best.label if best is not None else "?"


def explain(cat: Catalogue, code: str) -> str:
    """The resolved item ``code`` with, for each value, the layer and file:line it comes from."""
    doc = cat.items[code]
    data = cat.data(doc)
    ex = _Explainer(cat, doc.file)
    stack = " → ".join(f"{layer.label} {layer.prefix or '.'}" for layer in reversed(cat.layers))
    head = [
        f"{code} {data['name']}",
        f"layers (top first): {stack}",
        f"item file: {doc.file}",
    ]
    for patch in reversed(cat.patches.get(code, [])):
        head.append(f"override: {patch} ({layer_label(cat, patch)})")
    for key, value in data.items():
        ex.walk(value, (key,), "", f"{key}: ")
    return "\n".join([*head, "", *ex.lines]) + "\n"
