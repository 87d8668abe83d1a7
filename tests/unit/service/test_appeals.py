"""Requests and complaints (诉求) on the virtual clock: filed, assigned, answered, closed; lit, escalated once;
followed with the query code; transferred; refused to another department; linked to the case they name."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from support.appeals import complaint, row
from support.cases import file_case

from engine.base.dates import TZ
from engine.ledger import tables
from engine.ledger.appeals import appeals
from engine.rules.cases.model import ActionRefused, Actor
from engine.service import appeal_lists, query_codes
from engine.service import appeals as svc_appeals
from engine.service.accounts import add_user
from engine.service.cases import CaseService
from engine.supervision.audit import verify
from engine.supervision.sweep import sweep

OFFICE = Actor("window.complaints", "window", "complaints")
OFFICE_HEAD = Actor("head.complaints", "head", "complaints")
AMR = Actor("head.amr", "head", "amr")
HOUSING = Actor("head.housing", "head", "housing")
SUPERVISOR = Actor("supervisor", "supervisor")


@pytest.fixture
def service(case_service: CaseService, cheap_hashes: None) -> CaseService:
    for actor in (OFFICE, OFFICE_HEAD, AMR, HOUSING):
        add_user(case_service.db, actor.username, actor.role, actor.department, password="demo-password")
    return case_service


def at(d: date, hour: int = 10) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=TZ)


def test_filed_assigned_answered_closed_by_the_person(service: CaseService) -> None:
    number, code = svc_appeals.file(service, complaint())
    r = row(service, number)
    # ten working days from Friday 6 March 2026: Friday 20 March, end of day
    assert (r["state"], r["handler"], r["light"]) == ("open", "complaints", "green")
    assert datetime.fromisoformat(str(r["due"])).astimezone(TZ).date() == date(2026, 3, 20)
    svc_appeals.act(service, number, OFFICE_HEAD, "assign", 1, {"assignee": "window.complaints"})
    service.clock.set(at(date(2026, 3, 10)))  # type: ignore[attr-defined]
    svc_appeals.act(service, number, OFFICE, "answer", 2, {"text": "已督促市场监管局当日受理。"})
    with pytest.raises(ActionRefused) as refused:  # a complaint is judged before it is closed
        svc_appeals.close_by_person(service, number, code, "1.2.3.4", "满意")
    assert refused.value.code == "not_allowed"
    svc_appeals.act(service, number, OFFICE_HEAD, "verdict", 3, {"verdict": "justified"})
    closed = svc_appeals.close_by_person(service, number, code, "1.2.3.4", "满意")
    assert closed is not None and closed.answer() == "已督促市场监管局当日受理。"
    r = row(service, number)
    assert (r["state"], r["rating"], r["verdict"], r["on_time"], r["assignee"]) == (
        "closed", "满意", "justified", True, "window.complaints"
    )  # fmt: skip
    assert [e.action for e in closed.history] == ["filed", "assigned", "answered", "verdict", "closed"]
    report = verify(service.db)
    assert report.ok, report.render()
    assert report.cases_checked == 1 and report.events_checked == 5


def test_overdue_lights_yellow_then_red_and_escalates_once(service: CaseService) -> None:
    number, _ = svc_appeals.file(service, complaint())
    service.clock.set(at(date(2026, 3, 18)))  # type: ignore[attr-defined]
    sweep(service)
    assert row(service, number)["light"] == "green"
    service.clock.set(at(date(2026, 3, 19)))  # type: ignore[attr-defined]
    sweep(service)
    assert row(service, number)["light"] == "warning"
    service.clock.set(at(date(2026, 3, 23)))  # type: ignore[attr-defined]  # Monday after the deadline
    first = sweep(service)
    second = sweep(service)
    r = row(service, number)
    assert (r["light"], r["escalated_to"]) == ("violation", "supervision")
    assert first.other.get("appeal_escalated") == 1 and "appeal_escalated" not in second.other
    found = svc_appeals.load(service, number)
    assert found is not None and [e.action for e in found.history].count("escalated") == 1
    with service.db.connect() as conn:
        s = tables.supervision_events
        kinds = [k for (k,) in conn.execute(select(s.c.kind).where(s.c.kind.like("appeal_%")).order_by(s.c.id))]
    assert kinds == ["appeal_warning", "appeal_violation", "appeal_escalated"]
    # an answer after the limit is recorded late
    svc_appeals.act(service, number, OFFICE, "answer", int(r["version"]), {"text": "已核实。"})  # type: ignore[call-overload]
    assert row(service, number)["on_time"] is False


def test_anonymous_report_is_followed_with_its_query_code_only(service: CaseService) -> None:
    report = svc_appeals.Filing(kind="report", subject="工作人员索要好处", body="某窗口工作人员暗示收费。")
    number, code = svc_appeals.file(service, report)
    r = row(service, number)
    assert r["filer_name"] is None and r["contact"] is None and r["query_code_hash"] != code
    assert svc_appeals.follow(service, number, "", "1.2.3.4") is None
    assert svc_appeals.follow(service, number, query_codes.new(), "1.2.3.4") is None  # a wrong code
    followed = svc_appeals.follow(service, number.lower(), code.replace("-", " ").lower(), "1.2.3.4")
    assert followed is not None and followed.number == number
    with pytest.raises(ActionRefused):  # a complaint is not anonymous in the reference catalogue
        svc_appeals.file(service, svc_appeals.Filing(kind="complaint", subject="超期", body="超期未办。"))


def test_transfer_moves_it_to_another_department_and_only_the_office_transfers(service: CaseService) -> None:
    enquiry = svc_appeals.Filing(kind="enquiry", subject="办证材料", body="营业执照需要什么材料？", filer_name="李四",
                                 contact="13900000000")  # fmt: skip
    number, _ = svc_appeals.file(service, enquiry)
    assert row(service, number)["handler"] == "complaints"  # names no department: the office answers it
    with pytest.raises(ActionRefused) as refused:
        svc_appeals.act(service, number, AMR, "transfer", 1, {"department": "amr"})
    assert refused.value.code == "not_found"  # amr cannot see it yet: as if it did not exist
    svc_appeals.act(service, number, OFFICE, "transfer", 1, {"department": "amr", "text": "属市场监管局职责。"})
    r = row(service, number)
    assert (r["handler"], r["state"]) == ("amr", "open")
    with pytest.raises(ActionRefused) as refused:
        svc_appeals.act(service, number, AMR, "transfer", 2, {"department": "housing"})
    assert refused.value.code == "forbidden"
    svc_appeals.act(service, number, AMR, "answer", 2, {"text": "见办事指南。"})
    assert row(service, number)["state"] == "answered"


def test_another_department_neither_sees_nor_acts(service: CaseService) -> None:
    number, _ = svc_appeals.file(service, complaint())
    with pytest.raises(ActionRefused) as refused:
        svc_appeals.act(service, number, HOUSING, "answer", 1, {"text": "不是我们的。"})
    assert refused.value.code == "not_found"
    assert appeal_lists.worklist(service, HOUSING) == []
    assert [r["number"] for r in appeal_lists.worklist(service, SUPERVISOR)] == [number]
    with pytest.raises(ActionRefused) as refused:  # supervisors watch; they do not answer
        svc_appeals.act(service, number, SUPERVISOR, "answer", 1, {"text": "x"})
    assert refused.value.code == "forbidden"


def test_a_complaint_naming_a_case_is_linked_to_it_and_its_department(service: CaseService) -> None:
    case_number = file_case(service)
    department = service.load(case_number)[0].department
    number, _ = svc_appeals.file(service, complaint(case_number=case_number.lower()))
    r = row(service, number)
    assert (r["case_number"], r["named_department"], r["handler"]) == (case_number, department, "complaints")
    assert [a["number"] for a in appeal_lists.for_case(service, case_number)] == [number]


def test_a_stale_version_is_refused_and_the_record_is_append_only(service: CaseService) -> None:
    number, _ = svc_appeals.file(service, complaint())
    svc_appeals.act(service, number, OFFICE, "assign", 1, {"assignee": "window.complaints"})
    with pytest.raises(ActionRefused) as refused:
        svc_appeals.act(service, number, OFFICE, "answer", 1, {"text": "迟到的答复"})
    assert refused.value.code == "conflict"
    with pytest.raises(DBAPIError), service.db.begin() as conn:
        conn.execute(text("UPDATE appeal_events SET payload = '{}'"))
    with service.db.begin() as conn:  # a row edited behind the application's back breaks its chain
        conn.execute(appeals.update().where(appeals.c.number == number).values(version=5))
    assert [p.kind for p in verify(service.db).problems] == ["head_mismatch"]


def test_limits_and_unknown_kinds_are_refused_with_a_reason(service: CaseService) -> None:
    for filing in (complaint(subject="长" * 101), complaint(kind="praise"), complaint(named_department="nowhere")):
        with pytest.raises(ActionRefused) as refused:
            svc_appeals.file(service, filing)
        assert refused.value.code == "invalid" and refused.value.message
