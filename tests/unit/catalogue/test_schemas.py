"""The schemas are the administrator's documentation: every property explains itself in Chinese and English."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from engine.catalogue import schemas

SCHEMA_FILES = sorted(schemas.SCHEMA_DIR.glob("*.schema.json"))
CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]{2,}")


def properties(node: Any, where: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, sub in node.get("properties", {}).items():
            yield f"{where}.{key}", sub
        for key, sub in node.items():
            if key != "if":  # an if-clause only tests a value; it declares nothing
                yield from properties(sub, f"{where}/{key}")
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            yield from properties(sub, f"{where}[{i}]")


def _description(sub: dict[str, Any], document: dict[str, Any]) -> str:
    if "description" in sub:
        return str(sub["description"])
    ref = sub.get("$ref", "")
    if ref.startswith("#/definitions/"):
        return str(document["definitions"][ref.removeprefix("#/definitions/")].get("description", ""))
    return ""


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=[p.name for p in SCHEMA_FILES])
def test_schema_is_valid_draft_07(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["$schema"] == "http://json-schema.org/draft-07/schema#"
    Draft7Validator.check_schema(doc)


@pytest.mark.parametrize("kind", sorted(schemas.KINDS))
def test_every_property_is_described_in_chinese_and_english(kind: str) -> None:
    bundled = schemas.bundle(schemas.KINDS[kind])
    missing = [
        where
        for where, sub in properties(bundled, kind)
        if not (CJK.search(_description(sub, bundled)) and LATIN.search(_description(sub, bundled)))
    ]
    assert missing == []


def test_bundling_leaves_no_cross_file_refs() -> None:
    for kind in schemas.KINDS:
        text = json.dumps(schemas.bundle(schemas.KINDS[kind]))
        assert ".schema.json#" not in text


def test_unknown_key_suggests_the_closest() -> None:
    errs = schemas.compiled("center").errors(
        {"id": "x", "name": "示例", "level": "city", "region": "230200", "departmnts": []}
    )
    assert [(e.kind, e.message) for e in errs] == [
        ("unknown-key", "unknown key 'departmnts' in the file; did you mean 'departments'?")
    ]


def test_condition_errors_point_inside_the_condition() -> None:
    errs = schemas.compiled("form").errors(
        {
            "id": "s",
            "title": "t",
            "fields": [{"id": "a", "label": "A", "type": "text", "when": {"field": "s.b", "eqq": 1}}],
        }
    )
    assert [(e.path, e.kind) for e in errs] == [(("fields", 0, "when", "eqq"), "unknown-key")]
