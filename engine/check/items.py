"""One item across files: its departments, form sections, materials and producers, fee schedule and time
limits (each concern in its own module), dates and what it leaves unstated."""

from __future__ import annotations

from engine.base import stated
from engine.base.dates import as_date
from engine.catalogue.fields import item_fields
from engine.catalogue.model import Document
from engine.check.context import Cross
from engine.check.fee_check import fee_fields
from engine.check.forms import condition, form_section
from engine.check.time_limits import time_limits


def item(cross: Cross, doc: Document) -> None:
    data, cat = doc.data, cross.cat
    cross.department(doc, ("department",), data["department"])
    for i, dept in enumerate(data.get("joint_departments", [])):
        cross.department(doc, ("joint_departments", i), dept)
    if "home_visit" in data:  # the department that schedules its home visits (engine.service.bookings_visits)
        cross.department(doc, ("home_visit", "department"), data["home_visit"]["department"])
    fields = item_fields(doc, cat.forms)
    where = f"this item's form ({', '.join(sorted(fields)) or 'no fields'})" if len(fields) < 12 else "this item's form"
    section_ids: dict[str, int] = {}
    for i, entry in enumerate(data.get("form", {}).get("sections", [])):
        sid = entry if isinstance(entry, str) else entry["id"]
        if sid in section_ids:
            cross.add(
                doc.file,
                ("form", "sections", i),
                "duplicate-id",
                f"form section {sid!r} appears twice on this item",
            )
        section_ids.setdefault(sid, i)
        if isinstance(entry, str):
            cross.section_ref(doc.file, ("form", "sections", i), entry)
        else:
            form_section(cross, doc, entry, ("form", "sections", i), fields, where)
    # materials
    seen: dict[str, int] = {}
    for i, mat in enumerate(stated.materials(data)):
        cross.material_id(doc.file, i, mat["id"], seen)
        if isinstance(mat["required"], dict):
            condition(cross, doc.file, ("materials", i, "required"), mat["required"], fields, where, doc)
        producer = mat.get("produced_by")
        if producer is not None:
            cross.producer_ref(doc.file, ("materials", i, "produced_by"), producer, data["code"])
    # fee
    fee = data["fee"]
    if isinstance(fee, dict) and "schedule" in fee:
        schedule = cross.schedule_ref(doc.file, fee["schedule"])
        if schedule is not None:
            fee_fields(cross, doc, schedule, fields)
    # time limits
    time_limits(cross, doc, fields)
    cross.out.extend(stated.findings(doc.file, data))  # not-stated warnings, service objects
    eff = stated.section(data, "effective")
    if "until" in eff and eff["until"] < eff["from"]:
        cross.add(
            doc.file,
            ("effective", "until"),
            "dates",
            f"effective.until {eff['until']} is before effective.from {eff['from']}",
        )
    for key in ("from", "until"):
        if key in eff and as_date(eff[key]) is None:
            cross.add(doc.file, ("effective", key), "dates", f"{eff[key]} is not a real date")
