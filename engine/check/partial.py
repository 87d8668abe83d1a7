"""Judge the references an item that fails its schema still makes (engine.catalogue.partial picked them
out while the file was read) against the catalogue, with the same wording as for a valid item: the
checker (engine.check.crossref) passes itself in as ``cross``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from engine.base.result import Path
from engine.catalogue.model import Document


class Checker(Protocol):
    """What of engine.check.crossref's checker the references need (its messages, its catalogue)."""

    def department(self, doc: Any, path: Path, dept: str) -> None: ...
    def section_ref(self, file: str, path: Path, sid: str) -> None: ...
    def schedule_ref(self, file: str, sid: str) -> Any: ...
    def material_id(self, file: str, i: int, mid: str, seen: dict[str, int]) -> None: ...
    def producer_ref(self, file: str, path: Path, producer: str, code: str | None) -> None: ...


def check(cross: Checker, file: str, facts: Mapping[str, Any]) -> None:
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
