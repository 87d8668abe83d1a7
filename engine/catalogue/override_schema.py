"""``schema/override.schema.json`` is generated from ``schema/item.schema.json``: one source for both.

An override names only the keys it changes: mappings merge key by key at every depth, and
``materials``, ``steps`` and ``form.sections`` entries merge by ``id`` (engine.catalogue.merge). So the
override schema is the item schema with every object reached through mappings made *partial*
(its properties and their types kept, ``additionalProperties: false`` kept, ``required``
dropped), and the id-matched lists' entries partial with ``id`` required and ``remove: true``
allowed. Draft-07 cannot drop ``required`` from a ``$ref``, so an object definition that
requires keys gets a partial twin here (``partial_<name>``); every other definition is
referred to where it lives (``item.schema.json#/definitions/…``, ``common.schema.json#…``).
What a list holds (other than the id-matched ones) and what ``anyOf`` chooses between stay
whole where the merge replaces them whole; a mapping alternative of ``anyOf`` (``fee``,
``visits``) is partial, as the merge is.

``python -m engine.catalogue.override_schema`` rewrites the file (``make schemas``); ``--check`` exits 1
when the file on disk differs (tests/unit/catalogue/test_schema_tools.py runs the same comparison), so the
editor (which reads the file) and ``yangguang check`` (which validates overrides with it) always
agree with the item schema. Its descriptions are "中文 / English", as item.schema.json's are: a
schema is data an editor shows a catalogue's author, not a message the engine says in a request's
language (engine.base.i18n).
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

from engine.catalogue.schemas import SCHEMA_DIR

ITEM = "item.schema.json"
TARGET = "override.schema.json"
MERGED = (
    " 覆盖时与上级逐键合并，只写要改的键 / In an override, merged key by key with the parent's; "
    "write only the keys that change."
)
ENTRY = (
    "按 id 对应上级的条目：同 id 的条目只写要改的字段；新 id 追加一条完整的条目；写 remove: true 删除该条 / "
    "Matched to the parent's entry by id: an existing id names only the fields it changes; a new id adds a "
    "complete entry; remove: true deletes the entry."
)
ENTRY_ID = "条目标识（与上级相同则修改该条）/ Entry id (the parent's id to change that entry)."
ID_LISTS = {
    "materials": "true：删除上级的这一条材料（必需材料不得删除）/ true removes the parent's material (a required "
    "material cannot be removed).",
    "steps": "true：删除上级的这一个环节 / true removes the parent's step.",
}
HEAD: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "事项覆盖文件 / Item override",
    "description": (
        "下级目录（县、乡镇、村）对继承自上级目录的一个事项的本地修改，放在 overrides/ 下："
        "只写要改的字段，其余沿用上级。合并规则：映射逐键合并；materials、steps 与 form.sections 按 id 合并"
        "（引用的分组按名称、内联分组按 id；remove: true 删除一条）；其他列表和值整体替换。"
        "合并后的事项仍须符合事项模式和上级的规则（法定时限、设定依据、事项类型、收费标准不得改动；"
        "必需材料不得删除；承诺时限不得超过法定时限）。本文件由 item.schema.json 生成（make schemas），"
        "不要手改 / A lower-level catalogue's local change to one item it inherits from its parent, "
        "kept in overrides/: name only the fields that change; everything else is the parent's. Merging: mappings "
        "merge key by key; materials, steps and form.sections merge by id (a reusable section by its name, an "
        "inline one by its id; remove: true deletes an entry); any other list or value is replaced whole. The "
        "merged item must still satisfy the item schema and the parent's rules (legal limit, basis, item type and "
        "fee standard fixed where the parent says so; no required material removed; promised limit within the "
        "legal one). Generated from item.schema.json (make schemas); do not edit by hand."
    ),
    "type": "object",
    "additionalProperties": False,
    "required": ["code", "reason"],
}
#: definitions an override writes whole although the merge would combine two mappings: a condition
#: merged key by key with the parent's ({all: …} beside {field: …}) never means what was meant
WHOLE = frozenset({"condition"})
OWN: dict[str, Any] = {
    "code": {
        "description": "要修改的上级事项的编码 / Code of the parent's item this file changes.",
        "$ref": "common.schema.json#/definitions/item_code",
    },
    "reason": {
        "description": "本地修改的理由（写入变更公告）/ Why the local catalogue changes this item (shown in the change "
        "notice).",
        "type": "string",
        "minLength": 4,
    },
}


class _Builder:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files: dict[str, dict[str, Any]] = {}
        self.definitions: dict[str, Any] = {}

    def read(self, name: str) -> dict[str, Any]:
        if name not in self.files:
            with open(self.directory / name, encoding="utf-8") as fh:
                self.files[name] = json.load(fh)
        return self.files[name]

    def target(self, ref: str, owner: str) -> tuple[str, str]:
        """(file, definition name) of a ``$ref`` written in ``owner``."""
        file, _, pointer = ref.partition("#")
        return file or owner, pointer.removeprefix("/definitions/")

    def whole(self, node: Any, owner: str) -> Any:
        """``node`` unchanged, its ``$ref``s rewritten to be read from the override file."""
        if isinstance(node, dict):
            out = {k: self.whole(v, owner) for k, v in node.items()}
            if isinstance(node.get("$ref"), str):
                file, name = self.target(node["$ref"], owner)
                out["$ref"] = f"{file}#/definitions/{name}"
            return out
        if isinstance(node, list):
            return [self.whole(v, owner) for v in node]
        return node

    def requires(self, node: Any, owner: str, seen: frozenset[str] = frozenset()) -> bool:
        """Whether a mapping schema requires a key anywhere a merge reaches (through mappings)."""
        if not isinstance(node, dict):
            return False
        if isinstance(node.get("$ref"), str):
            file, name = self.target(node["$ref"], owner)
            key = f"{file}#{name}"
            if key in seen or name in WHOLE:
                return False
            return self.requires(self.read(file)["definitions"][name], file, seen | {key})
        if node.get("required"):
            return True
        alternatives = node.get("anyOf", [])
        return any(self.requires(v, owner, seen) for v in [*node.get("properties", {}).values(), *alternatives])

    def partial(self, node: Any, owner: str) -> Any:
        """``node`` as an override may write it: mappings partial, everything else whole."""
        if not isinstance(node, dict):
            return node
        if isinstance(node.get("$ref"), str) and not self.requires(node, owner):
            return self.whole(node, owner)
        if isinstance(node.get("$ref"), str):
            file, name = self.target(node["$ref"], owner)
            twin = f"partial_{name}"
            if twin not in self.definitions:
                self.definitions[twin] = {}  # reserved against recursion
                self.definitions[twin] = self.partial(self.read(file)["definitions"][name], file)
            out = {k: self.whole(v, owner) for k, v in node.items() if k != "$ref"}
            return out | {"$ref": f"#/definitions/{twin}"}
        if "properties" not in node and not ("anyOf" in node and self.requires(node, owner)):
            return self.whole(node, owner)
        out = {}
        for key, value in node.items():
            if key == "required":
                continue
            if key == "properties":
                out[key] = {k: self.partial(v, owner) for k, v in value.items()}
            elif key == "anyOf":
                out[key] = [self.partial(v, owner) for v in value]
            else:
                out[key] = self.whole(value, owner)
        if "properties" in node:
            out.setdefault("minProperties", 1)
        return out

    def entry(self, schema: Any, owner: str, remove: str, id_text: str = ENTRY_ID) -> dict[str, Any]:
        """One id-matched list entry: partial, ``id`` required, ``remove: true`` allowed."""
        if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
            file, name = self.target(schema["$ref"], owner)
            schema, owner = self.read(file)["definitions"][name], file
        out = self.partial(schema, owner)
        out["description"] = f"{out.get('description', '')} {ENTRY}".strip()
        out["required"] = ["id"]
        out.pop("minProperties", None)
        out["properties"] = {
            "id": {
                "description": id_text,
                **{k: v for k, v in out["properties"]["id"].items() if k != "description"},
            },
            **{k: v for k, v in out["properties"].items() if k != "id"},
            "remove": {"description": remove, "const": True},
        }
        return out

    def id_list(self, node: dict[str, Any], owner: str, remove: str) -> dict[str, Any]:
        """``materials`` / ``steps``: an array of entries, or another alternative kept whole."""
        if "items" in node:  # an array (or not_stated: "type": ["array", "string"] with if/then)
            out = {k: self.whole(v, owner) for k, v in node.items() if k != "items"}
            out["minItems"] = 1
            out["items"] = self.entry(node["items"], owner, remove)
            return out
        if "anyOf" in node:
            out = {k: self.whole(v, owner) for k, v in node.items() if k != "anyOf"}
            out["anyOf"] = [
                self.id_list(v, owner, remove) if "items" in v else self.whole(v, owner) for v in node["anyOf"]
            ]
            return out
        return self.whole(node, owner)

    def form(self, node: dict[str, Any]) -> dict[str, Any]:
        sections = node["properties"]["sections"]
        alternatives = []
        for alt in sections["items"]["anyOf"]:
            if "$ref" in alt:
                entry = self.entry(
                    alt,
                    ITEM,
                    "true：删除上级的这个分组 / true removes the parent's section.",
                    "分组标识（与上级相同则修改或替换该分组）/ Section id (the parent's id to change or replace "
                    "that section).",
                )
                entry["description"] = (
                    "内联分组，按 id 对应上级的分组：同 id 只写要改的键，新 id 写完整的分组 / "
                    "An inline section, matched to the parent's by id: an existing id names only the keys it "
                    "changes, a new id is written in full."
                )
                alternatives.append(entry)
            else:
                alternatives.append(self.whole(alt, ITEM))
        return {
            "description": node["description"]
            + " 覆盖时逐键合并；sections 按 id 合并：可复用分组按名称、内联分组按 id 对应上级的分组 / "
            "In an override, merged key by key; sections merge with the parent's by id: a reusable section "
            "by its name, an inline one by its id.",
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": {
                "sections": {
                    "description": "表单分组：写上级已有的 id 只改该分组（或 remove: true 删除）；"
                    "新 id 追加一个分组（内联分组写完整）/ Form sections: an id the parent has changes that "
                    "section (or remove: true deletes it); a new id adds one (an inline section written in full).",
                    "type": "array",
                    "minItems": 1,
                    "items": {"anyOf": alternatives},
                }
            },
        }

    def build(self) -> dict[str, Any]:
        item = self.read(ITEM)
        properties: dict[str, Any] = dict(copy.deepcopy(OWN))
        for key, node in item["properties"].items():
            if key in OWN:
                continue
            if key in ID_LISTS:
                out = self.id_list(node, ITEM, ID_LISTS[key])
                out["description"] = node.get("description", "") + (
                    " 覆盖时按 id 合并 / In an override, merged with the parent's list by id."
                )
            elif key == "form":
                out = self.form(node)
            else:
                out = self.partial(node, ITEM)
                if "properties" in node or out != self.whole(node, ITEM):  # a mapping merged with the parent's
                    out["description"] = out.get("description", "") + MERGED
            properties[key] = out
        schema = dict(HEAD)
        schema["properties"] = properties
        schema["definitions"] = dict(sorted(self.definitions.items()))
        return schema


def build(directory: Path = SCHEMA_DIR) -> dict[str, Any]:
    """The override schema generated from the item schema in ``directory``."""
    return _Builder(directory).build()


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write schema/override.schema.json; with --check, exit 1 if the file is not up to date."""
    args = sys.argv[1:] if argv is None else argv
    text = render(build())
    path = SCHEMA_DIR / TARGET
    if "--check" in args:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            sys.stderr.write(f"{path} is out of date with item.schema.json; run `make schemas`\n")
            return 1
        return 0
    path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
