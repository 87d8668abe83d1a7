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

Counting again, once the year's file comes, is engine.service.recount's (it runs the case service,
which marks its deadlines here). A legal effect that a timed rule draws from a deadline (deemed
acceptance, Art. 32; deemed consent in a joint review) uses the provisional date: the applicant
is not made to wait for the State Council's notice.
"""

from __future__ import annotations

import functools
from datetime import date, datetime

from markupsafe import Markup, escape

from engine.base.dates import TZ
from engine.base.i18n import gettext
from engine.rules import clock
from engine.rules.calendar import WorkCalendar

#: the explanation printed in statutory notices, which are always in Chinese (engine.service.documents)
NOTE_ZH = "暂定：{year}年放假安排尚未公布，按法定节假日推算"


Moment = datetime | date | str  # an aware instant, a date, or an instant as stored (ISO 8601)


def _day(moment: Moment) -> date:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return clock.local_date(moment) if isinstance(moment, datetime) else moment


def since(cal: WorkCalendar, *moments: Moment | None) -> int | None:
    """``cal``'s first provisional year when any of ``moments`` lies in a provisional year, else None."""
    first = cal.provisional_from
    if first is None:  # nothing is ever provisional under this calendar
        return None
    edge = _year_start(first)
    for m in moments:  # a loop, not any(...): called for every column of every action
        if m is None:
            continue
        # an instant compares with the year's first local instant (no conversion); others by their date
        if m >= edge if isinstance(m, datetime) else _day(m).year >= first:
            return first
    return None


@functools.lru_cache(maxsize=64)
def _year_start(year: int) -> datetime:
    """The first instant of ``year`` in China Standard Time (an instant from then on has its local date in it)."""
    return datetime(year, 1, 1, tzinfo=TZ)


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
