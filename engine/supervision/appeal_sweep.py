"""The sweep's part for requests and complaints (诉求): the light of every unanswered one, and the escalation,
once, of one left unanswered past its kind's escalation point (appeals/kinds.yaml, engine.rules.appeals).

A light change is a guarded update of the row (``WHERE light = <what we saw>``) with a supervision event
whose key names the appeal, the light and the deadline, so two sweeps record it once; an escalation is an
event of the appeal's own record (actor ``system``) written in one transaction with its supervision event,
refused by its version check when somebody acted meanwhile (the next sweep tries again) and never taken
twice (``escalated_at``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from engine.ledger.appeals import appeals
from engine.ledger.db import read_only
from engine.rules import appeals as rules
from engine.rules.cases.model import ActionRefused, Actor
from engine.service import appeals as appeal_service
from engine.service.cases import CaseService

log = logging.getLogger("yangguang.supervision")
SYSTEM = Actor("system", "system")
#: the supervision events an appeal's sweep records
KINDS = ("appeal_warning", "appeal_violation", "appeal_escalated")

Record = Callable[[Any, int | None, str | None, str, str, datetime, dict[str, Any]], bool]


def sweep_appeals(service: CaseService, now: datetime, boundary: datetime, record: Record) -> dict[str, int]:
    """Light and escalate every unanswered appeal at ``now`` (``boundary``: the latest deadline that lights
    yellow); ``record`` writes one supervision event (engine.supervision.sweep's). Counts by event kind."""
    counts: dict[str, int] = {}
    if service.catalogue.appeals is None:
        return counts
    a = appeals
    with read_only(service.db) as conn:
        rows = conn.execute(
            select(a.c.id, a.c.number, a.c.kind, a.c.handler, a.c.due, a.c.light, a.c.escalated_at, a.c.version).where(
                a.c.state.in_(rules.OPEN_STATES)
            )
        ).all()
    kinds = service.catalogue.appeal_kinds()
    for row in rows:
        deadline = datetime.fromisoformat(row.due)
        light = rules.light(deadline, now, boundary)
        if light != row.light:
            with service.db.begin() as conn:
                done = conn.execute(
                    update(a).where(a.c.id == row.id, a.c.light == row.light).values(light=light)
                ).rowcount
                key = f"appeal_{light}:{row.number}:{row.due}"
                detail = {"appeal": row.number, "kind": row.kind, "deadline": row.due}
                kind = f"appeal_{light}"
                if done == 1 and light != "green" and record(conn, None, row.handler, kind, key, now, detail):
                    counts[kind] = counts.get(kind, 0) + 1
        point = rules.escalation_point(deadline, kinds.get(row.kind, {}), service.calendar)
        if row.escalated_at is None and point is not None and point < now:
            if _escalate(service, row, now, record):
                counts["appeal_escalated"] = counts.get("appeal_escalated", 0) + 1
    return counts


def _escalate(service: CaseService, row: Any, now: datetime, record: Record) -> bool:
    """Escalate ``row`` and record its supervision event in one transaction (both or neither)."""
    recorded: list[bool] = []

    def supervision_event(conn: Any, rec: Any) -> None:
        detail = {"appeal": row.number, "kind": row.kind, "deadline": row.due, "to": rec.payload.get("to")}
        key = f"appeal_escalated:{row.number}"
        recorded.append(record(conn, None, row.handler, "appeal_escalated", key, now, detail))

    try:
        appeal_service.act(service, row.number, SYSTEM, "escalate", int(row.version), {}, supervision_event)
    except ActionRefused as exc:  # acted on meanwhile, or escalated by hand: the next sweep looks again
        log.info("appeal %s not escalated now: %s", row.number, exc.code)
        return False
    return bool(recorded and recorded[0])


__all__ = ["KINDS", "sweep_appeals"]
