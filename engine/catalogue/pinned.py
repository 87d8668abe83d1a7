"""A case filed under rules pinned earlier: a catalogue snapshot seen as a one-item catalogue.

A chain application is made under the catalogue of its day, but its later stages' cases are
filed when those stages open — perhaps after a live reload changed or withdrew a member item.
The chain pins every member's snapshot (engine.service.cases: item, form sections, fee schedule) when
applied for; this view lets the form validation and the case service read such a snapshot
exactly as they read the live catalogue.
"""

from __future__ import annotations

from typing import Any

from engine.catalogue.model import Catalogue, Document


def pinned_view(live: Catalogue, key: str, snap: dict[str, Any]) -> tuple[Catalogue, Document]:
    """The snapshot ``snap`` (stored under ``key``) as a catalogue of one item, with the live
    catalogue's center and calendars (the center's days and windows are today's); and that item."""
    where = f"<snapshot {key}>"
    item = Document(where, "item", snap["item"], key)
    forms = {sid: Document(where, "form", data) for sid, data in snap["forms"].items()}
    fees = {}
    if snap.get("fee_schedule") is not None:
        fees[snap["fee_schedule"]["id"]] = Document(where, "fee", snap["fee_schedule"])
    view = Catalogue(
        live.root,
        str(snap.get("catalogue_version", live.version)),
        center=live.center,
        items={snap["item"]["code"]: item},
        fees=fees,
        forms=forms,
        calendars=live.calendars,
    )
    return view, item
