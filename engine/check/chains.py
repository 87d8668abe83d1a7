"""An approval chain across files: its stages and members, their leads, associated services, and the
chain rules (engine.rules.chains): each member once, materials produced before they are needed, a
critical path that fits the promise."""

from __future__ import annotations

from engine.catalogue.model import Document
from engine.check.context import Cross, hint, no_item
from engine.rules import chains


def chain(cross: Cross, doc: Document) -> None:
    stage_ids: set[str] = set()
    for i, stage in enumerate(doc.data["stages"]):
        if stage["id"] in stage_ids:
            cross.add(doc.file, ("stages", i, "id"), "duplicate-id", f"stage id {stage['id']!r} is used twice")
        stage_ids.add(stage["id"])
        for j, code in enumerate(stage["items"]):
            if (doc.file, code) in cross.cat.reported_members:
                continue  # an inherited chain's member withdrawn below it: engine.catalogue.overlay reported it
            broken = cross.cat.broken_items.get(code)
            if broken is not None and cross.cat.layer_of(doc.file) > cross.cat.layer_of(broken):
                continue  # a lower layer broke the item: reported in its file; the parent's chain is not at fault
            if code not in cross.cat.items:
                cross.add(
                    doc.file,
                    ("stages", i, "items", j),
                    "unknown-item",
                    no_item(cross.cat, code),
                )
        if stage["mode"] == "serial" and len(stage["items"]) != 1:
            cross.add(
                doc.file,
                ("stages", i, "items"),
                "chain-stage",
                "a serial stage has exactly one item; use mode: parallel for several",
            )
        if stage["mode"] == "joint_review" and "lead" not in stage:
            cross.add(
                doc.file,
                ("stages", i),
                "chain-stage",
                "a joint review needs a lead department (lead: …)",
                on_key=True,
            )
        if "lead" in stage:
            cross.department(doc, ("stages", i, "lead"), stage["lead"])
    chain_flow(cross, doc)
    for i, svc in enumerate(doc.data.get("associated_services", [])):
        if svc["item"] not in cross.cat.items:
            cross.add(
                doc.file,
                ("associated_services", i, "item"),
                "unknown-item",
                no_item(cross.cat, svc["item"]),
            )
        if svc["after"] not in stage_ids:
            cross.add(
                doc.file,
                ("associated_services", i, "after"),
                "unknown-step",
                f"no stage has the id {svc['after']!r}{hint(svc['after'], sorted(stage_ids))}",
            )


def chain_flow(cross: Cross, doc: Document) -> None:
    """Members in one place only, materials produced before they are needed, and a critical
    path of promised limits that fits the chain's promised total (engine.rules.chains)."""
    data = doc.data
    for i, j, code in chains.duplicate_members(data):
        message = f"item {code!r} is already a member of an earlier place in this chain; each item runs once"
        cross.add(doc.file, ("stages", i, "items", j), "chain-cycle", message)
    for i, j, message in chains.material_order_problems(cross.cat, data):
        cross.add(doc.file, ("stages", i, "items", j), "chain-material", message)
    path = chains.critical_path(cross.cat, data)
    at_overrides = chains.critical_path_at_overrides(cross.cat, doc, path)  # a lower layer lengthened a member
    cross.out.extend(at_overrides)
    if not path.fits and path.promised_minutes is not None and not at_overrides:
        cross.add(
            doc.file,
            ("promised",),
            "chain-critical-path",
            f"the critical path takes {chains.days_text(path.minutes)}, more than the promised "
            f"{chains.days_text(path.promised_minutes)}: {path.render()}; shorten a stage or promise more",
            on_key=True,
        )
