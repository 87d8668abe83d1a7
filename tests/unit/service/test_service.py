"""The case service end to end on a real SQLite file, a manual clock and the reference catalogue."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Engine

from engine.base.dates import TZ
from engine.check.pipeline import load
from engine.ledger.cases import get_case
from engine.ledger.db import iso, open_engine, read_only
from engine.ledger.errors import VersionConflict
from engine.ledger.events import events_of
from engine.rules.calendar import WorkCalendar
from engine.rules.cases.model import ActionRefused, Actor, FeeMismatch
from engine.rules.cases.steps import open_steps
from engine.rules.clock import ManualClock
from engine.service.cases import CaseService, SubmissionInvalid
from engine.service.samples import sample_application
from engine.supervision import audit

REPO = Path(__file__).resolve().parents[3]
RESALE = "QQ-REALESTATE-DJ-102"
APPLICANT = Actor("zhang", "applicant")


def staff(role: str, dept: str = "realestate") -> Actor:
    return Actor(f"{role}@{dept}", role, dept)


@pytest.fixture
def world(case_service: CaseService) -> tuple[CaseService, ManualClock, Engine]:
    return case_service, cast(ManualClock, case_service.clock), case_service.db  # Friday 2026-03-06 09:00


def submit(svc: CaseService, code: str = RESALE, key: str = "k1", **choices: Any) -> str:
    cat = svc.catalogue
    data, uploads = sample_application(cat, cat.items[code], choices)
    return svc.submit(code, data, uploads, APPLICANT, key).number


def step(svc: CaseService, number: str, action: str, actor: Actor, **payload: Any) -> Any:
    case, _ = svc.load(number)
    return svc.act(number, action, actor, payload, case.version)


def test_lifecycle_with_exact_fee_gate_and_a_verifiable_record(world) -> None:  # type: ignore[no-untyped-def]
    svc, _clk, db = world
    number = submit(svc, **{"realestate.use": "residential", "realestate.certificate_copies": 3})
    step(svc, number, "accept", staff("window"))
    step(svc, number, "complete_step", staff("reviewer"), step="review")
    step(svc, number, "complete_step", staff("undertaker"), step="tax")
    case = step(svc, number, "assess_fee", staff("decider"))
    assert case.assessment["total_fen"] == 10000  # 80 + 2 extra certificates x 10
    step(svc, number, "decide", staff("decider"), outcome="approve")
    step(svc, number, "complete_step", staff("decider"), step="decide")
    for wrong in (9999, 10001):
        with pytest.raises(FeeMismatch, match=r"核定 100\.00 元"):
            step(svc, number, "record_payment", staff("window"), amount_fen=wrong)
    with pytest.raises(ActionRefused, match="足额缴费"):
        step(svc, number, "complete", staff("issuer"))
    step(svc, number, "record_payment", staff("window"), amount_fen=10000)
    case = step(svc, number, "complete", staff("issuer"))
    assert case.state == "completed"
    rebuilt, _ = svc.load(number, fresh=True)  # from the stored events alone
    assert rebuilt == case
    assert [a["attempted_fen"] for a in rebuilt.fee_anomalies] == [9999, 10001]
    with read_only(db) as conn:
        row = get_case(conn, number)
        actions = [e.action for e in events_of(conn, number)]
    assert row is not None and row["state"] == rebuilt.state == "completed"
    assert row["version"] == rebuilt.version == len(actions)
    assert actions.count("fee_anomaly") == 2
    report = audit.verify(db)
    assert report.ok, report.render()


def test_submission_errors_all_at_once(world) -> None:  # type: ignore[no-untyped-def]
    svc, _, _ = world
    with pytest.raises(SubmissionInvalid) as info:
        svc.submit(RESALE, {}, {}, APPLICANT, "k")
    assert len(info.value.errors) > 3


def test_idempotent_submission(world) -> None:  # type: ignore[no-untyped-def]
    svc, _, db = world
    first = submit(svc, key="same")
    again = submit(svc, key="same")
    assert first == again
    with read_only(db) as conn:
        assert conn.exec_driver_sql("select count(*) from cases").scalar() == 1


def test_stale_version_is_a_conflict(world) -> None:  # type: ignore[no-untyped-def]
    svc, _, _ = world
    number = submit(svc)
    svc.act(number, "accept", staff("window"), {}, 1)
    with pytest.raises(VersionConflict):
        svc.act(number, "complete_step", staff("reviewer"), {"step": "review"}, 1)


def test_a_case_another_process_moved_on_is_a_conflict_then_acts_from_the_stored_row(world) -> None:  # type: ignore[no-untyped-def]
    """A service remembers the row it last wrote (it skips reading it back); another process (a second
    service on the same database) acting meanwhile makes the remembered row stale: the stale action is a
    VersionConflict, the retry with the version now stored reads the row, and the record and the row's
    worklist columns are what a fresh fold gives."""
    svc, clk, db = world
    other = CaseService(svc.catalogue, db, clk, svc.calendar)
    number = submit(svc)
    svc.act(number, "accept", staff("window"), {}, 1)  # svc now remembers version 2
    other.act(number, "complete_step", staff("reviewer"), {"step": "review"}, 2)
    with pytest.raises(VersionConflict):
        svc.act(number, "complete_step", staff("undertaker"), {"step": "tax"}, 2)
    case = svc.act(number, "complete_step", staff("undertaker"), {"step": "tax"}, 3)
    assert case.version == 4 and case.done_steps[-2:] == ["review", "tax"]
    rebuilt, snap = other.load(number, fresh=True)
    assert rebuilt == case
    with read_only(db) as conn:
        row = get_case(conn, number)
    assert row is not None
    expected = svc.worklist(rebuilt, snap)
    assert row["version"] == 4 and row["state"] == rebuilt.state
    assert (row["current_step"], row["assignee_role"]) == (expected["current_step"], expected["assignee_role"])
    assert audit.verify(db).ok


def test_deemed_acceptance_on_the_sixth_working_day(world) -> None:  # type: ignore[no-untyped-def]
    svc, clk, _ = world
    number = submit(svc)  # Friday 2026-03-06; 5 working days end on Friday 03-13
    clk.set(datetime(2026, 3, 13, 16, 0, tzinfo=TZ))
    assert svc.sweep() == []
    clk.set(datetime(2026, 3, 16, 8, 0, tzinfo=TZ))  # Monday: the 6th working day
    assert svc.sweep() == [number]
    assert svc.sweep() == []  # idempotent
    case, _ = svc.load(number)
    assert case.deemed_accepted and case.accepted_at == datetime(2026, 3, 6, 9, 0, tzinfo=TZ)


def test_supplement_notice_stops_deemed_acceptance(world) -> None:  # type: ignore[no-untyped-def]
    svc, clk, _ = world
    number = submit(svc)
    mat = svc.catalogue.items[RESALE].data["materials"][0]["id"]
    step(svc, number, "request_supplement", staff("window"), missing=[{"material": mat, "reason": "不清晰"}])
    clk.set(datetime(2026, 3, 20, 9, 0, tzinfo=TZ))
    assert svc.sweep() == []


def test_after_a_supplement_the_completeness_period_runs_again_but_is_never_deemed(world) -> None:  # type: ignore[no-untyped-def]
    svc, clk, _ = world
    number = submit(svc)  # Friday 2026-03-06
    mat = svc.catalogue.items[RESALE].data["materials"][0]["id"]
    step(svc, number, "request_supplement", staff("window"), missing=[{"material": mat, "reason": "不清晰"}])
    clk.set(datetime(2026, 3, 10, 10, 0, tzinfo=TZ))  # Tuesday: the applicant supplements
    case, _ = svc.load(number)
    svc.act(number, "supplement", APPLICANT, {"uploads": {mat: ["sample-again"]}}, case.version)
    case, snap = svc.load(number)
    due = svc.deadlines(case, snap).completeness
    assert case.state == "submitted" and due is not None
    assert due.astimezone(TZ).date().isoformat() == "2026-03-17"  # five working days after Tuesday 03-10
    clk.set(datetime(2026, 3, 18, 9, 0, tzinfo=TZ))
    assert svc.sweep() == []  # the one-time notice was given: overdue for supervision, not deemed accepted


def test_the_center_may_shorten_the_completeness_period(world, reference) -> None:  # type: ignore[no-untyped-def]
    svc, _, _ = world
    import dataclasses

    center = dict(reference.catalogue.center) | {"supervision": {"completeness_working_days": 3}}
    short = CaseService(dataclasses.replace(reference.catalogue, center=center), svc.db, svc.clock, svc.calendar)
    number = submit(short, key="short")  # Friday 03-06 + 3 working days = Wednesday 03-11
    case, snap = short.load(number)
    due = short.deadlines(case, snap).completeness
    assert due is not None and due.astimezone(TZ).date().isoformat() == "2026-03-11"


def test_a_deadline_in_a_year_without_calendar_is_provisional_and_stored_with_its_mark(world) -> None:  # type: ignore[no-untyped-def]
    """Late in December the deadlines that fall into next year are counted provisionally from the
    statutory holidays (tests/web/test_year_end.py follows them onto every page)."""
    svc, clk, db = world
    clk.set(datetime(2026, 12, 21, 9, 0, tzinfo=TZ))  # a Monday; 2027 has no calendar
    number = submit(svc, code="QQ-CULTURE-XK-101", key="dec")
    dept = svc.catalogue.items["QQ-CULTURE-XK-101"].data["department"]
    step(svc, number, "accept", Actor("w", "window", dept))
    dl = svc.deadlines(*svc.load(number))
    # promised 10 from Monday 12-21: 12-22..25 (4), 12-28..31 (8), [01-01 元旦], 01-04 (9), Tuesday 01-05 (10)
    assert dl.promised is not None and dl.promised.date().isoformat() == "2027-01-05"
    assert dl.provisional_from == 2027 and dl.is_provisional(dl.promised)
    with read_only(db) as conn:
        row = get_case(conn, number)
    assert row is not None and row["provisional_from"] == 2027 and row["due_promised"] is not None


def test_a_deadline_no_calendar_counts_is_unknown_and_the_case_goes_on(world) -> None:  # type: ignore[no-untyped-def]
    """With a strict calendar (no provisional years), a deadline in a year without its file stays
    unknown (None), and acting on the case still works."""
    svc, clk, db = world
    strict = WorkCalendar.from_documents([d.data for d in svc.catalogue.calendars.values()], provisional=False)
    svc = CaseService(svc.catalogue, db, clk, strict)
    clk.set(datetime(2026, 12, 21, 9, 0, tzinfo=TZ))
    number = submit(svc, code="QQ-CULTURE-XK-101", key="dec")
    dept = svc.catalogue.items["QQ-CULTURE-XK-101"].data["department"]
    case = step(svc, number, "accept", Actor("w", "window", dept))
    assert case.state == "in_progress"
    dl = svc.deadlines(*svc.load(number))
    assert dl.promised is None and dl.legal is None and dl.provisional_from is None
    with read_only(db) as conn:
        row = get_case(conn, number)
    assert row is not None and row["due_promised"] is None and row["state"] == "in_progress"


def test_running_case_keeps_its_catalogue_version(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    svc, clk, db = world
    number = submit(svc)
    step(svc, number, "accept", staff("window"))
    case, snap = svc.load(number)
    before = svc.deadlines(case, snap)
    # the administrator shortens the promised limit and then deletes the item altogether
    copy = tmp_path / "catalogue"
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(".venv", ".git", "var", "bench", "tests"))
    (copy / "items" / "realestate" / "transfer-registration-resale-housing.yaml").unlink()
    edited = load(copy)
    svc2 = CaseService(edited.catalogue, db, clk, svc.calendar)
    case2, snap2 = svc2.load(number)
    assert snap2["item"]["time_limit"] == snap["item"]["time_limit"]
    assert svc2.deadlines(case2, snap2) == before
    svc2.act(number, "complete_step", staff("reviewer"), {"step": "review"}, case2.version)


def test_promised_deadline_runs_from_acceptance(world) -> None:  # type: ignore[no-untyped-def]
    svc, _, _ = world
    number = submit(svc, code="QQ-CULTURE-XK-101", key="c1")
    item = svc.catalogue.items["QQ-CULTURE-XK-101"].data
    step(svc, number, "accept", Actor("w", "window", item["department"]))
    case, snap = svc.load(number)
    dl = svc.deadlines(case, snap)
    # accepted Friday 2026-03-06; promised 10 working days -> Friday 03-20, legal 20 -> Friday 04-03
    assert dl.promised is not None and dl.promised.date().isoformat() == "2026-03-20"
    assert dl.legal is not None and dl.legal.date().isoformat() == "2026-04-03"


def test_worklist_columns_follow_the_case(world) -> None:  # type: ignore[no-untyped-def]
    """The query table answers "whose turn, due when" without replaying events."""
    svc, _, db = world
    code = "QQ-CULTURE-XK-101"
    number = submit(svc, code=code, key="w1")
    dept = svc.catalogue.items[code].data["department"]

    def row() -> dict[str, Any]:
        with read_only(db) as conn:
            found = get_case(conn, number)
        assert found is not None
        return found

    first = row()
    # received Friday 2026-03-06: accept, refuse or notify by the 5th working day (Friday 03-13)
    assert first["state"] == "submitted" and first["assignee_role"] == "window"
    assert first["due_completeness"].startswith("2026-03-13") and first["due_promised"] is None
    step(svc, number, "accept", Actor("w", "window", dept))
    accepted = row()
    case, snap = svc.load(number)
    dl = svc.deadlines(case, snap)
    assert accepted["due_completeness"] is None
    assert accepted["due_promised"] == iso(dl.promised) and accepted["due_legal"] == iso(dl.legal)
    open_now = [s["id"] for s in open_steps(case, snap["item"])]
    assert accepted["current_step"] == ",".join(open_now) and accepted["current_step"] != first["current_step"]


def test_two_staff_completing_the_same_step_at_once(world) -> None:  # type: ignore[no-untyped-def]
    import threading

    svc, clk, db = world
    number = submit(svc)
    step(svc, number, "accept", staff("window"))
    version = svc.load(number)[0].version
    # two server processes (separate services and caches) on one database
    url = db.url.render_as_string(hide_password=False)  # the same database, whichever store
    others = [CaseService(svc.catalogue, open_engine(url), clk, svc.calendar) for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def work(s: CaseService) -> None:
        barrier.wait()
        try:
            s.act(number, "complete_step", staff("reviewer"), {"step": "review"}, version)
            outcomes.append("ok")
        except VersionConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=work, args=(s,)) for s in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["conflict", "ok"]
    case, _ = svc.load(number, fresh=True)
    assert case.done_steps.count("review") == 1 and audit.verify(db).ok


def test_two_requests_in_one_process_acting_at_once_on_the_case_it_wrote_last(world) -> None:  # type: ignore[no-untyped-def]
    """One server process (one service, two threads) that wrote a case last starts both actions from the row
    it remembers, without reading it (on PostgreSQL each is then a single statement, its own transaction):
    still exactly one succeeds, the other is a VersionConflict, and the record verifies."""
    import threading

    svc, _, db = world
    number = submit(svc)
    svc.act(number, "accept", staff("window"), {}, 1)  # remembered: version 2, written by this process
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def work() -> None:
        barrier.wait()
        try:
            svc.act(number, "complete_step", staff("reviewer"), {"step": "review"}, 2)
            outcomes.append("ok")
        except VersionConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["conflict", "ok"]
    case, _ = svc.load(number, fresh=True)
    assert case.version == 3 and case.done_steps.count("review") == 1
    report = audit.verify(db)
    assert report.ok, report.render()
