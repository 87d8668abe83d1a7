"""The statutory clock (engine.rules.clock) on the reference calendar (calendar/2025.yaml, calendar/2026.yaml).

Calendar facts used below (calendar/2026.yaml):
- 春节 2026-02-15 (Sun) .. 2026-02-23 (Mon) off; make-up working days Sat 2026-02-14 and Sat 2026-02-28.
- 中秋节 2026-09-25 (Fri) .. 2026-09-27 (Sun) off; 国庆节 2026-10-01 (Thu) .. 2026-10-07 (Wed) off;
  make-up working days Sun 2026-09-20 and Sat 2026-10-10.
- March 2026 has no holiday: 2026-03-02 is a Monday, 2026-03-07 a Saturday.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.base.dates import TZ
from engine.rules.calendar import CalendarYearMissing, WorkCalendar
from engine.rules.clock import (
    OFFICE_HOURS,
    ManualClock,
    Pause,
    SystemClock,
    deemed_acceptance_due,
    due,
    due_with_pauses,
    end_of_day,
    extend,
    office_minutes_between,
    remaining_working_days,
    used,
)


@pytest.fixture(scope="module")
def cal(reference: Any) -> WorkCalendar:
    calendars = reference.catalogue.calendars
    assert sorted(calendars) == [2025, 2026]
    return WorkCalendar.from_documents([calendars[y].data for y in sorted(calendars)])


def at(y: int, mo: int, d: int, h: int = 9, mi: int = 0) -> datetime:
    """A local (China Standard Time) instant."""
    return datetime(y, mo, d, h, mi, tzinfo=TZ)


def eod(y: int, mo: int, d: int) -> datetime:
    return end_of_day(date(y, mo, d))


def wd(n: int) -> dict[str, Any]:
    return {"value": n, "unit": "working_day"}


def nd(n: int) -> dict[str, Any]:
    return {"value": n, "unit": "natural_day"}


def mins(n: int) -> dict[str, Any]:
    return {"value": n, "unit": "minute"}


# --------------------------------------------------------------------------- clocks


def test_clocks() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None
    clock = ManualClock(at(2026, 3, 2))
    assert clock.now() == at(2026, 3, 2)
    assert clock.advance(hours=2, minutes=30) == at(2026, 3, 2, 11, 30)
    assert clock.set(at(2026, 1, 5)) == at(2026, 1, 5) == clock.now()
    with pytest.raises(ValueError):
        clock.advance(days=-1)
    with pytest.raises(ValueError):
        ManualClock(datetime(2026, 3, 2, 9))  # naive


def test_office_hours_default() -> None:
    assert OFFICE_HOURS == ((time(8, 30), time(12, 0)), (time(13, 30), time(17, 0)))


# --------------------------------------------------------------------------- due: working days


def test_twenty_working_days_across_national_day(cal: WorkCalendar) -> None:
    # Start Fri 2026-09-25 (中秋 holiday; the start day is never counted anyway).
    # 09-26 Sat, 09-27 Sun off; 09-28 Mon (1), 09-29 (2), 09-30 (3); 10-01..10-07 国庆 off;
    # 10-08 Thu (4), 10-09 Fri (5), 10-10 make-up Sat (6), 10-11 Sun off, 10-12..10-16 (7..11),
    # 10-19..10-23 (12..16), 10-26 (17), 10-27 (18), 10-28 (19), 10-29 Thu (20).
    assert due(at(2026, 9, 25, 10), wd(20), cal) == eod(2026, 10, 29)
    assert eod(2026, 10, 29) == datetime(2026, 10, 29, 23, 59, 59, 999999, tzinfo=TZ)


def test_zero_working_days(cal: WorkCalendar) -> None:
    # Sat 2026-03-07 is not a working day: the end of Mon 2026-03-09.
    assert due(at(2026, 3, 7, 10), wd(0), cal) == eod(2026, 3, 9)
    # A working day: the end of that same day.
    assert due(at(2026, 3, 10, 10), wd(0), cal) == eod(2026, 3, 10)
    # The make-up Saturday 2026-10-10 is a working day.
    assert due(at(2026, 10, 10, 10), wd(0), cal) == eod(2026, 10, 10)


def test_start_date_is_taken_in_china_time(cal: WorkCalendar) -> None:
    # 2026-03-06 17:00 UTC is Sat 2026-03-07 01:00 in Beijing: N = 0 on a Saturday → end of Mon 03-09,
    # whereas the UTC date (Fri 03-06, a working day) would have given the end of Fri 03-06.
    assert due(datetime(2026, 3, 6, 17, tzinfo=UTC), wd(0), cal) == eod(2026, 3, 9)
    # 2026-03-05 17:00 UTC is Fri 03-06 01:00 local: 1 WD after Friday → Mon 03-09 (the UTC date, Thu, gives Fri).
    assert due(datetime(2026, 3, 5, 17, tzinfo=UTC), wd(1), cal) == eod(2026, 3, 9)
    assert due(datetime(2026, 3, 5, 15, tzinfo=UTC), wd(1), cal) == eod(2026, 3, 6)  # Thu 23:00 local
    assert due(datetime(2026, 3, 5, 17, tzinfo=UTC), wd(1), cal).tzinfo is TZ
    with pytest.raises(ValueError):
        due(datetime(2026, 3, 6, 9), wd(1), cal)  # naive


# --------------------------------------------------------------------------- due: natural days


def test_natural_days_ending_on_a_holiday_move_to_next_working_day(cal: WorkCalendar) -> None:
    # Mon 2026-09-28 + 3 natural days = Thu 10-01 (国庆) → the next working day is Thu 10-08.
    assert due(at(2026, 9, 28), nd(3), cal) == eod(2026, 10, 8)
    # Mon 2026-03-02 + 6 = Sun 03-08 → Mon 03-09.
    assert due(at(2026, 3, 2), nd(6), cal) == eod(2026, 3, 9)
    # Sat 2026-10-03 + 7 = Sat 10-10, a make-up working day: it stays.
    assert due(at(2026, 10, 3), nd(7), cal) == eod(2026, 10, 10)
    # Ending on a working day: no move. Mon 03-02 + 3 = Thu 03-05.
    assert due(at(2026, 3, 2), nd(3), cal) == eod(2026, 3, 5)


# --------------------------------------------------------------------------- due: office minutes


def test_minutes_skip_lunch(cal: WorkCalendar) -> None:
    # Tue 2026-03-10 11:30: 30 minutes to 12:00, then 13:30 + 30 = 14:00.
    assert due(at(2026, 3, 10, 11, 30), mins(60), cal) == at(2026, 3, 10, 14, 0)
    # Ending exactly at closing time stays there.
    assert due(at(2026, 3, 10, 11, 0), mins(60), cal) == at(2026, 3, 10, 12, 0)


def test_minutes_before_a_holiday(cal: WorkCalendar) -> None:
    # Wed 2026-09-30 16:45: 15 minutes to 17:00; 10-01..10-07 off; Thu 10-08 08:30 + 45 = 09:15.
    assert due(at(2026, 9, 30, 16, 45), mins(60), cal) == at(2026, 10, 8, 9, 15)


def test_minutes_start_outside_office_hours(cal: WorkCalendar) -> None:
    # Sat 2026-03-07 → Mon 03-09 08:30 + 30.
    assert due(at(2026, 3, 7, 10), mins(30), cal) == at(2026, 3, 9, 9, 0)
    # Before opening and at lunch.
    assert due(at(2026, 3, 10, 7, 0), mins(10), cal) == at(2026, 3, 10, 8, 40)
    assert due(at(2026, 3, 10, 12, 15), mins(10), cal) == at(2026, 3, 10, 13, 40)
    # 0 minutes inside office time is the start itself.
    assert due(at(2026, 3, 10, 10, 0), mins(0), cal) == at(2026, 3, 10, 10, 0)
    # A full day of 420 office minutes from opening ends at closing.
    assert due(at(2026, 3, 10, 8, 30), mins(420), cal) == at(2026, 3, 10, 17, 0)
    # Custom office hours: 09:00–17:00 without a lunch break.
    hours = ((time(9), time(17)),)
    assert due(at(2026, 3, 10, 11, 30), mins(60), cal, hours) == at(2026, 3, 10, 12, 30)


def test_office_minutes_between(cal: WorkCalendar) -> None:
    assert office_minutes_between(at(2026, 3, 10, 8, 0), at(2026, 3, 11, 8, 0), cal) == 420
    assert office_minutes_between(at(2026, 3, 6, 16, 0), at(2026, 3, 9, 9, 0), cal) == 90  # Fri 60 + Mon 30
    assert office_minutes_between(at(2026, 3, 9, 9, 0), at(2026, 3, 6, 16, 0), cal) == 0


# --------------------------------------------------------------------------- Art. 32, Art. 42


def test_deemed_acceptance_before_spring_festival(cal: WorkCalendar) -> None:
    # Received Fri 2026-02-13. Sat 02-14 make-up (1); 02-15..02-23 春节 off; Tue 02-24 (2), 02-25 (3),
    # 02-26 (4), Fri 02-27 (5).
    assert deemed_acceptance_due(at(2026, 2, 13, 15), cal) == eod(2026, 2, 27)


def test_extend(cal: WorkCalendar) -> None:
    # 20 WD from 2026-09-25 is 10-29; +10 WD: 10-30 (1), 11-02..11-06 (2..6), 11-09..11-12 (7..10).
    assert extend(eod(2026, 10, 29), wd(10), cal) == eod(2026, 11, 12)
    # Natural days with the holiday rule: Wed 2026-09-30 + 1 = Thu 10-01 (国庆) → Thu 10-08.
    assert extend(eod(2026, 9, 30), nd(1), cal) == eod(2026, 10, 8)
    # Minutes after an end-of-day deadline start at the next opening.
    assert extend(eod(2026, 3, 10), mins(30), cal) == at(2026, 3, 11, 9, 0)
    assert extend(eod(2026, 3, 10), wd(0), cal) == eod(2026, 3, 10)


# --------------------------------------------------------------------------- pauses


def test_pause_over_make_up_saturday(cal: WorkCalendar) -> None:
    start, limit = at(2026, 9, 25, 10), wd(20)  # due 10-29 without pauses
    # Fri 10-09 → Sat 10-10 (make-up working day): (10-09, 10-10] holds 1 working day → 21 WD → Fri 10-30.
    fri_sat = Pause(at(2026, 10, 9, 10), at(2026, 10, 10, 11), "expert review")
    assert due_with_pauses(start, limit, [fri_sat], cal) == eod(2026, 10, 30)
    # Fri 10-09 → Mon 10-12: (10-09, 10-12] = Sat 10-10 and Mon 10-12 → 22 WD → Mon 11-02.
    fri_mon = Pause(at(2026, 10, 9, 10), at(2026, 10, 12, 11), "expert review")
    assert due_with_pauses(start, limit, [fri_mon], cal) == eod(2026, 11, 2)


def test_pause_day_rules(cal: WorkCalendar) -> None:
    start = at(2026, 3, 2)  # Mon; 10 WD: 03-03..03-06, 03-09..03-13, 03-16 → Mon 03-16
    assert due(start, wd(10), cal) == eod(2026, 3, 16)
    same_day = Pause(at(2026, 3, 4, 9), at(2026, 3, 4, 16), "hearing")
    assert due_with_pauses(start, wd(10), [same_day], cal) == eod(2026, 3, 16)
    fri_mon = Pause(at(2026, 3, 6, 9), at(2026, 3, 9, 9), "inspection")  # 1 WD (Mon 03-09)
    assert due_with_pauses(start, wd(10), [fri_mon], cal) == eod(2026, 3, 17)
    # Natural days: Fri → Mon shifts 3 natural days. 10 ND from Mon 03-02 = Thu 03-12 → Sun 03-15 → Mon 03-16.
    assert due(start, nd(10), cal) == eod(2026, 3, 12)
    assert due_with_pauses(start, nd(10), [fri_mon], cal) == eod(2026, 3, 16)


def test_open_pause_suspends_the_deadline(cal: WorkCalendar) -> None:
    start = at(2026, 3, 2)
    open_pause = Pause(at(2026, 3, 4, 10), None, "testing")
    assert due_with_pauses(start, wd(10), [open_pause], cal) is None
    assert due_with_pauses(start, mins(600), [Pause(at(2026, 3, 2, 10), None, "testing")], cal) is None
    # As known at `now`: a pause that ends after now is still open; one that starts after now is not known yet.
    closed = Pause(at(2026, 3, 4, 10), at(2026, 3, 6, 10), "testing")  # (03-04, 03-06] = 2 WD
    assert due_with_pauses(start, wd(10), [closed], cal, now=at(2026, 3, 5)) is None
    assert due_with_pauses(start, wd(10), [closed], cal, now=at(2026, 3, 3)) == eod(2026, 3, 16)
    assert due_with_pauses(start, wd(10), [closed], cal, now=at(2026, 3, 7)) == eod(2026, 3, 18)


def test_pause_after_expiry_does_not_revive_the_clock(cal: WorkCalendar) -> None:
    start = at(2026, 3, 2)  # due Mon 03-16
    late = Pause(at(2026, 3, 17, 9), at(2026, 3, 20, 9), "hearing")
    assert due_with_pauses(start, wd(10), [late], cal) == eod(2026, 3, 16)
    assert due_with_pauses(start, wd(10), [Pause(at(2026, 3, 17, 9), None, "hearing")], cal) == eod(2026, 3, 16)
    # ... but a pause starting on the due day itself counts: (03-16, 03-18] = 2 WD → Wed 03-18.
    on_due_day = Pause(at(2026, 3, 16, 15), at(2026, 3, 18, 9), "hearing")
    assert due_with_pauses(start, wd(10), [on_due_day], cal) == eod(2026, 3, 18)


def test_overlapping_pauses_count_once(cal: WorkCalendar) -> None:
    start = at(2026, 3, 2)  # 10 WD → Mon 03-16
    a = Pause(at(2026, 3, 3, 10), at(2026, 3, 5, 10), "testing")  # (03-03, 03-05] = Wed, Thu
    b = Pause(at(2026, 3, 4, 9), at(2026, 3, 6, 12), "appraisal")  # (03-04, 03-06] = Thu, Fri
    # Union (03-03, 03-06] = Wed, Thu, Fri = 3 WD → 13 WD → Thu 03-19 (not 4 WD → Fri 03-20).
    assert due_with_pauses(start, wd(10), [a, b], cal) == eod(2026, 3, 19)
    assert due_with_pauses(start, wd(10), [b, a, a], cal) == eod(2026, 3, 19)
    assert used(start, "working_day", [a, b], cal, eod(2026, 3, 19)) == 10


def test_minute_pauses(cal: WorkCalendar) -> None:
    start = at(2026, 3, 10, 9, 0)  # 120 office minutes → 11:00
    assert due(start, mins(120), cal) == at(2026, 3, 10, 11, 0)
    # Pause 10:00–14:00 holds 120 (10:00–12:00) + 30 (13:30–14:00) office minutes → 270 → 13:30 + 90 = 15:00.
    pause = Pause(at(2026, 3, 10, 10, 0), at(2026, 3, 10, 14, 0), "on-site check")
    assert due_with_pauses(start, mins(120), [pause], cal) == at(2026, 3, 10, 15, 0)
    assert used(start, "minute", [pause], cal, at(2026, 3, 10, 15, 0)) == 120
    assert used(start, "minute", [pause], cal, at(2026, 3, 10, 13, 0)) == 60


def test_used(cal: WorkCalendar) -> None:
    start = at(2026, 9, 25, 10)
    assert used(start, "working_day", [], cal, at(2026, 9, 25, 16)) == 0
    assert used(start, "working_day", [], cal, at(2026, 10, 8, 10)) == 4
    assert used(start, "working_day", [], cal, eod(2026, 10, 29)) == 20
    assert used(start, "natural_day", [], cal, at(2026, 10, 8)) == 13
    assert used(start, "working_day", [], cal, at(2026, 9, 1)) == 0  # before the start
    # An open pause counts up to `at`: from Fri 10-09, at Mon 10-12 → 10-10 and 10-12 excluded.
    open_pause = Pause(at(2026, 10, 9, 10), None, "testing")
    assert used(start, "working_day", [open_pause], cal, at(2026, 10, 12, 10)) == 5
    with pytest.raises(ValueError):
        used(start, "hour", [], cal, at(2026, 10, 12))


def test_remaining_working_days_sign(cal: WorkCalendar) -> None:
    deadline = eod(2026, 10, 29)  # Thu
    assert remaining_working_days(deadline, at(2026, 10, 29, 16), cal) == 0
    assert remaining_working_days(deadline, at(2026, 10, 28), cal) == 1
    assert remaining_working_days(deadline, at(2026, 10, 9), cal) == 15  # (10-09, 10-29] = 20 - 5
    assert remaining_working_days(deadline, at(2026, 10, 30), cal) == -1
    assert remaining_working_days(deadline, at(2026, 10, 31), cal) == -1  # Saturday: overdue, no WD lost yet
    assert remaining_working_days(deadline, at(2026, 11, 2), cal) == -2
    # A minute deadline already passed on the same day is overdue.
    assert remaining_working_days(at(2026, 3, 10, 11), at(2026, 3, 10, 15), cal) == -1


def test_into_a_year_without_its_file_the_deadline_is_provisional(cal: WorkCalendar) -> None:
    """2027 has no file: its working days are Monday to Friday outside the statutory days of the
    办法 (2027-01-01 元旦 is a Friday), and every deadline in it is provisional."""
    # Sunday 12-20 + 20 working days: 12-21..25 (5), 12-28..31 (9), [01-01], 01-04..08 (14), 01-11..15 (19),
    # Monday 01-18 (20)
    assert due(at(2026, 12, 20), wd(20), cal) == eod(2027, 1, 18)
    # Friday 12-25 + 10 natural days = Monday 01-04, a working day
    assert due(at(2026, 12, 25), nd(10), cal) == eod(2027, 1, 4)
    # Thursday 12-31 16:00: 60 office minutes to 17:00, then 01-01 (元旦) and the weekend, 08:30 + 60 on 01-04
    assert due(at(2026, 12, 31, 16), mins(120), cal) == at(2027, 1, 4, 9, 30)
    # Art. 32 from Monday 12-28: 12-29, 30, 31, 01-04, 01-05
    assert deemed_acceptance_due(at(2026, 12, 28), cal) == eod(2027, 1, 5)
    assert cal.is_provisional(date(2027, 1, 5)) and not cal.is_provisional(date(2026, 12, 31))
    # a year before the first file is never counted provisionally
    with pytest.raises(CalendarYearMissing):
        due(at(2024, 12, 31), wd(1), cal)


def test_a_strict_calendar_raises_outside_its_files(reference: Any) -> None:
    calendars = reference.catalogue.calendars
    strict = WorkCalendar.from_documents([calendars[y].data for y in sorted(calendars)], provisional=False)
    with pytest.raises(CalendarYearMissing):
        due(at(2026, 12, 20), wd(20), strict)
    with pytest.raises(CalendarYearMissing):
        due(at(2026, 12, 25), nd(10), strict)
    with pytest.raises(CalendarYearMissing):
        due(at(2026, 12, 31, 16), mins(120), strict)
    with pytest.raises(CalendarYearMissing):
        deemed_acceptance_due(at(2026, 12, 28), strict)


def test_bad_limits_and_pauses(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        due(at(2026, 3, 2), {"value": -1, "unit": "working_day"}, cal)
    with pytest.raises(ValueError):
        due(at(2026, 3, 2), {"value": 3, "unit": "hour"}, cal)
    with pytest.raises(ValueError):
        due(at(2026, 3, 2), {"value": True, "unit": "working_day"}, cal)
    with pytest.raises(ValueError):
        Pause(at(2026, 3, 3), at(2026, 3, 2), "backwards")
    with pytest.raises(ValueError):
        due(at(2026, 3, 2), mins(10), cal, ())
    with pytest.raises(ValueError):
        due(at(2026, 3, 2), mins(10), cal, ((time(12), time(9)),))


# --------------------------------------------------------------------------- properties

FIRST, LAST = date(2025, 1, 1), date(2026, 6, 30)  # starts; limits below keep results inside 2026
days_st = st.dates(min_value=FIRST, max_value=LAST)
instants = st.builds(
    lambda d, m: datetime.combine(d, time(), tzinfo=TZ) + timedelta(minutes=m),
    days_st,
    st.integers(0, 24 * 60 - 1),
)
limits = st.one_of(
    st.builds(wd, st.integers(0, 60)),
    st.builds(nd, st.integers(0, 90)),
    st.builds(mins, st.integers(0, 5000)),
)


@st.composite
def pauses_after(draw: st.DrawFn, start: datetime, count: int = 3) -> list[Pause]:
    result = []
    for _ in range(draw(st.integers(0, count))):
        begin = start + timedelta(minutes=draw(st.integers(-3 * 24 * 60, 40 * 24 * 60)))
        length = timedelta(minutes=draw(st.integers(0, 10 * 24 * 60)))
        result.append(Pause(begin, begin + length, "p"))
    return result


@st.composite
def cases(draw: st.DrawFn) -> tuple[datetime, dict[str, Any], list[Pause]]:
    start = draw(instants)
    return start, draw(limits), draw(pauses_after(start))


_settings = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_settings
@given(start=instants, n=st.integers(0, 60))
def test_due_never_earlier_than_the_working_day_rule(cal: WorkCalendar, start: datetime, n: int) -> None:
    d = start.astimezone(TZ).date()
    result = due(start, wd(n), cal)
    assert result == end_of_day(
        cal.add_working_days(d, n) if n else (d if cal.is_working_day(d) else cal.next_working_day(d))
    )
    assert result >= end_of_day(d + timedelta(days=n))  # N working days span at least N natural days
    assert cal.is_working_day(result.date())
    natural = due(start, nd(n), cal)
    assert natural >= end_of_day(d + timedelta(days=n))
    assert cal.is_working_day(natural.date())
    assert cal.working_days_between(d + timedelta(days=n), natural.date()) <= 1


@_settings
@given(case=cases())
def test_due_with_pauses_is_never_earlier_than_due(
    cal: WorkCalendar, case: tuple[datetime, dict[str, Any], list[Pause]]
) -> None:
    start, limit, pauses = case
    shifted = due_with_pauses(start, limit, pauses, cal)
    assert shifted is not None
    assert shifted >= due(start, limit, cal)
    assert due_with_pauses(start, limit, [], cal) == due(start, limit, cal)


@_settings
@given(case=cases(), data=st.data())
def test_adding_a_pause_never_makes_the_deadline_earlier(
    cal: WorkCalendar, case: tuple[datetime, dict[str, Any], list[Pause]], data: st.DataObject
) -> None:
    start, limit, pauses = case
    extra = data.draw(pauses_after(start, 1).filter(bool))
    before = due_with_pauses(start, limit, pauses, cal)
    after = due_with_pauses(start, limit, [*pauses, *extra], cal)
    assert before is not None and after is not None
    assert after >= before


@_settings
@given(start=instants, n=st.integers(1, 60), data=st.data())
def test_used_at_due_is_the_limit(cal: WorkCalendar, start: datetime, n: int, data: st.DataObject) -> None:
    deadline = due(start, wd(n), cal)
    assert used(start, "working_day", [], cal, deadline) == n
    pauses = data.draw(pauses_after(start))
    shifted = due_with_pauses(start, wd(n), pauses, cal)
    assert shifted is not None
    assert used(start, "working_day", pauses, cal, shifted) == n
    assert remaining_working_days(shifted, shifted, cal) == 0


@_settings
@given(start=instants, n=st.integers(0, 3000))
def test_minutes_used_at_due_is_the_limit(cal: WorkCalendar, start: datetime, n: int) -> None:
    deadline = due(start, mins(n), cal)
    assert deadline >= start
    assert used(start, "minute", [], cal, deadline) == n
