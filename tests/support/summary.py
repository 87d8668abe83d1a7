"""A month with known requests, complaints and appointments (March 2026), for the public summary's tests:
what each filed and whose they were, so a test can assert the figures and that nothing identifying leaks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from engine.base.dates import TZ
from engine.rules.cases.model import Actor
from engine.service import appeals, bookings_desk
from engine.service.bookings import Bookings
from engine.service.cases import CaseService

from .bookings import person

OFFICE = Actor("window.complaints", "window", "complaints")
FILER, PHONE = "欧阳明辉", "13987654321"
SUBJECT, BODY = "不动产窗口推诿扯皮", "三次往返未办成，窗口人员态度恶劣"
#: every text of the month a person typed: none may appear on a public page or in open data
SECRETS = (FILER, PHONE, SUBJECT, BODY, "答复内容保密", "张1", "张2", "13800000001")


def known_month(svc: CaseService) -> dict[str, Any]:
    """From Friday 6 March 2026: a complaint against culture answered on time, found justified and closed
    满意; an enquiry to amr left open; an anonymous report left open; two bookings at the real-estate window
    on Monday 9 March, one who came and one who did not. The clock ends on Tuesday 10 March."""
    clk: Any = svc.clock
    clk.set(datetime(2026, 3, 6, 9, tzinfo=TZ))
    filing = {"subject": SUBJECT, "body": BODY, "filer_name": FILER, "contact": PHONE}
    complaint, _ = appeals.file(svc, appeals.Filing(kind="complaint", named_department="culture", **filing))
    appeals.file(svc, appeals.Filing(kind="enquiry", named_department="amr", **filing))
    appeals.file(svc, appeals.Filing(kind="report", subject=SUBJECT, body=BODY))  # anonymous
    appeals.act(svc, complaint, OFFICE, "answer", 1, {"text": "答复内容保密"})
    appeals.act(svc, complaint, OFFICE, "verdict", 2, {"verdict": "justified"})
    appeals.act(svc, complaint, OFFICE, "close", 3, {"rating": "满意"})
    bk = Bookings(svc)
    came, _ = bk.book("realestate", date(2026, 3, 9), "09:00", **person(1))
    bk.book("realestate", date(2026, 3, 9), "09:30", **person(2))
    clk.set(datetime(2026, 3, 9, 8, 50, tzinfo=TZ))
    bookings_desk.arrive(
        bk, Actor("window.realestate", "window", "realestate"), "realestate", came.number, came.version
    )
    clk.set(datetime(2026, 3, 10, 8, tzinfo=TZ))
    bookings_desk.mark_no_shows(svc.db, svc.clock.now(), svc.calendar)
    return {"complaint": complaint}
