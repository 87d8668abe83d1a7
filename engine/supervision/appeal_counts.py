"""What supervision counts of requests and complaints (诉求), by handling department: the unanswered ones by
light, a period's answers and how many came within their limit (the on-time rate), escalations and
complaints found justified — grouped queries over the ``appeals`` rows the service and the sweep keep."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from engine.ledger.appeals import appeal_events, appeals
from engine.ledger.db import iso, read_only
from engine.rules import appeals as rules

__all__ = ["appeal_counts"]

_EMPTY = {"green": 0, "warning": 0, "violation": 0, "answered": 0, "on_time": 0, "escalated": 0, "justified": 0}


def appeal_counts(db: Engine, start: datetime, end: datetime) -> dict[str, dict[str, Any]]:
    """Per handling department: unanswered ones by light (now); answered in [start, end), of them on time,
    and the on-time rate (None without answers); escalated and found justified in the period."""
    a, e = appeals, appeal_events
    lo, hi = iso(start), iso(end)
    out: dict[str, dict[str, Any]] = {}

    def add(department: str | None, key: str, n: int) -> None:
        row = out.setdefault(department or "", dict(_EMPTY))
        row[key] += int(n)

    with read_only(db) as conn:
        lights = select(a.c.handler, a.c.light, func.count()).where(a.c.state.in_(rules.OPEN_STATES))
        for department, light, n in conn.execute(lights.group_by(a.c.handler, a.c.light)):
            add(department, str(light), n)
        answered = select(a.c.handler, a.c.on_time, func.count()).where(a.c.answered_at >= lo, a.c.answered_at < hi)
        for department, on_time, n in conn.execute(answered.group_by(a.c.handler, a.c.on_time)):
            add(department, "answered", n)
            if on_time:
                add(department, "on_time", n)
        escalated = select(a.c.handler, func.count()).where(a.c.escalated_at >= lo, a.c.escalated_at < hi)
        for department, n in conn.execute(escalated.group_by(a.c.handler)):
            add(department, "escalated", n)
        # a complaint found justified counts against the department it named (else its handler), in the
        # month it was found so
        judged = (
            select(func.coalesce(a.c.named_department, a.c.handler), func.count())
            .select_from(e.join(a, a.c.id == e.c.appeal_id))
            .where(e.c.action == "verdict", e.c.at >= lo, e.c.at < hi, a.c.verdict == "justified")
        )
        for department, n in conn.execute(judged.group_by(func.coalesce(a.c.named_department, a.c.handler))):
            add(department, "justified", n)
    for row in out.values():
        row["rate"] = row["on_time"] / row["answered"] if row["answered"] else None
    return out
