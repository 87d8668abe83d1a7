"""Appointments at the window: the day list, arrivals with a queue number, call next, no-shows, the linked case.

Each action is one transaction with the booking's version check (engine.service.bookings). A queue
number is the next of its counter and day, unique in the database (``uq_bookings_queue_number``):
arrivals are numbered one after the other under a lock, and the unique index refuses a duplicate
should two ever race. "Call next" takes the arrived booking with the lowest queue number that has
not been called and marks it served: it is at the window now. The supervision sweep calls
:func:`mark_no_shows`: an active booking whose day has ended is a no-show, which the no-show rule of
appointments.yaml counts against the person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine, func, select, update

from engine.base.i18n import gettext
from engine.ledger import tables
from engine.ledger.booking_tables import bookings
from engine.ledger.db import iso, lock, read_only
from engine.rules.clock import local_date
from engine.service.bookings import ACTIVE, Booking, BookingError, Bookings

__all__ = ["DayFigures", "arrive", "call_next", "day_list", "figures", "link_case", "mark_no_shows", "now_serving"]

_B = bookings


def day_list(bk: Bookings, counter_id: str, day: date) -> list[Booking]:
    """Every booking of the counter on ``day``, in slot order (cancelled ones last)."""
    bk.counter(counter_id)
    with read_only(bk.db) as conn:
        rows = conn.execute(
            select(_B).where(_B.c.counter == counter_id, _B.c.day == day.isoformat()).order_by(_B.c.start, _B.c.id)
        ).all()
    found = [Booking.of(r) for r in rows]
    return sorted(found, key=lambda b: b.state == "cancelled")


def _get(bk: Bookings, number: str) -> Booking:
    found = bk.get(number)
    if found is None:
        raise BookingError(gettext("没有这条预约。"))
    return found


def arrive(bk: Bookings, number: str, version: int) -> Booking:
    """The person is here (today): they get the next queue number of their counter and day."""
    b = _get(bk, number)
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


def call_next(bk: Bookings, counter_id: str) -> Booking | None:
    """The next arrived person of the counter today (lowest queue number), marked served; None when nobody waits."""
    bk.counter(counter_id)
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


def link_case(bk: Bookings, number: str, version: int, case_number: str) -> Booking:
    """Link the case a booked applicant filed to their booking (an arrived or served one)."""
    b = _get(bk, number)
    if b.version != version:
        raise BookingError(gettext("这条预约刚刚有了变化，请刷新后再试。"))
    case_number = case_number.strip()[:32]
    with bk.db.begin() as conn:
        case = conn.execute(select(tables.cases.c.department).where(tables.cases.c.number == case_number)).first()
        if case is None:
            raise BookingError(gettext("没有办件 %(number)s") % {"number": case_number})
        if case.department != b.department:
            raise BookingError(gettext("办件 %(number)s 不属于该部门") % {"number": case_number})
        bk.change(conn, b, ("arrived", "served"), case_number=case_number)
        row = conn.execute(select(_B).where(_B.c.id == b.id)).one()
    return Booking.of(row)


def mark_no_shows(db: Engine, now: datetime) -> int:
    """Every active booking of a day before today (local) becomes a no-show; seats are not given
    back (the day is over). One guarded update: a second run, or a second process, changes nothing."""
    today = local_date(now).isoformat()
    with db.begin() as conn:
        done = conn.execute(
            update(_B)
            .where(_B.c.day < today, _B.c.state.in_(ACTIVE))
            .values(state="no_show", ended_at=iso(now), version=_B.c.version + 1, updated_at=iso(now))
        )
    return int(done.rowcount or 0)


@dataclass(frozen=True, slots=True)
class DayFigures:
    department: str
    booked: int  # every booking of the period but cancelled ones
    arrived: int  # arrived or served
    no_shows: int
    waiting: int  # arrived and not yet called (today)


def figures(db: Engine, first: date, last: date) -> list[DayFigures]:
    """Bookings, arrivals, no-shows and people waiting per department, for days in [first, last]."""
    b = _B
    with read_only(db) as conn:
        rows = conn.execute(
            select(b.c.department, b.c.state, func.count())
            .where(b.c.day >= first.isoformat(), b.c.day <= last.isoformat())
            .group_by(b.c.department, b.c.state)
        ).all()
    per: dict[str, dict[str, int]] = {}
    for department, state, n in rows:
        per.setdefault(department, {})[state] = int(n)
    return [
        DayFigures(
            d,
            sum(n for s, n in states.items() if s != "cancelled"),
            states.get("arrived", 0) + states.get("served", 0),
            states.get("no_show", 0),
            states.get("arrived", 0),
        )
        for d, states in sorted(per.items())
    ]
