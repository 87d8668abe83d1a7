"""Items a lower layer withdrew that the parent's items still name as producers: reported once, at the
withdrawal."""

from __future__ import annotations

from engine.base.result import Finding
from engine.catalogue.merge import lookup
from engine.catalogue.model import Catalogue


def withdrawn_producers(cat: Catalogue, findings: list[Finding]) -> list[Finding]:
    """A lower layer withdrew an item whose result the parent's items name (``produced_by``): one
    problem at the withdrawal, naming those items, instead of one in each parent file."""
    if len(cat.layers) < 2 or not cat.withdrawn:
        return findings
    by_file = {doc.file: doc for doc in cat.items.values()}
    groups: dict[str, list[Finding]] = {}
    kept: list[Finding] = []
    for f in findings:
        doc = by_file.get(f.file)
        if f.kind == "unknown-item" and f.path[-1:] == ("produced_by",) and doc is not None:
            producer = (cat.data(doc) or {})["materials"][f.path[1]].get("produced_by")
            if producer in cat.withdrawn:
                written = lookup(cat.origins.get(f.file), f.file, f.path)[0]
                if cat.layer_of(written) > cat.layer_of(cat.withdrawn[producer][1]):
                    groups.setdefault(producer, []).append(f)
                    continue
        kept.append(f)
    for producer, found in groups.items():
        where = cat.withdrawn[producer][1]
        entries = (cat.layers[cat.layer_of(where)].center or {}).get("withdraw", [])
        index = next((i for i, e in enumerate(entries) if e.get("code") == producer), None)
        users = sorted({cat.data(by_file[f.file])["code"] for f in found})
        kept.append(
            Finding(
                where,
                ("withdraw", index, "code") if index is not None else ("withdraw",),
                "unknown-item",
                f"{producer!r} issues a material that inherited items need (produced_by): {', '.join(users)}; "
                "keep the item, or withdraw those items too",
                related=tuple((f.file, f.path, "produced_by") for f in found[:3]),
            )
        )
    return kept
