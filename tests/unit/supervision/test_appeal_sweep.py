"""The sweep's escalation of an unanswered request or complaint and its supervision event are one
transaction: a failure writing the one leaves neither, and the next sweep does both."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from engine.base.dates import TZ
from engine.ledger import tables
from engine.service import appeals as svc_appeals
from engine.service.cases import CaseService
from engine.supervision import appeal_sweep
from engine.supervision.sweep import sweep


class Crash(Exception):
    pass


def escalated(service: CaseService) -> list[str]:
    with service.db.connect() as conn:
        s = tables.supervision_events
        return [k for (k,) in conn.execute(select(s.c.kind).where(s.c.kind == "appeal_escalated"))]


def test_an_escalation_and_its_supervision_event_are_written_together(case_service: CaseService) -> None:
    service = case_service
    filing = svc_appeals.Filing(kind="complaint", subject="超期", body="三周未受理。", filer_name="张三",
                                contact="13800000000")  # fmt: skip
    number, _ = svc_appeals.file(service, filing)
    service.clock.set(datetime(2026, 3, 23, 10, tzinfo=TZ))  # type: ignore[attr-defined]  # past its limit

    def failing(conn: Any, case_id: Any, department: Any, kind: str, *rest: Any) -> bool:
        if kind == "appeal_escalated":  # a crash while writing the escalation's supervision event
            raise Crash
        return True  # the light's event: not this test's subject

    now = service.clock.now()
    with pytest.raises(Crash):
        appeal_sweep.sweep_appeals(service, now, now, failing)
    found = svc_appeals.load(service, number)
    assert found is not None and found.row["escalated_at"] is None and escalated(service) == []
    assert "escalated" not in [e.action for e in found.history]
    sweep(service)  # the next sweep does both
    found = svc_appeals.load(service, number)
    assert found is not None and found.row["escalated_to"] == "supervision"
    assert escalated(service) == ["appeal_escalated"]
