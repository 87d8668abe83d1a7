"""The fields of an item's form, gathered from its inline sections and the reusable sections it names.

The checker judges conditions and fee schedules against them (engine.check), and the rules build
forms, notices and chain forms from them (engine.rules): a view of the catalogue model both use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.base import delivery
from engine.base.result import Path
from engine.catalogue.model import Document


@dataclass(slots=True)
class FieldInfo:
    name: str  # section.field
    spec: dict[str, Any]
    file: str
    path: Path


def item_fields(item: Document, forms: Mapping[str, Document]) -> dict[str, FieldInfo]:
    """Every field on an item's form, by ``section.field`` name (unknown sections are skipped)."""
    fields: dict[str, FieldInfo] = {}
    for i, entry in enumerate(item.data.get("form", {}).get("sections", [])):
        base: Path
        if isinstance(entry, str):
            form = forms.get(entry)
            if form is None:
                continue
            section, file, base = form.data, form.file, ()
        else:
            section, file, base = entry, item.file, ("form", "sections", i)
        for j, spec in enumerate(section["fields"]):
            name = f"{section['id']}.{spec['id']}"
            if spec.get("type") == "delivery":  # the item's own result.delivery methods (Art. 44)
                spec = delivery.field_for(spec, item.data)
                if spec is None:
                    continue  # the item states no delivery method: nothing to choose
            fields.setdefault(name, FieldInfo(name, spec, file, (*base, "fields", j)))
    return fields
