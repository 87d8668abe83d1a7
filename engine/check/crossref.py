"""Checks across files that a schema cannot express.

Runs on documents that passed their schema, so shapes can be trusted. Every
check yields ``Finding``s located by path; the loader turns them into
file:line:column. Messages say what is expected and what to do.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from engine.base import conditions, regions, stated
from engine.base.dates import as_date
from engine.base.durations import MINUTES_PER_WORKING_DAY, duration_minutes
from engine.base.result import Finding, Path
from engine.catalogue.cache import FileCache
from engine.catalogue.discover import CENTER_FILE
from engine.catalogue.fields import FieldInfo, item_fields
from engine.catalogue.merge import lookup
from engine.catalogue.model import Catalogue, Document
from engine.check import partial as partial_refs
from engine.check import quality
from engine.check.fee_check import check_fee_schedule
from engine.rules import chains, fees
from engine.rules.calendar import check_calendar

STANDARD_STEPS = ("accept", "undertake", "review", "decide", "complete")


def hint(word: str, choices: list[str]) -> str:
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f"; did you mean {match[0]!r}?" if match else ""


def _unit_word(d: Mapping[str, Any]) -> str:
    return {"working_day": "working days", "natural_day": "natural days", "minute": "minutes"}[d["unit"]]


def _text(d: Mapping[str, Any]) -> str:
    return f"{d['value']} {_unit_word(d)}"


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


def index(cross: Cross, has_center_file: bool, codes: Mapping[str, str]) -> None:
    cat = cross.cat
    for doc in cat.documents:
        if doc.kind == "center":
            cat.center = doc.data
        elif doc.kind == "item":
            code = codes[doc.file] if doc.file in codes else cat.data(doc)["code"]
            if code in cat.items:
                first = cat.items[code]
                cross.add(
                    doc.file,
                    ("code",),
                    "duplicate-code",
                    f"item code {code!r} is already used by {first.file}; every item needs its own code",
                )
            else:
                cat.items[code] = doc
        else:
            stem = PurePosixPath(doc.file).stem
            key = doc.data.get("id", doc.data.get("year"))
            if doc.kind in ("fee", "form", "chain") and key != stem:
                cross.add(
                    doc.file,
                    ("id",),
                    "id-mismatch",
                    f"id {key!r} must equal the file name {stem!r}; rename the file or change the id",
                )
            table = {"fee": cat.fees, "form": cat.forms, "chain": cat.chains, "calendar": cat.calendars}[doc.kind]
            table[key] = doc  # type: ignore[index]
    if not has_center_file:
        cross.add(
            CENTER_FILE,
            (),
            "missing-file",
            "the catalogue has no center.yaml; create it with the center's id, name, level, region and "
            "departments (see schema/center.schema.json)",
        )
    elif cat.center is not None:
        seen: dict[str, int] = {}
        for i, dept in enumerate(cat.center.get("departments", [])):
            if dept["id"] in seen:
                cross.add(
                    CENTER_FILE,
                    ("departments", i, "id"),
                    "duplicate-id",
                    f"department id {dept['id']!r} is listed twice; keep one",
                    related=((CENTER_FILE, ("departments", seen[dept["id"]], "id"), "first"),),
                )
            seen.setdefault(dept["id"], i)


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


def item(cross: Cross, doc: Document) -> None:
    data, cat = doc.data, cross.cat
    cross.department(doc, ("department",), data["department"])
    for i, dept in enumerate(data.get("joint_departments", [])):
        cross.department(doc, ("joint_departments", i), dept)
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


def fee_fields(cross: Cross, doc: Document, schedule: Document, fields: Mapping[str, FieldInfo]) -> None:
    # a lower layer's own fee schedule (child_rules.local_fee_schedules) replacing the one an
    # inherited item names must fit that item's form: its mismatch is reported in the schedule
    local = cross.cat.layer_of(schedule.file) < cross.cat.layer_of(
        lookup(cross.cat.origins.get(doc.file), doc.file, ("fee", "schedule"))[0]
    )
    code = doc.data["code"]
    missing = sorted({name for _, name in fees.referenced_fields(schedule.data)} - set(fields))
    if missing and local:
        cross.add(
            schedule.file,
            ("fields",),
            "unknown-field",
            f"this fee schedule reads {', '.join(missing)}, which the form of the inherited item {code} does "
            "not have; charge by the item's fields, or override the item's form too",
            on_key=True,
            related=((doc.file, ("fee", "schedule"), "item"),),
        )
    elif missing:
        cross.add(
            doc.file,
            ("fee", "schedule"),
            "unknown-field",
            f"fee schedule {schedule.data['id']!r} reads {', '.join(missing)}, which this item's form "
            f"does not have; add the field(s) to the form (see {schedule.file})",
        )
    for name, spec in schedule.data.get("fields", {}).items():
        info = fields.get(name)
        if info is None or "options" not in spec:
            continue
        offered = {str(o["value"]) for o in info.spec.get("options", [])}
        needed = [str(o["value"]) for o in spec["options"] if str(o["value"]) not in offered]
        if needed and local:
            cross.add(
                schedule.file,
                ("fields", name, "options"),
                "unknown-option",
                f"this fee schedule charges by {name} = {', '.join(needed)}, but the form of the inherited item "
                f"{code} does not offer {'that value' if len(needed) == 1 else 'those values'}; charge by the "
                "options the form offers, or override the item's form field too",
                on_key=True,
                related=((doc.file, ("fee", "schedule"), "item"),),
            )
        elif needed:
            cross.add(
                doc.file,
                ("fee", "schedule"),
                "unknown-option",
                f"fee schedule {schedule.data['id']!r} charges by {name} = {', '.join(needed)}, but the form's "
                f"field {name} does not offer {'that value' if len(needed) == 1 else 'those values'}; "
                "add the option(s) to the form field",
            )


def time_limits(cross: Cross, doc: Document, fields: Mapping[str, FieldInfo]) -> None:
    data = doc.data
    tl = data["time_limit"]
    legal, promised = tl["legal"], tl["promised"]
    lm, pm = duration_minutes(legal), duration_minutes(promised)
    if pm is not None and lm is not None and pm > lm:
        cross.add(
            doc.file,
            ("time_limit", "promised", "value"),
            "time-limit",
            f"promised limit {_text(promised)} is longer than the legal limit {_text(legal)}; "
            "the promised limit may never exceed the legal one",
            # in an overlay the two limits may be set in different layers: report both lines
            related=((doc.file, ("time_limit", "legal", "value"), "legal limit"),),
        )
    steps = data.get("steps", "standard")
    if steps == "standard":
        return
    ids: dict[str, int] = {}
    for i, step in enumerate(steps):
        if step["id"] in ids:
            cross.add(doc.file, ("steps", i, "id"), "duplicate-id", f"step id {step['id']!r} is used twice")
        ids.setdefault(step["id"], i)
    for i, step in enumerate(steps):
        other = step.get("parallel_with")
        if other is not None and (other not in ids or other == step["id"]):
            cross.add(
                doc.file,
                ("steps", i, "parallel_with"),
                "unknown-step",
                f"parallel_with names {other!r}, which is not another step of this item{hint(other, sorted(ids))}",
            )
    fee = data["fee"]
    if isinstance(fee, dict) and "assess_at" in fee and fee["assess_at"] not in ids:
        cross.add(
            doc.file,
            ("fee", "assess_at"),
            "unknown-step",
            f"assess_at names {fee['assess_at']!r}, which is not a step of this item"
            f"{hint(fee['assess_at'], sorted(ids))}",
        )
    immediate = promised["value"] == 0
    budget = MINUTES_PER_WORKING_DAY if immediate else pm
    promised_at: Path = ("time_limit", "promised", "value")
    promise = (promised_at, ("time_limit", "promised", "unit"))
    lower_promise = cross.written_lower(doc, promise, (("steps",),))
    immediate_misfit = immediate and any(step["limit"]["unit"] != "minute" for step in steps)
    if immediate_misfit and lower_promise is not None:
        # a lower layer made the item immediate over the parent's day-long steps: report it there
        cross.add(
            doc.file,
            lower_promise,
            "step-limits",
            "promised 0 makes this an immediate item, whose step limits are in minutes, but the parent's "
            "steps are not; override the step limits too, or promise working days",
            related=((doc.file, ("steps",), "steps"),),
        )
    elif immediate:
        for i, step in enumerate(steps):
            if step["limit"]["unit"] != "minute":
                cross.add(
                    doc.file,
                    ("steps", i, "limit", "unit"),
                    "step-limits",
                    "this is an immediate item (promised 0), so step limits are in minutes",
                )
    # serial total: steps joined by parallel_with form one group that counts once, at its longest
    parent = {step["id"]: step["id"] for step in steps}

    def find(x: str) -> str:
        while parent[x] != x:
            x = parent[x]
        return x

    for step in steps:
        other = step.get("parallel_with")
        if other in parent and find(other) != find(step["id"]):
            parent[find(step["id"])] = find(other)
    longest: dict[str, int] = {}
    for step in steps:
        g = find(step["id"])
        longest[g] = max(longest.get(g, 0), duration_minutes(step["limit"]) or 0)
    total = sum(longest.values())
    if budget is not None and total > budget and not (immediate_misfit and lower_promise is not None):
        steps_at: Path = ("steps",)
        message = (
            f"the steps add up to {_minutes_text(total)}, more than the promised limit "
            f"{'of one working day for an immediate item' if immediate else _text(promised)}; "
        )
        if lower_promise is not None:
            # a lower layer shortened the promise below the parent's steps: report it there
            cross.add(
                doc.file,
                lower_promise,
                "step-limits",
                message + "promise no less than the steps take, or override the step limits too",
                related=((doc.file, steps_at, "steps"),),
            )
        else:
            cross.add(
                doc.file,
                steps_at,
                "step-limits",
                message + "shorten the step limits",
                on_key=True,
                related=((doc.file, promised_at, "promised limit"),),
            )


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


def _minutes_text(minutes: int) -> str:
    days, rest = divmod(minutes, MINUTES_PER_WORKING_DAY)
    if rest == 0:
        return f"{days} working days"
    if days:  # in the promised limit's terms too (a working day counted as 8 hours)
        return f"{minutes} minutes ({days} working days and {rest} minutes)"
    return f"{minutes} minutes"


def check(
    cat: Catalogue,
    has_center_file: bool = True,
    cache: FileCache | None = None,
    codes: Mapping[str, str] | None = None,
    partial: Sequence[tuple[str, Mapping[str, Any]]] = (),
) -> list[Finding]:
    """Index the catalogue's documents (filling its tables) and return every cross-file problem,
    including those of the references ``partial`` kept from items that fail their schema (engine.catalogue.partial).

    An item's findings depend only on the item, the center, the form sections, the fee
    schedules and the set of item codes; with a cache they are reused while none of those
    changed, so editing one item re-checks that item alone.
    """
    cross = Cross(cat)
    index(cross, has_center_file, codes or {})
    for file, facts in partial:  # items that fail their schema: the references that can still be judged
        partial_refs.check(cross, file, facts)
    shared = hashlib.blake2b(digest_size=16)
    for doc in cat.documents:
        if doc.kind != "item":
            shared.update(f"{doc.file}\0{doc.key}\0".encode())
    shared.update("\0".join(sorted(cat.items)).encode())
    context = shared.hexdigest()
    for doc in cat.documents:
        if doc.kind == "item":
            dep = f"{doc.key}:{context}"
            cached = cache.xref(doc.file, dep) if cache is not None else None
            if cached is not None:
                cross.out.extend(
                    Finding(f, tuple(p), k, m, o, tuple((rf, tuple(rp), rl) for rf, rp, rl in r))
                    for f, p, k, m, o, r in cached
                )
                continue
            start = len(cross.out)
            if cat.data(doc) is not None:
                item(cross, doc)
                cross.out.extend(quality.item(doc.file, doc.data))  # warnings (engine.check.quality)
            if cache is not None:
                mine = [(f.file, f.path, f.kind, f.message, f.on_key, f.related) for f in cross.out[start:]]
                cache.put_xref(doc.file, dep, mine)
        elif doc.kind == "form":
            form_file(cross, doc)
        elif doc.kind == "chain":
            chain(cross, doc)
        elif doc.kind == "fee":
            cross.out.extend(check_fee_schedule(doc.file, doc.data))
            if "department" in doc.data:
                cross.department(doc, ("department",), doc.data["department"])
        elif doc.kind == "calendar":
            cross.out.extend(check_calendar(doc.file, doc.data))
    return withdrawn_producers(cat, cross.out)


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
