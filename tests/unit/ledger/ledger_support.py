"""Cases written straight through the record, for the tests of engine/ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from engine.ledger.cases import create_case
from engine.ledger.events import EventRecord, append_event

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


CATV = "c" * 64


def new_case(engine: Engine, number: str = "QQ20261122000001", events: int = 1) -> int:
    """A case with ``events`` events (the submit plus events - 1 steps)."""
    with engine.begin() as conn:
        case_id, rec = create_case(
            conn,
            number=number,
            query_code="ABCD1234",
            item_code="psb-seal-engraving-filing",
            catalogue_version=CATV,
            state="submitted",
            data={"applicant": {"name": "张三", "by_agent": False}},
            at=T0,
            actor="applicant:张三",
            role="applicant",
            payload={"materials": ["营业执照"]},
            department="psb",
        )
    assert rec.seq == 1
    for i in range(1, events):
        step(engine, case_id, number, version=i, n=i)
    return case_id


def step(engine: Engine, case_id: int, number: str, version: int, n: int = 0) -> EventRecord:
    with engine.begin() as conn:
        return append_event(
            conn,
            case_id=case_id,
            case_number=number,
            expected_version=version,
            at=T0 + timedelta(minutes=n),
            actor="clerk-li",
            role="window",
            action="accept" if n == 1 else f"review-{n}",
            payload={"note": f"第{n}步", "n": n},
            catalogue_version=CATV,
            state_update={"state": f"step-{n}", "current_step": f"s{n}"},
        )
