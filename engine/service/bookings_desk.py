"""Appointments at the window: the day list, arrivals with a queue number, call next, no-shows, the linked case.

Each action is one transaction with the booking's version check (engine.service.bookings). A queue
number is the next of its counter and day, unique in the database (``uq_bookings_queue_number``):
arrivals are numbered one after the other under a lock, and the unique index refuses a duplicate
should two ever race. "Call next" takes the arrived booking with the lowest queue number that has
not been called and marks it served: it is at the window now.

Who may do what is asked here, before anything changes (:func:`window`, engine.service.access): the
window's department and the front desk act; supervisors and administrators only read; a booking of
another window is answered as one that does not exist.

The supervision sweep calls :func:`mark_no_shows` once a day is over:

* an active booking of a day that was a working day is a no-show, which the no-show rule of
  appointments.yaml counts against the person;
* an active booking of a day the calendar has since closed (a holiday announced after people booked)
  is ``closed``: cancelled by the center, never held against the person;
* an arrival never called (the window closed before their turn) is ``left``: they came, so it is
  no no-show, and it no longer counts as waiting. Supervision counts people waiting today only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine, func, select, update

from engine.base.i18n import N_, gettext
from engine.ledger import tables
from engine.ledger.booking_tables import bookings
from engine.ledger.db import iso, lock, read_only
from engine.rules.calendar import WorkCalendar
from engine.rules.cases.model import Actor
from engine.rules.clock import local_date
from engine.rules.slots import Counter, is_open
from engine.service import access
from engine.service.bookings import ACTIVE, Booking, BookingError, Bookings

__all__ = [
    "DayFigures", "NotFound", "arrive", "call_next", "day_list", "figures", "link_case", "mark_no_shows",
    "now_serving", "window",
]  # fmt: skip

_B = bookings
NO_COUNTER = N_("没有这个预约窗口。")


class NotFound(BookingError):
    """No such window or booking for this member of staff: another department's is answered as one that
    does not exist (the pages answer 404)."""


def window(bk: Bookings, actor: Actor | None, counter_id: str, *, act: bool = True) -> Counter:
    """The window ``counter_id`` if ``actor`` may work it (``act``) or read it; else NotFound. Every
    action here asks first, so no caller can forget (engine.service.access decides)."""
    counter = bk.rules.counters.get(counter_id)
    allowed = access.may_handle_bookings if act else access.may_see_bookings
    if counter is None or not allowed(actor, counter.department):
        raise NotFound(gettext(NO_COUNTER))
    return counter


def day_list(bk: Bookings, actor: Actor | None, counter_id: str, day: date) -> list[Booking]:
    """Every booking of the counter on ``day``, in slot order (cancelled ones last)."""
    window(bk, actor, counter_id, act=False)
    with read_only(bk.db) as conn:
        rows = conn.execute(
            select(_B).where(_B.c.counter == counter_id, _B.c.day == day.isoformat()).order_by(_B.c.start, _B.c.id)
        ).all()
    found = [Booking.of(r) for r in rows]
    return sorted(found, key=lambda b: b.state == "cancelled")


def _get(bk: Bookings, actor: Actor | None, counter_id: str, number: str) -> Booking:
    """The booking ``number`` of window ``counter_id``, loaded and checked before anything is done to it."""
    window(bk, actor, counter_id)
    found = bk.get(number)
    if found is None or found.counter != counter_id:
        raise NotFound(gettext("没有这条预约。"))
    return found


def arrive(bk: Bookings, actor: Actor | None, counter_id: str, number: str, version: int) -> Booking:
    """The person is here (today): they get the next queue number of their counter and day."""
    b = _get(bk, actor, counter_id, number)
    if b.version != version:
        raise BookingError(gettext("这条预约刚刚有了变化，请刷新后再试。"))
    if not b.active:
        raise BookingError(gettext("这条预约已经不能签到。"))
    if b.day != bk.today().isoformat():
        raise BookingError(gettext("只能为当天的预约签到。"))
    with bk.db.begin() as conn:
        lock(conn, f"booking-queue:{b.counter}:{b.day}")
        last = conn.execute(
            select(func.max(_B.c.queue_number)).where(_B.c.counter == b.counter, _B.c.day == b.day)
        ).scalar_one()
        now = iso(bk.clock.now())
        bk.change(conn, b, ACTIVE, state="arrived", queue_number=int(last or 0) + 1, arrived_at=now)
        row = conn.execute(select(_B).where(_B.c.id == b.id)).one()
    return Booking.of(row)


def call_next(bk: Bookings, actor: Actor | None, counter_id: str) -> Booking | None:
    """The next arrived person of the counter today (lowest queue number), marked served; None when nobody waits."""
    window(bk, actor, counter_id)
    today = bk.today().isoformat()
    with bk.db.begin() as conn:
        lock(conn, f"booking-queue:{counter_id}:{today}")
        row = conn.execute(
            select(_B)
            .where(_B.c.counter == counter_id, _B.c.day == today, _B.c.state == "arrived", _B.c.called_at.is_(None))
            .order_by(_B.c.queue_number)
            .limit(1)
        ).first()
        if row is None:
            return None
        b = Booking.of(row)
        now = iso(bk.clock.now())
        bk.change(conn, b, ("arrived",), state="served", called_at=now, ended_at=now)
        row = conn.execute(select(_B).where(_B.c.id == b.id)).one()
    return Booking.of(row)


def now_serving(bk: Bookings, counter_id: str) -> tuple[Booking | None, int]:
    """For the hall screen: the last called booking of the counter today, and how many still wait."""
    today = bk.today().isoformat()
    with read_only(bk.db) as conn:
        row = conn.execute(
            select(_B)
            .where(_B.c.counter == counter_id, _B.c.day == today, _B.c.called_at.is_not(None))
            .order_by(_B.c.called_at.desc(), _B.c.queue_number.desc())
            .limit(1)
        ).first()
        waiting = conn.execute(
            select(func.count()).where(_B.c.counter == counter_id, _B.c.day == today, _B.c.state == "arrived")
        ).scalar_one()
    return (Booking.of(row) if row is not None else None), int(waiting)


def link_case(
    bk: Bookings, actor: Actor | None, counter_id: str, number: str, version: int, case_number: str
) -> Booking:
    """Link the case a booked applicant filed to their booking (an arrived or served one)."""
    b = _get(bk, actor, counter_id, number)
    if b.version != version:
        raise BookingError(gettext("这条预约刚刚有了变化，请刷新后再试。"))
    case_number = case_number.strip()  # a case number longer than any is simply not found (never cut to one)
    with bk.db.begin() as conn:
        where = tables.cases.c.number == case_number
        case = conn.execute(select(tables.cases.c.department).where(where)).first() if len(case_number) <= 32 else None
        if case is None:
            raise BookingError(gettext("没有办件 %(number)s") % {"number": case_number})
        if case.department != b.department:
            raise BookingError(gettext("办件 %(number)s 不属于该部门") % {"number": case_number})
        bk.change(conn, b, ("arrived", "served"), case_number=case_number)
        row = conn.execute(select(_B).where(_B.c.id == b.id)).one()
    return Booking.of(row)


def mark_no_shows(db: Engine, now: datetime, calendar: WorkCalendar) -> int:
    """Close the bookings of days before today (local): no-shows, days closed since, arrivals never
    called (see the module's docstring); returns the number of no-shows. Guarded updates: a second run,
    or a second process, changes nothing."""
    today, at = local_date(now).isoformat(), iso(now)
    done = {"version": _B.c.version + 1, "updated_at": at, "ended_at": at}
    with db.begin() as conn:
        past = conn.execute(
            select(_B.c.day).where(_B.c.day < today, _B.c.state.in_(ACTIVE)).group_by(_B.c.day)
        ).scalars()
        closed = [d for d in past if not is_open(calendar, date.fromisoformat(d))]
        if closed:
            conn.execute(update(_B).where(_B.c.day.in_(closed), _B.c.state.in_(ACTIVE)).values(state="closed", **done))
        missed = conn.execute(
            update(_B).where(_B.c.day < today, _B.c.state.in_(ACTIVE)).values(state="no_show", **done)
        )
        conn.execute(update(_B).where(_B.c.day < today, _B.c.state == "arrived").values(state="left", **done))
    return int(missed.rowcount or 0)


@dataclass(frozen=True, slots=True)
class DayFigures:
    department: str
    booked: int  # every booking of the period but cancelled ones (by the person or the center)
    arrived: int  # arrived, served, or left uncalled at the day's end
    no_shows: int
    waiting: int  # arrived and not yet called, today


def figures(db: Engine, first: date, last: date, today: date | None = None) -> list[DayFigures]:
    """Bookings, arrivals and no-shows per department for days in [first, last], and the people
    waiting at its windows ``today`` (an arrival of an earlier day is no one waiting now; none without it)."""
    b = _B
    with read_only(db) as conn:
        rows = conn.execute(
            select(b.c.department, b.c.state, func.count())
            .where(b.c.day >= first.isoformat(), b.c.day <= last.isoformat())
            .group_by(b.c.department, b.c.state)
        ).all()
        waiting: dict[str, int] = dict(
            conn.execute(
                select(b.c.department, func.count())
                .where(b.c.day == (today.isoformat() if today else ""), b.c.state == "arrived")
                .group_by(b.c.department)
            ).all()
        )
    per: dict[str, dict[str, int]] = {}
    for department, state, n in rows:
        per.setdefault(department, {})[state] = int(n)
    for department in waiting:
        per.setdefault(department, {})
    return [
        DayFigures(
            d,
            sum(n for s, n in states.items() if s not in ("cancelled", "closed")),
            states.get("arrived", 0) + states.get("served", 0) + states.get("left", 0),
            states.get("no_show", 0),
            int(waiting.get(d, 0)),
        )
        for d, states in sorted(per.items())
    ]
