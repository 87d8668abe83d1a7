"""Supervision's counts of requests and complaints by department: lights now, a month's answers and on-time rate,
escalations and complaints found justified (against the department they name)."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.base.dates import TZ
from engine.rules.cases.model import Actor
from engine.service import appeals
from engine.service.cases import CaseService
from engine.supervision.appeal_counts import appeal_counts
from engine.supervision.sweep import sweep

OFFICE = Actor("window.complaints", "window", "complaints")
MARCH = (datetime(2026, 3, 1, tzinfo=TZ), datetime(2026, 4, 1, tzinfo=TZ))


def filing(kind: str, **extra: str) -> appeals.Filing:
    return appeals.Filing(kind=kind, subject="s", body="b", filer_name="张三", contact="1", **extra)


@pytest.fixture
def service(case_service: CaseService) -> CaseService:
    return case_service


def test_counts_by_department(service: CaseService) -> None:
    on_time, _ = appeals.file(service, filing("complaint", named_department="amr"))
    late, _ = appeals.file(service, filing("complaint"))
    appeals.file(service, filing("enquiry", named_department="amr"))  # handled by amr itself, still open
    appeals.act(service, on_time, OFFICE, "answer", 1, {"text": "已核实"})
    appeals.act(service, on_time, OFFICE, "verdict", 2, {"verdict": "justified"})
    service.clock.set(datetime(2026, 3, 23, 10, tzinfo=TZ))  # type: ignore[attr-defined]  # past the 10 days
    sweep(service)  # lights the late one red and escalates it
    appeals.act(service, late, OFFICE, "answer", 2, {"text": "迟复"})  # version 2: escalated by the sweep
    found = appeal_counts(service.db, *MARCH)
    office, amr = found["complaints"], found["amr"]
    assert (office["answered"], office["on_time"], office["rate"], office["escalated"]) == (2, 1, 0.5, 1)
    # amr's enquiry is red and escalated (to the office); the justified complaint named amr
    assert (amr["violation"], amr["escalated"], amr["justified"], amr["answered"], amr["rate"]) == (1, 1, 1, 0, None)
    april = appeal_counts(service.db, datetime(2026, 4, 1, tzinfo=TZ), datetime(2026, 5, 1, tzinfo=TZ))
    assert april == {"amr": {**amr, "escalated": 0, "justified": 0}}  # only the light is of now


def test_the_on_time_rate_at_month_ends_in_beijing_time_on_working_days(service: CaseService) -> None:
    """Answers count in the Beijing month they were given (not the UTC one), and on time is judged on the
    working-day calendar: 10 working days from Friday 27 March run past the Qingming holiday (4–6 April)."""
    clk = service.clock
    late, _ = appeals.file(service, filing("complaint"))  # Friday 6 March: due at the end of 20 March
    clk.set(datetime(2026, 3, 27, 9, tzinfo=TZ))  # type: ignore[attr-defined]
    early_april, _ = appeals.file(service, filing("complaint"))
    holiday, _ = appeals.file(service, filing("complaint"))  # both due at the end of Monday 13 April
    clk.set(datetime(2026, 3, 31, 23, 30, tzinfo=TZ))  # type: ignore[attr-defined]  # 15:30 UTC, still March
    appeals.act(service, late, OFFICE, "answer", 1, {"text": "迟复"})
    clk.set(datetime(2026, 4, 1, 0, 10, tzinfo=TZ))  # type: ignore[attr-defined]  # 31 March 16:10 UTC: April
    appeals.act(service, early_april, OFFICE, "answer", 1, {"text": "答复"})
    clk.set(datetime(2026, 4, 13, 17, tzinfo=TZ))  # type: ignore[attr-defined]  # 10 weekdays would end on the 10th
    appeals.act(service, holiday, OFFICE, "answer", 1, {"text": "答复"})
    march = appeal_counts(service.db, *MARCH)["complaints"]
    april = appeal_counts(service.db, datetime(2026, 4, 1, tzinfo=TZ), datetime(2026, 5, 1, tzinfo=TZ))["complaints"]
    assert (march["answered"], march["on_time"], march["rate"]) == (1, 0, 0.0)
    assert (april["answered"], april["on_time"], april["rate"]) == (2, 2, 1.0)
