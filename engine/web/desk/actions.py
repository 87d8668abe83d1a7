"""What a member of staff may do to a case now, and an action's payload from the desk's form.

Which actions a person is offered is decided by the engine's own rules: every candidate action is
checked with ``cases.decide`` against the case as it is now (a dry run), so the desk never offers
what the engine would refuse and never duplicates a rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from starlette.datastructures import FormData

from engine.rules.cases.actions import decide
from engine.rules.cases.model import ActionRefused, Actor, Case, FeeMismatch, Timing
from engine.rules.cases.steps import open_steps
from engine.web.portal.materials import DEFAULT_SUPPLEMENT_REASON

# (action, probe payload) tried in a dry run to decide what this person may do now
_PROBES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("accept", {}),
    ("refuse", {"reason": "-"}),
    ("request_supplement", {}),
    ("assess_fee", {}),
    ("record_payment", {}),
    ("extend", {"reason": "-"}),
    ("decide", {"outcome": "approve"}),
    ("complete", {}),
)


def available(
    case: Case, item: Mapping[str, Any], actor: Actor, now: Any, timing: Timing | None = None
) -> dict[str, Any]:
    """What ``actor`` may do to ``case`` now: {action: details} (steps and procedure kinds listed),
    judged with the law's clocks (``timing``) exactly as the action itself will be."""
    out: dict[str, Any] = {}

    def allowed(action: str, payload: Mapping[str, Any]) -> bool:
        try:
            decide(case, item, action, actor, payload, now, timing)
        except FeeMismatch:
            return True  # the probe amount was wrong, the action itself is open
        except ActionRefused as exc:
            return exc.code == "invalid"  # only the probe's payload was lacking
        return True

    for action, probe in _PROBES:
        if action == "decide" and case.decision is not None:
            continue  # decided: the page says what was decided and offers what comes next, no second form
        if action == "record_payment" and case.assessment is not None:
            probe = {"amount_fen": int(case.assessment["total_fen"])}
        if allowed(action, probe):
            out[action] = True
    steps = [s for s in open_steps(case, item) if allowed("complete_step", {"step": s["id"]})]
    if steps:
        out["complete_step"] = steps
    for action in ("start_special_procedure", "end_special_procedure"):
        kinds = [sp for sp in item.get("special_procedures", []) if allowed(action, {"kind": sp["kind"]})]
        if kinds:
            out[action] = kinds
    return out


def _fen(text: str) -> int | None:
    """Yuan as typed (``80``, ``80.5``, ``80.50``) to exact fen; None when not an amount."""
    typed = text.strip().replace(",", "").replace("，", "")
    if not _AMOUNT.fullmatch(typed):  # not Decimal() alone: it takes Infinity, sNaN and 1E+999999999
        return None
    return int(Decimal(typed) * 100)


_AMOUNT = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,2})?")  # yuan to the fen, up to 10^12


def payload_from(action: str, form: FormData, item: Mapping[str, Any]) -> dict[str, Any]:
    """The action's payload from the desk's form (the engine checks it); ``in_person`` marks an
    action done with the applicant at the window (supervision counts visits against the item's
    ``visits.max``)."""
    payload = _payload(action, form)
    if form.get("in_person") == "1":
        payload["in_person"] = True
    return payload


def _payload(action: str, form: FormData) -> dict[str, Any]:
    text = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    if action in ("refuse", "extend"):
        return {"reason": text.get("reason", "")[:1000]}
    if action == "request_supplement":
        chosen = [str(v) for v in form.getlist("material")]
        return {
            "missing": [
                {"material": m, "reason": text.get(f"reason-{m}", "")[:500] or DEFAULT_SUPPLEMENT_REASON}
                for m in chosen
            ],
            "note": text.get("note", "")[:1000],
        }
    if action == "complete_step":
        return {"step": text.get("step", ""), "note": text.get("note", "")[:1000]}
    if action == "record_payment":
        fen = _fen(text.get("amount", ""))
        return {"amount_fen": fen if fen is not None else -1, "note": text.get("note", "")[:500]}
    if action in ("start_special_procedure", "end_special_procedure"):
        return {"kind": text.get("kind", ""), "note": text.get("note", "")[:1000]}
    if action == "decide":
        return {"outcome": text.get("outcome", ""), "reason": text.get("reason", "")[:1000]}
    return {}


__all__ = ["available", "payload_from"]
