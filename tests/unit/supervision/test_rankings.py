"""Monthly rankings on a small fixture whose figures are worked out by hand below."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from support import postgres
from support.cases import worked

from engine.base.dates import TZ
from engine.check.pipeline import load
from engine.ledger import tables
from engine.ledger.cases import create_case, record_case_staff
from engine.ledger.db import iso, open_engine, read_only
from engine.ledger.events import append_event
from engine.ledger.migrations import MIGRATIONS, migrate
from engine.rules.calendar import WorkCalendar
from engine.supervision import rankings

WEIGHTS = {"on_time_rate": 35, "early_rate": 10, "time_used": 10, "satisfaction": 25, "lights": 10, "corrections": 10}
CENTER = {"supervision": {"ranking": {"weights": WEIGHTS}}}
CAL = WorkCalendar.from_documents(
    [d.data for d in load(Path(__file__).resolve().parents[3]).catalogue.calendars.values()]
)


def t(day: str, hour: int = 10) -> datetime:
    y, m, d = (int(x) for x in day.split("-"))
    return datetime(y, m, d, hour, 0, tzinfo=TZ)


def end_of(day: str) -> datetime:
    y, m, d = (int(x) for x in day.split("-"))
    return datetime(y, m, d, 23, 59, 59, 999999, tzinfo=TZ)


@pytest.fixture
def db(tmp_path: Path) -> Any:
    engine = open_engine(tmp_path / "rank.db")
    migrate(engine)
    return engine


def case(db: Any, number: str, dept: str, staff: str, *, state: str, accepted: str, ended: str, due: str,
         rating: str | None = None) -> int:  # fmt: skip
    with db.begin() as conn:
        case_id, _ = create_case(
            conn,
            number=number,
            query_code="1",
            item_code="X",
            catalogue_version="v",
            state="submitted",
            data={},
            at=t(accepted, 9),
            actor="applicant",
            role="applicant",
            payload={},
            department=dept,
        )
        append_event(
            conn,
            case_id=case_id,
            case_number=number,
            expected_version=1,
            at=t(accepted),
            actor=staff,
            role="window",
            action="accept",
            payload={},
            catalogue_version="v",
            state_update={},
        )
        version = 2
        if rating:
            append_event(
                conn,
                case_id=case_id,
                case_number=number,
                expected_version=2,
                at=t(ended, 15),
                actor="applicant",
                role="applicant",
                action="evaluate",
                payload={"rating": rating},
                catalogue_version="v",
                state_update={},
            )
            version = 3
        conn.execute(
            update(tables.cases)
            .where(tables.cases.c.id == case_id)
            .values(
                state=state,
                accepted_at=iso(t(accepted)),
                ended_at=iso(t(ended)),
                due_promised=iso(end_of(due)),
                # what the engine stores when a case is rated and when it ends (test_supervision.py)
                rating_score=rankings.RATING_SCORE.get(rating or ""),
                rated_at=iso(t(ended, 15)) if rating else None,
                **(
                    {
                        "on_time": t(ended) <= end_of(due),
                        "early": ended < due,
                        "used_days": CAL.working_days_between(t(accepted).date(), t(ended).date()),
                        "promised_days": CAL.working_days_between(t(accepted).date(), end_of(due).date()),
                    }
                    if state == "completed"
                    else {}
                ),
            )
        )
        assert version
        facts = conn.execute(select(tables.cases).where(tables.cases.c.id == case_id)).mappings().one()
        record_case_staff(  # what the engine writes when a case ends
            conn,
            case_id,
            {
                "department": dept,
                "ended_at": facts["ended_at"],
                "completed": state == "completed",
                "minute_limit": False,
                **{k: facts[k] for k in ("on_time", "early", "used_days", "promised_days")},
            },
        )
    return case_id


def light(db: Any, case_id: int, dept: str, kind: str, day: str) -> None:
    with db.begin() as conn:
        conn.execute(
            insert(tables.supervision_events).values(
                case_id=case_id, department=dept, kind=kind, key=f"{kind}:{case_id}", at=iso(t(day)), detail="{}"
            )
        )


def test_rankings_by_hand(db: Any, reference: Any) -> None:
    cal = WorkCalendar.from_documents([d.data for d in reference.catalogue.calendars.values()])
    # alpha: a1 done a day early, a2 done on the deadline day, a3 refused; ratings 满意 75 and 非常满意 100
    case(db, "A1", "alpha", "w.alpha", state="completed", accepted="2026-03-02", ended="2026-03-05", due="2026-03-06",
         rating="满意")  # fmt: skip
    a2 = case(db, "A2", "alpha", "w.alpha", state="completed", accepted="2026-03-09", ended="2026-03-13",
              due="2026-03-13", rating="非常满意")  # fmt: skip
    case(db, "A3", "alpha", "w.alpha", state="refused", accepted="2026-03-09", ended="2026-03-10", due="2026-03-20")
    light(db, a2, "alpha", "warning", "2026-03-12")
    # beta: b1 done two working days late, with a red light
    b1 = case(
        db, "B1", "beta", "d.beta", state="completed", accepted="2026-03-02", ended="2026-03-10", due="2026-03-06"
    )
    light(db, b1, "beta", "violation", "2026-03-09")
    # outside the month: must not count
    case(db, "C1", "beta", "d.beta", state="completed", accepted="2026-02-23", ended="2026-02-27", due="2026-02-27")
    with db.begin() as conn:
        conn.execute(
            insert(tables.corrections).values(
                department="alpha",
                card="yellow",
                reason="r",
                issued_by="s",
                issued_at=iso(t("2026-03-11")),
                respond_by=iso(t("2026-03-18")),
            )
        )

    result = rankings.month(db, cal, CENTER, "2026-03")
    alpha, beta = result["department"]
    assert (alpha.name, alpha.rank, beta.name, beta.rank) == ("alpha", 1, "beta", 2)
    # alpha: handled 3, completed 2; on time 2/2 = 100; early 1/2 = 50; used 3 + 4 = 7 of promised
    # 4 + 4 = 8 working days -> 12.5; satisfaction (75 + 100) / 2 = 87.5; lights 1/3 -> 66.67;
    # corrections 1/3 -> 66.67; score (3500 + 500 + 125 + 2187.5 + 666.67 + 666.67) / 100
    assert (alpha.handled, alpha.completed, alpha.used_days, alpha.promised_days) == (3, 2, 7, 8)
    assert alpha.measures == {
        "on_time_rate": 100.0, "early_rate": 50.0, "time_used": 12.5, "satisfaction": 87.5,
        "lights": 66.67, "corrections": 66.67,
    }  # fmt: skip
    assert alpha.score == pytest.approx(76.4583, abs=1e-3)
    # beta: 1 handled, late: on time 0, early 0, used 6 of 4 -> 0, no ratings (left out), lights
    # 1/1 -> 0, corrections none -> 100; score 1000 / 75 (weights of the measures with data)
    assert (beta.used_days, beta.promised_days) == (6, 4)
    assert "satisfaction" not in beta.measures
    assert beta.score == pytest.approx(13.3333, abs=1e-3)
    staff = {r.name: r for r in result["staff"]}
    assert set(staff) == {"w.alpha", "d.beta"}  # the applicant is not staff
    # w.alpha: as alpha without the corrections measure: 6979.17 / 90
    assert staff["w.alpha"].score == pytest.approx(77.5463, abs=1e-3) and staff["w.alpha"].rank == 1
    exported = alpha.as_dict()
    assert exported["on_time_rate"] == 1.0 and exported["satisfaction"] == 87.5 and exported["immediate_share"] == 0.0


def test_weights_come_from_the_center(db: Any, reference: Any) -> None:
    cal = WorkCalendar.from_documents([d.data for d in reference.catalogue.calendars.values()])
    case(db, "A1", "alpha", "w", state="completed", accepted="2026-03-02", ended="2026-03-05", due="2026-03-06")
    only_early = {"supervision": {"ranking": {"weights": {"early_rate": 1}}}}
    (alpha,) = rankings.month(db, cal, only_early, "2026-03")["department"]
    assert alpha.score == 100.0
    assert rankings.weights_of(reference.catalogue.center) == WEIGHTS  # the reference center's formula


SEAL = "QQ-PSB-BA-001"  # promised 0 working days: an immediate item (即办件); steps in minutes
CULTURE = "QQ-CULTURE-XK-101"  # promised 10 working days


def served(tmp_path: Path, reference: Any) -> Any:
    from engine.rules.clock import ManualClock
    from engine.service.cases import CaseService

    db = open_engine(tmp_path / "served.db")
    migrate(db)
    return CaseService(reference.catalogue, db, ManualClock(t("2026-03-06")), CAL)


def test_the_immediate_share_counts_items_promised_in_0_working_days(tmp_path: Path, reference: Any) -> None:
    promised = reference.catalogue.items[SEAL].data["time_limit"]["promised"]
    assert (promised["value"], promised["unit"]) == (0, "working_day")  # not in minutes: no minute_limit
    svc = served(tmp_path, reference)
    worked(svc, SEAL, "seal-1")
    worked(svc, SEAL, "seal-2")
    worked(svc, CULTURE, "culture-1")
    ranked = rankings.month(svc.db, CAL, reference.catalogue.center, "2026-03")
    departments = {r.name: r.as_dict() for r in ranked["department"]}
    # psb: 2 completed, both immediate -> 2/2; culture: 1 completed, promised 10 working days -> 0/1
    assert departments["psb"]["immediate_share"] == 1.0 and departments["culture"]["immediate_share"] == 0.0
    staff = {r.name: r.as_dict() for r in ranked["staff"]}
    assert staff["window.psb"]["immediate_share"] == 1.0 and staff["window.culture"]["immediate_share"] == 0.0


def test_existing_cases_get_the_immediate_mark_from_their_pinned_snapshot(tmp_path: Path, reference: Any) -> None:
    svc = served(tmp_path, reference)
    seal, culture = worked(svc, SEAL, "seal"), worked(svc, CULTURE, "culture")
    with svc.db.begin() as conn:  # the database as migration 16 left it: no immediate columns
        for index in ("ix_cases_ended_ranking", "ix_case_staff_ended_ranking"):
            conn.exec_driver_sql(f"DROP INDEX {index}")
        conn.exec_driver_sql("ALTER TABLE cases DROP COLUMN immediate")
        conn.exec_driver_sql("ALTER TABLE case_staff DROP COLUMN immediate")
        conn.exec_driver_sql(
            "CREATE INDEX ix_cases_ended_rank ON cases (ended_at, department, state, on_time, early, minute_limit,"
            " used_days, promised_days, id)"
        )
        conn.exec_driver_sql("DELETE FROM schema_migrations WHERE version >= 17")  # and every later one
    assert migrate(svc.db) == len(MIGRATIONS)
    with read_only(svc.db) as conn:
        marks = dict(conn.execute(select(tables.cases.c.number, tables.cases.c.immediate)).all())
        staff = set(conn.execute(select(tables.case_staff.c.actor).where(tables.case_staff.c.immediate.is_(True))))
        indexes = postgres.schema_names(conn, "index")
    assert marks == {seal: True, culture: False}
    assert staff == {("window.psb",)}  # the seal filing's one clerk accepts and completes it
    assert "ix_cases_ended_ranking" in indexes and "ix_cases_ended_rank" not in indexes
    departments = {r.name: r.as_dict() for r in rankings.month(svc.db, CAL, None, "2026-03")["department"]}
    assert departments["psb"]["immediate_share"] == 1.0
