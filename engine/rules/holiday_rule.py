"""The statutory public holidays of 《全国年节及纪念日放假办法》, for a year whose State Council
holiday notice is not out yet.

The 办法 (as revised in 2024, in force from 1 January 2025) gives every citizen these days off:
元旦 1 day (1 January); 春节 4 days (lunar New Year's Eve and the 1st to 3rd of the first lunar
month); 清明节 1 day (the day of the Qingming solar term); 劳动节 2 days (1 and 2 May); 端午节 1
day (the 5th of the 5th lunar month); 中秋节 1 day (the 15th of the 8th lunar month); 国庆节 3 days
(1 to 3 October). The State Council's yearly notice (国务院办公厅关于部分节假日安排的通知) then
arranges the breaks around them: bridging days off and the make-up working days (调休) that pay
for them. Before that notice a deadline can only be counted from the statutory days themselves —
no make-up days, every other Saturday and Sunday off — and must be shown as provisional (暂定);
``engine.rules.calendar.WorkCalendar`` does that for the years after its last calendar file.

Deliberately not guessed: the notice's bridging days and make-up days, and which working day it
gives off when a statutory day falls on a weekend (the 办法 provides for such a day to be made up,
but the notice chooses it). Two statutory days on the same date (中秋 on 1–3 October, as in 2028)
count once. The lunar dates and the solar term come from ``lunar_python`` (astronomical, pure
Python); lunar New Year's Eve is the day before the 1st of the first month, so a 12th month of 29
or of 30 days needs no special case.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

from lunar_python import Lunar, Solar

__all__ = ["BASIS", "FIRST_YEAR", "LAST_YEAR", "days_off", "statutory_holidays"]

#: the first year the 2024 revision of the 办法 governs (春节 4 days and 劳动节 2 days from 2025 on;
#: the earlier revision gave 3 and 1, so years before this are never computed by this rule)
FIRST_YEAR = 2025
#: the last year the rule is used for: the span published lunar tables cover and the tests check
#: (lunar_python against the table-based lunardate and chinese-calendar's solar terms)
LAST_YEAR = 2099
BASIS = "全国年节及纪念日放假办法"


def _solar(lunar_year: int, month: int, day: int) -> date:
    s = Lunar.fromYmd(lunar_year, month, day).getSolar()
    return date(s.getYear(), s.getMonth(), s.getDay())


def _qingming(year: int) -> date:
    # the solar-term table of the lunar year that contains mid-April of ``year``
    term = Solar.fromYmd(year, 4, 15).getLunar().getJieQiTable()["清明"]
    return date(term.getYear(), term.getMonth(), term.getDay())


@cache
def statutory_holidays(year: int) -> tuple[tuple[str, date], ...]:
    """(holiday name, date) of every statutory day off of ``year``, in date order.

    Raises ``ValueError`` for a year outside ``FIRST_YEAR``–``LAST_YEAR``.
    """
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"the {BASIS} rule is used for {FIRST_YEAR}–{LAST_YEAR} only, not {year}")
    new_year = _solar(year, 1, 1)  # 正月初一
    days = [
        ("元旦", date(year, 1, 1)),
        *(("春节", new_year + timedelta(days=k)) for k in (-1, 0, 1, 2)),  # 除夕 and 初一 to 初三
        ("清明节", _qingming(year)),
        ("劳动节", date(year, 5, 1)),
        ("劳动节", date(year, 5, 2)),
        ("端午节", _solar(year, 5, 5)),
        ("中秋节", _solar(year, 8, 15)),
        *(("国庆节", date(year, 10, d)) for d in (1, 2, 3)),
    ]
    return tuple(sorted(days, key=lambda d: (d[1], d[0])))


def days_off(year: int) -> frozenset[date]:
    """The statutory days off of ``year`` (a day two holidays share is one day)."""
    return frozenset(d for _, d in statutory_holidays(year))
