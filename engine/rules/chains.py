"""Approval chains (审批链条): the critical path of a chain's promised limits, and the order in
which its members' materials are produced.

A chain's stages run in order. A serial stage takes its item's promised limit; a parallel
stage its longest member's; a joint review its shared ``limit`` (or, without one, its longest
member's). Optional stages (``when``) count in full — the promise must hold for every
application. Limits are compared in minutes as engine.check.crossref does (a working day is 480
minutes; a natural day 5/7 of one), so a chain mixing immediate and day items adds up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.base import delivery, stated
from engine.base.conditions import referenced_fields
from engine.base.durations import MINUTES_PER_WORKING_DAY, duration_minutes
from engine.base.i18n import N_, gettext, ngettext
from engine.base.result import Finding, Path
from engine.catalogue.merge import lookup
from engine.catalogue.model import Catalogue, Document


@dataclass(frozen=True, slots=True)
class StageTime:
    stage: str
    name: str
    mode: str
    minutes: int
    held_by: str  # the item (or "limit") that sets the stage's length
    optional: bool

    def days_words(self) -> str:
        """The stage's length in the reader's language (the chain's page)."""
        return days_words(self.minutes)


@dataclass(frozen=True, slots=True)
class CriticalPath:
    stages: tuple[StageTime, ...]
    promised_minutes: int | None

    @property
    def minutes(self) -> int:
        return sum(s.minutes for s in self.stages)

    @property
    def fits(self) -> bool:
        return self.promised_minutes is None or self.minutes <= self.promised_minutes

    def render(self) -> str:
        """The path in words, stage by stage (used by ``yangguang show`` and the checker)."""
        parts = [f"{s.stage} {days_text(s.minutes)} ({s.held_by})" for s in self.stages]
        return " → ".join(parts) + f" = {days_text(self.minutes)}"

    def promised_words(self) -> str:
        """The chain's promised total in the reader's language; — when it promises none."""
        return "—" if self.promised_minutes is None else days_words(self.promised_minutes)

    def words(self) -> str:
        """The path as the chain's page says it, in the reader's language: each stage by its name,
        its length and the item (or the shared limit) that sets it, then the total."""
        parts = []
        for s in self.stages:
            by = gettext("联审共同时限") if s.held_by == SHARED else s.held_by
            said = {"stage": s.name, "days": days_words(s.minutes), "by": by}
            parts.append(gettext("%(stage)s %(days)s（%(by)s）") % said)
        return " → ".join(parts) + " = " + days_words(self.minutes)


#: what holds a joint review's length when the chain gives it one ``limit`` (StageTime.held_by), as
#: the checker's English says it
SHARED = "shared limit"


def days_text(minutes: int) -> str:
    """Working days in the checker's and ``yangguang show``'s English (pages: :func:`days_words`)."""
    if minutes % MINUTES_PER_WORKING_DAY == 0:
        return f"{minutes // MINUTES_PER_WORKING_DAY} working days"
    return f"{minutes / MINUTES_PER_WORKING_DAY:.2f} working days"


def days_words(minutes: int) -> str:
    """Working days in the reader's language (3个工作日 / 3 working days; 2.14 when not whole)."""
    whole = minutes % MINUTES_PER_WORKING_DAY == 0
    days = minutes // MINUTES_PER_WORKING_DAY
    shown = str(days) if whole else f"{minutes / MINUTES_PER_WORKING_DAY:.2f}"
    return ngettext("%(days)s个工作日", "%(days)s个工作日", days if whole else 2) % {"days": shown}


def _promised(cat: Catalogue, code: str) -> int | None:
    item = cat.items.get(code)
    if item is None:
        return None
    return duration_minutes(cat.data(item)["time_limit"]["promised"])


def critical_path(cat: Catalogue, chain: Mapping[str, Any]) -> CriticalPath:
    stages: list[StageTime] = []
    for stage in chain["stages"]:
        members = [(code, _promised(cat, code)) for code in stage["items"]]
        known = [(m or 0, code) for code, m in members if m is not None]
        longest = max(known) if known else (0, "?")
        if stage["mode"] == "joint_review" and "limit" in stage:
            minutes, held = duration_minutes(stage["limit"]) or 0, SHARED
        else:
            minutes, held = longest
        stages.append(StageTime(stage["id"], stage["name"], stage["mode"], minutes, held, "when" in stage))
    promised = chain.get("promised")
    return CriticalPath(tuple(stages), duration_minutes(promised) if promised else None)


_PROMISE: tuple[Path, Path] = (("time_limit", "promised", "value"), ("time_limit", "promised", "unit"))


def critical_path_at_overrides(cat: Catalogue, chain: Document, path: CriticalPath) -> list[Finding]:
    """A chain that does not fit its promise because a layer below the chain's own set the promise of
    a member holding a stage (a county's override lengthening an item of the city's chain): one
    ``chain-critical-path`` finding at that promise, for each such member, with the chain's promise
    in brackets — the layer that wrote the chain's file cannot see the change, and the lower one
    cannot edit that file. Empty when no lower layer set such a promise (the chain's own problem)."""
    if path.promised_minutes is None or path.fits:
        return []
    chain_layer = cat.layer_of(chain.file)
    excess = path.minutes - path.promised_minutes
    out = []
    for stage in path.stages:
        item = cat.items.get(stage.held_by)
        if item is None:
            continue  # held by the stage's shared limit, which only the chain's file sets
        written = [lookup(cat.origins.get(item.file), item.file, at) for at in _PROMISE]
        file, at = min(written, key=lambda w: cat.layer_of(w[0]))
        if cat.layer_of(file) >= chain_layer:
            continue
        out.append(
            Finding(
                item.file,
                at,
                "chain-critical-path",
                f"this promised limit makes the inherited chain {chain.data['id']!r} ({chain.data['name']}) take "
                f"{days_text(path.minutes)} on its critical path, more than the chain's promised "
                f"{days_text(path.promised_minutes)}: {path.render()}; shorten this promise by at least "
                f"{days_text(excess)}, or write chains/{chain.data['id']}.yaml here with the chain as this center "
                "runs it",
                related=((chain.file, ("promised",), "chain"),),
            )
        )
    return out


def material_order_problems(cat: Catalogue, chain: Mapping[str, Any]) -> list[tuple[int, int, str]]:
    """(stage index, item index, message) for every member material produced by an item of the
    same chain that does not come in an earlier stage — the applicant would be asked for a
    result the chain has not produced yet."""
    stage_of: dict[str, int] = {}
    for i, stage in enumerate(chain["stages"]):
        for code in stage["items"]:
            stage_of.setdefault(code, i)
    problems = []
    for i, stage in enumerate(chain["stages"]):
        for j, code in enumerate(stage["items"]):
            item = cat.items.get(code)
            for material in stated.materials(cat.data(item)) if item else []:
                producer = material.get("produced_by")
                if producer in stage_of and stage_of[producer] >= i:
                    where = (
                        "the same stage"
                        if stage_of[producer] == i
                        else f"the later stage {chain['stages'][stage_of[producer]]['id']!r}"
                    )
                    problems.append(
                        (
                            i,
                            j,
                            f"{code} needs {material['name']} from {producer}, which comes in {where}; "
                            "move the producing item to an earlier stage",
                        )
                    )
    return problems


def duplicate_members(chain: Mapping[str, Any]) -> list[tuple[int, int, str]]:
    """(stage index, item index, code) for an item that appears in more than one place."""
    seen: set[str] = set()
    out = []
    for i, stage in enumerate(chain["stages"]):
        for j, code in enumerate(stage["items"]):
            if code in seen:
                out.append((i, j, code))
            seen.add(code)
    return out


@dataclass(frozen=True, slots=True)
class MergedMaterial:
    id: str
    name: str
    items: tuple[str, ...]  # the member items that need it


@dataclass(frozen=True, slots=True)
class MergedForm:
    """One application for a whole chain: every form section once (fields merged), every
    material once, and the materials the chain produces for itself left out."""

    sections: tuple[Mapping[str, Any], ...]
    materials: tuple[MergedMaterial, ...]
    produced: tuple[tuple[str, str, str], ...]  # (item, material id, producing item) not asked


def merged_form(cat: Catalogue, chain: Mapping[str, Any]) -> MergedForm:
    """Merge the member items' forms and materials in stage order. A shared form section (by id)
    is asked once, with the union of its fields; a material is asked once however many members
    need it (members name materials by their own ids, so materials are matched by name); a
    material ``produced_by`` an item of an earlier stage is never asked of the applicant."""
    earlier: set[str] = set()
    sections: dict[str, dict[str, Any]] = {}
    materials: dict[str, MergedMaterial] = {}
    produced: list[tuple[str, str, str]] = []
    for stage in with_services(chain):
        for code in stage["items"]:
            item = cat.items.get(code)
            if item is None:
                continue
            data = cat.data(item)
            for entry in data.get("form", {}).get("sections", []):
                section = cat.data(cat.forms[entry]) if isinstance(entry, str) and entry in cat.forms else entry
                if not isinstance(section, Mapping):
                    continue
                merged = sections.setdefault(section["id"], {**section, "fields": []})
                known = {f["id"] for f in merged["fields"]}
                merged["fields"].extend(f for f in section["fields"] if f["id"] not in known)
            for material in stated.materials(data):
                producer = material.get("produced_by")
                if producer in earlier:
                    produced.append((code, material["id"], producer))
                    continue
                if material.get("shared"):
                    continue  # fetched by data sharing: never asked
                key = material["name"]
                found = materials.get(key)
                materials[key] = MergedMaterial(
                    found.id if found else material["id"], key, (*(found.items if found else ()), code)
                )
        earlier.update(stage["items"])
    return MergedForm(tuple(sections.values()), tuple(materials.values()), tuple(produced))


SERVICES_SECTION = "chain_services"  # the one application's own section: which associated services to start


def with_services(chain: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The chain's stages with each associated service as a one-item pseudo-stage right after its
    trigger stage. A service is the applicant's choice (``chain_services.wanted`` on the one
    application), runs only if its trigger stage does, is fed what the stages before it produce,
    and never holds the chain up (engine.service.chains files it when the trigger stage ends)."""
    services = chain.get("associated_services", [])
    out: list[Mapping[str, Any]] = []
    for stage in chain["stages"]:
        out.append(stage)
        for service in services:
            if service["after"] == stage["id"]:
                wanted = {"field": f"{SERVICES_SECTION}.wanted", "eq": service["item"]}
                when = {"all": [stage["when"], wanted]} if "when" in stage else wanted
                out.append(
                    {
                        "id": f"{stage['id']}+{service['item']}",
                        "mode": "serial",
                        "items": [service["item"]],
                        "when": when,
                    }
                )
    return out


def services_section(cat: Catalogue, chain: Mapping[str, Any]) -> dict[str, Any] | None:
    """The one application's section asking which associated services to start (None without any)."""
    services = chain.get("associated_services", [])
    if not services:
        return None
    names = {s["id"]: s["name"] for s in chain["stages"]}
    options = []
    for service in services:
        item = cat.items.get(service["item"])
        name = cat.data(item)["name"] if item else service["item"]
        after = names.get(service["after"], service["after"])
        # the label in Chinese (what a refusal quotes); the parts let a page say it in its language
        label = gettext("%(service)s（%(stage)s办结后启动）") % {"service": name, "stage": after}
        options.append({"value": service["item"], "label": label, "service": name, "after": after})
    # built once per catalogue version (engine.web.portal), so its words are msgids (``msgids``) the
    # form's page says in its language (engine.web.form_view)
    return {
        "id": SERVICES_SECTION,
        "title": N_("关联服务"),
        "msgids": True,
        "fields": [
            {
                "id": "wanted",
                "msgids": True,
                "label": N_("同时申请的关联服务"),
                "type": "checkbox",
                "required": False,
                "hint": N_("勾选的服务在所列阶段办结后自动发起，所需证照由链条传递；不勾选的可以以后单独申请。"),
                "options": options,
            }
        ],
    }


def application_item(cat: Catalogue, chain: Mapping[str, Any]) -> dict[str, Any]:
    """The chain's one application as item-shaped data, so the portal's generated form pages,
    materials page and check page (engine.web.portal.form_view, engine.rules.forms) serve a chain unchanged.

    Its sections are the merged sections. Each material is asked once, under an id unique in
    the application, and is required when any member that needs it requires it and that
    member's stage applies (its ``when``). Materials an earlier stage produces, and shared
    ones, are left out (``merged_form``). Format and size limits come from the first member
    that asks for the material: the strictest wins when members differ.
    """
    form = merged_form(cat, chain)
    specs: dict[str, list[tuple[Mapping[str, Any], Any]]] = {}  # name -> [(member spec, stage when)]
    for stage in with_services(chain):
        for code in stage["items"]:
            item = cat.items.get(code)
            for material in stated.materials(cat.data(item)) if item else []:
                specs.setdefault(material["name"], []).append((material, stage.get("when")))
    materials: list[dict[str, Any]] = []
    taken: set[str] = set()
    for merged in form.materials:
        found = specs[merged.name]
        rules = []
        for spec, when in found:
            rule = spec["required"]
            if rule is False:
                continue
            parts = [c for c in (when, None if rule is True else rule) if c is not None]
            rules.append(True if not parts else parts[0] if len(parts) == 1 else {"all": parts})
        required: Any = (
            False if not rules else True if True in rules else rules[0] if len(rules) == 1 else {"any": rules}
        )
        material_id, n = merged.id, 1
        while material_id in taken:
            n += 1
            material_id = f"{merged.id}-{n}"
        taken.add(material_id)
        first = dict(found[0][0])
        formats = [f for f in first.get("formats", []) if all(f in s.get("formats", [f]) for s, _ in found)]
        sizes = [s["max_size_mb"] for s, _ in found if "max_size_mb" in s]
        first.pop("produced_by", None)
        first.pop("shared", None)
        materials.append(
            {
                **first,
                "id": material_id,
                "required": required,
                **({"formats": formats or first.get("formats", [])} if "formats" in first else {}),
                **({"max_size_mb": min(sizes)} if sizes else {}),
            }
        )
    asked = services_section(cat, chain)
    # one choice of how results are delivered for the whole application (Art. 44): only methods
    # every stage member that states any offers, so each member case can honour it (an associated
    # service run by a utility or bank delivers its own way: engine.service.chains._member_data)
    methods: list[str] | None = None
    for stage in chain["stages"]:
        for code in stage["items"]:
            item = cat.items.get(code)
            offers = delivery.offered(cat.data(item)) if item else []
            if offers:
                methods = offers if methods is None else [m for m in methods if m in offers]
    return {
        "code": chain["id"],
        "name": chain["name"],
        "result": {"delivery": methods or []},
        "form": {
            "sections": [  # the services first: their own pages follow only if ticked
                *([asked] if asked else []),
                *[_only_when_applies(s, section_whens(cat, chain)) for s in form.sections],
            ]
        },
        "materials": materials,
    }


def section_whens(cat: Catalogue, chain: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Section id -> the ``when`` of every stage whose members ask it (None: a stage that always runs)."""
    out: dict[str, list[Any]] = {}
    for stage in with_services(chain):
        for code in stage["items"]:
            item = cat.items.get(code)
            for entry in cat.data(item).get("form", {}).get("sections", []) if item else []:
                section_id = entry if isinstance(entry, str) else entry.get("id")
                out.setdefault(section_id, []).append(stage.get("when"))
    return out


def _only_when_applies(section: Mapping[str, Any], whens: Mapping[str, list[Any]]) -> dict[str, Any]:
    """A section asked only by optional stages is required only when one of them applies: an
    applicant who does not need the food licence leaves the food section empty."""
    conditions = whens.get(section["id"], [None])
    if None in conditions:
        return dict(section)
    applies = conditions[0] if len(conditions) == 1 else {"any": conditions}
    if not any(name.startswith(f"{section['id']}.") for _, name in referenced_fields(applies)):
        # decided elsewhere on the application (an associated service ticked): the whole page is
        # left out when it does not apply. A condition on the section's own fields (the economic
        # chain's licences) cannot hide its page: its fields just stop being required.
        return {**section, "when": applies}
    fields = []
    for spec in section["fields"]:
        rule = spec.get("required", False)
        if rule is not False:
            rule = applies if rule is True else {"all": [applies, rule]}
        fields.append({**spec, "required": rule})
    return {**section, "fields": fields}
