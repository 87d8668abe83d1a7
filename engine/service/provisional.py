"""Provisional deadlines (暂定): a deadline that reaches into a year without its calendar file.

Such a year is counted by the statutory holidays of 《全国年节及纪念日放假办法》 alone
(engine.rules.calendar, engine.rules.holiday_rule) until the State Council's notice for it is added as
``calendar/<year>.yaml``. Every deadline counted so is shown as provisional — on every page, in
every notice and in the JSON API — and is counted again when the file comes.

Marking. Provisional years always follow the last file, so a deadline is provisional exactly when
its own date lies in one: ``since(cal, *moments)`` is the calendar's first provisional year when
any of the given deadlines lies in it (else None), and ``is_provisional(moment, since)`` then
answers for each one. Stored deadlines keep that year beside them (``provisional_from`` on
cases, corrections and follow-ups; migration 19), so a stored date stays marked until it has
been counted again — it is never shown unmarked while it is stale.

Counting again. ``refresh(service)`` (run by every sweep and after a live reload) recomputes what
is stored for a year that now has its file: the deadline columns of running cases (from their
events, as any action would), and the due dates of open corrections and follow-ups (from when
they were issued, with the working days they were given). An ended case, an escalated
correction or an answered follow-up keeps its provisional date and its mark: what was decided
against it stays on the record as it was. A legal effect that a timed rule draws from a
deadline (deemed acceptance, Art. 32; deemed consent in a joint review) also uses the
provisional date: the applicant is not made to wait for the State Council's notice.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import TYPE_CHECKING

from markupsafe import Markup, escape
from sqlalchemy import or_, select, update

from engine.base.i18n import gettext
from engine.ledger import tables
from engine.ledger.cases import recompute_columns
from engine.ledger.db import iso, read_only
from engine.rules import clock
from engine.rules.calendar import CalendarYearMissing, WorkCalendar

if TYPE_CHECKING:
    from engine.service.cases import CaseService

log = logging.getLogger("yangguang.provisional")

#: the explanation printed in statutory notices, which are always in Chinese (engine.service.documents)
NOTE_ZH = "暂定：{year}年放假安排尚未公布，按法定节假日推算"


Moment = datetime | date | str  # an aware instant, a date, or an instant as stored (ISO 8601)


def _day(moment: Moment) -> date:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return clock.local_date(moment) if isinstance(moment, datetime) else moment


def since(cal: WorkCalendar, *moments: Moment | None) -> int | None:
    """``cal``'s first provisional year when any of ``moments`` lies in a provisional year, else None."""
    if any(m is not None and cal.is_provisional(_day(m)) for m in moments):
        return cal.provisional_from
    return None


def is_provisional(moment: Moment | None, since_year: int | None) -> bool:
    """Whether a deadline counted when ``since_year`` was the first provisional year is provisional."""
    if moment is None or moment == "" or since_year is None:
        return False
    return _day(moment).year >= since_year


def note(year: int) -> str:
    """Why a date is provisional, in the request's language."""
    return gettext("暂定：%(year)s年放假安排尚未公布，按法定节假日推算") % {"year": year}


def mark(moment: Moment | None, since_year: int | None, full: bool = False) -> Markup:
    """The mark printed after a date on a page: "（暂定）" with the reason as its title, or with
    ``full`` the reason itself; nothing for an exact date."""
    if moment is None or not is_provisional(moment, since_year):
        return Markup("")
    year = _day(moment).year
    if full:
        text = gettext("（暂定：%(year)s年放假安排尚未公布，按法定节假日推算）") % {"year": year}
        return Markup('<span class="provisional">{}</span>').format(text)
    return Markup('<span class="provisional" title="{}">{}</span>').format(escape(note(year)), gettext("（暂定）"))


def chinese_note(moment: Moment) -> str:
    """The reason in a statutory notice, after the date: （暂定：2027年放假安排尚未公布，按法定节假日推算）."""
    return f"（{NOTE_ZH.format(year=_day(moment).year)}）"


# --------------------------------------------------------------------------- counting again


def refresh(service: CaseService) -> int:
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
            values = {"due": iso(due), "provisional_from": since(cal, due)}
            with service.db.begin() as conn:
                done += conn.execute(update(f).where(f.c.case_id == row.case_id).values(**values)).rowcount
    for row in corrections:
        due = _due(cal, row.issued_at, row.working_days)
        if due is not None:
            values = {"respond_by": iso(due), "provisional_from": since(cal, due)}
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
