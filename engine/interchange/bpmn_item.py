"""One item's steps as a BPMN 2.0 process: a user task per step, parallel steps between a split and a join,
each limit a non-interrupting boundary timer, Art. 45 special procedures as message boundary events.

The steps sit in an expanded subprocess so the item's promised (and legal) limit can be a timer on all of
them at once; the special procedures hang off the same subprocess, because the rules let one start at any
step (engine.rules.cases.actions). Every boundary event is non-interrupting: the happy path always runs to
its end, and what a timer or a procedure starts runs beside it.

Timers hold ISO 8601 durations. ISO 8601 has no working days, so a limit in working days becomes as many
natural days (``P5D``) — a timer that never fires after the real deadline — and the exact limit travels in
a ``yangguang:limit`` extension element and in the event's documentation. No timer is exactly the center's
deadline (minutes count office hours there, natural days end with the day and skip past holidays), so every
timer's end event says the estimate ran out (承诺时限（按自然日估）到期, 环节时限（估算）到期), never that the case
is overdue, which it may not be yet.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from engine.base import wording
from engine.base.i18n import N_, gettext
from engine.interchange.bpmn_canvas import (
    CAMUNDA,
    GAP,
    SIZES,
    Node,
    Scope,
    bpmn,
    message,
    timer,
    wrap,
    xml_id,
    yg,
)
from engine.rules.cases.steps import step_groups
from engine.rules.guide_words import duration_text

ROW = 120.0  # between stacked parallel tasks
ROW_WITH_TIMERS = 200.0  # room for a step timer's end event under each task
SPACING = 230.0  # along a subprocess's lower edge, between its boundary events and what they lead to


def item_process_id(code: str) -> str:
    """The process id of an item (a chain's call activities name it as their calledElement)."""
    return xml_id("item", code)


def iso_duration(limit: Mapping[str, Any]) -> str:
    """``PT60M`` for minutes, ``P5D`` for natural days — and for working days, which ISO 8601 cannot say:
    as many natural days is the nearest duration that is never longer than the real limit."""
    value = int(limit["value"])
    return f"PT{value}M" if limit["unit"] == "minute" else f"P{value}D"


def limit_words(limit: Mapping[str, Any]) -> str:
    """The limit as people read it, and how the timer stands in for working days."""
    words = gettext("时限：%(limit)s。") % {"limit": duration_text(limit)}
    if limit["unit"] == "working_day":
        words += gettext(
            "BPMN 的时长不能按工作日计：计时器设为同样多的自然日（%(iso)s），不会晚于真正的期限；"
            "准确的时限见扩展元素 yangguang:limit。"
        ) % {"iso": iso_duration(limit)}
    return words


def limit_element(of: str, limit: Mapping[str, Any]) -> ET.Element:
    """``<yangguang:limit of="step" value="5" unit="working_day"/>``: the limit exactly as the catalogue says it."""
    return ET.Element(yg("limit"), of=of, value=str(limit["value"]), unit=str(limit["unit"]))


def has_time(limit: Mapping[str, Any] | None) -> bool:
    """A limit worth a timer: 0 means on the spot (即办), and a timer of zero would fire at once."""
    return bool(limit) and int(limit["value"]) > 0  # type: ignore[index]


# what the end event after a limit's timer is called. No timer is the limit itself: the center counts minutes
# in office hours (no lunch, nights or days off), natural days to the end of the last day and past a holiday
# (民法典 Art. 203), working days on its calendar, while a timer counts clock time from its start. Every timer
# fires at or before the real deadline, so its end may only say the estimate ran out, never that the case is
# overdue (another engine shows the name); the documentation says why, by unit
ESTIMATE_ELAPSED = {
    "working_day": {
        "step": N_("环节时限（按自然日估）到期"),
        "promised": N_("承诺时限（按自然日估）到期"),
        "legal": N_("法定时限（按自然日估）到期"),
        "special_procedure": N_("特别程序最长时间（按自然日估）到期"),
        "stage": N_("联审共同时限（按自然日估）到期"),
        "chain": N_("承诺总时限（按自然日估）到期"),
    },
    "other": {
        "step": N_("环节时限（估算）到期"),
        "promised": N_("承诺时限（估算）到期"),
        "legal": N_("法定时限（估算）到期"),
        "special_procedure": N_("特别程序最长时间（估算）到期"),
        "stage": N_("联审共同时限（估算）到期"),
        "chain": N_("承诺总时限（估算）到期"),
    },
}
WHY_ESTIMATE = {
    "working_day": N_(
        "计时器按自然日估算以工作日计的时限，到期时真正的期限可能还没到：是否超期，"
        "按扩展元素 yangguang:limit 和服务中心的工作日历判断。"
    ),
    "minute": N_(
        "计时器连续计时，服务中心只计办公时间（不含午休、夜间和休息日），到期时真正的期限可能还没到：是否超期，"
        "按扩展元素 yangguang:limit 和服务中心的工作日历判断。"
    ),
    "natural_day": N_(
        "计时器从开始时刻起计自然日，服务中心的期限算到最后一日结束，最后一日是法定休假日的顺延到休假日结束的次日，"
        "到期时真正的期限可能还没到：是否超期，按扩展元素 yangguang:limit 和服务中心的工作日历判断。"
    ),
}


def limit_timer(scope: Scope, host: Node, dx: float, of: str, limit: Mapping[str, Any], name: str) -> Node:
    """A non-interrupting timer called ``name`` for ``limit`` on ``host``, leading to an end event below it
    (``…_elapsed``) that says the estimate ran out. Returns the end event."""
    event = scope.boundary(xml_id(host.id, of, "limit"), name, host, dx, timer(iso_duration(limit)))
    event.doc = limit_words(limit)
    event.ext.append(limit_element(of, limit))
    unit = str(limit["unit"])
    names = ESTIMATE_ELAPSED["working_day" if unit == "working_day" else "other"]
    end = scope.below("endEvent", xml_id(host.id, of, "elapsed"), gettext(names[of]), event)
    end.doc = gettext(WHY_ESTIMATE.get(unit, WHY_ESTIMATE["minute"]))
    scope.connect(event, end)
    return end


def _step_task(scope: Scope, step: Mapping[str, Any], x: float, cy: float) -> Node:
    role = str(step["role"])
    task = scope.add("userTask", xml_id("step", str(step["id"])), str(step["name"]), x, cy)
    task.attrs[f"{{{CAMUNDA}}}candidateGroups"] = role
    lines = [gettext("办理角色：%(role)s") % {"role": wording.role(role)}]
    for key, label in (("office", gettext("承办科室：%(v)s")), ("post", gettext("办理岗位：%(v)s"))):
        if step.get(key):
            lines.append(label % {"v": step[key]})
    if step.get("limit"):
        lines.append(limit_words(step["limit"]))
    if step.get("note"):
        lines.append(str(step["note"]))
    task.doc = "\n".join(lines)
    attrs = {"step": str(step["id"]), "role": role}
    attrs.update({k: str(step[k]) for k in ("office", "post", "parallel_with") if step.get(k)})
    task.ext.append(ET.Element(yg("step"), attrs))
    # the standard way to name who may do a task, for engines that read it
    owner = ET.Element(bpmn("potentialOwner"), name=wording.role(role))
    expression = ET.SubElement(owner, bpmn("resourceAssignmentExpression"))
    ET.SubElement(expression, bpmn("formalExpression")).text = role
    task.body.append(owner)
    if has_time(step.get("limit")):
        limit_timer(scope, task, 70.0, "step", step["limit"], duration_text(step["limit"]))
    return task


def steps_scope(item: Mapping[str, Any]) -> Scope:
    """The steps from a start to an end event, a parallel group between a split and a join gateway."""
    groups = step_groups(item)
    timed = any(has_time(s.get("limit")) for group in groups for s in group)
    row = ROW_WITH_TIMERS if timed else ROW
    scope = Scope()
    prev = scope.add("startEvent", "steps_start", None, 0.0, 0.0, "event")
    x = prev.box.right + GAP
    for group in groups:
        if len(group) == 1:
            task = _step_task(scope, group[0], x, 0.0)
            scope.connect(prev, task)
            prev, x = task, task.box.right + GAP
            continue
        first = str(group[0]["id"])
        split = scope.add("parallelGateway", xml_id("split", first), None, x, 0.0, "gateway")
        scope.connect(prev, split)
        x = split.box.right + GAP
        join = scope.add("parallelGateway", xml_id("join", first), None, x + SIZES["task"][0] + GAP, 0.0, "gateway")
        for i, step in enumerate(group):
            task = _step_task(scope, step, x, i * row)
            scope.connect(split, task)
            scope.connect(task, join)
        prev, x = join, join.box.right + GAP
    end = scope.add("endEvent", "steps_end", None, x, 0.0, "event")
    scope.connect(prev, end)
    return scope


def _special(scope: Scope, host: Node, dx: float, code: str, sp: Mapping[str, Any], sid: str) -> ET.Element:
    """A special procedure: a message starts it beside the steps; the task lasts at most its ``max``.
    Returns the message the boundary event waits for (a root element of the definitions)."""
    words = {"name": wording.special_procedure(str(sp["kind"]))}  # the kind: short enough for a label
    msg_id = xml_id("message", code, sid)
    event = scope.boundary(xml_id(sid, "start"), gettext("开始特别程序：%(name)s") % words, host, dx, message(msg_id))
    task = scope.below("userTask", sid, str(sp["name"]), event, kind="task", gap=50.0)
    counted = gettext("计入办理时限") if sp["counts_toward_limit"] else gettext("不计入办理时限（计时暂停）")
    task.doc = "\n".join(
        [
            gettext("特别程序（行政许可法第四十五条）：%(kind)s；%(counted)s。")
            % {"kind": wording.special_procedure(str(sp["kind"])), "counted": counted},
            gettext("最长 %(limit)s") % {"limit": duration_text(sp["max"])},
        ]
    )
    task.ext.append(
        ET.Element(
            yg("specialProcedure"), kind=str(sp["kind"]), countsTowardLimit=str(sp["counts_toward_limit"]).lower()
        )
    )
    scope.connect(event, task)
    end = scope.add(
        "endEvent", xml_id(sid, "end"), gettext("特别程序结束"), task.box.right + 40.0, task.box.cy, "event"
    )
    scope.connect(task, end)
    if has_time(sp["max"]):
        name = gettext("最长 %(limit)s") % {"limit": duration_text(sp["max"])}
        limit_timer(scope, task, 70.0, "special_procedure", sp["max"], name)
    return ET.Element(bpmn("message"), id=msg_id, name=f"{code}:{sid}")


def _special_ids(procedures: list[Mapping[str, Any]]) -> list[str]:
    """``special_hearing``, and ``special_hearing_2`` for a second procedure of the same kind."""
    ids: list[str] = []
    for sp in procedures:
        base = xml_id("special", str(sp["kind"]))
        ids.append(base if base not in ids else xml_id(base, str(sum(i.startswith(base) for i in ids) + 1)))
    return ids


def item_process(item: Mapping[str, Any]) -> tuple[ET.Element, Scope, list[ET.Element]]:
    """The item's process element, its laid-out scope (for the diagram) and the messages it waits for."""
    code = str(item["code"])
    scope = Scope()
    start = scope.add("startEvent", "start", gettext("收到申请"), 0.0, 0.0, "event")
    limits = item["time_limit"]
    procedures = list(item.get("special_procedures") or [])
    timers = [("promised", limits["promised"], gettext("承诺时限 %(limit)s"))]
    if has_time(limits.get("legal")) and limits["legal"] != limits["promised"]:
        timers.append(("legal", limits["legal"], gettext("法定时限 %(limit)s")))
    timers = [t for t in timers if has_time(t[1])]
    room = 40.0 + SPACING * (len(timers) + len(procedures))
    # a subprocess's id is a process id to SpiffWorkflow, unique among every file it loads: the item's code in it
    steps = wrap(
        scope,
        steps_scope(item),
        xml_id(item_process_id(code), "steps"),
        gettext("办理环节"),
        start.box.right + GAP,
        0.0,
        room,
    )
    steps.doc = gettext("事项的办理环节；承诺时限、法定时限和特别程序挂在这个子流程的边界上。")
    scope.connect(start, steps)
    end = scope.add("endEvent", "end", gettext("办结"), steps.box.right + GAP, 0.0, "event")
    scope.connect(steps, end)
    dx = 40.0
    for of, limit, timer_name in timers:
        limit_timer(scope, steps, dx, of, limit, timer_name % {"limit": duration_text(limit)})
        dx += SPACING
    messages = []
    for sp, sid in zip(procedures, _special_ids(procedures), strict=True):
        messages.append(_special(scope, steps, dx, code, sp, sid))
        dx += SPACING
    process = ET.Element(bpmn("process"), id=item_process_id(code), name=str(item["name"]), isExecutable="true")
    ET.SubElement(process, bpmn("documentation")).text = _item_words(item)
    ext = ET.SubElement(process, bpmn("extensionElements"))
    ET.SubElement(ext, yg("item"), code=code, department=str(item.get("department", "")))
    for of in ("legal", "promised"):
        if limits.get(of):
            ext.append(limit_element(of, limits[of]))
    return process, scope, messages


def _item_words(item: Mapping[str, Any]) -> str:
    limits = item["time_limit"]
    lines = [
        f"{item['name']}（{item['code']}）",
        gettext("法定时限：%(limit)s") % {"limit": duration_text(limits["legal"])},
        gettext("承诺时限：%(limit)s") % {"limit": duration_text(limits["promised"])},
    ]
    if not has_time(limits["promised"]):
        lines.append(gettext("即办件：当场办结，没有计时器。"))
    return "\n".join(lines)
