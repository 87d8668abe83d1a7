"""Counting provisional deadlines again (暂定, engine.service.provisional) once the year they reach into
has its calendar file.

``provisional_deadlines(service)`` (run by every sweep and after a live reload) recomputes what is
stored for a year that now has its file: the deadline columns of running cases (from their events,
as any action would), and the due dates of open corrections and follow-ups (from when they were
issued, with the working days they were given). An ended case, an escalated correction or an
answered follow-up keeps its provisional date and its mark: what was decided against it stays on
the record as it was.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import or_, select, update

from engine.ledger import tables
from engine.ledger.cases import recompute_columns
from engine.ledger.db import iso, read_only
from engine.rules import clock
from engine.rules.calendar import CalendarYearMissing, WorkCalendar
from engine.service import provisional
from engine.service.cases import CaseService

log = logging.getLogger("yangguang.provisional")


def provisional_deadlines(service: CaseService) -> int:
    """Count again every stored deadline that was provisional for a year that now has its file
    (module docstring); the number of cases, corrections and follow-ups updated. Idempotent and
    cheap when there is nothing to do (two indexed look-ups)."""
    cal = service.calendar
    if not cal.years:
        return 0
    last = cal.years[-1]
    c, f, r = tables.cases, tables.followups, tables.corrections
    with read_only(service.db) as conn:
        numbers = conn.execute(
            select(c.c.number).where(c.c.provisional_from <= last, c.c.state.not_in(("refused", "completed")))
        ).all()
        followups = conn.execute(
            select(f.c.case_id, f.c.opened_at, f.c.working_days).where(
                f.c.answered_at.is_(None), or_(f.c.provisional_from <= last, f.c.due.is_(None))
            )
        ).all()
        corrections = conn.execute(
            select(r.c.id, r.c.issued_at, r.c.working_days).where(
                r.c.provisional_from <= last, r.c.responded_at.is_(None), r.c.escalated_at.is_(None)
            )
        ).all()
    done = 0
    for (number,) in numbers:
        case, snap = service.load(number)
        columns = service.worklist(case, snap)
        with service.db.begin() as conn:  # a case acted on meanwhile already has fresh columns
            done += recompute_columns(conn, number, case.version, columns)
    # a follow-up opened before migration 19 has no working days: the center's period then
    for row in followups:
        due = _due(cal, row.opened_at, row.working_days or service.followup_days)
        if due is not None:
            values = {"due": iso(due), "provisional_from": provisional.since(cal, due)}
            with service.db.begin() as conn:
                done += conn.execute(update(f).where(f.c.case_id == row.case_id).values(**values)).rowcount
    for row in corrections:
        due = _due(cal, row.issued_at, row.working_days)
        if due is not None:
            values = {"respond_by": iso(due), "provisional_from": provisional.since(cal, due)}
            with service.db.begin() as conn:
                stmt = update(r).where(r.c.id == row.id, r.c.escalated_at.is_(None))
                done += conn.execute(stmt.values(**values)).rowcount
    if done:
        log.info("%d provisional deadline(s) counted again with the calendar files up to %d", done, last)
    return done


def _due(cal: WorkCalendar, start: str, working_days: int | None) -> datetime | None:
    if not working_days:
        return None
    try:
        return clock.due(datetime.fromisoformat(start), {"value": working_days, "unit": "working_day"}, cal)
    except CalendarYearMissing:  # before the first file: stays as it is
        return None
