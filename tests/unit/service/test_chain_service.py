"""An approval chain run through the engine: one application, one set of materials, member
cases filed as their stage opens, results the chain produces never asked for."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from support import with_joint_review
from support.cases import chain_application

from engine.base.dates import TZ
from engine.ledger import tables
from engine.ledger.db import read_only
from engine.ledger.events import events_of
from engine.rules.cases.model import Actor
from engine.service import chains as chain_service
from engine.service.cases import CaseService, SubmissionInvalid
from engine.service.samples import sample_application


def finish(svc: CaseService, number: str) -> None:
    """Work one member case through its item's steps to completion."""
    case, snap = svc.load(number)
    item, dept = snap["item"], case.department
    if case.state == "submitted":
        case = svc.act(number, "accept", Actor("w", "window", dept), {}, case.version)
    for step in item["steps"][1:-1]:
        who = Actor("s", step["role"], dept)
        if step["role"] == "decider" and case.decision is None:
            case = svc.act(number, "decide", who, {"outcome": "approve"}, case.version)
        case = svc.act(number, "complete_step", who, {"step": step["id"]}, case.version)
    if item.get("fee") not in (None, "free") and isinstance(item.get("fee"), dict) and case.assessment is not None:
        case = svc.act(number, "record_payment", Actor("w", "window", dept),
                       {"amount_fen": case.assessment["total_fen"]}, case.version)  # fmt: skip
    last = item["steps"][-1]
    svc.act(number, "complete", Actor("i", last["role"], dept), {}, case.version)


def test_the_organization_chain_from_one_application_to_every_result(svc: CaseService) -> None:
    data, uploads = chain_application(svc, "organization")
    applicant = Actor("zhang", "applicant")
    sub = chain_service.submit(svc, "organization", data, uploads, applicant, "k1")
    assert chain_service.submit(svc, "organization", data, uploads, applicant, "k1").number == sub.number  # retry
    state = chain_service.state(svc, sub.number)
    assert state.stage == 0 and [m[0] for m in state.members["registration"]] == ["QQ-AMR-DJ-001"]
    assert state.members["start-up"] == []  # the second stage opens when the first has ended
    assert chain_service.advance(svc, sub.number) == []  # nothing has ended yet
    finish(svc, sub.members[0])
    filed = chain_service.advance(svc, sub.number)
    assert len(filed) == 4 and chain_service.advance(svc, sub.number) == []  # opened once
    for number in filed:
        case, snap = svc.load(number)
        produced = {m["id"] for m in snap["item"]["materials"] if m.get("produced_by") == "QQ-AMR-DJ-001"}
        assert produced and not produced & set(case.uploads)  # the licence came from the chain
    for number in filed:
        finish(svc, number)
    chain_service.advance_all(svc)
    final = chain_service.state(svc, sub.number)
    assert final.state == "completed"
    assert all(s == "completed" for members in final.members.values() for _, _, s in members)


def test_every_members_errors_are_reported_at_once(svc: CaseService) -> None:
    data, uploads = chain_application(svc, "organization")
    data["applicant"] = {**data["applicant"], "id_card": "110105194912310021"}  # wrong check digit
    uploads.pop(next(iter(uploads)))
    with pytest.raises(SubmissionInvalid) as caught:
        chain_service.submit(svc, "organization", data, uploads, Actor("zhang", "applicant"), "k2")
    codes = {e.code for e in caught.value.errors}
    assert "invalid_id_card" in codes and "missing_material" in codes
    with read_only(svc.db) as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM chain_cases").scalar() == 0  # nothing filed


def test_a_refused_member_stops_the_chain(svc: CaseService) -> None:
    data, uploads = chain_application(svc, "organization")
    sub = chain_service.submit(svc, "organization", data, uploads, Actor("li", "applicant"), "k3")
    case, _ = svc.load(sub.members[0])
    svc.act(sub.members[0], "refuse", Actor("w", "window", case.department), {"reason": "名称不符合规定"}, case.version)
    assert chain_service.advance(svc, sub.number) == []
    assert chain_service.state(svc, sub.number).state == "stopped"


def test_the_sweep_opens_the_next_stage(svc: CaseService) -> None:
    from engine.supervision import sweep as supervision

    data, uploads = chain_application(svc, "organization")
    sub = chain_service.submit(svc, "organization", data, uploads, Actor("zhao", "applicant"), "k4")
    finish(svc, sub.members[0])
    report = supervision.sweep(svc)
    assert report.other.get("chain_cases_filed") == 4
    assert supervision.sweep(svc).other.get("chain_cases_filed") is None


def test_the_front_desk_accepts_a_chain_once_for_every_department(svc: CaseService) -> None:
    from engine.ledger.db import read_only
    from engine.ledger.events import events_of
    from engine.rules.cases.model import ActionRefused

    data, uploads = chain_application(svc, "organization")
    sub = chain_service.submit(svc, "organization", data, uploads, Actor("sun", "applicant"), "k5")
    desk = Actor("front", "frontdesk")
    with pytest.raises(ActionRefused):
        chain_service.accept(svc, sub.number, Actor("w", "window", "amr"))  # only the front desk
    assert chain_service.accept(svc, sub.number, desk) == list(sub.members)
    with pytest.raises(ActionRefused):
        chain_service.accept(svc, sub.number, desk)  # once
    case, _ = svc.load(sub.members[0])
    assert case.state == "in_progress"
    finish(svc, sub.members[0])
    later = chain_service.advance(svc, sub.number)
    for number in later:  # the next stage's cases arrive accepted, in each department's worklist
        case, _ = svc.load(number)
        with read_only(svc.db) as conn:
            accept_event = events_of(conn, number)[1]
        assert case.state == "in_progress" and (accept_event.actor, accept_event.role) == ("front", "frontdesk")
    # outside a chain the front desk has no say over a department's case
    sample, files = sample_application(svc.catalogue, svc.catalogue.items["QQ-PSB-BA-001"], {})
    alone = svc.submit("QQ-PSB-BA-001", sample, files, Actor("sun", "applicant"), "alone").number
    with pytest.raises(ActionRefused):
        svc.act(alone, "accept", desk, {}, 1)


def test_a_silent_department_in_a_joint_review_is_deemed_to_consent(svc: CaseService) -> None:
    from engine.supervision import sweep as supervision

    cat = with_joint_review(svc.catalogue)
    joint = CaseService(cat, svc.db, svc.clock, svc.calendar)
    data, uploads = chain_application(joint, "jr")
    sub = chain_service.submit(joint, "jr", data, uploads, Actor("qian", "applicant"), "jr1")
    chain_service.accept(joint, sub.number, Actor("front", "frontdesk"))
    fire, shelter = sub.members
    case, snap = joint.load(fire)
    for step in snap["item"]["steps"][1:]:  # the fire department works up to its decision
        who = Actor("s", step["role"], case.department)
        if step["role"] == "decider":
            case = joint.act(fire, "decide", who, {"outcome": "approve"}, case.version)
            break
        case = joint.act(fire, "complete_step", who, {"step": step["id"]}, case.version)
    assert case.decision == "approve"
    assert chain_service.sweep_joint_reviews(joint) == []  # opened Friday 03-06; due end of Friday 03-13
    joint.clock.set(datetime(2026, 3, 16, 9, 0, tzinfo=TZ))  # type: ignore[attr-defined]
    report = supervision.sweep(joint)
    assert report.other.get("deemed_consent") == 1
    silent, _ = joint.load(shelter)
    assert silent.decision == "approve" and silent.deemed_consent
    with read_only(joint.db) as conn:
        last = events_of(conn, shelter)[-1]
    assert (last.action, last.role, last.payload["stage"]) == ("deemed_consent", "system", "joint")
    decided, _ = joint.load(fire)
    assert not decided.deemed_consent  # the department that answered keeps its own decision
    assert supervision.sweep(joint).other.get("deemed_consent") is None  # once


def test_a_chain_application_over_the_json_api(tmp_path: Path, reference: Any) -> None:
    from starlette.testclient import TestClient

    from engine.web.app import create_app

    app = create_app(Path(__file__).resolve().parents[3], tmp_path / "api.db", reference.catalogue, sweep_seconds=0)
    with TestClient(app) as client:
        svc = app.state.service
        data, names = chain_application(svc, "organization")
        pdf = b"%PDF-1.4\n%%EOF\n"
        uploads = {}
        draft = client.post("/api/drafts").json()["draft"]  # the uploads go into it; the chain claims them
        for name in names:
            files = {"file": ("a.pdf", pdf, "application/pdf")}
            r = client.post("/api/uploads", files=files, headers={"X-Draft-Token": draft})
            uploads[name] = [r.json()["upload_id"]]
        body = {"chain": "organization", "data": data, "uploads": uploads, "idempotency_key": "api-1", "draft": draft}
        created = client.post("/api/chains", json=body)
        assert created.status_code == 201, created.text
        number, code = created.json()["number"], created.json()["query_code"]
        assert len(created.json()["members"]) == 1
        view = client.get(f"/api/chains/{number}", params={"query_code": code}).json()
        assert view["state"] == "open" and view["stages"][0]["cases"][0]["item"] == "QQ-AMR-DJ-001"
        assert client.get(f"/api/chains/{number}", params={"query_code": "000000x"}).status_code == 404
        assert client.get(f"/api/chains/{number}").status_code == 403  # no token, no query code
        assert client.get("/api/chains/L20990101ABCDEF", params={"query_code": code}).status_code == 404
        missing = client.post("/api/chains", json=body | {"chain": "nope", "idempotency_key": "api-2"})
        assert missing.status_code == 404
        forged = client.post("/api/chains", json=body | {"uploads": {"x": ["no-such-upload"]}, "idempotency_key": "k"})
        assert forged.status_code == 422


def test_a_chain_has_its_own_deadline_light_and_the_stage_holding_it_up(svc: CaseService) -> None:
    data, uploads = chain_application(svc, "organization")  # promised 3 working days
    sub = chain_service.submit(svc, "organization", data, uploads, Actor("wu", "applicant"), "lights")
    st = chain_service.state(svc, sub.number)  # applied Friday 03-06: due end of Wednesday 03-11
    assert st.due is not None and st.due.date().isoformat() == "2026-03-11"
    assert (st.light, st.holding) == ("green", "registration")
    svc.clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=TZ))  # type: ignore[attr-defined]
    assert chain_service.state(svc, sub.number).light == "yellow"
    svc.clock.set(datetime(2026, 3, 12, 9, 0, tzinfo=TZ))  # type: ignore[attr-defined]
    late = chain_service.state(svc, sub.number)
    assert (late.light, late.holding) == ("red", "registration")  # the first stage holds it up


def test_the_chain_light_warns_by_the_centers_own_threshold(svc: CaseService) -> None:
    import dataclasses

    center = svc.catalogue.center or {}
    three = {**center, "supervision": {**center.get("supervision", {}), "warning_working_days": 3}}
    early = CaseService(dataclasses.replace(svc.catalogue, center=three), svc.db, svc.clock, svc.calendar)
    data, uploads = chain_application(svc, "organization")  # promised 3 working days
    sub = chain_service.submit(early, "organization", data, uploads, Actor("wu", "applicant"), "three")
    # applied Friday 03-06 09:00, due end of Wednesday 03-11: working days left in (03-06, 03-11] are
    # Mon 09, Tue 10, Wed 11 = 3 -> within this center's 3 warning days: yellow at once
    assert chain_service.state(early, sub.number).light == "yellow"
    assert chain_service.state(svc, sub.number).light == "green"  # the reference center warns 1 day ahead
    svc.clock.set(datetime(2026, 3, 9, 9, 0, tzinfo=TZ))  # type: ignore[attr-defined]
    # Monday: 2 working days left (Tue 10, Wed 11)
    assert chain_service.state(early, sub.number).light == "yellow"
    assert chain_service.state(svc, sub.number).light == "green"


def test_associated_services_the_applicant_ticks_start_when_their_stage_ends_and_never_hold_it_up(
    svc: CaseService,
) -> None:
    cat = svc.catalogue
    chain = cat.chains["organization"].data
    assert {s["item"] for s in chain["associated_services"]} == {"QQ-BANK-GG-001", "QQ-TELECOM-GG-001"}
    data, uploads = chain_application(svc, "organization")
    data["chain_services"] = {"wanted": ["QQ-BANK-GG-001"]}  # the bank account, not the telecom line
    sub = chain_service.submit(svc, "organization", data, uploads, Actor("sun", "applicant"), "k-services")
    st = chain_service.state(svc, sub.number)
    assert [(code, number) for code, _, number, _ in st.services] == [("QQ-BANK-GG-001", ""), ("QQ-TELECOM-GG-001", "")]
    finish(svc, sub.members[0])  # the business licence is out
    filed = chain_service.advance(svc, sub.number)
    assert sorted(svc.load(n)[0].item_code for n in filed) == sorted(
        ["QQ-BANK-GG-001", "QQ-PSB-BA-001", "QQ-TAX-QT-001", "QQ-HRSS-DJ-001", "QQ-HPF-DJ-001"]
    )  # the bank starts with the start-up stage; the telecom line nobody asked for never does
    bank = next(n for n in filed if svc.load(n)[0].item_code == "QQ-BANK-GG-001")
    case, snap = svc.load(bank)
    licence = {m["id"] for m in snap["item"]["materials"] if m.get("produced_by") == "QQ-AMR-DJ-001"}
    assert licence and not licence & set(case.uploads)  # the chain feeds it the licence
    for number in filed:
        if number != bank:
            finish(svc, number)
    chain_service.advance_all(svc)
    final = chain_service.state(svc, sub.number)
    assert final.state == "completed"  # the bank account still running holds nothing up
    assert [(code, state) for code, _, _, state in final.services] == [
        ("QQ-BANK-GG-001", "submitted"),
        ("QQ-TELECOM-GG-001", ""),
    ]


def test_an_unticked_service_asks_nothing_and_a_ticked_one_asks_its_own_fields(svc: CaseService) -> None:
    data, uploads = chain_application(svc, "organization")
    data.pop("bank_account", None)
    chain_service.submit(svc, "organization", data, uploads, Actor("wu", "applicant"), "k-none")  # nothing ticked
    data["chain_services"] = {"wanted": ["QQ-BANK-GG-001"]}
    with pytest.raises(SubmissionInvalid) as caught:
        chain_service.submit(svc, "organization", data, uploads, Actor("wu", "applicant"), "k-bank")
    assert {e.field.partition(".")[0] for e in caught.value.errors} == {"bank_account"}


def test_a_later_stage_is_filed_under_the_rules_applied_for_after_a_reload_withdrew_a_member(
    svc: CaseService,
) -> None:
    """Live reload may withdraw or change a member item while a chain application waits for its
    next stage: that stage is still filed, under the member's rules as of the application."""
    import copy

    data, uploads = chain_application(svc, "organization")
    sub = chain_service.submit(svc, "organization", data, uploads, Actor("zhang", "applicant"), "k-pin")
    finish(svc, sub.members[0])
    later = svc.catalogue.chains["organization"].data["stages"][1]["items"]
    gone, original = later[0], svc.catalogue.items[later[0]].data
    reloaded = copy.copy(svc.catalogue)  # what the server serves after the reload
    reloaded.items = {code: doc for code, doc in svc.catalogue.items.items() if code != gone}
    after = CaseService(reloaded, svc.db, svc.clock, svc.calendar)
    filed = chain_service.advance(after, sub.number)
    assert len(filed) == len(later)
    by_code = {code: number for code, number, _ in chain_service.state(after, sub.number).members["start-up"]}
    case, snap = after.load(by_code[gone])
    assert case.state == "submitted" and snap["item"] == original
    for number in filed:
        finish(after, number)
    chain_service.advance_all(after)
    assert chain_service.state(after, sub.number).state == "completed"


def test_an_unpinned_application_whose_member_was_withdrawn_waits_instead_of_breaking(
    svc: CaseService, caplog: pytest.LogCaptureFixture
) -> None:
    """Applications from before members were pinned (migration 16) keep the stage open and log why."""
    import copy

    from sqlalchemy import update

    data, uploads = chain_application(svc, "organization")
    sub = chain_service.submit(svc, "organization", data, uploads, Actor("zhang", "applicant"), "k-old")
    with svc.db.begin() as conn:
        conn.execute(update(tables.chain_cases).where(tables.chain_cases.c.number == sub.number).values(members=None))
    finish(svc, sub.members[0])
    gone = svc.catalogue.chains["organization"].data["stages"][1]["items"][0]
    reloaded = copy.copy(svc.catalogue)
    reloaded.items = {code: doc for code, doc in svc.catalogue.items.items() if code != gone}
    after = CaseService(reloaded, svc.db, svc.clock, svc.calendar)
    assert chain_service.advance(after, sub.number) == []
    assert chain_service.state(after, sub.number).stage == 0  # not moved on with members missing
    assert f"{sub.number} cannot open its next stage" in caplog.text and gone in caplog.text
