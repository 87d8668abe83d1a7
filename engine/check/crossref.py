"""Checks across files that a schema cannot express.

Runs on documents that passed their schema, so shapes can be trusted. Every
check yields ``Finding``s located by path; the loader turns them into
file:line:column. Messages say what is expected and what to do.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from engine.base import conditions, delivery, regions, stated
from engine.base.dates import as_date
from engine.base.result import Finding, Path
from engine.catalogue.cache import FileCache
from engine.catalogue.merge import lookup
from engine.catalogue.model import CENTER_FILE, Catalogue, Document
from engine.check import partial as partial_refs
from engine.check import quality

MINUTES_PER_WORKING_DAY = 480  # 8 hours; how minutes compare with days
STANDARD_STEPS = ("accept", "undertake", "review", "decide", "complete")


def _hint(word: str, choices: list[str]) -> str:
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f"; did you mean {match[0]!r}?" if match else ""


@dataclass(slots=True)
class FieldInfo:
    name: str  # section.field
    spec: dict[str, Any]
    file: str
    path: Path


def item_fields(item: Document, forms: Mapping[str, Document]) -> dict[str, FieldInfo]:
    """Every field on an item's form, by ``section.field`` name (unknown sections are skipped)."""
    fields: dict[str, FieldInfo] = {}
    for i, entry in enumerate(item.data.get("form", {}).get("sections", [])):
        base: Path
        if isinstance(entry, str):
            form = forms.get(entry)
            if form is None:
                continue
            section, file, base = form.data, form.file, ()
        else:
            section, file, base = entry, item.file, ("form", "sections", i)
        for j, spec in enumerate(section["fields"]):
            name = f"{section['id']}.{spec['id']}"
            if spec.get("type") == "delivery":  # the item's own result.delivery methods (Art. 44)
                spec = delivery.field_for(spec, item.data)
                if spec is None:
                    continue  # the item states no delivery method: nothing to choose
            fields.setdefault(name, FieldInfo(name, spec, file, (*base, "fields", j)))
    return fields


def duration_minutes(d: Mapping[str, Any]) -> int | None:
    """A duration in minutes for comparison; natural days count 5/7 of a working day. None if not comparable."""
    value, unit = int(d["value"]), d["unit"]
    if unit == "minute":
        return value
    if unit == "working_day":
        return value * MINUTES_PER_WORKING_DAY
    return value * MINUTES_PER_WORKING_DAY * 5 // 7


def _unit_word(d: Mapping[str, Any]) -> str:
    return {"working_day": "working days", "natural_day": "natural days", "minute": "minutes"}[d["unit"]]


def _text(d: Mapping[str, Any]) -> str:
    return f"{d['value']} {_unit_word(d)}"


class _Cross:
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

    # -- per kind --------------------------------------------------------------------------
    def index(self, has_center_file: bool, codes: Mapping[str, str]) -> None:
        cat = self.cat
        for doc in cat.documents:
            if doc.kind == "center":
                cat.center = doc.data
            elif doc.kind == "item":
                code = codes[doc.file] if doc.file in codes else cat.data(doc)["code"]
                if code in cat.items:
                    first = cat.items[code]
                    self.add(
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
                    self.add(
                        doc.file,
                        ("id",),
                        "id-mismatch",
                        f"id {key!r} must equal the file name {stem!r}; rename the file or change the id",
                    )
                table = {"fee": cat.fees, "form": cat.forms, "chain": cat.chains, "calendar": cat.calendars}[doc.kind]
                table[key] = doc  # type: ignore[index]
        if not has_center_file:
            self.add(
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
                    self.add(
                        CENTER_FILE,
                        ("departments", i, "id"),
                        "duplicate-id",
                        f"department id {dept['id']!r} is listed twice; keep one",
                        related=((CENTER_FILE, ("departments", seen[dept["id"]], "id"), "first"),),
                    )
                seen.setdefault(dept["id"], i)

    def department(self, doc: Document, path: Path, dept: str) -> None:
        if self.cat.center is None:
            return
        ids = [d["id"] for d in self.cat.center.get("departments", [])]
        if dept not in ids:
            self.add(
                doc.file,
                path,
                "unknown-department",
                f"department {dept!r} is not in center.yaml{_hint(dept, ids)} "
                "(add it to center.yaml's departments or fix the id)",
            )

    def section_lower(self, item: Document | None, cond_path: Path, name: str) -> tuple[str, Path, bool] | None:
        """Where the form section of the field ``name`` was written — or dropped (the flag) — when a
        layer below the one that wrote the item's condition at ``cond_path`` did it (a local form
        section, an override's inline section or section list): that layer broke what the parent's
        condition needs, and is told so."""
        if item is None or len(self.cat.layers) < 2:
            return None
        section_id = name.split(".", 1)[0]
        origins = self.cat.origins.get(item.file)
        places: list[tuple[str, Path]] = []
        entries = item.data.get("form", {}).get("sections", [])
        for i, entry in enumerate(entries):
            if entry == section_id:
                places.append(lookup(origins, item.file, ("form", "sections", i)))
                if section_id in self.cat.forms:
                    places.append((self.cat.forms[section_id].file, ("fields",)))
            elif isinstance(entry, dict) and entry.get("id") == section_id:
                places.append(lookup(origins, item.file, ("form", "sections", i, "fields")))
        dropped = not places
        if dropped:
            places.append(lookup(origins, item.file, ("form", "sections")))
        found = min(places, key=lambda place: self.cat.layer_of(place[0]))
        written = lookup(origins, item.file, cond_path)[0]
        if self.cat.layer_of(found[0]) < self.cat.layer_of(written):
            return found[0], found[1], dropped
        return None

    def condition(
        self,
        file: str,
        path: Path,
        cond: Mapping[str, Any],
        fields: Mapping[str, FieldInfo],
        where: str,
        item: Document | None = None,
    ) -> None:
        names = sorted(fields)
        for sub_path, name in conditions.referenced_fields(cond, path):
            lower = self.section_lower(item, sub_path, name) if name not in fields else None
            if lower is not None and item is not None:
                section = name.split(".", 1)[0]
                what = (
                    f"this drops the form section {section!r}, whose field {name!r}"
                    if lower[2]
                    else f"the form section {section!r} here has no field {name!r}, which"
                )
                self.add(
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
                self.add(
                    file,
                    sub_path,
                    "unknown-field",
                    f"condition names the field {name!r}, which is not on {where}{_hint(name, names)}",
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
                        lower = self.section_lower(item, at, leaf["field"])
                        if lower is not None and item is not None:
                            self.add(
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
                        self.add(
                            file,
                            at,
                            "unknown-option",
                            f"{v!r} is not an option of {leaf['field']} (options: {', '.join(values)})"
                            f"{_hint(str(v), values)}",
                        )

    def form_section(
        self, doc: Document, section: Mapping[str, Any], base: Path, fields: Mapping[str, FieldInfo], where: str
    ) -> None:
        seen: set[str] = set()
        for j, spec in enumerate(section["fields"]):
            if spec["id"] in seen:
                self.add(
                    doc.file,
                    (*base, "fields", j, "id"),
                    "duplicate-id",
                    f"field id {spec['id']!r} appears twice in section {section['id']!r}",
                )
            seen.add(spec["id"])
            for key in ("when", "required"):
                if isinstance(spec.get(key), dict):
                    self.condition(doc.file, (*base, "fields", j, key), spec[key], fields, where)
            if "min" in spec and "max" in spec and float(spec["min"]) > float(spec["max"]):
                self.add(doc.file, (*base, "fields", j, "min"), "range", "min is larger than max")
            if spec.get("type") == "area" and isinstance(spec.get("within"), str):
                self.region_scope(doc.file, (*base, "fields", j, "within"), spec["id"], spec["within"])
        if isinstance(section.get("when"), dict):
            self.condition(doc.file, (*base, "when"), section["when"], fields, where)

    def region_scope(self, file: str, path: Path, field: str, within: str) -> None:
        """An area field's ``within`` must be a province or city of the shipped list, or no county
        could ever be chosen (the schema checks only its shape)."""
        if regions.regions().level(within) not in ("province", "city"):
            self.add(
                file,
                path,
                "unknown-region",
                f"field {field!r}: within {within!r} is not a province or city code in engine/web/static/regions.tsv, "
                "so the field could never be filled; write the code of the province (230000) or city (230200) "
                "whose counties may be chosen, or remove within to allow any county",
            )

    def form_file(self, doc: Document) -> None:
        own = {
            f"{doc.data['id']}.{f['id']}": FieldInfo(f"{doc.data['id']}.{f['id']}", f, doc.file, ())
            for f in doc.data["fields"]
        }
        # A reusable section's conditions may only name its own fields: other sections vary by item.
        self.form_section(
            doc, doc.data, (), own, f"section {doc.data['id']!r} (a reusable section may only refer to its own fields)"
        )

    # -- references one item makes (also checked in an item that fails its schema: engine.check.partial) ---
    def section_ref(self, file: str, path: Path, sid: str) -> None:
        if sid not in self.cat.forms:
            self.add(
                file,
                path,
                "unknown-form-section",
                f"there is no form section forms/{sid}.yaml{_hint(sid, sorted(self.cat.forms))}",
            )

    def schedule_ref(self, file: str, sid: str) -> Document | None:
        schedule = self.cat.fees.get(sid)
        if schedule is None:
            self.add(
                file,
                ("fee", "schedule"),
                "unknown-fee-schedule",
                f"there is no fee schedule fees/{sid}.yaml{_hint(sid, sorted(self.cat.fees))}"
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
            self.add(file, path, "unknown-item", _no_item(self.cat, producer))

    def item(self, doc: Document) -> None:
        data, cat = doc.data, self.cat
        self.department(doc, ("department",), data["department"])
        for i, dept in enumerate(data.get("joint_departments", [])):
            self.department(doc, ("joint_departments", i), dept)
        fields = item_fields(doc, cat.forms)
        where = (
            f"this item's form ({', '.join(sorted(fields)) or 'no fields'})" if len(fields) < 12 else "this item's form"
        )
        section_ids: dict[str, int] = {}
        for i, entry in enumerate(data.get("form", {}).get("sections", [])):
            sid = entry if isinstance(entry, str) else entry["id"]
            if sid in section_ids:
                self.add(
                    doc.file,
                    ("form", "sections", i),
                    "duplicate-id",
                    f"form section {sid!r} appears twice on this item",
                )
            section_ids.setdefault(sid, i)
            if isinstance(entry, str):
                self.section_ref(doc.file, ("form", "sections", i), entry)
            else:
                self.form_section(doc, entry, ("form", "sections", i), fields, where)
        # materials
        seen: dict[str, int] = {}
        for i, mat in enumerate(stated.materials(data)):
            self.material_id(doc.file, i, mat["id"], seen)
            if isinstance(mat["required"], dict):
                self.condition(doc.file, ("materials", i, "required"), mat["required"], fields, where, doc)
            producer = mat.get("produced_by")
            if producer is not None:
                self.producer_ref(doc.file, ("materials", i, "produced_by"), producer, data["code"])
        # fee
        fee = data["fee"]
        if isinstance(fee, dict) and "schedule" in fee:
            schedule = self.schedule_ref(doc.file, fee["schedule"])
            if schedule is not None:
                self.fee_fields(doc, schedule, fields)
        # time limits
        self.time_limits(doc, fields)
        self.out.extend(stated.findings(doc.file, data))  # not-stated warnings, service objects
        eff = stated.section(data, "effective")
        if "until" in eff and eff["until"] < eff["from"]:
            self.add(
                doc.file,
                ("effective", "until"),
                "dates",
                f"effective.until {eff['until']} is before effective.from {eff['from']}",
            )
        for key in ("from", "until"):
            if key in eff and as_date(eff[key]) is None:
                self.add(doc.file, ("effective", key), "dates", f"{eff[key]} is not a real date")

    def fee_fields(self, doc: Document, schedule: Document, fields: Mapping[str, FieldInfo]) -> None:
        from engine.rules.fees.schedule import referenced_fields

        # a lower layer's own fee schedule (child_rules.local_fee_schedules) replacing the one an
        # inherited item names must fit that item's form: its mismatch is reported in the schedule
        local = self.cat.layer_of(schedule.file) < self.cat.layer_of(
            lookup(self.cat.origins.get(doc.file), doc.file, ("fee", "schedule"))[0]
        )
        code = doc.data["code"]
        missing = sorted({name for _, name in referenced_fields(schedule.data)} - set(fields))
        if missing and local:
            self.add(
                schedule.file,
                ("fields",),
                "unknown-field",
                f"this fee schedule reads {', '.join(missing)}, which the form of the inherited item {code} does "
                "not have; charge by the item's fields, or override the item's form too",
                on_key=True,
                related=((doc.file, ("fee", "schedule"), "item"),),
            )
        elif missing:
            self.add(
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
                self.add(
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
                self.add(
                    doc.file,
                    ("fee", "schedule"),
                    "unknown-option",
                    f"fee schedule {schedule.data['id']!r} charges by {name} = {', '.join(needed)}, but the form's "
                    f"field {name} does not offer {'that value' if len(needed) == 1 else 'those values'}; "
                    "add the option(s) to the form field",
                )

    def time_limits(self, doc: Document, fields: Mapping[str, FieldInfo]) -> None:
        data = doc.data
        tl = data["time_limit"]
        legal, promised = tl["legal"], tl["promised"]
        lm, pm = duration_minutes(legal), duration_minutes(promised)
        if pm is not None and lm is not None and pm > lm:
            self.add(
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
                self.add(doc.file, ("steps", i, "id"), "duplicate-id", f"step id {step['id']!r} is used twice")
            ids.setdefault(step["id"], i)
        for i, step in enumerate(steps):
            other = step.get("parallel_with")
            if other is not None and (other not in ids or other == step["id"]):
                self.add(
                    doc.file,
                    ("steps", i, "parallel_with"),
                    "unknown-step",
                    f"parallel_with names {other!r}, which is not another step of this item{_hint(other, sorted(ids))}",
                )
        fee = data["fee"]
        if isinstance(fee, dict) and "assess_at" in fee and fee["assess_at"] not in ids:
            self.add(
                doc.file,
                ("fee", "assess_at"),
                "unknown-step",
                f"assess_at names {fee['assess_at']!r}, which is not a step of this item"
                f"{_hint(fee['assess_at'], sorted(ids))}",
            )
        immediate = promised["value"] == 0
        budget = MINUTES_PER_WORKING_DAY if immediate else pm
        promised_at: Path = ("time_limit", "promised", "value")
        promise = (promised_at, ("time_limit", "promised", "unit"))
        lower_promise = self.written_lower(doc, promise, (("steps",),))
        immediate_misfit = immediate and any(step["limit"]["unit"] != "minute" for step in steps)
        if immediate_misfit and lower_promise is not None:
            # a lower layer made the item immediate over the parent's day-long steps: report it there
            self.add(
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
                    self.add(
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
                self.add(
                    doc.file,
                    lower_promise,
                    "step-limits",
                    message + "promise no less than the steps take, or override the step limits too",
                    related=((doc.file, steps_at, "steps"),),
                )
            else:
                self.add(
                    doc.file,
                    steps_at,
                    "step-limits",
                    message + "shorten the step limits",
                    on_key=True,
                    related=((doc.file, promised_at, "promised limit"),),
                )

    def chain(self, doc: Document) -> None:
        stage_ids: set[str] = set()
        for i, stage in enumerate(doc.data["stages"]):
            if stage["id"] in stage_ids:
                self.add(doc.file, ("stages", i, "id"), "duplicate-id", f"stage id {stage['id']!r} is used twice")
            stage_ids.add(stage["id"])
            for j, code in enumerate(stage["items"]):
                if (doc.file, code) in self.cat.reported_members:
                    continue  # an inherited chain's member withdrawn below it: engine.catalogue.overlay reported it
                broken = self.cat.broken_items.get(code)
                if broken is not None and self.cat.layer_of(doc.file) > self.cat.layer_of(broken):
                    continue  # a lower layer broke the item: reported in its file; the parent's chain is not at fault
                if code not in self.cat.items:
                    self.add(
                        doc.file,
                        ("stages", i, "items", j),
                        "unknown-item",
                        _no_item(self.cat, code),
                    )
            if stage["mode"] == "serial" and len(stage["items"]) != 1:
                self.add(
                    doc.file,
                    ("stages", i, "items"),
                    "chain-stage",
                    "a serial stage has exactly one item; use mode: parallel for several",
                )
            if stage["mode"] == "joint_review" and "lead" not in stage:
                self.add(
                    doc.file,
                    ("stages", i),
                    "chain-stage",
                    "a joint review needs a lead department (lead: …)",
                    on_key=True,
                )
            if "lead" in stage:
                self.department(doc, ("stages", i, "lead"), stage["lead"])
        self.chain_flow(doc)
        for i, svc in enumerate(doc.data.get("associated_services", [])):
            if svc["item"] not in self.cat.items:
                self.add(
                    doc.file,
                    ("associated_services", i, "item"),
                    "unknown-item",
                    _no_item(self.cat, svc["item"]),
                )
            if svc["after"] not in stage_ids:
                self.add(
                    doc.file,
                    ("associated_services", i, "after"),
                    "unknown-step",
                    f"no stage has the id {svc['after']!r}{_hint(svc['after'], sorted(stage_ids))}",
                )

    def chain_flow(self, doc: Document) -> None:
        """Members in one place only, materials produced before they are needed, and a critical
        path of promised limits that fits the chain's promised total (engine.rules.chains)."""
        from engine.rules import chains  # the chain rules live there; imported late (chains imports this module)

        data = doc.data
        for i, j, code in chains.duplicate_members(data):
            message = f"item {code!r} is already a member of an earlier place in this chain; each item runs once"
            self.add(doc.file, ("stages", i, "items", j), "chain-cycle", message)
        for i, j, message in chains.material_order_problems(self.cat, data):
            self.add(doc.file, ("stages", i, "items", j), "chain-material", message)
        path = chains.critical_path(self.cat, data)
        at_overrides = chains.critical_path_at_overrides(self.cat, doc, path)  # a lower layer lengthened a member
        self.out.extend(at_overrides)
        if not path.fits and path.promised_minutes is not None and not at_overrides:
            self.add(
                doc.file,
                ("promised",),
                "chain-critical-path",
                f"the critical path takes {chains.days_text(path.minutes)}, more than the promised "
                f"{chains.days_text(path.promised_minutes)}: {path.render()}; shorten a stage or promise more",
                on_key=True,
            )


def _no_item(cat: Catalogue, code: str) -> str:
    if code in cat.withdrawn:
        reason, where = cat.withdrawn[code]
        return f"item {code!r} is withdrawn by {where} ({reason}); a catalogue that withdraws it must not name it"
    if code in cat.broken_items:
        return (
            f"item {code!r} ({cat.broken_items[code]}) has errors of its own and is left out of the "
            "catalogue until they are fixed"
        )
    return f"no item has the code {code!r}{_hint(code, sorted(cat.items))}"


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
    including those of the references ``partial`` kept from items that fail their schema (engine.check.partial).

    An item's findings depend only on the item, the center, the form sections, the fee
    schedules and the set of item codes; with a cache they are reused while none of those
    changed, so editing one item re-checks that item alone.
    """
    from engine.check.fee_check import check_fee_schedule
    from engine.rules.calendar import check_calendar

    cross = _Cross(cat)
    cross.index(has_center_file, codes or {})
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
                cross.item(doc)
                cross.out.extend(quality.item(doc.file, doc.data))  # warnings (engine.check.quality)
            if cache is not None:
                mine = [(f.file, f.path, f.kind, f.message, f.on_key, f.related) for f in cross.out[start:]]
                cache.put_xref(doc.file, dep, mine)
        elif doc.kind == "form":
            cross.form_file(doc)
        elif doc.kind == "chain":
            cross.chain(doc)
        elif doc.kind == "fee":
            cross.out.extend(check_fee_schedule(doc.file, doc.data))
            if "department" in doc.data:
                cross.department(doc, ("department",), doc.data["department"])
        elif doc.kind == "calendar":
            cross.out.extend(check_calendar(doc.file, doc.data))
    return _withdrawn_producers(cat, cross.out)


def _withdrawn_producers(cat: Catalogue, findings: list[Finding]) -> list[Finding]:
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
