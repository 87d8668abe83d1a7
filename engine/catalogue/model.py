"""The catalogue model: ``Document`` (one file's data), ``Catalogue`` (every document of a checked
catalogue, by kind, with the layers it was folded from) and ``CheckResult`` (a catalogue and every
problem found in it).

engine.catalogue.reading reads a catalogue directory into them, and engine.check.pipeline.load checks
the references across its files; every layer above reads the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.base.result import Problem

__all__ = ["Catalogue", "CheckResult", "Document"]


@dataclass(slots=True)
class Document:
    file: str  # path relative to the catalogue root, with forward slashes
    kind: str
    data: Any  # None only while an unchanged item's data is left in the cache (``load(full=False)``)
    key: str = ""  # content hash of the file


@dataclass(slots=True)
class Catalogue:
    """An immutable view of a checked catalogue (only documents that passed their schema)."""

    root: Path
    version: str
    center: dict[str, Any] | None = None
    items: dict[str, Document] = field(default_factory=dict)
    fees: dict[str, Document] = field(default_factory=dict)
    forms: dict[str, Document] = field(default_factory=dict)
    chains: dict[str, Document] = field(default_factory=dict)
    calendars: dict[int, Document] = field(default_factory=dict)
    documents: list[Document] = field(default_factory=list)
    #: codes of items left out because their own file has errors -> that file
    broken_items: dict[str, str] = field(default_factory=dict)
    #: fetches a document's data when it was left in the cache (check-only runs)
    loader: Callable[[Document], Any] | None = None
    #: every catalogue directory this one was built from: itself first, then the catalogue it
    #: extends, and so on up to the top of the five-level stack (what live reload watches)
    sources: list[Path] = field(default_factory=list)
    #: the layers of a five-level stack, this catalogue first (engine.catalogue.overlay); one when it extends none
    layers: list[Any] = field(default_factory=list)
    #: merged documents' file -> where each of their values was written (engine.catalogue.merge.Origins)
    origins: dict[str, Any] = field(default_factory=dict)
    #: item code -> the override files applied to it, this catalogue's first
    patches: dict[str, list[str]] = field(default_factory=dict)
    #: parent items withdrawn by a lower layer: code -> (reason, the center.yaml that withdrew it)
    withdrawn: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: (chain file, item code) of inherited chains whose member a lower layer withdrew (already reported)
    reported_members: set[tuple[str, str]] = field(default_factory=set)
    #: the search's synonym groups (search/synonyms.yaml, engine.catalogue.synonyms), this catalogue's file first
    synonyms: list[list[str]] = field(default_factory=list)
    #: event -> template (notifications/templates.yaml, engine.catalogue.notifications): the nearest layer's file
    notifications: dict[str, Any] = field(default_factory=dict)
    #: the kinds of requests and complaints (appeals/kinds.yaml, engine.check.appeals): this catalogue's
    #: file, else the nearest parent's; None when no layer has one (the portal then offers none)
    appeals: Document | None = None

    def appeal_kinds(self) -> dict[str, dict[str, Any]]:
        """The kinds of requests and complaints by id, in the file's order (empty without the file)."""
        data = self.appeals.data if self.appeals is not None else None
        return {str(k["id"]): dict(k) for k in (data or {}).get("kinds", [])}

    def appeals_office(self) -> str | None:
        """The department id of the center's complaints office, if the catalogue has an appeals file."""
        data = self.appeals.data if self.appeals is not None else None
        return str(data["office"]) if data else None
    #: appointments.yaml of the nearest layer that has one (engine.rules.slots); None: nothing to book
    appointments: dict[str, Any] | None = None
    appointments_file: str | None = None

    def data(self, doc: Document) -> Any:
        if doc.data is None and self.loader is not None:
            doc.data = self.loader(doc)
        return doc.data

    def layer_of(self, file: str) -> int:
        """The index in ``layers`` of the layer a file (relative to this catalogue) belongs to; 0 is this one."""
        best, depth = 0, -1
        for i, layer in enumerate(self.layers):
            prefix = layer.prefix
            if (not prefix or file.startswith(prefix + "/")) and len(prefix) > depth:
                best, depth = i, len(prefix)
        return best

    def department(self, dept_id: str) -> dict[str, Any] | None:
        for dept in (self.center or {}).get("departments", []):
            if dept["id"] == dept_id:
                return dict(dept)
        return None


@dataclass(slots=True)
class CheckResult:
    catalogue: Catalogue
    problems: list[Problem]
    files_checked: int

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    @property
    def ok(self) -> bool:
        """No errors: the catalogue may be served (warnings are reported, they do not block)."""
        return not any(p.is_error for p in self.problems)

    def clean(self, strict: bool = False) -> bool:
        """``ok``, and with ``strict`` no warnings either (``yangguang check --strict``)."""
        return not self.problems if strict else self.ok
