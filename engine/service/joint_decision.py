"""The joint decision of a joint review (联审联验意见书): one document, one joint seal.

Handan's joint review (联审联验) has the departments review a project together under a lead
department within one shared deadline; a department silent past it is deemed to consent; at the
end one document records every department's opinion and carries the center's joint-review seal
instead of one seal per department. It is built from the member cases' records — nothing is
stored twice — and printed with the statutory notices' A4 template (engine.service.documents.render).

It exists once every member has given its opinion: its date is the last opinion's. It states
the outcome (passed only if every department consented, in person or by silence) and cites no
law: the center's own joint-review rules are not in the catalogue (see chains/construction.yaml).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.base.i18n import N_
from engine.ledger.db import read_only
from engine.ledger.events import events_of
from engine.rules import clock
from engine.service import chains as chain_service
from engine.service import provisional
from engine.service.cases import CaseService
from engine.service.documents import Document, chinese_date

SEAL = "联审联验专用章"


def _opinion_at(service: CaseService, number: str) -> datetime | None:
    """When the department gave its opinion (its decision, or the deemed consent)."""
    with read_only(service.db) as conn:
        records = events_of(conn, number)
    at = [r.at_datetime for r in records if r.action in ("decide", "deemed_consent", "refuse")]
    return at[-1] if at else None


def joint_decision(service: CaseService, number: str, stage_id: str) -> Document | None:
    """The joint decision of chain application ``number``'s joint-review stage ``stage_id``, or
    None while a department has yet to give its opinion (or the stage is not a joint review)."""
    chain = chain_service.pinned(service, number)
    stage = next((s for s in chain["stages"] if s["id"] == stage_id and s["mode"] == "joint_review"), None)
    if stage is None:
        return None
    members = chain_service.state(service, number).members.get(stage_id, [])
    if len(members) < len(stage["items"]):
        return None
    cat = service.catalogue
    center = cat.center or {}
    depts = {d["id"]: d for d in center.get("departments", [])}
    lines: list[str] = []
    last: datetime | None = None
    opened: datetime | None = None
    passed = True
    addressee = "申请人"
    for _code, case_number, _state in members:
        case, snap = service.load(case_number)
        if case.decision is None and case.state != "refused":
            return None
        applicant = case.data.get("applicant", {})
        if isinstance(applicant, dict) and applicant.get("name"):
            addressee = str(applicant["name"])
        opened = min(filter(None, (opened, case.received_at)), default=None)
        at = _opinion_at(service, case_number)
        last = max(filter(None, (last, at)), default=None)
        dept = str(depts.get(case.department, {}).get("name") or case.department)
        item = str(snap["item"]["name"])
        if case.deemed_consent:
            opinion = f"逾期未提出意见，视为同意（{chinese_date(at)}）" if at else "逾期未提出意见，视为同意"
        elif case.decision == "approve":
            opinion = "同意"
        else:
            passed = False
            reason = case.decision_reason or case.refusal_reason or ""
            opinion = "不同意" + (f"。理由：{reason}" if reason else "")
        lines.append(f"{dept}（{item}，办件编号 {case_number}）：{opinion}。")
    assert last is not None
    lead = str(depts.get(stage.get("lead", ""), {}).get("name") or stage.get("lead") or "")
    head = f"你单位申请的“{chain['name']}”中的“{stage['name']}”，"
    head += f"由{lead}牵头，" if lead else ""
    head += "相关部门实行联合审查"
    if "limit" in stage and opened is not None:
        try:
            deadline = clock.due(opened, stage["limit"], service.calendar)
            head += f"，共同审查期限至{chinese_date(deadline)}"
            if service.calendar.is_provisional(clock.local_date(deadline)):
                head += provisional.chinese_note(deadline)
        except LookupError:  # a year no rule counts (before the first file): the date is left out
            pass
    if stage.get("silence_is_consent"):
        head += "，逾期未提出意见的部门视为同意"
    paragraphs = [head + "。各部门意见如下：", *lines]
    if passed:
        paragraphs.append("经联合审查，本阶段审查通过，本意见书作为本阶段的审查结果，进入下一阶段办理。")
    else:
        paragraphs.append("经联合审查，本阶段审查未通过。你单位可按不同意部门提出的理由修改后重新申请；")
        paragraphs.append("对各部门的决定不服的，可以依法对作出决定的部门申请行政复议或者提起行政诉讼。")
    center_name = str(center.get("name") or "政务服务中心")
    return Document(
        kind="joint_decision",
        title=N_("联审联验意见书"),  # marked: a page names the kind in its language; the document stays Chinese
        number=f"〔{clock.local_date(last).year}〕联审字第 {number}-{stage_id} 号",
        issued_at=last,
        addressee=addressee,
        paragraphs=tuple(paragraphs),
        basis="",
        issuer=f"{center_name}（{SEAL}）",
        case_number=number,
        item_name=str(chain["name"]),
    )


def decided_stages(service: CaseService, number: str) -> dict[str, Any]:
    """Joint-review stage id -> its joint decision, for every stage that has one so far."""
    chain = chain_service.pinned(service, number)
    out = {}
    for stage in chain["stages"]:
        if stage["mode"] == "joint_review":
            doc = joint_decision(service, number, stage["id"])
            if doc is not None:
                out[stage["id"]] = doc
    return out
