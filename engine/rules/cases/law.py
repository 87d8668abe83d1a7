"""The law's terms a case runs under, as the item's YAML sets them: the Art. 32 completeness period,
the fee gate, the one Art. 42 extension, who may pause the clock (Art. 45) and Art. 44's delivery."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.rules.cases.model import Case, Timing


def completeness_lapsed(case: Case, timing: Timing | None, now: datetime) -> bool:
    """Art. 32: the completeness period passed with no one-time supplement notice and no refusal, so
    the application is accepted as of the day the materials were received — whatever staff or the
    sweep do afterwards, and whenever they do it."""
    return (
        case.state == "submitted"
        and not case.supplement_requested
        and timing is not None
        and timing.completeness is not None
        and now > timing.completeness
    )


def fee_due(item: Mapping[str, Any]) -> bool:
    """Whether the item charges by a fee schedule (never when its fee is not stated)."""
    fee = item.get("fee")
    return isinstance(fee, Mapping) and "schedule" in fee


def assess_step(item: Mapping[str, Any]) -> str:
    fee = item.get("fee")
    return str(fee.get("assess_at", "decide")) if isinstance(fee, Mapping) else "decide"


#: Art. 45 special procedures (hearing, testing, expert review, …) stop the legal clock: started and
#: ended by the staff of the case's department who examine the application and decide on it, and
#: their head — not by reception (window, front desk), the issuer, or anyone outside the department
PAUSE_ROLES: tuple[str, ...] = ("undertaker", "reviewer", "decider", "inspector", "head")


#: Art. 42 para. 1: the head of the authority may extend a licence decision once by 10 days; para. 2:
#: unified, joint or centralised handling (an item with joint-handling departments) once by 15 days,
#: approved by the head of the people's government at the same level. Art. 82: working days.
LAW_EXTENSION: dict[str, Any] = {
    "limit": {"value": 10, "unit": "working_day"},
    "approver_role": "head",
    "basis": [{"law": "中华人民共和国行政许可法", "article": "第四十二条第一款"}],
    "by_law": True,
}
LAW_EXTENSION_JOINT: dict[str, Any] = {
    "limit": {"value": 15, "unit": "working_day"},
    "approver_role": "head",
    "basis": [{"law": "中华人民共和国行政许可法", "article": "第四十二条第二款"}],
    "by_law": True,
    "joint": True,
}


def extension_of(item: Mapping[str, Any]) -> dict[str, Any] | None:
    """The one extension this item allows (limit, approver_role, basis), or None.

    A licence (``type: license``) has the law's extension unless its YAML says otherwise with a
    basis (``extension: {allowed: false, basis}`` or another limit): other laws and regulations may
    set other rules (Art. 42: 法律、法规另有规定的，依照其规定). A licence decided on the spot (legal
    limit 0) has none: Art. 42 excepts it. Other item types have an extension only when their YAML
    gives one."""
    tl = item.get("time_limit", {})
    written = tl.get("extension")
    if isinstance(written, Mapping):
        if written.get("allowed", True) is False:
            return None
        if "limit" in written:
            return {"approver_role": "head", **written, "by_law": False}
    if item.get("type") != "license" or not tl.get("legal", {}).get("value"):
        return None
    base = LAW_EXTENSION_JOINT if item.get("joint_departments") else LAW_EXTENSION
    if isinstance(written, Mapping):  # e.g. only another approver role, or a note
        return {**base, **{k: v for k, v in written.items() if k != "allowed"}}
    return dict(base)


#: Art. 44: 行政机关作出准予行政许可的决定，应当自作出决定之日起十日内向申请人颁发、送达行政许可证件
#: (working days, Art. 82).
DELIVERY_LIMIT: dict[str, Any] = {"value": 10, "unit": "working_day"}


def delivery_running(case: Case, item: Mapping[str, Any]) -> bool:
    """Art. 44's clock runs from a decision to grant a licence until the case is completed (the
    licence issued or delivered)."""
    return (
        item.get("type") == "license"
        and case.decision == "approve"
        and case.decided_at is not None
        and case.state == "in_progress"
    )
