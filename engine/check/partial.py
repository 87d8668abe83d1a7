"""Judge the references an item that fails its schema still makes (engine.catalogue.partial picked them
out while the file was read) against the catalogue, with the same wording as for a valid item: the
checker (engine.check.context.Cross) is passed in as ``cross``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.catalogue.model import Document
from engine.check.context import Cross


def check(cross: Cross, file: str, facts: Mapping[str, Any]) -> None:
    """Judge the references kept in ``facts`` (engine.catalogue.partial.references) of the item ``file``
    against the catalogue."""
    doc = Document(file, "item", None)
    code = facts.get("code")
    seen: dict[str, int] = {}
    for what, raw_path, value in facts.get("refs", ()):
        path = tuple(raw_path)
        if what == "department":
            cross.department(doc, path, value)
        elif what == "form-section":
            cross.section_ref(file, path, value)
        elif what == "fee-schedule":
            cross.schedule_ref(file, value)
        elif what == "material-id":
            cross.material_id(file, int(path[1]), value, seen)
        elif what == "produced-by":
            cross.producer_ref(file, path, value, code if isinstance(code, str) else None)
