"""Home visits (上门服务) on the virtual clock: only items whose home_visit allows them, only the groups
it names; the department schedules on a working day, the person may cancel; versions guard every change."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.base.dates import TZ
from engine.service import bookings_visits as visits
from engine.service.bookings import BookingError
from engine.service.cases import CaseService

RESALE = "QQ-REALESTATE-DJ-102"  # 二手房转移登记: home visits for the elderly, disabled, seriously ill
ASK = {"person": "李大爷", "contact": "13800000001", "address": "龙沙区某街道 1 号"}


def test_only_items_that_offer_home_visits_take_requests(case_service: CaseService) -> None:
    assert visits.offer(case_service, RESALE) == visits.offer(case_service, RESALE) is not None
    assert visits.offer(case_service, "QQ-AMR-DJ-001") is None
    with pytest.raises(BookingError):
        visits.request(case_service, "QQ-AMR-DJ-001", qualifies="elderly", **ASK)
    with pytest.raises(BookingError):
        visits.request(case_service, RESALE, qualifies="key_project", **ASK)  # not a group this item names


def test_request_schedule_and_finish(case_service: CaseService) -> None:
    v, code = visits.request(case_service, RESALE, qualifies="elderly", **ASK)
    assert (v.state, v.department) == ("requested", "realestate")
    assert visits.verify(case_service, v.number, code, "1.2.3.4") == v
    with pytest.raises(BookingError):
        visits.verify(case_service, v.number, "2222-3333-44", "1.2.3.4")
    saturday = datetime(2026, 3, 7, 9, 0, tzinfo=TZ)
    with pytest.raises(BookingError):
        visits.schedule(case_service, v, saturday, "window.realestate")  # not a working day
    monday = datetime(2026, 3, 9, 9, 0, tzinfo=TZ)
    planned = visits.schedule(case_service, v, monday, "window.realestate", "带上登记表")
    assert planned.state == "scheduled" and planned.visit_at is not None
    with pytest.raises(BookingError):
        visits.cancel(case_service, v)  # the version before scheduling
    assert visits.done(case_service, planned).state == "done"
    assert [x.number for x in visits.listing(case_service, "realestate")[0]] == [v.number]
    assert visits.listing(case_service, "amr") == ([], False)


def test_the_person_cancels(case_service: CaseService) -> None:
    v, _ = visits.request(case_service, RESALE, qualifies="disabled", **ASK)
    assert visits.cancel(case_service, v).state == "cancelled"
