"""Valid sample applications for any item, built from its form alone.

Used by ``yangguang simulate`` and the tests: no item gets code of its own, so the
sample comes from field types, options, bounds and conditions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.catalogue.fields import item_fields
from engine.catalogue.model import Catalogue, Document
from engine.rules import chains
from engine.rules.forms import required_materials, validate

_BY_TYPE: dict[str, Any] = {
    "text": "测试",
    "textarea": "测试说明",
    "id_card": "11010519491231002X",
    "uscc": "91350100M000100Y43",
    "phone": "13800138000",
    "email": "test@example.com",
    "area": "230202",
    "address": "齐齐哈尔市龙沙区测试路1号",
    "date": "2026-01-05",
    "boolean": False,
}


def _value(spec: Mapping[str, Any]) -> Any:
    kind = spec["type"]
    if "options" in spec:
        first = spec["options"][0]["value"]
        return [first] if kind == "checkbox" else first
    if kind in ("number", "integer", "money"):
        low = spec.get("min", 1)
        high = spec.get("max")
        value = max(int(float(low)), 1)
        if high is not None:
            value = min(value, int(float(high)))
        return value if kind != "money" else f"{value}.00"
    return _BY_TYPE.get(kind, "测试")


def sample_chain_application(
    cat: Catalogue, chain: Mapping[str, Any], leave_out: tuple[str, ...] = ()
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(data, uploads by material name) for a chain's one application: every member's and
    associated service's sample answers, each field once (the first member's wins), one upload
    per material name; sections in ``leave_out`` are not answered."""
    data: dict[str, dict[str, Any]] = {}
    for stage in chains.with_services(chain):
        for code in stage["items"]:
            sample, _ = sample_application(cat, cat.items[code], {})
            for section, fields in sample.items():
                if section not in leave_out:
                    known = data.setdefault(section, {})
                    known.update({k: v for k, v in fields.items() if k not in known})
    # one delivery choice for the whole application: a method every member offers
    application = Document("chain", "item", chains.application_item(cat, chain))
    for name, info in item_fields(application, cat.forms).items():
        section, field = name.split(".", 1)
        if info.spec.get("delivery") and section in data:
            data[section][field] = info.spec["options"][0]["value"]
    form = chains.merged_form(cat, chain)
    return data, {m.name: [f"upload-{i}"] for i, m in enumerate(form.materials)}


def sample_application(
    cat: Catalogue, item: Document, choices: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(data, uploads) that pass ``forms.validate``; ``choices`` ({"section.field": value}) override."""
    fields = item_fields(item, cat.forms)
    data: dict[str, dict[str, Any]] = {}
    for name, info in fields.items():
        section, field = name.split(".", 1)
        data.setdefault(section, {})[field] = _value(info.spec)
    for name, value in (choices or {}).items():
        section, field = name.split(".", 1)
        data.setdefault(section, {})[field] = value
    normalised, _ = validate(cat, item, data, None)
    uploads = {
        m["id"]: [f"sample-{m['id']}"]
        for m in required_materials(cat, item, normalised)
        if m["required"] and not m["shared"] and not m["produced_by"]
    }
    return normalised, uploads
