"""The public monthly summary of requests, complaints and appointments: its figures for a month with known
appeals and bookings, and that it carries counts and catalogue names only."""

from __future__ import annotations

from support.summary import SECRETS, known_month

from engine.service.cases import CaseService
from engine.supervision import public_summary


def test_the_figures_of_a_known_month(case_service: CaseService) -> None:
    svc = case_service
    known_month(svc)
    rows = public_summary.appeal_rows(svc.db, svc.catalogue.center, svc.catalogue.appeal_kinds(), "2026-03")
    by = {(r["scope"], r["name"]): {k: v for k, v in r.items() if k not in ("month", "scope", "name")} for r in rows}
    figures = ("filed", "answered", "answered_on_time", "on_time_rate", "rated", "satisfaction", "justified_complaints")
    assert by[("all", "")] == dict(zip(figures, (3, 1, 1, 1.0, 1, 75.0, 1), strict=True))  # 满意 is 75 points
    assert by[("kind", "投诉")] == dict(zip(figures, (1, 1, 1, 1.0, 1, 75.0, 1), strict=True))
    assert by[("kind", "咨询")]["filed"] == 1 and by[("kind", "举报")]["filed"] == 1
    assert by[("kind", "举报")]["on_time_rate"] is None and by[("kind", "举报")]["satisfaction"] is None
    # the office handles the complaint and the report, amr its enquiry; the justified complaint counts
    # against culture, the department it named
    office = by[("department", "齐齐哈尔市政务服务中心督办投诉科")]
    assert (office["filed"], office["answered"], office["justified_complaints"]) == (2, 1, 0)
    assert by[("department", "齐齐哈尔市市场监督管理局")]["filed"] == 1
    culture = by[("department", "齐齐哈尔市文化广电和旅游局")]
    assert (culture["filed"], culture["justified_complaints"]) == (0, 1)
    assert [r["scope"] for r in rows][:4] == ["all", "kind", "kind", "kind"]  # the total, then kinds in file order
    assert [r["name"] for r in rows if r["scope"] == "kind"] == ["咨询", "投诉", "举报"]
    assert public_summary.appeal_rows(svc.db, svc.catalogue.center, svc.catalogue.appeal_kinds(), "2026-04") == []
    text = repr(rows)
    assert not [s for s in SECRETS if s in text]


def test_bookings_per_department(case_service: CaseService) -> None:
    svc = case_service
    known_month(svc)
    rows = public_summary.booking_rows(svc.db, svc.catalogue.center, "2026-03")
    assert rows == [{"month": "2026-03", "department": "齐齐哈尔市不动产登记中心", "booked": 2, "arrived": 1,
                     "no_shows": 1, "no_show_rate": 0.5}]  # fmt: skip
    assert public_summary.booking_rows(svc.db, svc.catalogue.center, "2026-02") == []
    assert not [s for s in SECRETS if s in repr(rows)]
