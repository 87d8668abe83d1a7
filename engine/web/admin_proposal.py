"""A change the administrator proposes on the what-if page (/admin/items/CODE/whatif?promised=5…): read and
bounded from the query string, applied to a copy of the live item's data in memory (no file is touched),
and checked by the checker's own rules for an item's time limits and the chains it belongs to, so that a
proposal the catalogue would refuse is refused with the checker's message instead of simulated."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from engine.base.i18n import N_
from engine.base.i18n import gettext as _
from engine.base.result import Finding, severity
from engine.catalogue.model import Catalogue, Document
from engine.catalogue.schemas import compiled
from engine.check.chains import chain
from engine.check.context import Cross
from engine.check.items import item as check_item
from engine.rules.cases.steps import steps_of

UNITS = ("working_day", "natural_day", "minute")
UNIT_LABELS = {"working_day": N_("个工作日"), "natural_day": N_("个自然日"), "minute": N_("分钟")}
#: the largest value a limit may be proposed with, per unit (a year and more: beyond any legal limit)
MOST = {"working_day": 1000, "natural_day": 1500, "minute": 500_000}
MOST_STAFF = 200
MOST_PARAMS = 200  # query parameters read at all: beyond, the request is answered with one message
LONGEST_TEXT = 12  # characters of one value: no number of ours is longer
#: the query's keys: the promise, each step's limit (``step.<id>``) and the staff of a role (``staff.<role>``)
PROMISED, STEP, STAFF, UNIT = "promised", "step.", "staff.", ".unit"


@dataclass(slots=True)
class Proposal:
    """What the form asks, what it would change and what is wrong with it (field name -> messages)."""

    asked: bool = False  # the query carries the form: compare with the proposal, not the disk
    promised: dict[str, Any] | None = None
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    staff: dict[str, int] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    #: messages the catalogue's checker gave (shown as the checker words them)
    refused: dict[str, list[str]] = field(default_factory=dict)
    data: dict[str, Any] | None = None  # the item as proposed (a copy), when valid

    @property
    def ok(self) -> bool:
        return self.asked and not self.errors and not self.refused

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def _number(p: Proposal, name: str, text: str, most: int, least: int = 0) -> int | None:
    text = text.strip()
    if not text:
        p.error(name, _("请填写一个数。"))
        return None
    if len(text) > LONGEST_TEXT or not text.isascii() or not text.isdigit():
        p.error(name, _("请填写一个不小于 %(least)s 的整数。") % {"least": least})
        return None
    value = int(text)
    if value < least or value > most:
        p.error(name, _("请填写 %(least)s 到 %(most)s 之间的整数。") % {"least": least, "most": most})
        return None
    return value


def _limit(p: Proposal, name: str, query: Mapping[str, str], was: Mapping[str, Any]) -> dict[str, Any] | None:
    unit = query.get(name + UNIT, str(was["unit"]))
    if unit not in UNITS:
        p.error(name, _("时限单位只能是工作日、自然日或分钟。"))
        return None
    value = _number(p, name, query[name], MOST[unit])
    return None if value is None else {**dict(was), "value": value, "unit": unit}


def read(query: Mapping[str, str], data: Mapping[str, Any], roles: Mapping[str, int]) -> Proposal:
    """The proposal in ``query`` for the item ``data`` (its steps' ids) and the department's ``roles``
    (role -> staff now); every value bounded, every unknown name reported."""
    p = Proposal()
    if len(query) > MOST_PARAMS:
        p.asked = True
        p.error("form", _("请求的参数太多。"))
        return p
    steps = {str(s["id"]): s for s in steps_of(data)} if data.get("steps", "standard") != "standard" else {}
    for key, text in query.items():
        if key == PROMISED:
            p.asked = True
            p.promised = _limit(p, key, query, data["time_limit"]["promised"])
        elif key.startswith(STEP) and not key.endswith(UNIT):
            p.asked = True
            step = steps.get(key[len(STEP) :])
            if step is None:
                p.error("form", _("本事项没有这个环节：%(id)s") % {"id": key[len(STEP) :][:40]})
                continue
            limit = _limit(p, key, query, step["limit"])
            if limit is not None:
                p.steps[str(step["id"])] = limit
        elif key.startswith(STAFF):
            p.asked = True
            role = key[len(STAFF) :]
            if role not in roles:
                p.error("form", _("本部门的事项没有这个岗位：%(role)s") % {"role": role[:40]})
                continue
            count = _number(p, key, text, MOST_STAFF, 1)
            if count is not None:
                p.staff[role] = count
    if p.asked and not p.errors:
        p.data = apply(data, p)
    return p


def apply(data: Mapping[str, Any], p: Proposal) -> dict[str, Any]:
    """A deep copy of the item with the proposed limits (the live item is shared: never changed)."""
    new = copy.deepcopy(dict(data))
    if p.promised is not None:
        new["time_limit"]["promised"] = p.promised
    for step in new.get("steps", []) if isinstance(new.get("steps"), list) else []:
        if str(step["id"]) in p.steps:
            step["limit"] = p.steps[str(step["id"])]
    return new


def changes(code: str, data: Mapping[str, Any], p: Proposal) -> list[str]:
    """The ``yangguang edit`` command of each limit the proposal changes, in the item's order."""
    out: list[str] = []
    was = data["time_limit"]["promised"]
    if p.promised is not None and (p.promised["value"], p.promised["unit"]) != (was["value"], was["unit"]):
        out.append(command(code, "time_limit.promised", p.promised, str(was["unit"])))
    if data.get("steps", "standard") != "standard":
        for step in steps_of(data):
            new, old = p.steps.get(str(step["id"])), step["limit"]
            if new is not None and (new["value"], new["unit"]) != (old["value"], old["unit"]):
                out.append(command(code, f"steps.{step['id']}.limit", new, str(old["unit"])))
    return out


def _findings(cat: Catalogue, code: str, data: dict[str, Any]) -> list[Finding]:
    """The errors the checker finds in the item as ``data`` and in the chains it belongs to."""
    live = cat.items[code]
    schema = compiled("item").errors(data)
    if schema:
        return [Finding(live.file, e.path, e.kind, e.message) for e in schema]
    doc = Document(live.file, "item", data, live.key)
    cross = Cross(replace(cat, items={**cat.items, code: doc}))
    check_item(cross, doc)
    for chain_doc in cat.chains.values():
        if any(code in stage["items"] for stage in cat.data(chain_doc)["stages"]):
            chain(cross, chain_doc)
    return [f for f in cross.out if severity(f.kind) == "error"]


def check(p: Proposal, cat: Catalogue, code: str) -> None:
    """Refuse the proposal with every error the checker finds in it that the live catalogue does not have,
    each under the field it is about (the promise, a step, or the form as a whole)."""
    if p.data is None:
        return
    live = cat.items[code]
    before = {(f.path, f.kind, f.message) for f in _findings(cat, code, cat.data(live))}
    ids = [str(s["id"]) for s in steps_of(p.data)] if isinstance(p.data.get("steps"), list) else []
    for f in _findings(cat, code, p.data):
        if (f.path, f.kind, f.message) in before:
            continue
        name = "form"
        if f.path[:2] == ("time_limit", "promised"):
            name = PROMISED
        elif len(f.path) > 1 and f.path[0] == "steps" and isinstance(f.path[1], int) and f.path[1] < len(ids):
            name = STEP + ids[f.path[1]]
        p.refused.setdefault(name, []).append(f.message)
    if p.refused:
        p.data = None


def command(code: str, path: str, limit: Mapping[str, Any], was_unit: str) -> str:
    """The ``yangguang edit`` command that writes one proposed limit (a bare number keeps the unit)."""
    value = str(limit["value"])
    if limit["unit"] != was_unit:  # a number alone would keep the old unit
        value = f"'{{value: {value}, unit: {limit['unit']}}}'"
    return f"yangguang edit {code} set {path} {value}"
