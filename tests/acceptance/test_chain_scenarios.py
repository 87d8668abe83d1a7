"""Approval chains as an applicant and the departments live them: the real engine (CaseService over
a SQLite file), a virtual clock moved day by day and the reference catalogue's 2026 working-day
calendar (calendar/2026.yaml: 清明 04-04..06, 劳动节 05-01..05 with make-up Saturday 05-09,
端午 06-19..21)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.base.dates import TZ
from engine.ledger import tables
from engine.ledger.db import iso, open_engine, read_only
from engine.ledger.events import EventRecord, events_of
from engine.ledger.migrations import migrate
from engine.rules import chains, clock, forms
from engine.rules.calendar import WorkCalendar
from engine.rules.cases.model import ActionRefused, Actor
from engine.rules.cases.steps import steps_of
from engine.rules.clock import ManualClock
from engine.service import chains as chain_service
from engine.service.cases import CaseService
from engine.service.samples import sample_chain_application
from engine.supervision import sweep as supervision

DESK = Actor("front", "frontdesk")
APPLICANT = Actor("wang", "applicant")


@pytest.fixture
def svc(tmp_path: Path, reference: Any) -> CaseService:
    cat = reference.catalogue
    cal = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
    db = open_engine(tmp_path / "scenarios.db")
    migrate(db)
    return CaseService(cat, db, ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=TZ)), cal)


# --------------------------------------------------------------------------- helpers


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


def manual(svc: CaseService) -> ManualClock:
    assert isinstance(svc.clock, ManualClock)
    return svc.clock


def chain_application(svc: CaseService, chain_id: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """A valid merged application: every member's sample answers, one upload per material name."""
    return sample_chain_application(svc.catalogue, svc.catalogue.chains[chain_id].data)


def construction_application(svc: CaseService) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """A project that needs the fire design review, a civil air defence basement and the fire
    acceptance: the later permits then need those results, which the chain feeds itself."""
    data, uploads = chain_application(svc, "construction")
    data["construction"] = {**data["construction"], "special_fire_project": True, "civil_defence": True}
    data["completion"] = {**data["completion"], "special_fire_project": True}
    return data, uploads


def steps_left(svc: CaseService, number: str) -> list[dict[str, Any]]:
    case, snap = svc.load(number)
    return [s for s in steps_of(snap["item"]) if s["id"] not in case.done_steps]


def immediate(svc: CaseService, number: str) -> bool:
    _case, snap = svc.load(number)
    return int(snap["item"]["time_limit"]["promised"]["value"]) == 0


def do_step(svc: CaseService, number: str, step: dict[str, Any]) -> None:
    """One department member works one step (deciding to approve at the decider's step)."""
    case, snap = svc.load(number)
    who = Actor(f"{case.department}-{step['role']}", step["role"], case.department)
    if step["role"] == "decider" and case.decision is None:
        case = svc.act(number, "decide", who, {"outcome": "approve"}, case.version)
    last = steps_of(snap["item"])[-1]["id"]
    if step["id"] == last:
        svc.act(number, "complete", who, {}, case.version)
    else:
        svc.act(number, "complete_step", who, {"step": step["id"]}, case.version)


def work(svc: CaseService, numbers: Iterable[str], first_day: date | None = None) -> datetime:
    """The departments work their cases side by side: a day item's remaining steps one working
    day each from ``first_day`` at 10:00; an immediate item's steps a quarter of an hour apart
    from now. Returns when the last step was done (the clock stays there)."""
    now = manual(svc).now()
    plan: list[tuple[datetime, int, str, dict[str, Any]]] = []
    for k, number in enumerate(numbers):
        for j, step in enumerate(steps_left(svc, number)):
            if immediate(svc, number):
                when = now + timedelta(minutes=15 * (j + 1) + k)
            else:
                assert first_day is not None
                when = at(svc.calendar.add_working_days(first_day, j) if j else first_day, 10, k)
            plan.append((when, k, number, step))
    plan.sort(key=lambda p: (p[0], p[1]))
    for when, _k, number, step in plan:
        assert when >= manual(svc).now(), "the clock only moves forward in these scenarios"
        manual(svc).set(when)
        do_step(svc, number, step)
    return manual(svc).now()


def next_working_day(svc: CaseService, moment: datetime) -> date:
    return svc.calendar.add_working_days(clock.local_date(moment), 1)


def chain_row(svc: CaseService, number: str) -> Any:
    with read_only(svc.db) as conn:
        return conn.execute(select(tables.chain_cases).where(tables.chain_cases.c.number == number)).one()


def member(svc: CaseService, number: str, code: str) -> str:
    found = [n for members in chain_service.state(svc, number).members.values() for c, n, _ in members if c == code]
    assert len(found) == 1, f"{code}: {found}"
    return found[0]


def codes(svc: CaseService, numbers: Iterable[str]) -> list[str]:
    return [svc.load(n)[0].item_code for n in numbers]


def events(svc: CaseService, number: str) -> list[EventRecord]:
    with read_only(svc.db) as conn:
        return events_of(conn, number)


# --------------------------------------------------------------------------- the construction chain

CONSTRUCTION_START = date(2026, 3, 30)  # Monday
# Chain due, promised 70 working days from the application on Mon 03-30 (the day itself not
# counted): 03-31 (1); 04-01..03 (4); 04-06 清明 off; 04-07..10 (8); 04-13..17 (13); 04-20..24 (18);
# 04-27..30 (22); 05-01..05 劳动节 off; 05-06..08 (25); Sat 05-09 make-up working day (26);
# 05-11..15 (31); 05-18..22 (36); 05-25..29 (41); 06-01..05 (46); 06-08..12 (51); 06-15..18 (55);
# 06-19 端午 off; 06-22..26 (60); 06-29..30 (62); 07-01..03 (65); 07-06..10 (70) -> Fri 2026-07-10.
CONSTRUCTION_DUE = clock.end_of_day(date(2026, 7, 10))
# Design review opens Fri 04-17 (when the planning permit and the EIA approval have both ended).
# Shared limit 15 working days: 04-20..24 (5); 04-27..30 (9); 05-01..05 off; 05-06 (10), 05-07 (11),
# 05-08 (12), Sat 05-09 make-up (13), 05-11 (14), 05-12 (15) -> end of Tue 2026-05-12
# (counting plain Monday-to-Friday weeks would wrongly give Fri 05-08).
DESIGN_REVIEW_DEADLINE = clock.end_of_day(date(2026, 5, 12))


def apply_and_reach_design_review(svc: CaseService) -> str:
    """Apply on Mon 03-30, the front desk accepts once, and every stage up to the joint design
    review is worked by its departments a working day per step (the opening of the next stage is
    checked each time). Returns the chain application's number; the clock is at Fri 04-17."""
    manual(svc).set(at(CONSTRUCTION_START, 9))
    data, uploads = construction_application(svc)
    sub = chain_service.submit(svc, "construction", data, uploads, APPLICANT, "construction-1")
    st = chain_service.state(svc, sub.number)
    assert st.due == CONSTRUCTION_DUE and (st.light, st.holding) == ("green", "filing")
    manual(svc).set(at(CONSTRUCTION_START, 9, 5))
    assert codes(svc, chain_service.accept(svc, sub.number, DESK)) == ["QQ-DRC-BA-001"]  # 统一受理, once

    filing = sub.members
    done = work(svc, filing)  # 即办: filed the same morning
    siting = chain_service.advance(svc, sub.number)
    assert codes(svc, siting) == ["QQ-NR-XK-001"]
    assert svc.load(siting[0])[0].state == "in_progress"  # arrives accepted by the front desk
    done = work(svc, siting, next_working_day(svc, done))  # 03-31 .. 04-07 (04-06 is 清明)
    assert clock.local_date(done) == date(2026, 4, 7)
    assert codes(svc, chain_service.advance(svc, sub.number)) == ["QQ-NR-XK-002"]
    done = work(svc, [member(svc, sub.number, "QQ-NR-XK-002")], next_working_day(svc, done))  # .. 04-13
    opened = chain_service.advance(svc, sub.number)
    assert sorted(codes(svc, opened)) == ["QQ-ECO-XK-001", "QQ-NR-XK-003"]  # in parallel
    done = work(svc, opened, next_working_day(svc, done))  # 04-14 .. 04-17
    assert clock.local_date(done) == date(2026, 4, 17)
    opened = chain_service.advance(svc, sub.number)
    assert sorted(codes(svc, opened)) == ["QQ-CAD-XK-001", "QQ-HOUSING-XK-001"]
    assert chain_service.state(svc, sub.number).holding == "design-review"
    return sub.number


def design_review_with_a_silent_department(svc: CaseService, number: str) -> tuple[str, str]:
    """Housing (fire design review) decides within the shared limit; civil air defence says nothing.
    Past the shared deadline the sweep records its consent. Returns (housing case, cad case)."""
    fire, shelter = member(svc, number, "QQ-HOUSING-XK-001"), member(svc, number, "QQ-CAD-XK-001")
    deadline = chain_service.joint_review_deadline(svc, chain_row(svc, number))
    assert deadline == DESIGN_REVIEW_DEADLINE
    stage = next(s for s in svc.catalogue.chains["construction"].data["stages"] if s["id"] == "design-review")
    opened = datetime.fromisoformat(chain_row(svc, number).stage_opened_at)
    assert clock.local_date(opened) == date(2026, 4, 17)
    assert clock.due(opened, stage["limit"], svc.calendar) == deadline

    done = work(svc, [fire], date(2026, 4, 20))  # 04-20 .. 04-23: decided well within the limit
    assert clock.local_date(done) == date(2026, 4, 23)
    decided, _ = svc.load(fire)
    assert (decided.state, decided.decision, decided.deemed_consent) == ("completed", "approve", False)
    assert chain_service.advance(svc, number) == []  # civil air defence has not answered

    manual(svc).set(at(date(2026, 5, 12), 17))  # the last day of the shared limit: not yet
    assert chain_service.sweep_joint_reviews(svc) == []
    assert svc.load(shelter)[0].decision is None

    manual(svc).set(at(date(2026, 5, 13), 9))  # the next morning: past the shared deadline
    assert chain_service.sweep_joint_reviews(svc) == [shelter]
    assert chain_service.sweep_joint_reviews(svc) == []  # recorded once
    silent, _ = svc.load(shelter)
    assert (silent.decision, silent.deemed_consent) == ("approve", True)
    last = events(svc, shelter)[-1]
    assert (last.action, last.actor, last.role) == ("deemed_consent", "system", "system")
    assert last.payload == {"stage": "design-review", "deadline": iso(DESIGN_REVIEW_DEADLINE)}
    assert last.at_datetime == manual(svc).now()
    assert not [e for e in events(svc, fire) if e.action == "deemed_consent"]  # housing answered itself
    return fire, shelter


def finish_after_design_review(svc: CaseService, number: str, opened: list[str]) -> None:
    """Construction permit, joint acceptance (everyone answers) and completion filing; then what
    the applicant sees at the end."""
    assert codes(svc, opened) == ["QQ-HOUSING-XK-003"]
    permit = opened[0]
    case, snap = svc.load(permit)
    # the planning permit, the fire design opinion and the civil air defence approval came from the
    # chain: never uploaded by the applicant, and the case still lacks nothing
    produced = {m["id"] for m in snap["item"]["materials"] if m.get("produced_by")}
    assert {"planning_permit", "fire_design_opinion", "civil_defence_approval"} <= produced
    assert not produced & set(case.uploads)
    _normalised, problems = forms.validate(svc.catalogue, svc.catalogue.items[case.item_code], case.data, case.uploads)
    assert [p for p in problems if p.code == "missing_material"] == []
    assert case.state == "in_progress" and case.missing == []  # accepted, no supplement asked

    done = work(svc, [permit], next_working_day(svc, manual(svc).now()))
    assert codes(svc, chain_service.advance(svc, number)) == ["QQ-HOUSING-XK-002"]
    done = work(svc, [member(svc, number, "QQ-HOUSING-XK-002")], next_working_day(svc, done))
    last_stage = chain_service.advance(svc, number)
    assert codes(svc, last_stage) == ["QQ-HOUSING-BA-001"]
    st = chain_service.state(svc, number)
    assert (st.state, st.light, st.holding) == ("open", "green", "completion-filing")
    work(svc, last_stage)  # 即办 at the window
    assert chain_service.advance_all(svc) == []

    final = chain_service.state(svc, number)
    assert final.state == "completed" and final.due == CONSTRUCTION_DUE
    every = [n for members in final.members.values() for _c, n, _s in members]
    assert len(every) == 10  # one case per member item, none filed twice
    ended = []
    for n in every:
        member_case, member_snap = svc.load(n)
        assert member_case.state == "completed", n
        has_decider = any(s["role"] == "decider" for s in steps_of(member_snap["item"]))
        assert member_case.decision == ("approve" if has_decider else None), n  # filings have no decision
        assert member_case.uploads.keys().isdisjoint(
            m["id"] for m in member_snap["item"]["materials"] if m.get("produced_by") in codes(svc, every)
        )  # no member was asked for a result the chain produced
        assert member_case.ended_at is not None
        ended.append(member_case.ended_at)
    assert max(ended) <= CONSTRUCTION_DUE  # the chain ended before its promised 70 working days


def test_construction_chain_end_to_end_where_a_silent_department_is_deemed_to_consent(svc: CaseService) -> None:
    number = apply_and_reach_design_review(svc)
    _fire, shelter = design_review_with_a_silent_department(svc, number)
    # What the applicant should see: the civil air defence office's silence counts as consent
    # (silence_is_consent: true), so the joint review is over and the construction permit opens.
    opened = chain_service.advance(svc, number)
    st = chain_service.state(svc, number)
    assert opened and st.holding == "construction-permit", (
        "deemed consent does not let the chain proceed: after sweep_joint_reviews recorded "
        f"deemed_consent on {shelter}, that case is still {svc.load(shelter)[0].state!r} and the chain "
        f"is held at {st.holding!r}; advance() waits for every member case to end"
    )
    deemed, _ = svc.load(shelter)  # the silent department's part ended with the deemed consent
    assert (deemed.state, deemed.decision, deemed.ended_at) == ("completed", "approve", at(date(2026, 5, 13), 9))
    accepted = events(svc, opened[0])[1]  # the permit arrives accepted by the front desk (统一受理)
    assert (accepted.action, accepted.actor, accepted.role) == ("accept", "front", "frontdesk")
    finish_after_design_review(svc, number, opened)


# --------------------------------------------------------------------------- the organization chain


def test_the_organization_chain_gives_five_results_from_one_set_of_materials_within_three_working_days(
    svc: CaseService,
) -> None:
    # Applied on Fri 04-03, the eve of 清明 (04-04..06 off). Promised 3 working days, the day itself
    # not counted: Tue 04-07 (1), Wed 04-08 (2), Thu 04-09 (3) -> end of Thu 2026-04-09.
    manual(svc).set(at(date(2026, 4, 3), 9))
    data, uploads = chain_application(svc, "organization")
    cat = svc.catalogue
    merged = chains.merged_form(cat, cat.chains["organization"].data)
    assert len(uploads) == len({m.name for m in merged.materials})  # one upload per material name
    assert all(len(ids) == 1 for ids in uploads.values())
    one_set = {u for ids in uploads.values() for u in ids}
    sub = chain_service.submit(svc, "organization", data, uploads, APPLICANT, "org-1")
    st = chain_service.state(svc, sub.number)
    assert st.due == clock.end_of_day(date(2026, 4, 9))
    manual(svc).set(at(date(2026, 4, 3), 9, 5))
    chain_service.accept(svc, sub.number, DESK)

    work(svc, sub.members)  # the business licence, 即办
    start_up = chain_service.advance(svc, sub.number)
    assert sorted(codes(svc, start_up)) == ["QQ-HPF-DJ-001", "QQ-HRSS-DJ-001", "QQ-PSB-BA-001", "QQ-TAX-QT-001"]
    work(svc, start_up)  # the four windows work side by side
    assert chain_service.advance_all(svc) == []

    final = chain_service.state(svc, sub.number)
    assert final.state == "completed"
    results: dict[str, str] = {}
    used: set[str] = set()
    for n in [n for members in final.members.values() for _c, n, _s in members]:
        case, snap = svc.load(n)
        item = snap["item"]
        assert case.state == "completed" and case.ended_at is not None
        assert final.due is not None and case.ended_at <= final.due
        promised = svc.deadlines(case, snap).promised
        assert promised is not None and case.ended_at <= promised  # each member on its own promise too
        assert "licence" not in case.uploads or item["code"] == "QQ-AMR-DJ-001"  # the licence came from the chain
        used |= {u for ids in case.uploads.values() for u in ids}
        results[item["code"]] = item["result"]["name"]
    assert len(results) == 5 and len(set(results.values())) == 5  # five results, one per member
    assert used <= one_set  # nothing uploaded twice or outside the one set
    shared_upload = uploads["授权委托书及经办人身份证"]  # one upload serves four members
    assert sum(svc.load(n)[0].uploads.get("agent_authorisation") == shared_upload for n in start_up) == 4


# --------------------------------------------------------------------------- silence is not consent


def reach_construction_permit(svc: CaseService) -> tuple[str, str]:
    """Both departments of the design review answer (04-20 .. 04-23); the construction permit case
    opens on Thu 04-23. Returns (chain application, permit case)."""
    number = apply_and_reach_design_review(svc)
    work(svc, [member(svc, number, "QQ-HOUSING-XK-001"), member(svc, number, "QQ-CAD-XK-001")], date(2026, 4, 20))
    opened = chain_service.advance(svc, number)
    assert codes(svc, opened) == ["QQ-HOUSING-XK-003"]
    return number, opened[0]


def test_a_silent_department_in_the_joint_acceptance_is_not_deemed_to_consent(svc: CaseService) -> None:
    number, permit = reach_construction_permit(svc)
    work(svc, [permit], date(2026, 4, 24))  # Fri 04-24 .. Mon 04-27
    acceptance = chain_service.advance(svc, number)
    assert codes(svc, acceptance) == ["QQ-HOUSING-XK-002"]
    # Joint acceptance opens Mon 04-27, shared limit 10 working days: 04-28 (1), 04-29 (2), 04-30 (3),
    # 05-01..05 off, 05-06 (4), 05-07 (5), 05-08 (6), Sat 05-09 make-up (7), 05-11 (8), 05-12 (9),
    # 05-13 (10) -> end of Wed 2026-05-13.
    deadline = chain_service.joint_review_deadline(svc, chain_row(svc, number))
    assert deadline == clock.end_of_day(date(2026, 5, 13))

    manual(svc).set(at(date(2026, 5, 14), 9))  # the fire acceptance has not answered
    assert chain_service.sweep_joint_reviews(svc) == []  # silence_is_consent: false
    assert supervision.sweep(svc).other.get("deemed_consent") is None
    silent, _ = svc.load(acceptance[0])
    assert (silent.state, silent.decision, silent.deemed_consent) == ("in_progress", None, False)
    assert "deemed_consent" not in [e.action for e in events(svc, acceptance[0])]
    st = chain_service.state(svc, number)
    assert (st.state, st.holding, st.light) == ("open", "joint-acceptance", "green")  # the chain's 70 days run on

    # the chain's own light (worklist.light, warning 1 working day) as its due date Fri 07-10 nears
    manual(svc).set(at(date(2026, 7, 8), 9))  # 2 working days left
    assert chain_service.state(svc, number).light == "green"
    manual(svc).set(at(date(2026, 7, 9), 9))  # 1 working day left
    assert (chain_service.state(svc, number).light, chain_service.state(svc, number).holding) == (
        "yellow",
        "joint-acceptance",
    )
    manual(svc).set(at(date(2026, 7, 13), 9))  # past the due date
    late = chain_service.state(svc, number)
    assert (late.state, late.light, late.holding) == ("open", "red", "joint-acceptance")
    assert chain_service.sweep_joint_reviews(svc) == []  # still never deemed
    assert svc.load(acceptance[0])[0].decision is None


def test_the_construction_permit_is_not_issued_before_it_is_decided(svc: CaseService) -> None:
    # The permit's last step is the decider's (accept -> review -> decide): "complete" at that step
    # must need the decision, as complete_step does for a "decide" step elsewhere.
    number, permit = reach_construction_permit(svc)
    manual(svc).set(at(date(2026, 4, 24), 10))
    case = svc.load(permit)[0]
    case = svc.act(permit, "complete_step", Actor("housing-r", "reviewer", "housing"), {"step": "review"}, case.version)
    manual(svc).set(at(date(2026, 4, 27), 10))
    try:
        case = svc.act(permit, "complete", Actor("housing-d", "decider", "housing"), {}, case.version)
    except ActionRefused:
        case = svc.load(permit)[0]
    assert not (case.state == "completed" and case.decision is None), (
        f"the construction permit {permit} was completed with no decision recorded (decision None): "
        "cases.decide() lets 'complete' close an item whose last step is the decider's without a decide"
    )
    assert chain_service.advance(svc, number) == []  # joint acceptance never opens on an undecided permit
