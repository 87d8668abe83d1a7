"""联审联验: a joint review ends with one joint decision under one joint seal, recording each
department's opinion — including a silent department deemed to consent — and the chain moves on."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest
from support.cases import chain_application

from engine.base.dates import TZ
from engine.catalogue.model import Document
from engine.rules.cases.model import Actor
from engine.rules.cases.steps import steps_of
from engine.service import chains as chain_service
from engine.service import documents, joint_decision
from engine.service.cases import CaseService
from engine.supervision import sweep as supervision

FIRE, SHELTER, PERMIT = "QQ-HOUSING-XK-001", "QQ-CAD-XK-001", "QQ-HOUSING-XK-003"


@pytest.fixture
def joint(svc: CaseService) -> CaseService:
    chain = {
        "id": "jr", "name": "施工图联审与施工许可", "kind": "construction",
        "promised": {"value": 30, "unit": "working_day"},
        "stages": [
            {"id": "joint", "name": "消防与人防联审", "mode": "joint_review", "lead": "housing",
             "items": [FIRE, SHELTER], "limit": {"value": 5, "unit": "working_day"}, "silence_is_consent": True},
            {"id": "permit", "name": "施工许可", "mode": "serial", "items": [PERMIT]},
        ],
    }  # fmt: skip
    cat = dataclasses.replace(svc.catalogue, chains={"jr": Document("chains/jr.yaml", "chain", chain)})
    return CaseService(cat, svc.db, svc.clock, svc.calendar)


def decide(service: CaseService, number: str, outcome: str, reason: str = "") -> None:
    """The department works its case up to its decision."""
    case, snap = service.load(number)
    for step in steps_of(snap["item"])[1:]:
        who = Actor("s", step["role"], case.department)
        if step["role"] == "decider":
            payload = {"outcome": outcome, **({"reason": reason} if reason else {})}
            service.act(number, "decide", who, payload, case.version)
            return
        case = service.act(number, "complete_step", who, {"step": step["id"]}, case.version)


def test_a_silent_department_is_deemed_to_consent_and_one_joint_decision_moves_the_chain_on(
    joint: CaseService,
) -> None:
    data, uploads = chain_application(joint, "jr")
    sub = chain_service.submit(joint, "jr", data, uploads, Actor("qian", "applicant"), "jr1")
    chain_service.accept(joint, sub.number, Actor("front", "frontdesk"))
    fire, shelter = sub.members
    decide(joint, fire, "approve")
    assert joint_decision.joint_decision(joint, sub.number, "joint") is None  # the shelter office has not spoken
    assert chain_service.advance(joint, sub.number) == []  # nor does the chain move on
    joint.clock.set(datetime(2026, 3, 16, 9, 0, tzinfo=TZ))  # type: ignore[attr-defined]
    report = supervision.sweep(joint)  # past the shared deadline (end of Friday 03-13)
    assert report.other.get("deemed_consent") == 1
    assert report.other.get("chain_cases_filed") == 1  # the joint decision ends the stage: the permit is filed
    silent, _ = joint.load(shelter)
    assert silent.state == "completed" and silent.deemed_consent  # leaves the silent department's worklist

    doc = joint_decision.joint_decision(joint, sub.number, "joint")
    assert doc is not None and doc.title == "联审联验意见书"
    text = "\n".join(doc.paragraphs)
    assert "齐齐哈尔市住房和城乡建设局牵头" in text and "共同审查期限至2026年3月13日" in text
    assert f"办件编号 {fire}）：同意。" in text
    assert f"办件编号 {shelter}）：逾期未提出意见，视为同意（2026年3月16日）。" in text
    assert "审查通过" in text and "联审联验专用章" in doc.issuer
    page = documents.render(doc, joint.catalogue.center)
    assert page.count('class="seal"') == 1  # one joint seal, not one per department
    st = chain_service.state(joint, sub.number)
    assert st.holding == "permit" and [code for code, _, _ in st.members["permit"]] == [PERMIT]
    assert chain_service.advance_all(joint) == []  # once


def test_a_department_that_disagrees_stops_the_chain_and_the_decision_says_why(joint: CaseService) -> None:
    data, uploads = chain_application(joint, "jr")
    sub = chain_service.submit(joint, "jr", data, uploads, Actor("qian", "applicant"), "jr2")
    chain_service.accept(joint, sub.number, Actor("front", "frontdesk"))
    fire, shelter = sub.members
    decide(joint, fire, "approve")
    decide(joint, shelter, "deny", "防空地下室面积不符合人防工程建设标准")
    doc = joint_decision.joint_decision(joint, sub.number, "joint")
    assert doc is not None
    text = "\n".join(doc.paragraphs)
    assert "不同意。理由：防空地下室面积不符合人防工程建设标准" in text and "审查未通过" in text
    assert chain_service.advance(joint, sub.number) == []
    assert chain_service.state(joint, sub.number).state == "stopped"


def test_only_a_joint_review_has_a_joint_decision(joint: CaseService) -> None:
    data, uploads = chain_application(joint, "jr")
    sub = chain_service.submit(joint, "jr", data, uploads, Actor("qian", "applicant"), "jr3")
    assert joint_decision.joint_decision(joint, sub.number, "permit") is None
    assert joint_decision.joint_decision(joint, sub.number, "nowhere") is None
    assert joint_decision.decided_stages(joint, sub.number) == {}
