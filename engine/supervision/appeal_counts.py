"""What supervision counts of requests and complaints (诉求), by handling department: the unanswered ones by
light, a period's answers and how many came within their limit (the on-time rate), escalations and
complaints found justified — grouped queries over the ``appeals`` rows the service and the sweep keep."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import Connection

from engine.ledger.appeals import appeal_events, appeals
from engine.ledger.db import iso, read_only
from engine.rules import appeals as rules
from engine.rules.cases.model import RATING_SCORE

__all__ = ["appeal_counts", "justified_against", "month_summary"]

_EMPTY = {"green": 0, "warning": 0, "violation": 0, "answered": 0, "on_time": 0, "escalated": 0, "justified": 0}
#: the public summary's figures of one kind, department or the whole center
SUMMARY_FIGURES = ("filed", "answered", "on_time", "rated", "rating_points", "justified")


def _judged(lo: str, hi: str, kinds: Collection[str] | None) -> Any:
    """The appeals found justified in [lo, hi): those whose current finding is ``justified`` and whose last
    finding (the office may correct one while the appeal is answered) fell in the period — each appeal once,
    in the month it was last judged."""
    a, e = appeals, appeal_events
    last = (
        select(e.c.appeal_id, func.max(e.c.at).label("at"))
        .where(e.c.action == "verdict")
        .group_by(e.c.appeal_id)
        .subquery("last_verdict")
    )
    query = (
        select(a.c.kind, a.c.named_department, a.c.handler)
        .select_from(last.join(a, a.c.id == last.c.appeal_id))
        .where(last.c.at >= lo, last.c.at < hi, a.c.verdict == "justified")
    )
    return query.where(a.c.kind.in_(sorted(kinds))) if kinds is not None else query


def justified_against(conn: Connection, lo: str, hi: str, kinds: Collection[str]) -> dict[str, int]:
    """Appeals of ``kinds`` found justified in [lo, hi) per department they name; one naming no department
    is against nobody and counts for none (the monthly ranking's deduction)."""
    judged = _judged(lo, hi, kinds).subquery()
    rows = conn.execute(
        select(judged.c.named_department, func.count())
        .where(judged.c.named_department.is_not(None))
        .group_by(judged.c.named_department)
    )
    return {str(department): int(n) for department, n in rows}


def appeal_counts(db: Engine, start: datetime, end: datetime) -> dict[str, dict[str, Any]]:
    """Per handling department: unanswered ones by light (now); answered in [start, end), of them on time,
    and the on-time rate (None without answers); escalated and found justified in the period."""
    a = appeals
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
        # month it was last found so
        for _kind, named, handler in conn.execute(_judged(lo, hi, None)):
            add(named or handler, "justified", 1)
    for row in out.values():
        row["rate"] = row["on_time"] / row["answered"] if row["answered"] else None
    return out


def month_summary(db: Engine, start: datetime, end: datetime) -> dict[str, dict[str, dict[str, int]]]:
    """The counts the public monthly summary publishes, for [start, end): {"kind": {kind id: figures},
    "department": {department id: figures}, "all": {"": figures}} with SUMMARY_FIGURES — filed in the
    period (by handling department), answered and of them on time, rated when closed and the rating
    points (RATING_SCORE, as cases'), found justified (against the department named; one naming none
    counts for its kind and the total only). Counts only: no text of an appeal is read."""
    a = appeals
    lo, hi = iso(start), iso(end)
    out: dict[str, dict[str, dict[str, int]]] = {"kind": {}, "department": {}, "all": {}}

    def add(kind: str, department: str | None, key: str, n: int) -> None:
        targets = [("kind", kind), ("all", "")] + ([("department", department)] if department else [])
        for scope, name in targets:
            out[scope].setdefault(name, dict.fromkeys(SUMMARY_FIGURES, 0))[key] += int(n)

    with read_only(db) as conn:
        filed = select(a.c.kind, a.c.handler, func.count()).where(a.c.created_at >= lo, a.c.created_at < hi)
        for kind, department, n in conn.execute(filed.group_by(a.c.kind, a.c.handler)):
            add(kind, department, "filed", n)
        answered = select(a.c.kind, a.c.handler, a.c.on_time, func.count()).where(
            a.c.answered_at >= lo, a.c.answered_at < hi
        )
        for kind, department, on_time, n in conn.execute(answered.group_by(a.c.kind, a.c.handler, a.c.on_time)):
            add(kind, department, "answered", n)
            if on_time:
                add(kind, department, "on_time", n)
        rated = select(a.c.kind, a.c.handler, a.c.rating, func.count()).where(
            a.c.closed_at >= lo, a.c.closed_at < hi, a.c.rating.is_not(None)
        )
        for kind, department, rating, n in conn.execute(rated.group_by(a.c.kind, a.c.handler, a.c.rating)):
            if rating in RATING_SCORE:  # the five ratings the service accepts; anything else is no rating
                add(kind, department, "rated", n)
                add(kind, department, "rating_points", RATING_SCORE[rating] * int(n))
        for kind, named, _handler in conn.execute(_judged(lo, hi, None)):
            add(kind, named, "justified", 1)
    return out
