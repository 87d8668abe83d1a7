"""What the staff case page says in words around its forms: what each step's form does and what
comes next, what just happened after an action, and the checks on a form that would otherwise
lose what a person typed (a reason written for a material that was not ticked).

Step ids, roles and actions are stored codes; staff read the item's step names and the
catalogue's words for roles and actions (engine.base.wording), never the codes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.datastructures import FormData

from engine.base import stated, wording
from engine.base.i18n import gettext as _
from engine.ledger.events import EventRecord
from engine.rules.cases.model import Case
from engine.rules.cases.steps import open_steps


def _names(steps: Sequence[Mapping[str, Any]]) -> str:
    return _("、").join(
        _("「%(step)s」（%(role)s）") % {"step": s.get("name") or s["id"], "role": wording.role(str(s["role"]))}
        for s in steps
    )


def step_hints(steps: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """For each step id, what happens once the step's form is submitted (提交后转入…环节)."""
    out: dict[str, str] = {}
    last = steps[-1] if steps else None
    for step in steps:
        following = wording.next_steps(steps, str(step["id"]))
        if following:
            out[str(step["id"])] = _("提交后转入%(steps)s环节。") % {"steps": _names(following)}
        elif last is not None:
            out[str(step["id"])] = _("这是最后一个环节：提交后由%(role)s办结并送达。") % {
                "role": wording.role(str(last["role"]))
            }
    return out


def accept_hint(steps: Sequence[Mapping[str, Any]]) -> str:
    """What acceptance leads to: the steps after the first (acceptance is the first step's work)."""
    following = wording.next_steps(steps, str(steps[0]["id"])) if steps else []
    if not following:
        return _("受理后开始计算办理期限。")
    return _("受理后开始计算办理期限，转入%(steps)s环节。") % {"steps": _names(following)}


def decide_hint(steps: Sequence[Mapping[str, Any]]) -> str:
    """What the decision leads to: the last step's role completes and delivers."""
    role = wording.role(str(steps[-1]["role"])) if steps else wording.role("window")
    return _("作出决定后生成决定书，再由%(role)s办结并送达申请人。") % {"role": role}


def what_next(case: Case, item: Mapping[str, Any], actions: Mapping[str, Any]) -> str:
    """One sentence on what comes next for this case, for the person looking at it."""
    if case.state == "completed":
        return _("本件已办结。")
    if case.state == "refused":
        return _("本件已不予受理，办理结束。")
    if case.state == "awaiting_supplement":
        return _("下一步：等待申请人补正材料；补正后重新进入受理审查。")
    if case.state == "submitted":
        if actions:
            return _("下一步：请在下方受理、一次性告知补正或不予受理。")
        return _("下一步：由%(role)s受理审查。") % {"role": wording.role("window")}
    if case.decision is not None and "complete" in actions:
        return _("已作出决定（%(decision)s）。下一步：请在下方办结并送达。") % {
            "decision": wording.decision(case.decision)
        }
    open_now = open_steps(case, item)
    if actions:
        return _("下一步：请在下方办理%(steps)s。") % {"steps": _names(open_now)} if open_now else ""
    if open_now:
        return _("下一步：由%(steps)s办理。") % {"steps": _names(open_now)}
    return ""


def done_text(action: str, records: Sequence[EventRecord], names: Mapping[str, str]) -> str:
    """What was just done (the flash after an action): the action in words, with its step's name."""
    text = wording.action(action)
    if action == "complete_step":
        last = next((r for r in reversed(records) if r.action == action), None)
        if last is not None and last.payload.get("step"):
            text += _("：") + names.get(str(last.payload["step"]), str(last.payload["step"]))
    if action == "decide":
        last = next((r for r in reversed(records) if r.action == action), None)
        if last is not None:
            text += _("：") + wording.decision(str(last.payload.get("outcome", "")))
    return text


def unticked_reasons(action: str, form: FormData, item: Mapping[str, Any]) -> list[str]:
    """The materials (by name) a reason was typed for but that were not ticked in a supplement
    notice: the notice would silently drop those reasons, so it is not sent until the person
    ticks them or clears the reason."""
    if action != "request_supplement":
        return []
    chosen = {str(v) for v in form.getlist("material")}
    return [
        str(m.get("name") or m["id"])
        for m in stated.materials(item)
        if m["id"] not in chosen and str(form.get(f"reason-{m['id']}", "") or "").strip()
    ]


def typed_input(form: FormData) -> dict[str, Any]:
    """What the person typed and ticked, to fill the form again when the action is refused."""
    out: dict[str, Any] = {k: str(v)[:1000] for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    out["material"] = [str(v) for v in form.getlist("material")]
    return out
