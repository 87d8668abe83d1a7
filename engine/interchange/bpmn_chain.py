"""A chain's stages as a BPMN 2.0 process: one call activity per member item (its calledElement is the item's
own process), a parallel stage between a split and a join, a joint review as a subprocess of the member
reviews in parallel with the shared limit as its timer, and the chain's promise as a timer on all stages.

An optional stage (``when``) is drawn on the main line like any other: the chain's promise counts it in full
(engine.rules.chains), and a condition in BPMN would need an expression language each engine reads its own
way, so the condition travels in the stage's documentation and a ``yangguang:stage`` extension element.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from engine.base.conditions import describe
from engine.base.i18n import gettext
from engine.catalogue.model import Catalogue
from engine.interchange.bpmn_canvas import GAP, SIZES, Node, Scope, bpmn, wrap, xml_id, yg
from engine.interchange.bpmn_item import SPACING, has_time, item_process_id, limit_element, limit_timer
from engine.rules.guide_words import duration_text

ROW = 110.0  # between stacked member items


def chain_process_id(chain_id: str) -> str:
    return xml_id("chain", chain_id)


def _member(cat: Catalogue, scope: Scope, stage_id: str, code: str, x: float, cy: float) -> Node:
    """A call activity running the member item's own process."""
    doc = cat.items.get(code)
    item = cat.data(doc) if doc is not None else None
    name = str(item.get("short_name") or item["name"]) if item else code
    node = scope.add("callActivity", xml_id("stage", stage_id, code), name, x, cy)
    node.attrs["calledElement"] = item_process_id(code)
    node.doc = f"{item['name']}（{code}）" if item else gettext("事项 %(code)s 不在本目录中") % {"code": code}
    node.ext.append(ET.Element(yg("member"), item=code))
    return node


def _parallel(cat: Catalogue, scope: Scope, stage: Mapping[str, Any], prev: Node, x: float) -> tuple[Node, list[Node]]:
    """Split, the members stacked, join; returns the join gateway and the members."""
    sid = str(stage["id"])
    split = scope.add("parallelGateway", xml_id("stage", sid, "split"), None, x, 0.0, "gateway")
    scope.connect(prev, split)
    x = split.box.right + GAP
    join = scope.add("parallelGateway", xml_id("stage", sid, "join"), None, x + SIZES["task"][0] + GAP, 0.0, "gateway")
    members = []
    for i, code in enumerate(stage["items"]):
        member = _member(cat, scope, sid, str(code), x, i * ROW)
        scope.connect(split, member)
        scope.connect(member, join)
        members.append(member)
    return join, members


def _joint_review(cat: Catalogue, scope: Scope, chain_id: str, stage: Mapping[str, Any], x: float) -> Node:
    """A subprocess of the member reviews in parallel, the lead department named, the shared limit its timer."""
    sid = str(stage["id"])
    inner = Scope()
    start = inner.add("startEvent", xml_id("stage", sid, "start"), None, 0.0, 0.0, "event")
    join, _ = _parallel(cat, inner, stage, start, start.box.right + GAP)
    end = inner.add("endEvent", xml_id("stage", sid, "end"), None, join.box.right + GAP, 0.0, "event")
    inner.connect(join, end)
    lead = _department_name(cat, stage.get("lead"))
    name = gettext("联审联验：%(name)s（牵头：%(lead)s）") % {"name": stage["name"], "lead": lead}
    node = wrap(scope, inner, xml_id(chain_id, "stage", sid), name, x, 0.0, SPACING)
    lines = [gettext("牵头部门：%(lead)s") % {"lead": lead}]
    if "silence_is_consent" in stage:
        lines.append(gettext("逾期未表态视为同意") if stage["silence_is_consent"] else gettext("逾期未表态不视为同意"))
    node.doc = "\n".join([*lines, *_stage_words(stage)])
    if has_time(stage.get("limit")):
        name = gettext("联审共同时限 %(limit)s") % {"limit": duration_text(stage["limit"])}
        limit_timer(scope, node, 40.0, "stage", stage["limit"], name)
    return node


def _department_name(cat: Catalogue, dept_id: Any) -> str:
    dept = cat.department(str(dept_id)) if dept_id else None
    return str(dept.get("name", dept_id)) if dept else str(dept_id or gettext("未指定"))


def _stage_words(stage: Mapping[str, Any]) -> list[str]:
    lines = []
    if stage.get("when"):
        lines.append(gettext("可选阶段，条件：%(condition)s") % {"condition": describe(stage["when"], None, gettext)})
    if stage.get("note"):
        lines.append(str(stage["note"]))
    return lines


def _stage_element(stage: Mapping[str, Any]) -> ET.Element:
    el = ET.Element(yg("stage"), stage=str(stage["id"]), mode=str(stage["mode"]))
    if stage.get("lead"):
        el.set("lead", str(stage["lead"]))
    if stage.get("when"):
        el.set("when", json.dumps(stage["when"], ensure_ascii=False, sort_keys=True))
    return el


def stages_scope(cat: Catalogue, chain: Mapping[str, Any]) -> Scope:
    scope = Scope()
    prev = scope.add("startEvent", "stages_start", None, 0.0, 0.0, "event")
    x = prev.box.right + GAP
    for stage in chain["stages"]:
        if stage["mode"] == "joint_review":
            node = _joint_review(cat, scope, chain_process_id(str(chain["id"])), stage, x)
            scope.connect(prev, node)
            described = [node]
        elif len(stage["items"]) > 1:  # parallel
            node, described = _parallel(cat, scope, stage, prev, x)
        else:  # serial, or parallel with one member
            node = _member(cat, scope, str(stage["id"]), str(stage["items"][0]), x, 0.0)
            scope.connect(prev, node)
            described = [node]
        for member in described:  # a stage's words go on what stands for it: its subprocess or its members
            if member.tag == "callActivity":
                member.doc = "\n".join([str(member.doc), str(stage["name"]), *_stage_words(stage)])
            member.ext.append(_stage_element(stage))
        prev, x = node, node.box.right + GAP
    end = scope.add("endEvent", "stages_end", None, x, 0.0, "event")
    scope.connect(prev, end)
    return scope


def chain_process(cat: Catalogue, chain: Mapping[str, Any]) -> tuple[ET.Element, Scope]:
    """The chain's process element and its laid-out scope (for the diagram)."""
    scope = Scope()
    start = scope.add("startEvent", "start", gettext("一件事申请"), 0.0, 0.0, "event")
    pid = chain_process_id(str(chain["id"]))
    stages = wrap(
        scope, stages_scope(cat, chain), xml_id(pid, "stages"), gettext("办理阶段"), start.box.right + GAP, 0.0, SPACING
    )
    scope.connect(start, stages)
    end = scope.add("endEvent", "end", gettext("全部办结"), stages.box.right + GAP, 0.0, "event")
    scope.connect(stages, end)
    promised = chain.get("promised")
    if promised and has_time(promised):
        name = gettext("承诺总时限 %(limit)s") % {"limit": duration_text(promised)}
        limit_timer(scope, stages, 40.0, "chain", promised, name)
    process = ET.Element(bpmn("process"), id=pid, name=str(chain["name"]),
                         isExecutable="true")  # fmt: skip
    lines = [str(chain["name"]), *([str(chain["description"])] if chain.get("description") else [])]
    for service in chain.get("associated_services") or []:
        lines.append(
            gettext("关联服务 %(item)s 在阶段 %(stage)s 结束后开始")
            % {"item": service["item"], "stage": service["after"]}
        )
    ET.SubElement(process, bpmn("documentation")).text = "\n".join(lines)
    ext = ET.SubElement(process, bpmn("extensionElements"))
    ET.SubElement(ext, yg("chain"), chain=str(chain["id"]), kind=str(chain.get("kind", "")))
    if promised:
        ext.append(limit_element("chain", promised))
    for service in chain.get("associated_services") or []:
        ET.SubElement(ext, yg("associatedService"), item=str(service["item"]), after=str(service["after"]))
    return process, scope
