"""Electronic supervision on a virtual clock: lights appear exactly when the working-day rules
say, each is recorded once, counts over a period are exact and repeatable, and two sweeps —
in one process or two at once — record nothing twice."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import select

from engine.base.dates import TZ
from engine.ledger import tables
from engine.ledger.cases import get_case
from engine.ledger.db import iso, read_only
from engine.rules.cases.model import Actor
from engine.rules.clock import ManualClock
from engine.service.cases import CaseService
from engine.service.samples import sample_application
from engine.supervision import corrections
from engine.supervision import sweep as supervision
from engine.supervision.counts import (
    anomaly_counts,
    event_counts,
    lights_of,
    max_visits_of,
    open_counts,
    visits_exceeded,
)

REPO = Path(__file__).resolve().parents[3]
CULTURE = "QQ-CULTURE-XK-101"  # promised 10 / legal 20 working days; undertake step (材料审查) 2 working days
DEPT = "culture"


def at(day: str, hour: int = 9) -> datetime:
    y, m, d = (int(x) for x in day.split("-"))
    return datetime(y, m, d, hour, 0, tzinfo=TZ)


@pytest.fixture
def world(case_service: CaseService, tmp_path: Path) -> tuple[CaseService, ManualClock, Path]:
    assert case_service.catalogue.items[CULTURE].data["department"] == DEPT
    clk = cast(ManualClock, case_service.clock)
    assert clk.now() == at("2026-03-06")  # Friday
    return case_service, clk, tmp_path / "cases.db"  # the service's file (tests/conftest.py)


def accepted_case(svc: CaseService, key: str) -> str:
    data, uploads = sample_application(svc.catalogue, svc.catalogue.items[CULTURE], {})
    number = svc.submit(CULTURE, data, uploads, Actor("zhang", "applicant"), key).number
    svc.act(number, "accept", Actor("w", "window", DEPT), {}, 1)
    return number


def light_row(svc: CaseService, number: str) -> tuple[str, bool, bool]:
    with read_only(svc.db) as conn:
        row = get_case(conn, number)
    assert row is not None
    return row["light"], bool(row["step_overdue"]), bool(row["legal_overdue"])


def sweep_at(svc: CaseService, clk: ManualClock, moment: datetime) -> supervision.SweepReport:
    clk.set(moment)
    return supervision.sweep(svc)


def test_lights_follow_the_working_day_rules_and_are_recorded_once(world: Any) -> None:
    svc, clk, _ = world
    number = accepted_case(svc, "a")  # accepted Fri 03-06: undertake due Tue 03-10, promised Fri 03-20, legal Fri 04-03
    assert sweep_at(svc, clk, at("2026-03-10", 17)).lights == {}  # the step is still within its limit
    assert light_row(svc, number) == ("green", False, False)

    report = sweep_at(svc, clk, at("2026-03-11"))  # Wednesday: the undertake step is past its own limit
    assert report.lights == {"abnormal": 1}
    assert light_row(svc, number) == ("green", True, False)
    assert supervision.sweep(svc).lights == {}  # the same moment again: nothing new

    assert sweep_at(svc, clk, at("2026-03-18")).lights == {}  # two working days left: still green
    report = sweep_at(svc, clk, at("2026-03-19"))  # Thursday: one working day left -> yellow
    assert report.lights == {"warning": 1}
    assert light_row(svc, number) == ("warning", True, False)

    report = sweep_at(svc, clk, at("2026-03-23"))  # Monday: past Friday's promised deadline -> red
    assert report.lights == {"violation": 1, "abnormal_cleared": 1}  # abnormal only while on time
    assert light_row(svc, number) == ("violation", False, False)

    report = sweep_at(svc, clk, at("2026-04-06"))  # past the legal deadline (Friday 04-03)
    assert report.lights == {"legal_overdue": 1}
    assert light_row(svc, number) == ("violation", False, True)

    march = event_counts(svc.db, at("2026-03-01", 0), at("2026-04-01", 0))
    assert march == {DEPT: {"abnormal": 1, "warning": 1, "violation": 1, "abnormal_cleared": 1}}
    assert event_counts(svc.db, at("2026-04-01", 0), at("2026-05-01", 0)) == {DEPT: {"legal_overdue": 1}}
    kinds = [e["kind"] for e in lights_of(svc.db, number)]
    assert kinds == ["abnormal", "warning", "violation", "abnormal_cleared", "legal_overdue"]


def test_an_extension_clears_the_red_light(world: Any) -> None:
    svc, clk, _ = world
    number = accepted_case(svc, "b")
    sweep_at(svc, clk, at("2026-03-23"))
    assert light_row(svc, number)[0] == "violation"
    case, _ = svc.load(number)
    svc.act(
        number, "extend", Actor("h", "head", DEPT), {"reason": "需要补充实地检查"}, case.version
    )  # +10 working days
    report = supervision.sweep(svc)
    assert light_row(svc, number)[0] == "green" and report.lights.get("light_cleared") == 1


def test_counts_by_department_and_light_for_the_dashboard(world: Any) -> None:
    svc, clk, _ = world
    early = accepted_case(svc, "c1")
    clk.set(at("2026-03-16"))
    accepted_case(svc, "c2")  # accepted later: green on 03-19
    sweep_at(svc, clk, at("2026-03-19"))
    counts = open_counts(svc.db)
    assert counts[DEPT]["warning"] == 1 and counts[DEPT]["green"] == 1
    assert counts[DEPT]["abnormal"] == 2  # both have a step past its limit by now
    assert light_row(svc, early)[0] == "warning"


def test_dissatisfied_ratings_open_follow_ups_that_must_be_answered(world: Any) -> None:
    svc, clk, _ = world
    window = Actor("w", "window", DEPT)
    data, uploads = sample_application(svc.catalogue, svc.catalogue.items[CULTURE], {})
    other = svc.submit(CULTURE, data, uploads, Actor("li", "applicant"), "d2").number
    svc.act(other, "refuse", window, {"reason": "不符合条件"}, 1)
    assert corrections.open_followups(svc.db, DEPT) == []
    svc.act(other, "evaluate", Actor("li", "applicant"), {"rating": "不满意", "comment": "等太久"}, 2)
    # opened with the rating itself, in the same transaction
    (opened,) = corrections.open_followups(svc.db, DEPT)
    assert (opened["number"], opened["rating"], opened["comment"]) == (other, "不满意", "等太久")
    assert supervision.sweep(svc).other == {}  # nothing due yet
    happy = svc.submit(CULTURE, data, uploads, Actor("ma", "applicant"), "d3").number
    svc.act(happy, "refuse", window, {"reason": "不符合条件"}, 1)
    svc.act(happy, "evaluate", Actor("ma", "applicant"), {"rating": "满意"}, 2)
    assert [f["number"] for f in corrections.open_followups(svc.db, DEPT)] == [other]  # only the dissatisfied
    # 15 working days from Friday 03-06 is Friday 03-27: on Monday 03-30 it is overdue
    report = sweep_at(svc, clk, at("2026-03-30"))
    assert report.other.get("followup_overdue") == 1
    corrections.answer_followup(svc.db, other, department=DEPT, answer="已回访并致歉", by="head", now=clk.now())
    assert corrections.open_followups(svc.db, DEPT) == []
    with pytest.raises(corrections.CorrectionError):
        corrections.answer_followup(svc.db, other, department=DEPT, answer="again", by="head", now=clk.now())


def test_corrections_escalate_when_unanswered(world: Any) -> None:
    svc, clk, _ = world
    number = accepted_case(svc, "e")
    late = corrections.issue(
        svc.db, department=DEPT, card="yellow", reason="超时未办", issued_by="supervisor", now=clk.now(),
        calendar=svc.calendar, working_days=3, case_number=number,
    )  # fmt: skip
    answered = corrections.issue(
        svc.db, department=DEPT, card="red", reason="多收费用", issued_by="supervisor", now=clk.now(),
        calendar=svc.calendar, working_days=3,
    )  # fmt: skip
    corrections.respond(svc.db, answered, department=DEPT, response="已退还", by="head.culture", now=clk.now())
    with pytest.raises(corrections.CorrectionError):
        corrections.respond(svc.db, answered, department="housing", response="x", by="x", now=clk.now())
    report = sweep_at(svc, clk, at("2026-03-12"))  # three working days after Friday 03-06 ended Wednesday 03-11
    assert report.other.get("correction_escalated") == 1
    assert supervision.sweep(svc).other.get("correction_escalated") is None
    rows = {c.id: c for c in corrections.listing(svc.db, DEPT)}
    assert rows[late].escalated_at is not None and rows[answered].escalated_at is None


SWEEP_SCRIPT = """
import sys
from datetime import datetime
from engine.ledger.db import open_engine
from engine.supervision import sweep as supervision
from engine.rules.calendar import WorkCalendar
from engine.check.pipeline import load
from engine.base.dates import TZ
from engine.rules.clock import ManualClock
from engine.service.cases import CaseService
cat = load(sys.argv[1]).catalogue
cal = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
db = open_engine(sys.argv[2])
svc = CaseService(cat, db, ManualClock(datetime.fromisoformat(sys.argv[3])), cal)
report = supervision.sweep(svc)
print(sum(report.lights.values()))
"""


def test_two_processes_sweeping_at_once_record_each_light_once(world: Any) -> None:
    svc, clk, _path = world
    numbers = [accepted_case(svc, f"p{i}") for i in range(12)]
    moment = at("2026-03-23").isoformat()  # every case: violation (and its step mark cleared)
    procs = [
        subprocess.Popen(
            # the database's URL: the file, or the PostgreSQL database pytest --store=postgresql made of it
            [sys.executable, "-c", SWEEP_SCRIPT, str(REPO), svc.db.url.render_as_string(hide_password=False), moment],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    recorded = sum(int(out.strip()) for out, _ in outputs)
    march = event_counts(svc.db, at("2026-03-01", 0), at("2026-04-01", 0))
    assert march[DEPT]["violation"] == len(numbers) and recorded == len(numbers)  # no light twice
    clk.set(at("2026-03-23"))
    assert supervision.sweep(svc).lights == {}


def test_visits_beyond_the_items_maximum_are_an_anomaly(world: Any) -> None:
    svc, _, _ = world
    assert svc.catalogue.items[CULTURE].data["visits"]["max"] == 1
    window = Actor("w", "window", DEPT)
    mat = svc.catalogue.items[CULTURE].data["materials"][0]["id"]
    data, uploads = sample_application(svc.catalogue, svc.catalogue.items[CULTURE], {})
    twice = svc.submit(CULTURE, data, uploads, Actor("zhang", "applicant"), "v1").number
    once = svc.submit(CULTURE, data, uploads, Actor("li", "applicant"), "v2").number
    # twice: told at the window what to supplement, then back at the window to be accepted
    notice = {"missing": [{"material": mat, "reason": "不清晰"}], "in_person": True}
    case = svc.act(twice, "request_supplement", window, notice, 1)
    case = svc.act(twice, "supplement", Actor("zhang", "applicant"), {"uploads": {mat: ["u"]}}, case.version)
    svc.act(twice, "accept", window, {"in_person": True}, case.version)
    svc.act(once, "accept", window, {"in_person": True}, 1)  # one visit: within the item's maximum
    march = (at("2026-03-01", 0), at("2026-04-01", 0))
    limits = max_visits_of(svc.catalogue)
    assert visits_exceeded(svc.db, limits, *march) == {DEPT: [twice]}
    assert anomaly_counts(svc.db, *march, limits)[DEPT]["visits_exceeded"] == 1


def test_anomalies_of_a_month_are_counted_exactly(world: Any) -> None:
    svc, clk, _ = world
    window, head = Actor("w", "window", DEPT), Actor("h", "head", DEPT)
    data, uploads = sample_application(svc.catalogue, svc.catalogue.items[CULTURE], {})
    deemed = svc.submit(CULTURE, data, uploads, Actor("a", "applicant"), "an1").number
    refused = svc.submit(CULTURE, data, uploads, Actor("b", "applicant"), "an2").number
    svc.act(refused, "refuse", window, {"reason": "不符合法定条件"}, 1)
    extended = accepted_case(svc, "an3")
    case = svc.act(extended, "extend", head, {"reason": "需要听证"}, 2)
    svc.act(extended, "start_special_procedure", Actor("d", "decider", DEPT), {"kind": "hearing"}, case.version)
    # the fee item: one payment one fen short is refused and recorded
    resale = "QQ-REALESTATE-DJ-102"
    rdata, rup = sample_application(svc.catalogue, svc.catalogue.items[resale], {"realestate.certificate_copies": 2})
    fee_case = svc.submit(resale, rdata, rup, Actor("c", "applicant"), "an4").number
    re_window = Actor("w", "window", "realestate")
    svc.act(fee_case, "accept", re_window, {}, 1)
    case = svc.act(fee_case, "complete_step", Actor("r", "reviewer", "realestate"), {"step": "review"}, 2)
    case = svc.act(fee_case, "complete_step", Actor("u", "undertaker", "realestate"), {"step": "tax"}, case.version)
    case = svc.act(fee_case, "assess_fee", Actor("d", "decider", "realestate"), {}, case.version)
    from engine.rules.cases.model import FeeMismatch

    with pytest.raises(FeeMismatch):
        svc.act(fee_case, "record_payment", re_window, {"amount_fen": case.assessment["total_fen"] - 1}, case.version)
    sweep_at(svc, clk, at("2026-03-16"))  # Monday: the untouched application is deemed accepted
    counts = anomaly_counts(svc.db, at("2026-03-01", 0), at("2026-04-01", 0))
    assert counts[DEPT] == {"refuse": 1, "deemed_accept": 1, "extend": 1, "start_special_procedure": 1}
    assert counts["realestate"] == {"fee_anomaly": 1}
    assert anomaly_counts(svc.db, at("2026-04-01", 0), at("2026-05-01", 0)) == {}
    assert deemed


def test_a_short_worklist_holds_the_most_urgent_cases(world: Any) -> None:
    from engine.service import worklist

    svc, clk, _ = world
    numbers = []
    for day in ("2026-03-12", "2026-03-06", "2026-03-10", "2026-03-09"):
        clk.set(at(day))
        numbers.append(accepted_case(svc, f"u{day}"))
    by_urgency = [numbers[1], numbers[3], numbers[2], numbers[0]]  # accepted earliest = due earliest
    boss = Actor("s", "supervisor")
    assert [r.number for r in worklist.for_actor(svc.db, boss, clk.now(), svc.calendar, limit=2)] == by_urgency[:2]
    undertaker = Actor("u", "undertaker", DEPT)  # the first step after acceptance (材料审查) is the undertaker's
    rows = worklist.for_actor(svc.db, undertaker, clk.now(), svc.calendar, limit=3)
    assert [r.number for r in rows] == by_urgency[:3]
    assert worklist.for_actor(svc.db, Actor("u", "undertaker", "housing"), clk.now(), svc.calendar) == []


def test_a_completed_case_keeps_its_ranking_figures(world: Any) -> None:
    svc, clk, _ = world
    number = accepted_case(svc, "rank")  # accepted Friday 03-06; promised Friday 03-20 (10 working days)
    clk.set(at("2026-03-10", 15))  # Tuesday
    case, snap = svc.load(number)
    for step in snap["item"]["steps"][1:-1]:
        who = Actor("x", step["role"], DEPT)
        if step["role"] == "decider":
            case = svc.act(number, "decide", who, {"outcome": "approve"}, case.version)
        case = svc.act(number, "complete_step", who, {"step": step["id"]}, case.version)
    svc.act(number, "complete", Actor("i", snap["item"]["steps"][-1]["role"], DEPT), {}, case.version)
    with read_only(svc.db) as conn:
        row = get_case(conn, number)
    assert row is not None
    assert (bool(row["on_time"]), bool(row["early"]), row["used_days"], row["promised_days"]) == (True, True, 2, 10)
    case, _ = svc.load(number)
    svc.act(number, "evaluate", Actor("zhang", "applicant"), {"rating": "基本满意"}, case.version)
    with read_only(svc.db) as conn:
        rated = get_case(conn, number)
    assert rated is not None and rated["rating_score"] == 50 and rated["rated_at"] == iso(clk.now())
    with read_only(svc.db) as conn:  # everyone who worked on it, with the same figures, for staff rankings
        staff = conn.execute(
            select(tables.case_staff.c.actor, tables.case_staff.c.used_days).where(
                tables.case_staff.c.case_id == row["id"]
            )
        ).all()
    assert {a for a, _ in staff} == {"w", "x", "i"} and {u for _, u in staff} == {2}


def test_a_granted_licence_not_delivered_in_10_working_days_is_flagged_once(world: Any) -> None:
    svc, clk, _ = world
    number = accepted_case(svc, "d1")  # Friday 2026-03-06
    c = svc.act(number, "complete_step", Actor("u", "undertaker", DEPT), {"step": "undertake"}, 2)
    c = svc.act(number, "complete_step", Actor("i", "inspector", DEPT), {"step": "inspect"}, c.version)
    clk.set(at("2026-03-10", 15))  # Tuesday
    c = svc.act(number, "decide", Actor("d", "decider", DEPT), {"outcome": "approve"}, c.version)
    c = svc.act(number, "complete_step", Actor("d", "decider", DEPT), {"step": "decide"}, c.version)
    # Art. 44: 10 working days after Tuesday 03-10: 11, 12, 13, 16, 17, 18, 19, 20, 23, 24 -> 03-24
    due = svc.deadlines(*svc.load(number))
    assert due.delivery is not None and due.delivery.date().isoformat() == "2026-03-24"
    assert sweep_at(svc, clk, at("2026-03-24", 20)).other.get("delivery_overdue") is None
    assert sweep_at(svc, clk, at("2026-03-25")).other["delivery_overdue"] == 1
    assert sweep_at(svc, clk, at("2026-03-26")).other.get("delivery_overdue") is None  # recorded once
    counts = anomaly_counts(svc.db, at("2026-03-01", 0), at("2026-04-01", 0))
    assert counts[DEPT]["delivery_overdue"] == 1
    svc.act(number, "complete", Actor("i", "issuer", DEPT), {}, c.version)  # issued: the clock stops
    assert svc.deadlines(*svc.load(number)).delivery is None


def test_an_acceptance_clicked_after_the_art32_period_counts_as_a_deemed_acceptance(world: Any) -> None:
    svc, clk, _ = world
    data, uploads = sample_application(svc.catalogue, svc.catalogue.items[CULTURE], {})
    number = svc.submit(CULTURE, data, uploads, Actor("a", "applicant"), "late").number  # Friday 03-06
    clk.set(at("2026-03-16"))  # the 6th working day; no sweep ran
    svc.act(number, "accept", Actor("w", "window", DEPT), {}, 1)
    counts = anomaly_counts(svc.db, at("2026-03-01", 0), at("2026-04-01", 0))
    assert counts[DEPT] == {"deemed_accept": 1}
