"""The checker while it runs (``Cross``): the catalogue, the findings so far, the layer helpers, the
checks of one reference that valid items and items failing their schema share, and the words for a
missing item. Every concern's checks (engine.check.items, forms, time_limits, chains, fee_check) take it."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from engine.base.result import Finding, Path
from engine.catalogue.merge import lookup
from engine.catalogue.model import Catalogue, Document


def hint(word: str, choices: list[str]) -> str:
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f"; did you mean {match[0]!r}?" if match else ""


class Cross:
    """The checker while it runs: the catalogue, the findings so far, and the checks of one reference that
    valid items and items failing their schema (engine.check.partial) share. Each kind of document is
    checked by a function that takes it as ``cross``."""

    def __init__(self, cat: Catalogue) -> None:
        self.cat = cat
        self.out: list[Finding] = []

    def add(
        self,
        file: str,
        path: Path,
        kind: str,
        message: str,
        on_key: bool = False,
        related: tuple[tuple[str, Path, str], ...] = (),
    ) -> None:
        self.out.append(Finding(file, path, kind, message, on_key, related))

    def layer_rank(self, doc: Document, path: Path) -> int:
        """The layer (engine.catalogue.model.Catalogue.layer_of: 0 is this catalogue) that wrote ``path`` of an item."""
        return self.cat.layer_of(lookup(self.cat.origins.get(doc.file), doc.file, path)[0])

    def written_lower(self, doc: Document, a: Sequence[Path], b: Sequence[Path]) -> Path | None:
        """The path of ``a`` written by the lowest layer, when that layer is lower than every layer that
        wrote ``b``: that layer made the change that broke a rule, and is where it is reported."""
        first = min(a, key=lambda path: self.layer_rank(doc, path))
        if self.layer_rank(doc, first) < min(self.layer_rank(doc, path) for path in b):
            return first
        return None

    def department(self, doc: Document, path: Path, dept: str) -> None:
        if self.cat.center is None:
            return
        ids = [d["id"] for d in self.cat.center.get("departments", [])]
        if dept not in ids:
            self.add(
                doc.file,
                path,
                "unknown-department",
                f"department {dept!r} is not in center.yaml{hint(dept, ids)} "
                "(add it to center.yaml's departments or fix the id)",
            )

    # -- references one item makes (also checked in an item that fails its schema: engine.catalogue.partial) ---
    def section_ref(self, file: str, path: Path, sid: str) -> None:
        if sid not in self.cat.forms:
            self.add(
                file,
                path,
                "unknown-form-section",
                f"there is no form section forms/{sid}.yaml{hint(sid, sorted(self.cat.forms))}",
            )

    def schedule_ref(self, file: str, sid: str) -> Document | None:
        schedule = self.cat.fees.get(sid)
        if schedule is None:
            self.add(
                file,
                ("fee", "schedule"),
                "unknown-fee-schedule",
                f"there is no fee schedule fees/{sid}.yaml{hint(sid, sorted(self.cat.fees))}"
                + ("; an item that charges nothing is written `fee: free`" if sid == "free" else ""),
            )
        return schedule

    def material_id(self, file: str, i: int, mid: str, seen: dict[str, int]) -> None:
        if mid in seen:
            self.add(
                file,
                ("materials", i, "id"),
                "duplicate-material",
                f"material id {mid!r} is already used by material {seen[mid] + 1} of this item; "
                "material ids must be unique within an item",
            )
        seen.setdefault(mid, i)

    def producer_ref(self, file: str, path: Path, producer: str, code: str | None) -> None:
        if producer == code:
            self.add(
                file, path, "unknown-item", "an item cannot produce its own material; name the item that issues it"
            )
        elif producer not in self.cat.items:
            self.add(file, path, "unknown-item", no_item(self.cat, producer))


def no_item(cat: Catalogue, code: str) -> str:
    if code in cat.withdrawn:
        reason, where = cat.withdrawn[code]
        return f"item {code!r} is withdrawn by {where} ({reason}); a catalogue that withdraws it must not name it"
    if code in cat.broken_items:
        return (
            f"item {code!r} ({cat.broken_items[code]}) has errors of its own and is left out of the "
            "catalogue until they are fixed"
        )
    return f"no item has the code {code!r}{hint(code, sorted(cat.items))}"
