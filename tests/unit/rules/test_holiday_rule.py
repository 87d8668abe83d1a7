"""The provisional holiday rule of 《全国年节及纪念日放假办法》 (engine/rules/holiday_rule.py), checked
against the State Council's real arrangements (calendar/2025.yaml, 2026.yaml and the
chinese-calendar package for 2008–2026) and against known lunar dates ahead."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from lunar_python import Solar
from lunardate import LunarDate

from engine.check.pipeline import load
from engine.rules import holiday_rule
from engine.rules.calendar import WorkCalendar
from engine.rules.holiday_rule import _qingming, _solar, days_off, statutory_holidays

ROOT = Path(__file__).resolve().parents[3]
D = date.fromisoformat
# the names chinese-calendar gives the holidays of the 办法
CHINESE_CALENDAR = {
    "元旦": "New Year's Day",
    "春节": "Spring Festival",
    "清明节": "Tomb-sweeping Day",
    "劳动节": "Labour Day",
    "端午节": "Dragon Boat Festival",
    "中秋节": "Mid-autumn Festival",
    "国庆节": "National Day",
}


def test_2027_and_2028_statutory_days() -> None:
    # 2027: lunar New Year (正月初一) is Saturday 02-06, so 除夕 is Friday 02-05 and 初三 Monday 02-08;
    # 清明 04-05, 端午 (五月初五) 06-09, 中秋 (八月十五) 09-15
    assert statutory_holidays(2027) == (
        ("元旦", D("2027-01-01")),
        ("春节", D("2027-02-05")), ("春节", D("2027-02-06")), ("春节", D("2027-02-07")), ("春节", D("2027-02-08")),
        ("清明节", D("2027-04-05")),
        ("劳动节", D("2027-05-01")), ("劳动节", D("2027-05-02")),
        ("端午节", D("2027-06-09")),
        ("中秋节", D("2027-09-15")),
        ("国庆节", D("2027-10-01")), ("国庆节", D("2027-10-02")), ("国庆节", D("2027-10-03")),
    )  # fmt: skip
    # 2028: 正月初一 Wednesday 01-26 (除夕 01-25); 清明 04-04; 端午 05-28; 中秋 10-03, the same day as
    # the third day of 国庆节 — one day off, not two
    got = dict.fromkeys(n for n, _ in statutory_holidays(2028))
    assert list(got) == ["元旦", "春节", "清明节", "劳动节", "端午节", "国庆节", "中秋节"]
    assert [d for n, d in statutory_holidays(2028) if n == "春节"] == [D(f"2028-01-{d}") for d in (25, 26, 27, 28)]
    assert (D("2028-04-04"), D("2028-05-28")) == (_qingming(2028), _solar(2028, 5, 5))
    assert ("中秋节", D("2028-10-03")) in statutory_holidays(2028) and len(days_off(2028)) == 12


@pytest.mark.parametrize("year", [2025, 2026])
def test_new_years_eve_after_a_29_day_twelfth_month(year: int) -> None:
    """In 2025 and 2026 the 12th lunar month had 29 days: 除夕 is 腊月廿九, the day before 正月初一."""
    eve = next(d for n, d in statutory_holidays(year) if n == "春节")
    lunar = Solar.fromYmd(eve.year, eve.month, eve.day).getLunar()
    assert (lunar.getMonth(), lunar.getDay()) == (12, 29)
    assert eve == {2025: D("2025-01-28"), 2026: D("2026-02-16")}[year]


def test_the_rule_covers_2025_to_2099_only() -> None:
    # the 2024 revision is in force from 2025 (春节 4 days, 劳动节 2 days); earlier years had other days
    for year in (2024, 2100):
        with pytest.raises(ValueError, match="2025–2099"):
            statutory_holidays(year)
    assert (holiday_rule.FIRST_YEAR, holiday_rule.LAST_YEAR) == (2025, 2099)


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_statutory_day_is_inside_the_published_break_of_its_holiday(year: int) -> None:
    """The State Council's notice arranges breaks around the statutory days: each statutory day must
    be a day off of the break named after its holiday, in our calendar file and in chinese-calendar."""
    doc = load(ROOT).catalogue.calendars[year].data
    breaks = [(b["name"], D(b["from"]), D(b["to"])) for b in doc["holidays"]]
    for name, day in statutory_holidays(year):
        inside = [b for b, first, last in breaks if first <= day <= last]
        assert len(inside) == 1 and name in inside[0], (name, day, breaks)
        assert chinese_calendar.get_holiday_detail(day) == (True, CHINESE_CALENDAR[name]), (name, day)


def test_the_lunar_library_agrees_with_every_state_council_arrangement_since_2008() -> None:
    """Before 2025 the 办法 had other days (春节 from 除夕 or from 初一, 3 days; 劳动节 1 day), but
    since 2008 元旦, 初一 to 初三, 清明, 1 May, 端午, 中秋 and 1 to 3 October were days off every year:
    every one of those dates, computed by the library, is a holiday in chinese-calendar."""
    wrong = []
    for year in range(2008, 2027):
        new_year = _solar(year, 1, 1)
        days = [
            date(year, 1, 1), *(new_year + timedelta(days=k) for k in range(3)), _qingming(year),
            date(year, 5, 1), _solar(year, 5, 5), _solar(year, 8, 15), *(date(year, 10, d) for d in (1, 2, 3)),
        ]  # fmt: skip
        wrong += [d for d in days if not chinese_calendar.is_holiday(d)]
    assert wrong == []


def test_the_lunar_dates_agree_with_a_table_based_library_through_2099() -> None:
    """lunar-python computes the lunar calendar astronomically; lunardate reads published tables."""
    wrong = [
        (year, month, day)
        for year in range(holiday_rule.FIRST_YEAR, holiday_rule.LAST_YEAR + 1)
        for month, day in ((1, 1), (5, 5), (8, 15))
        if _solar(year, month, day) != LunarDate(year, month, day).to_solar_date()
    ]
    assert wrong == []


def test_qingming_is_the_solar_term_through_2099() -> None:
    found = chinese_calendar.get_solar_terms(date(2025, 1, 1), date(2099, 12, 31))
    terms = {d.year: d for d, name in found if name == "清明"}
    assert len(terms) == 75
    assert {year: _qingming(year) for year in range(2025, 2100)} == terms


def test_a_provisional_year_has_exactly_the_statutory_days_off() -> None:
    cal = WorkCalendar({})
    for year in (2027, 2031):
        start = date(year, 1, 1)
        days = [start + timedelta(days=k) for k in range((date(year + 1, 1, 1) - start).days)]
        off_weekdays = {d for d in days if d.weekday() < 5 and not cal.is_working_day(d)}
        assert off_weekdays == {d for d in days_off(year) if d.weekday() < 5}
        assert all(not cal.is_working_day(d) for d in days if d.weekday() >= 5)  # no make-up days
