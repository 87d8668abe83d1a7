"""Cases and chain applications filed through the service (engine.service), no HTTP: the sample
answers of an item or a chain, filed as an applicant, and a culture case worked to its end."""

from __future__ import annotations

from typing import Any

from engine.rules.cases.model import Actor
from engine.service.cases import CaseService
from engine.service.samples import sample_application, sample_chain_application

from .portal import PERMIT

CULTURE = "QQ-CULTURE-XK-101"  # 娱乐场所经营许可 (culture): undertaker, inspector, decider, issuer


def chain_application(svc: CaseService, chain_id: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """A valid merged application: every member's sample answers, one upload per material name."""
    return sample_chain_application(svc.catalogue, svc.catalogue.chains[chain_id].data)


def file_case(svc: Any, code: str = PERMIT, key: str = "k1", **choices: Any) -> str:
    """A case of ``code`` with its sample answers, filed by applicant zhang; its number."""
    data, uploads = sample_application(svc.catalogue, svc.catalogue.items[code], choices)
    return str(svc.submit(code, data, uploads, Actor("zhang", "applicant"), key).number)


def filed(svc: Any, key: str, name: str, kind: str = "natural_person") -> str:
    """A CULTURE case filed for ``name``, a natural person or (``kind="legal_person"``) a company; its number."""
    choices = {"applicant.type": kind, "applicant.name": name}
    if kind == "legal_person":
        choices |= {"applicant.credit_code": "91350100M000100Y43", "applicant.legal_representative": "王五"}
    data, uploads = sample_application(svc.catalogue, svc.catalogue.items[CULTURE], choices)
    return str(svc.submit(CULTURE, data, uploads, Actor("a", "applicant"), key).number)


def complete(svc: Any, number: str, window: str = "w.culture") -> None:
    """A filed CULTURE case accepted by ``window``, worked through its steps, approved, completed and rated 满意."""
    dept = "culture"
    svc.act(number, "accept", Actor(window, "window", dept), {}, 1)
    case, snap = svc.load(number)
    for step in snap["item"]["steps"][1:-1]:
        who = Actor(f"{step['role']}.culture", step["role"], dept)
        if step["role"] == "decider":
            case = svc.act(number, "decide", who, {"outcome": "approve"}, case.version)
        case = svc.act(number, "complete_step", who, {"step": step["id"]}, case.version)
    last = snap["item"]["steps"][-1]
    case = svc.act(number, "complete", Actor(f"{last['role']}.culture", last["role"], dept), {}, case.version)
    svc.act(number, "evaluate", Actor("a", "applicant"), {"rating": "满意"}, case.version)


def worked(svc: Any, code: str, key: str) -> str:
    """A case of ``code`` filed with its sample answers, accepted and worked through every step to completion
    by its department's staff (approved where a decider decides); its number."""
    number = file_case(svc, code, key)
    case, snap = svc.load(number)
    dept = case.department
    case = svc.act(number, "accept", Actor(f"window.{dept}", "window", dept), {}, case.version)
    for step in snap["item"]["steps"][1:-1]:
        who = Actor(f"{step['role']}.{dept}", step["role"], dept)
        if step["role"] == "decider":
            case = svc.act(number, "decide", who, {"outcome": "approve"}, case.version)
        case = svc.act(number, "complete_step", who, {"step": step["id"]}, case.version)
    last = snap["item"]["steps"][-1]
    svc.act(number, "complete", Actor(f"{last['role']}.{dept}", last["role"], dept), {}, case.version)
    return number
