"""Complaints found justified in the monthly ranking: each one against a department takes appeals/kinds.yaml's
``ranking.justified_weight`` off that department's score for the month it was found so — and nothing else
does (a complaint found not justified, a kind the ranking does not count, one naming no department)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from support.cases import worked

from engine.base.dates import TZ
from engine.rules.cases.model import Actor
from engine.service import appeals
from engine.service.cases import CaseService
from engine.supervision import rankings
from engine.supervision.appeal_counts import appeal_counts

OFFICE = Actor("window.complaints", "window", "complaints")
SEAL = "QQ-PSB-BA-001"  # psb
CULTURE = "QQ-CULTURE-XK-101"  # culture
MARCH = "2026-03"


def judged(svc: CaseService, kind: str, verdict: str, named_department: str = "") -> str:
    """An appeal of ``kind`` naming ``named_department``, answered by the office and found ``verdict``."""
    filing = appeals.Filing(kind, "窗口推诿", "多次往返", "李四", "13912345678", named_department=named_department)
    number, _code = appeals.file(svc, filing)
    appeals.act(svc, number, OFFICE, "answer", 1, {"text": "已核实"})
    appeals.act(svc, number, OFFICE, "verdict", 2, {"verdict": verdict})
    return number


def departments(svc: CaseService, appeals_data: Any) -> dict[str, rankings.Row]:
    ranked = rankings.month(svc.db, svc.calendar, svc.catalogue.center, MARCH, appeals_data)
    return {r.name: r for r in ranked["department"]}


@pytest.fixture
def svc(case_service: CaseService) -> CaseService:
    worked(case_service, SEAL, "seal")
    worked(case_service, CULTURE, "culture")
    return case_service


def test_the_reference_weight_is_2_points_for_complaints_only(svc: CaseService) -> None:
    rule = rankings.complaint_rule(svc.catalogue.appeals.data)  # type: ignore[union-attr]
    assert rule == rankings.ComplaintRule(2.0, frozenset({"complaint"}))
    assert rankings.complaint_rule(None) == rankings.ComplaintRule()


def test_a_justified_complaint_takes_the_weight_off_its_department(svc: CaseService) -> None:
    data = svc.catalogue.appeals.data  # type: ignore[union-attr]
    before = departments(svc, data)
    judged(svc, "complaint", "justified", "culture")
    judged(svc, "complaint", "justified", "culture")
    after = departments(svc, data)
    culture, psb = after["culture"], after["psb"]
    assert before["culture"].score is not None and culture.score is not None
    assert (culture.justified, culture.deduction) == (2, 4.0)
    assert culture.score == pytest.approx(before["culture"].score - 2 * 2)
    assert psb.score == before["psb"].score and (psb.justified, psb.deduction) == (0, 0.0)
    assert culture.as_dict()["justified_complaints"] == 2 and culture.as_dict()["complaint_deduction"] == 4.0
    # the same database without the weight (no appeals file): the complaints count for nothing
    assert departments(svc, None)["culture"].score == before["culture"].score


def test_enough_justified_complaints_drop_a_department_below_another(svc: CaseService) -> None:
    data = svc.catalogue.appeals.data  # type: ignore[union-attr]
    before = departments(svc, data)
    top, other = sorted(before.values(), key=lambda r: r.rank)[:2]
    assert top.score is not None and other.score is not None
    needed = int((top.score - other.score) // 2) + 1  # 2 points each
    for _ in range(needed):
        judged(svc, "complaint", "justified", top.name)
    after = departments(svc, data)
    assert after[top.name].rank == 2 and after[other.name].rank == 1
    assert after[top.name].score == pytest.approx(max(0.0, top.score - 2 * needed))


def test_nothing_else_changes_the_ranking(svc: CaseService) -> None:
    data = svc.catalogue.appeals.data  # type: ignore[union-attr]
    before = {n: (r.score, r.rank) for n, r in departments(svc, data).items()}
    judged(svc, "complaint", "not_justified", "culture")
    judged(svc, "report", "justified", "culture")  # 举报: judged too, but not a kind the ranking counts
    judged(svc, "complaint", "justified")  # against no department
    corrected = judged(svc, "complaint", "justified", "psb")
    appeals.act(svc, corrected, OFFICE, "verdict", 3, {"verdict": "not_justified"})  # the office corrects it
    after = departments(svc, data)
    assert {n: (r.score, r.rank) for n, r in after.items()} == before
    assert all(r.justified == 0 for r in after.values())
    # the dashboard's count is of every judged kind, against the department named (else the handler)
    counts = appeal_counts(svc.db, datetime(2026, 3, 1, tzinfo=TZ), datetime(2026, 4, 1, tzinfo=TZ))
    assert (counts["culture"]["justified"], counts["complaints"]["justified"]) == (1, 1)
    assert "psb" not in counts or counts["psb"]["justified"] == 0


def test_a_complaint_counts_once_in_the_month_it_was_last_found_justified(svc: CaseService) -> None:
    data = svc.catalogue.appeals.data  # type: ignore[union-attr]
    number = judged(svc, "complaint", "justified", "culture")
    appeals.act(svc, number, OFFICE, "verdict", 3, {"verdict": "justified"})  # said again: still one complaint
    assert departments(svc, data)["culture"].justified == 1
    late = judged(svc, "complaint", "not_justified", "psb")
    svc.clock.set(datetime(2026, 4, 1, 0, 10, tzinfo=TZ))  # type: ignore[attr-defined]  # just into April, Beijing time
    appeals.act(svc, late, OFFICE, "verdict", 3, {"verdict": "justified"})
    assert departments(svc, data)["psb"].justified == 0
    april = rankings.month(svc.db, svc.calendar, svc.catalogue.center, "2026-04", data)["department"]
    assert [(r.name, r.justified, r.score) for r in april] == [("psb", 1, None)]  # no cases in April: unscored
