"""The statutory clock of a case: deadlines, pauses, elapsed time and extensions.

Time
    Every instant is a timezone-aware ``datetime``; naive datetimes are refused
    (``ValueError``) because a deadline must never depend on the server's zone. Day
    arithmetic happens in China Standard Time (``engine.base.dates.TZ``, Asia/Shanghai): an
    instant is converted to ``TZ`` before its date is taken, and every deadline is
    returned in ``TZ``. ``Clock`` is the source of "now": ``SystemClock`` in production,
    ``ManualClock`` in tests and simulations.

Law
    - 行政许可法 art. 82: the licensing time limits count working days, excluding statutory
      holidays — the working-day calendar is ``engine.rules.calendar.WorkCalendar``, which
      includes make-up working days (调休上班日).
    - 民法典 art. 201: 按照年、月、日计算期间的，开始的当日不计入，自下一日开始计算 — the
      start day is not counted.
    - 民法典 art. 203: 期间的最后一日是法定休假日的，以法定休假日结束的次日为期间的最后一日。
      期间的最后一日的截止时间为二十四时 — a period whose last day is a day off (a holiday, or
      a weekend that is not a make-up working day) ends on the next working day, at 24:00.
    - 行政许可法 art. 32: an incomplete application not answered within 5 (working) days of
      receipt counts as accepted from receipt — ``deemed_acceptance_due``.
    - 行政许可法 art. 42: 20 days to decide, extendable once by 10 — ``extend``.
    - 行政许可法 art. 45: hearings, testing, inspection, expert review … are not counted in
      the limit — ``Pause`` and ``due_with_pauses``.

Rules for ``due(start, limit, cal)`` (``limit`` is a catalogue duration
``{value: N, unit: working_day | natural_day | minute}``):
    - ``working_day`` N > 0: the end (23:59:59.999999 local time) of the N-th working day
      after the start date, the start date itself not counted
      (``cal.add_working_days(start_date, N)``).
    - ``working_day`` 0: the end of the start date if it is a working day, otherwise the
      end of the next working day.
    - ``natural_day`` N: the end of the N-th natural day after the start date (start date
      not counted); when that day is not a working day (weekend or holiday — a make-up
      working day is a working day), the end of the next working day instead. N = 0 is the
      start date with the same rule, so it agrees with ``working_day`` 0.
    - ``minute`` N: N office minutes after the start. Office time is ``office_hours``
      (default ``OFFICE_HOURS``: 08:30–12:00 and 13:30–17:00 local time, 420 minutes a
      day) on working days only; a start outside office time begins at the next office
      opening, and a result that falls exactly on a closing time stays there (a 60-minute
      item started at 11:00 is due at 12:00, not 13:30). N = 0 is the start itself, or
      the next opening when the start is outside office time.
    - The deadline is inclusive: the case is on time when it is finished at or before
      ``due``. Art. 203's second sentence (a period of a business with business hours ends
      when business stops) is deliberately not applied to day limits: a day limit ends at
      24:00, the most favourable reading for the applicant.

Rules for pauses (``due_with_pauses``, ``used``):
    - A day limit is shifted by the days inside the pause, counted like a period: the
      working days (``working_day``) or natural days (``natural_day``) strictly after the
      pause's start date up to and including its end date. A pause that starts and ends
      on the same date shifts nothing; Friday → next Monday shifts 1 working day (Monday);
      Friday → the make-up Saturday after it shifts 1 working day.
    - A ``minute`` limit is shifted by the office time inside ``[pause.start, pause.end)``.
    - Only time at or after the case start counts; overlapping or touching pauses are
      merged first so every day (or office minute) is counted once.
    - A pause only stops a running clock: pauses are taken in order of their start, and a
      pause that starts after the deadline as shifted by the earlier pauses is ignored
      (it cannot revive an expired limit, so an overdue case stays overdue).
    - While a pause that counts is still open (``end is None``) the deadline is
      suspended: ``due_with_pauses`` returns None.

Every date is looked up in the calendar. A year after the last calendar file is counted by the
provisional rule (``engine.rules.calendar``): a deadline on a date for which ``cal.is_provisional``
is True is provisional (暂定) and is shown so (``engine.service.provisional``). Any other date the
calendar cannot count raises ``engine.rules.calendar.CalendarYearMissing`` untouched.
Library code: nothing here prints.

The module stays whole, just over 500 lines (80 of them the specification above): every rule
here is computed from the same day and office-time spans, and splitting the minute limits from the
day limits would part ``due`` from the pause rules both share.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal, Protocol

from engine.base.dates import TZ
from engine.rules.calendar import CalendarYearMissing, WorkCalendar

__all__ = [
    "OFFICE_HOURS",
    "UNITS",
    "CalendarYearMissing",
    "Clock",
    "ManualClock",
    "OfficeHours",
    "Pause",
    "SystemClock",
    "Unit",
    "deemed_acceptance_due",
    "due",
    "due_with_pauses",
    "end_of_day",
    "extend",
    "local_date",
    "office_minutes_between",
    "remaining_working_days",
    "used",
]

Unit = Literal["working_day", "natural_day", "minute"]
UNITS: Final[tuple[str, ...]] = ("working_day", "natural_day", "minute")

OfficeHours = Sequence[tuple[time, time]]

OFFICE_HOURS: Final[tuple[tuple[time, time], ...]] = ((time(8, 30), time(12, 0)), (time(13, 30), time(17, 0)))
"""Default office time of a working day (local time): 08:30–12:00 and 13:30–17:00, 7 h = 420 minutes."""

_MINUTE = timedelta(minutes=1)
_ZERO = timedelta(0)


# --------------------------------------------------------------------------- clocks


class Clock(Protocol):
    """The source of the current instant (timezone-aware)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: for tests and simulations."""

    __slots__ = ("_now",)

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start, "start")

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        """Move forward by ``timedelta(**delta)`` (e.g. ``advance(hours=2)``); returns the new now."""
        step = timedelta(**delta)
        if step < _ZERO:
            raise ValueError(f"a clock only advances; use set() to go back (got {step})")
        self._now += step
        return self._now

    def set(self, dt: datetime) -> datetime:
        """Jump to ``dt`` (any aware instant, also backwards); returns it."""
        self._now = _aware(dt, "dt")
        return self._now


# --------------------------------------------------------------------------- helpers


def _aware(dt: datetime, name: str) -> datetime:
    if not isinstance(dt, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {dt.isoformat()}); deadlines never guess a zone")
    return dt


def local_date(dt: datetime) -> date:
    """The China Standard Time date of an aware instant."""
    return _aware(dt, "datetime").astimezone(TZ).date()


def end_of_day(d: date) -> datetime:
    """The last instant (23:59:59.999999) of a local date, in ``TZ``."""
    return datetime.combine(d, time.max, tzinfo=TZ)


def _limit(limit: Mapping[str, Any]) -> tuple[int, str]:
    if not isinstance(limit, Mapping):
        raise TypeError(f"a limit is a mapping {{value, unit}}, not {type(limit).__name__}")
    value, unit = limit.get("value"), limit.get("unit")
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"a limit's value must be a whole number 0 or more, not {value!r}")
    _unit(unit)
    return value, str(unit)


def _unit(unit: Any) -> None:
    if unit not in UNITS:
        raise ValueError(f"a limit's unit must be one of {', '.join(UNITS)}, not {unit!r}")


def _check_hours(office_hours: OfficeHours) -> tuple[tuple[time, time], ...]:
    hours = tuple(office_hours)
    if not hours:
        raise ValueError("office_hours must have at least one (open, close) period")
    previous: time | None = None
    for open_, close in hours:
        if open_.tzinfo is not None or close.tzinfo is not None:
            raise ValueError("office_hours are local wall-clock times without a zone")
        if not open_ < close:
            raise ValueError(f"an office period must open before it closes ({open_}–{close})")
        if previous is not None and open_ < previous:
            raise ValueError("office_hours periods must be in order and must not overlap")
        previous = close
    return hours


def _natural_end(cal: WorkCalendar, d: date) -> date:
    """``d`` if it is a working day, else the next working day (民法典 art. 203)."""
    return d if cal.is_working_day(d) else cal.next_working_day(d)


def _periods(cal: WorkCalendar, day: date, hours: tuple[tuple[time, time], ...]) -> list[tuple[datetime, datetime]]:
    if not cal.is_working_day(day):
        return []
    return [(datetime.combine(day, o, tzinfo=TZ), datetime.combine(day, c, tzinfo=TZ)) for o, c in hours]


def _add_office_time(
    start: datetime, amount: timedelta, cal: WorkCalendar, hours: tuple[tuple[time, time], ...]
) -> datetime:
    """The instant ``amount`` of office time after ``start`` (skipping non-office time)."""
    local = start.astimezone(TZ)
    day = local.date()
    remaining = amount
    while True:  # ends: every working day adds office time, and the calendar raises past its last year (2099)
        for lo, hi in _periods(cal, day, hours):
            if hi <= local:
                continue
            begin = max(lo, local)
            available = hi - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        day += timedelta(days=1)


def _office_time(a: datetime, b: datetime, cal: WorkCalendar, hours: tuple[tuple[time, time], ...]) -> timedelta:
    """Office time inside ``[a, b)``."""
    a, b = a.astimezone(TZ), b.astimezone(TZ)
    total = _ZERO
    if b <= a:
        return total
    day, last = a.date(), b.date()
    while day <= last:
        for lo, hi in _periods(cal, day, hours):
            lo, hi = max(lo, a), min(hi, b)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total


def office_minutes_between(
    a: datetime, b: datetime, cal: WorkCalendar, office_hours: OfficeHours = OFFICE_HOURS
) -> int:
    """Whole office minutes inside ``[a, b)`` (0 when ``b <= a``)."""
    hours = _check_hours(office_hours)
    return _office_time(_aware(a, "a"), _aware(b, "b"), cal, hours) // _MINUTE


# --------------------------------------------------------------------------- pauses


@dataclass(frozen=True, slots=True)
class Pause:
    """A stop of the clock (行政许可法 art. 45: hearing, testing, expert review …).

    ``end`` None means the clock is still stopped. ``reason`` is free text (or the kind of
    special procedure) for notices and supervision.
    """

    start: datetime
    end: datetime | None
    reason: str

    def __post_init__(self) -> None:
        _aware(self.start, "Pause.start")
        if self.end is not None:
            _aware(self.end, "Pause.end")
            if self.end < self.start:
                raise ValueError(
                    f"a pause cannot end ({self.end.isoformat()}) before it starts ({self.start.isoformat()})"
                )


@dataclass(frozen=True, slots=True)
class _Span:
    first: datetime  # earliest pause start in the group (for the "clock still running" test)
    lo: Any  # date ordinal (day units) or local datetime (minutes); exclusive / inclusive as the unit says
    hi: Any  # None = open


def _as_of(pauses: Iterable[Pause], now: datetime | None) -> list[Pause]:
    """The pauses as known at ``now``: later starts dropped, ends after ``now`` still open."""
    result = list(pauses)
    if now is None:
        return result
    now = _aware(now, "now")
    known: list[Pause] = []
    for p in result:
        if p.start > now:
            continue
        known.append(p if p.end is None or p.end <= now else Pause(p.start, None, p.reason))
    return known


def _day_spans(pauses: Iterable[Pause], start: date, cap: date | None) -> list[_Span]:
    """Merged date intervals (lo, hi] of the pauses, clipped to after ``start`` (and up to ``cap``)."""
    raw: list[tuple[date, date | None, datetime]] = []
    for p in pauses:
        lo = max(local_date(p.start), start)
        hi = None if p.end is None else local_date(p.end)
        if cap is not None:
            hi = cap if hi is None else min(hi, cap)
        if hi is not None and hi <= lo:
            continue
        raw.append((lo, hi, p.start))
    raw.sort(key=lambda r: (r[0], r[2]))
    merged: list[_Span] = []
    for lo, hi, first in raw:
        if merged:
            last = merged[-1]
            if last.hi is None or lo <= last.hi:
                new_hi = None if last.hi is None or hi is None else max(last.hi, hi)
                merged[-1] = _Span(min(last.first, first), last.lo, new_hi)
                continue
        merged.append(_Span(first, lo, hi))
    return merged


def _time_spans(pauses: Iterable[Pause], start: datetime, cap: datetime | None) -> list[_Span]:
    """Merged instant intervals [lo, hi) of the pauses, clipped to ``[start, cap)``."""
    raw: list[tuple[datetime, datetime | None]] = []
    for p in pauses:
        lo = max(p.start, start)
        hi = p.end
        if cap is not None:
            hi = cap if hi is None else min(hi, cap)
        if hi is not None and hi <= lo:
            continue
        raw.append((lo, hi))
    raw.sort(key=lambda r: r[0])
    merged: list[_Span] = []
    for lo, hi in raw:
        if merged:
            last = merged[-1]
            if last.hi is None or lo <= last.hi:
                new_hi = None if last.hi is None or hi is None else max(last.hi, hi)
                merged[-1] = _Span(last.first, last.lo, new_hi)
                continue
        merged.append(_Span(lo, lo, hi))
    return merged


def _span_days(cal: WorkCalendar, unit: str, lo: date, hi: date) -> int:
    return cal.working_days_between(lo, hi) if unit == "working_day" else (hi - lo).days


# --------------------------------------------------------------------------- deadlines


def _due_days(cal: WorkCalendar, unit: str, start: date, n: int) -> datetime:
    if unit == "working_day":
        if n == 0:
            return end_of_day(_natural_end(cal, start))
        return end_of_day(cal.add_working_days(start, n))
    return end_of_day(_natural_end(cal, start + timedelta(days=n)))


def due(
    start: datetime,
    limit: Mapping[str, Any],
    cal: WorkCalendar,
    office_hours: OfficeHours = OFFICE_HOURS,
) -> datetime:
    """The deadline of ``limit`` counted from ``start`` (rules in the module docstring), in ``TZ``."""
    n, unit = _limit(limit)
    start = _aware(start, "start")
    if unit == "minute":
        return _add_office_time(start, n * _MINUTE, cal, _check_hours(office_hours))
    return _due_days(cal, unit, local_date(start), n)


def due_with_pauses(
    start: datetime,
    limit: Mapping[str, Any],
    pauses: Iterable[Pause],
    cal: WorkCalendar,
    now: datetime | None = None,
    office_hours: OfficeHours = OFFICE_HOURS,
) -> datetime | None:
    """The deadline shifted by the pauses that stopped the clock; None while such a pause is open.

    ``now`` (optional) answers "as known at now": pauses that start after ``now`` are
    ignored and a pause ending after ``now`` is still open. Rules: module docstring.
    """
    n, unit = _limit(limit)
    start = _aware(start, "start")
    known = _as_of(pauses, now)
    if unit == "minute":
        hours = _check_hours(office_hours)
        extra = _ZERO
        deadline = _add_office_time(start, n * _MINUTE, cal, hours)
        for span in _time_spans(known, start, None):
            if span.first > deadline:
                break
            if span.hi is None:
                return None
            extra += _office_time(span.lo, span.hi, cal, hours)
            deadline = _add_office_time(start, n * _MINUTE + extra, cal, hours)
        return deadline
    start_date = local_date(start)
    shift = 0
    deadline = _due_days(cal, unit, start_date, n)
    for span in _day_spans(known, start_date, None):
        if span.first > deadline:
            break
        if span.hi is None:
            return None
        shift += _span_days(cal, unit, span.lo, span.hi)
        deadline = _due_days(cal, unit, start_date, n + shift)
    return deadline


def used(
    start: datetime,
    limit_unit: str,
    pauses: Iterable[Pause],
    cal: WorkCalendar,
    at: datetime,
    office_hours: OfficeHours = OFFICE_HOURS,
) -> int:
    """Time elapsed from ``start`` to ``at`` in ``limit_unit``, not counting pauses.

    - ``working_day``: working days in (start date, at date] minus the pause days
      (counted as in ``due_with_pauses``); 0 on the start date, N at ``due`` of N days.
    - ``natural_day``: natural days in (start date, at date] minus the pause days.
    - ``minute``: whole office minutes in ``[start, at)`` outside every pause.
    Open pauses count up to ``at``; 0 when ``at`` is before ``start``.
    """
    _unit(limit_unit)
    start, at = _aware(start, "start"), _aware(at, "at")
    if at <= start:
        return 0
    if limit_unit == "minute":
        hours = _check_hours(office_hours)
        total = _office_time(start, at, cal, hours)
        for span in _time_spans(pauses, start, at):
            total -= _office_time(span.lo, span.hi, cal, hours)
        return max(total, _ZERO) // _MINUTE
    start_date, at_date = local_date(start), local_date(at)
    elapsed = _span_days(cal, limit_unit, start_date, at_date) if at_date > start_date else 0
    for span in _day_spans(pauses, start_date, at_date):
        elapsed -= _span_days(cal, limit_unit, span.lo, span.hi)
    return max(elapsed, 0)


def remaining_working_days(due: datetime, at: datetime, cal: WorkCalendar) -> int:
    """Working days left from ``at`` until ``due``: working days in (at date, due date].

    0 on the due day (before the deadline instant). Negative exactly when ``at`` is after
    ``due``: minus the working days in (due date, at date], and at least -1 (so a weekend
    right after a Friday deadline, or later the same day for a minute deadline, is -1).
    """
    due, at = _aware(due, "due"), _aware(at, "at")
    due_date, at_date = local_date(due), local_date(at)
    if at > due:
        return -max(1, cal.working_days_between(due_date, at_date))
    return cal.working_days_between(at_date, due_date)


def deemed_acceptance_due(received: datetime, cal: WorkCalendar, days: int = 5) -> datetime:
    """行政许可法 art. 32 (with art. 82): the end of the ``days``-th working day after receipt.

    If the applicant has not been told what to supplement by then, the application counts
    as accepted from the day the materials were received.
    """
    return due(received, {"value": days, "unit": "working_day"}, cal)


def extend(
    due: datetime,
    extension: Mapping[str, Any],
    cal: WorkCalendar,
    office_hours: OfficeHours = OFFICE_HOURS,
) -> datetime:
    """A deadline extended (行政许可法 art. 42: 20 working days + 10 with the head's approval).

    ``working_day`` N: the end of the N-th working day after the due date; ``natural_day``
    N: the end of the N-th natural day after the due date, moved to the next working day
    when it is not one; ``minute`` N: N office minutes after ``due``. N = 0 returns the
    deadline unchanged.
    """
    n, unit = _limit(extension)
    due = _aware(due, "due")
    if n == 0:
        return due.astimezone(TZ)
    if unit == "minute":
        return _add_office_time(due, n * _MINUTE, cal, _check_hours(office_hours))
    return _due_days(cal, unit, local_date(due), n)
