"""Hints that make a schema error speak the administrator's language: an enum value written in
Chinese gets its schema value (the labels come from the schemas' own descriptions), text that YAML
split at a colon is recognised, a constant written another way (``fee: 免费``) is named.

Pure functions over the bundled schema document; engine.catalogue.schemas uses them while it words errors.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any


def resolve(schema: Mapping[str, Any], document: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow local ``$ref``s of a bundled schema to the definition itself."""
    seen = 0
    while isinstance(schema, Mapping) and "$ref" in schema and seen < 20:
        schema = document["definitions"][schema["$ref"].removeprefix("#/definitions/")]
        seen += 1
    return schema


def label_of(schema: Mapping[str, Any], document: Mapping[str, Any]) -> str:
    """The Chinese name a schema's description gives (``收费：free…`` -> ``收费``)."""
    desc = schema.get("description") or resolve(schema, document).get("description") or ""
    return desc.split(" / ")[0].rstrip("。.") if desc else ""


def _chinese(description: str) -> str:
    """The Chinese half of a bilingual ``中文 / English`` description."""
    return description.split(" / ", 1)[0]


@functools.cache
def _label_pattern(value: str) -> re.Pattern[str]:
    """``value 标签`` in a description; the label is Chinese ("other list" is no label) and ends at
    punctuation: ``decider 批准人（首席代表）`` labels decider 批准人."""
    return re.compile(rf"(?<![A-Za-z0-9_]){re.escape(value)}\s+([\u4e00-\u9fff][^\s、，,；;。/（()）:：]*)")


def enum_labels(document: Mapping[str, Any]) -> dict[tuple[str, ...], dict[str, str]]:
    """For every enum of text values: value -> its Chinese label, where a description says
    ``value 标签`` — the enum's own description or one of its two nearest parents' (a list's items
    are described by the list: ``服务对象：natural_person 自然人、legal_person 法人及其他组织``)."""
    table: dict[tuple[str, ...], dict[str, str]] = {}

    def walk(node: Any, parents: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            desc = node.get("description")
            here = (*parents, _chinese(desc)) if isinstance(desc, str) else parents
            values = node.get("enum")
            if isinstance(values, list) and values and all(isinstance(v, str) for v in values):
                found = table.setdefault(tuple(values), {})
                for text in reversed(here[-3:]):  # the nearest description wins
                    for value in values:
                        match = _label_pattern(value).search(text)
                        if match and value not in found:
                            found[value] = match.group(1)
            for value in node.values():
                walk(value, here)
        elif isinstance(node, list):
            for value in node:
                walk(value, parents)

    walk(document, ())
    return {values: found for values, found in table.items() if found}


def from_chinese(text: str, labels: Mapping[str, str]) -> str | None:
    """The enum value whose Chinese label ``text`` is (or, when only one fits, is part of / contains)."""
    text = text.strip()
    if not text:
        return None
    exact = [value for value, label in labels.items() if label == text]
    if exact:
        return exact[0]
    near = [value for value, label in labels.items() if text in label or label in text]
    return near[0] if len(near) == 1 else None


#: what a user writes for "no fee" in place of the schema's ``free`` (``fee: free``)
_NOTHING_WORDS = frozenset({"免费", "不收费", "无", "无收费", "零", "0", "none", "no", "nil", "free of charge"})


def const_branch(branches: Any, document: Mapping[str, Any]) -> tuple[str, str] | None:
    """The constant a oneOf/anyOf offers as one of its shapes (``free`` for a fee), with its label."""
    for branch in branches if isinstance(branches, list) else ():
        resolved = resolve(branch, document) if isinstance(branch, Mapping) else {}
        if isinstance(resolved.get("const"), str):
            return resolved["const"], label_of(branch, document)
    return None


def means_const(inst: Any, const: str, label: str) -> bool:
    """Whether a value that fits no shape is the constant written another way: ``FREE``, ``不收费``,
    ``免费``, ``0``, ``false``, ``无``, ``{amount: 0}`` (for ``free``)."""
    if isinstance(inst, bool):
        return inst is False and const == "free"
    if isinstance(inst, int | float):
        return inst == 0 and const == "free"
    if isinstance(inst, dict):  # {amount: 0}, {free: 免费}: every value says "nothing"
        return bool(inst) and inst.get(const) is not True and all(means_const(v, const, label) for v in inst.values())
    if not isinstance(inst, str):
        return False
    word = inst.strip().lower()
    return word == const.lower() or inst.strip() == label or (const == "free" and word in _NOTHING_WORDS)


def const_said(inst: Any, const: tuple[str, str] | None, where: str) -> str:
    """For a mapping that names the constant as a key (``fee: {free: true}`` without its basis): the
    constant alone needs none of the missing keys (``fee: free``)."""
    if const is None or not isinstance(inst, dict) or inst.get(const[0]) is not True:
        return ""
    return f"; with nothing to cite, write `{where}: {const[0]}` ({const[1]})"


_KEY_LIKE = re.compile(r"[a-z_][a-z0-9_]*")


def colon_text(inst: Any) -> str | None:
    """The text YAML split into a key and a value at a colon (``下列条件: 年满18周岁`` read as
    ``{下列条件: 年满18周岁}``): a one-key mapping whose key reads as prose, not as a schema key."""
    if not isinstance(inst, dict) or len(inst) != 1:
        return None
    key, value = next(iter(inst.items()))
    if not isinstance(key, str) or _KEY_LIKE.fullmatch(key) or isinstance(value, dict | list):
        return None
    if value is None:
        return f"{key}:"
    return f"{key}: {str(value).lower() if isinstance(value, bool) else value}"
