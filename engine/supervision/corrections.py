"""Corrections (纠错) and follow-ups of dissatisfied ratings: what a supervisor issues and a
department must answer in time. Overdue ones are escalated or flagged by the supervision sweep.

The correction rate of a period is corrections issued / cases handled (ended) in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from engine.base.i18n import gettext
from engine.ledger import tables
from engine.ledger.db import iso, read_only
from engine.rules import clock
from engine.rules.calendar import CalendarYearMissing, WorkCalendar
from engine.service import provisional

CARDS = ("yellow", "red")
_T = tables.corrections
_F = tables.followups


class CorrectionError(ValueError):
    """Bad input for a correction or an answer; the message says what to fix, in the language of
    the request that sent it (engine.base.i18n)."""


@dataclass(frozen=True, slots=True)
class Correction:
    id: int
    case_number: str | None
    department: str
    card: str
    reason: str
    issued_by: str
    issued_at: str
    respond_by: str
    response: str | None
    responded_by: str | None
    responded_at: str | None
    escalated_at: str | None
    working_days: int | None = None
    provisional_from: int | None = None  # respond_by is provisional (暂定) when in this year or later

    @property
    def due(self) -> datetime:
        return datetime.fromisoformat(self.respond_by)


def issue(
    db: Engine,
    *,
    department: str,
    card: str,
    reason: str,
    issued_by: str,
    now: datetime,
    calendar: WorkCalendar,
    working_days: int = 5,
    case_number: str | None = None,
) -> int:
    """Issue a correction notice on a department (and optionally one of its cases); returns its id."""
    if card not in CARDS:
        raise CorrectionError(gettext("请选择黄牌或红牌"))
    if not reason.strip():
        raise CorrectionError(gettext("纠错须写明理由"))
    if not 1 <= working_days <= 30:
        raise CorrectionError(gettext("整改期限为 1 至 30 个工作日"))
    with db.begin() as conn:
        if case_number is not None:
            row = conn.execute(select(tables.cases.c.department).where(tables.cases.c.number == case_number)).first()
            if row is None:
                raise CorrectionError(gettext("没有办件 %(number)s") % {"number": case_number})
            if row.department != department:
                raise CorrectionError(gettext("办件 %(number)s 不属于该部门") % {"number": case_number})
        try:  # a year after the last calendar file is counted provisionally (暂定)
            due = clock.due(now, {"value": working_days, "unit": "working_day"}, calendar)
        except CalendarYearMissing as exc:  # before the first file: no rule counts it
            missing = gettext("缺少 %(year)s 年的工作日历，无法计算整改期限：请管理员添加 calendar/%(year)s.yaml")
            raise CorrectionError(missing % {"year": exc.year}) from None
        result = conn.execute(
            insert(_T).values(
                case_number=case_number,
                department=department,
                card=card,
                reason=reason.strip()[:2000],
                issued_by=issued_by,
                issued_at=iso(now),
                respond_by=iso(due),
                working_days=working_days,
                provisional_from=provisional.since(calendar, due),
            )
        )
        key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def respond(db: Engine, correction_id: int, *, department: str | None, response: str, by: str, now: datetime) -> None:
    """The department's answer (once). ``department`` None means a center-wide account answers."""
    if not response.strip():
        raise CorrectionError(gettext("请填写整改情况"))
    with db.begin() as conn:
        row = conn.execute(select(_T).where(_T.c.id == correction_id)).first()
        if row is None:
            raise CorrectionError(gettext("没有这条纠错"))
        if department is not None and row.department != department:
            raise CorrectionError(gettext("这条纠错不是发给您所在部门的"))
        done = conn.execute(
            update(_T)
            .where(_T.c.id == correction_id, _T.c.responded_at.is_(None))
            .values(response=response.strip()[:4000], responded_by=by, responded_at=iso(now))
        ).rowcount
        if done != 1:
            raise CorrectionError(gettext("这条纠错已经答复过了"))


def listing(db: Engine, department: str | None = None, *, open_only: bool = False) -> list[Correction]:
    query = select(_T).order_by(_T.c.issued_at.desc(), _T.c.id.desc())
    if department is not None:
        query = query.where(_T.c.department == department)
    if open_only:
        query = query.where(_T.c.responded_at.is_(None))
    with read_only(db) as conn:
        return [Correction(**dict(r._mapping)) for r in conn.execute(query.limit(500))]


def rate(db: Engine, start: datetime, end: datetime) -> dict[str, Any]:
    """Corrections issued / cases ended in [start, end) — the correction rate (纠错率)."""
    c = tables.cases
    with read_only(db) as conn:
        issued = conn.execute(
            select(func.count()).where(_T.c.issued_at >= iso(start), _T.c.issued_at < iso(end))
        ).scalar_one()
        handled = conn.execute(
            select(func.count()).where(c.c.ended_at >= iso(start), c.c.ended_at < iso(end))
        ).scalar_one()
    return {"corrections": int(issued), "cases": int(handled), "rate": (issued / handled) if handled else None}


def answer_followup(
    db: Engine, case_number: str, *, department: str | None, answer: str, by: str, now: datetime
) -> None:
    """The department's answer to a dissatisfied rating (回访整改), once."""
    if not answer.strip():
        raise CorrectionError(gettext("请填写回访整改情况"))
    with db.begin() as conn:
        row = conn.execute(
            select(_F.c.case_id, _F.c.department, _F.c.answered_at)
            .join(tables.cases, tables.cases.c.id == _F.c.case_id)
            .where(tables.cases.c.number == case_number)
        ).first()
        if row is None:
            raise CorrectionError(gettext("本件没有需要回访的评价"))
        if department is not None and row.department != department:
            raise CorrectionError(gettext("这件评价不属于您所在部门"))
        if row.answered_at is not None:
            raise CorrectionError(gettext("已经答复过了"))
        conn.execute(
            update(_F)
            .where(_F.c.case_id == row.case_id)
            .values(answer=answer.strip()[:4000], answered_by=by, answered_at=iso(now))
        )


def open_followups(db: Engine, department: str | None = None) -> list[dict[str, Any]]:
    query = (
        select(
            tables.cases.c.number,
            _F.c.department,
            _F.c.rating,
            _F.c.comment,
            _F.c.opened_at,
            _F.c.due,
            _F.c.provisional_from,
        )
        .join(tables.cases, tables.cases.c.id == _F.c.case_id)
        .where(_F.c.answered_at.is_(None))
        .order_by(_F.c.due)
    )
    if department is not None:
        query = query.where(_F.c.department == department)
    with read_only(db) as conn:
        return [dict(r._mapping) for r in conn.execute(query.limit(500))]
