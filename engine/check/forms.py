"""Form sections and the conditions on fields, materials and sections: every field a condition names
is on the form, every option it compares with is offered, and a lower layer that drops what an
inherited condition needs is told so where it dropped it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.base import conditions, regions
from engine.base.result import Path
from engine.catalogue.fields import FieldInfo
from engine.catalogue.merge import lookup
from engine.catalogue.model import Document
from engine.check.context import Cross, hint


def section_lower(cross: Cross, item: Document | None, cond_path: Path, name: str) -> tuple[str, Path, bool] | None:
    """Where the form section of the field ``name`` was written — or dropped (the flag) — when a
    layer below the one that wrote the item's condition at ``cond_path`` did it (a local form
    section, an override's inline section or section list): that layer broke what the parent's
    condition needs, and is told so."""
    if item is None or len(cross.cat.layers) < 2:
        return None
    section_id = name.split(".", 1)[0]
    origins = cross.cat.origins.get(item.file)
    places: list[tuple[str, Path]] = []
    entries = item.data.get("form", {}).get("sections", [])
    for i, entry in enumerate(entries):
        if entry == section_id:
            places.append(lookup(origins, item.file, ("form", "sections", i)))
            if section_id in cross.cat.forms:
                places.append((cross.cat.forms[section_id].file, ("fields",)))
        elif isinstance(entry, dict) and entry.get("id") == section_id:
            places.append(lookup(origins, item.file, ("form", "sections", i, "fields")))
    dropped = not places
    if dropped:
        places.append(lookup(origins, item.file, ("form", "sections")))
    found = min(places, key=lambda place: cross.cat.layer_of(place[0]))
    written = lookup(origins, item.file, cond_path)[0]
    if cross.cat.layer_of(found[0]) < cross.cat.layer_of(written):
        return found[0], found[1], dropped
    return None


def condition(
    cross: Cross,
    file: str,
    path: Path,
    cond: Mapping[str, Any],
    fields: Mapping[str, FieldInfo],
    where: str,
    item: Document | None = None,
) -> None:
    names = sorted(fields)
    for sub_path, name in conditions.referenced_fields(cond, path):
        lower = section_lower(cross, item, sub_path, name) if name not in fields else None
        if lower is not None and item is not None:
            section = name.split(".", 1)[0]
            what = (
                f"this drops the form section {section!r}, whose field {name!r}"
                if lower[2]
                else f"the form section {section!r} here has no field {name!r}, which"
            )
            cross.add(
                lower[0],
                lower[1],
                "unknown-field",
                f"{what} a condition of the inherited item {item.data['code']} names; keep it (a lower "
                "catalogue may add fields, not drop those the parent's items use), or override that "
                "condition too",
                on_key=True,
                related=((file, sub_path, "condition"),),
            )
        elif name not in fields:
            cross.add(
                file,
                sub_path,
                "unknown-field",
                f"condition names the field {name!r}, which is not on {where}{hint(name, names)}",
            )
    for sub_path, leaf in conditions.leaves(cond, path):
        info = fields.get(leaf["field"])
        if info is None or "options" not in info.spec:
            continue
        values = [str(o["value"]) for o in info.spec["options"]]
        for op in ("eq", "ne", "in"):
            if op not in leaf:
                continue
            wanted = leaf[op] if op == "in" else [leaf[op]]
            for k, v in enumerate(wanted):
                if str(v) not in values:
                    at = (*sub_path, op, k) if op == "in" else (*sub_path, op)
                    lower = section_lower(cross, item, at, leaf["field"])
                    if lower is not None and item is not None:
                        cross.add(
                            lower[0],
                            lower[1],
                            "unknown-option",
                            f"the field {leaf['field']} of the form section here has no option {v!r}, which a "
                            f"condition of the inherited item {item.data['code']} names; keep the option, or "
                            "override that condition too",
                            on_key=True,
                            related=((file, at, "condition"),),
                        )
                        continue
                    cross.add(
                        file,
                        at,
                        "unknown-option",
                        f"{v!r} is not an option of {leaf['field']} (options: {', '.join(values)})"
                        f"{hint(str(v), values)}",
                    )


def form_section(
    cross: Cross, doc: Document, section: Mapping[str, Any], base: Path, fields: Mapping[str, FieldInfo], where: str
) -> None:
    seen: set[str] = set()
    for j, spec in enumerate(section["fields"]):
        if spec["id"] in seen:
            cross.add(
                doc.file,
                (*base, "fields", j, "id"),
                "duplicate-id",
                f"field id {spec['id']!r} appears twice in section {section['id']!r}",
            )
        seen.add(spec["id"])
        for key in ("when", "required"):
            if isinstance(spec.get(key), dict):
                condition(cross, doc.file, (*base, "fields", j, key), spec[key], fields, where)
        if "min" in spec and "max" in spec and float(spec["min"]) > float(spec["max"]):
            cross.add(doc.file, (*base, "fields", j, "min"), "range", "min is larger than max")
        if spec.get("type") == "area" and isinstance(spec.get("within"), str):
            region_scope(cross, doc.file, (*base, "fields", j, "within"), spec["id"], spec["within"])
    if isinstance(section.get("when"), dict):
        condition(cross, doc.file, (*base, "when"), section["when"], fields, where)


def region_scope(cross: Cross, file: str, path: Path, field: str, within: str) -> None:
    """An area field's ``within`` must be a province or city of the shipped list, or no county
    could ever be chosen (the schema checks only its shape)."""
    if regions.regions().level(within) not in ("province", "city"):
        cross.add(
            file,
            path,
            "unknown-region",
            f"field {field!r}: within {within!r} is not a province or city code in engine/web/static/regions.tsv, "
            "so the field could never be filled; write the code of the province (230000) or city (230200) "
            "whose counties may be chosen, or remove within to allow any county",
        )


def form_file(cross: Cross, doc: Document) -> None:
    own = {
        f"{doc.data['id']}.{f['id']}": FieldInfo(f"{doc.data['id']}.{f['id']}", f, doc.file, ())
        for f in doc.data["fields"]
    }
    # A reusable section's conditions may only name its own fields: other sections vary by item.
    form_section(
        cross,
        doc,
        doc.data,
        (),
        own,
        f"section {doc.data['id']!r} (a reusable section may only refer to its own fields)",
    )
