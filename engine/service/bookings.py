"""Appointments (预约) for applicants: a counter's free slots; booking, moving and cancelling with the query code.

A counter is a window or an item of the center's appointments.yaml (engine.rules.slots reads it and
cuts a day into slots on the working-day calendar). Every action is one transaction:

* a seat is taken with a guarded update of the slot's counter row (engine.ledger.booking_tables), so
  the database refuses a seat past the slot's capacity — two people never get the last one;
* a change of a booking is ``UPDATE … WHERE id = ? AND version = ?``: a booking changed since the
  person read it (moved in another tab, marked arrived at the window) is refused, never overwritten;
* "now" is the service's clock (a ManualClock in tests).

The query code of a booking is stored as a hash (engine.service.query_codes.hash_code); checking it
counts wrong codes against the same limits as a case's (engine.service.query_codes). Bookings from one
network address are counted and capped per day (appointments.yaml ``per_address_per_day``) through
engine.service.filing_limits in the booking's own transaction: a refused or full booking is not
counted. Too long input is refused with a message, never cut. The window's side (the day list, arrivals, call
next, no-shows) is engine.service.bookings_desk; home visits are engine.service.bookings_visits.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.base.dates import TZ
from engine.base.i18n import N_, gettext, ngettext
from engine.base.identifiers import valid_id_card, valid_phone
from engine.catalogue.model import Catalogue
from engine.ledger.booking_tables import booking_slots, bookings
from engine.ledger.db import iso, lock, read_only
from engine.rules import slots as rules
from engine.rules.calendar import WorkCalendar
from engine.rules.clock import Clock, local_date
from engine.service import filing_limits, query_codes

__all__ = [
    "ACTIVE", "Booking", "BookingError", "Bookings", "Busy", "Full", "Stale", "date_words", "too_long", "when",
]  # fmt: skip

ACTIVE = ("booked", "moved")  # states that hold a seat
MAX_NAME = 50
_B, _S = bookings, booking_slots


class BookingError(ValueError):
    """Bad input or a refused action; the message says what to do, in the request's language."""


class Full(BookingError):
    """The slot has no free seat (someone took the last one first)."""


class Stale(BookingError):
    """The booking changed since it was read: reload and try again."""


class Busy(BookingError):
    """This address made its day's number of bookings (or home-visit requests); ``seconds`` until the next."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        minutes = max(1, math.ceil(seconds / 60))
        if minutes <= 90:
            words = ngettext(
                "同一网络地址今天的预约次数已满，请 %(num)s 分钟后再试，或到窗口现场办理。",
                "同一网络地址今天的预约次数已满，请 %(num)s 分钟后再试，或到窗口现场办理。",
                minutes,
            ) % {"num": minutes}
        else:
            hours = math.ceil(minutes / 60)
            words = ngettext(
                "同一网络地址今天的预约次数已满，请 %(num)s 小时后再试，或到窗口现场办理。",
                "同一网络地址今天的预约次数已满，请 %(num)s 小时后再试，或到窗口现场办理。",
                hours,
            ) % {"num": hours}
        super().__init__(words)


def too_long(label: str, value: str, limit: int) -> None:
    """Refuse ``value`` longer than ``limit`` characters, naming the field (``label``: an N_ text)."""
    if len(value) > limit:
        raise BookingError(gettext("%(field)s最多 %(max)s 个字。") % {"field": gettext(label), "max": limit})


def date_words(d: date) -> str:
    """A date as a message says it, in the request's language (2026年6月8日 / 2026-6-8)."""
    return gettext("%(year)s年%(month)s月%(day)s日") % {"year": d.year, "month": d.month, "day": d.day}


class Service(Protocol):
    """What bookings need of a catalogue version's service (engine.service.cases.CaseService has it)."""

    catalogue: Catalogue
    db: Engine
    clock: Clock
    calendar: WorkCalendar


@dataclass(frozen=True, slots=True)
class Booking:
    id: int
    number: str
    counter: str
    department: str
    item_code: str | None
    day: str
    start: str
    late: bool
    state: str
    person: str
    contact: str
    queue_number: int | None
    case_number: str | None
    version: int
    created_at: str
    arrived_at: str | None
    called_at: str | None
    ended_at: str | None

    @classmethod
    def of(cls, row: Any) -> Booking:
        m = row._mapping
        return cls(**{k: m[k] for k in cls.__slots__})

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


def _lookup(conn: Connection, number: str) -> tuple[str | None, int | None, str | None]:
    row = conn.execute(select(_B.c.query_code, _B.c.department).where(_B.c.number == number)).first()
    return (query_codes.HASHED + row.query_code, None, row.department) if row is not None else (None, None, None)


def person_key(id_number: str) -> str:
    """The no-show rule's handle on a person: a hash of their ID number, never the number itself."""
    return hashlib.sha256(("booking:" + id_number.strip().upper()).encode()).hexdigest()


class Bookings:
    """The appointments of one catalogue version (its appointments.yaml) on one database."""

    def __init__(self, service: Service) -> None:
        cat = service.catalogue
        self.db, self.clock, self.calendar = service.db, service.clock, service.calendar
        departments = (cat.center or {}).get("departments", [])
        item_departments = {code: (cat.data(doc) or {}).get("department", "") for code, doc in cat.items.items()}
        self.rules = rules.rules_of(cat.appointments, departments, item_departments)

    # ------------------------------------------------------------------ reading
    def counter(self, counter_id: str) -> rules.Counter:
        found = self.rules.counters.get(counter_id)
        if found is None:
            raise BookingError(gettext("没有这个预约窗口。"))
        return found

    def today(self) -> date:
        return local_date(self.clock.now())

    def days(self, counter_id: str) -> list[tuple[date, bool]]:
        """Each day from today to the last bookable one, and whether the center opens then."""
        self.counter(counter_id)
        today = self.today()
        span = (self.rules.last_day(today) - today).days
        return [(d, rules.is_open(self.calendar, d)) for d in (today + timedelta(days=i) for i in range(span + 1))]

    def free(self, counter_id: str, day: date) -> list[tuple[rules.Slot, int]]:
        """The counter's slots of ``day`` that can still be booked, with their free seats (0: full)."""
        counter = self.counter(counter_id)
        if not self._bookable_day(day):
            return []
        now = self.clock.now()
        found = [
            s
            for s in rules.slots(counter, day, self.calendar)
            if now <= rules.closes_at(day, s, self.rules.same_day_until, TZ)
        ]
        with read_only(self.db) as conn:
            taken = dict(
                conn.execute(
                    select(_S.c.start, _S.c.taken).where(_S.c.counter == counter_id, _S.c.day == day.isoformat())
                ).all()
            )
        return [(s, max(0, s.capacity - int(taken.get(s.key, 0)))) for s in found]

    def _bookable_day(self, day: date) -> bool:
        today = self.today()
        return today <= day <= self.rules.last_day(today)

    def get(self, number: str) -> Booking | None:
        with read_only(self.db) as conn:
            row = conn.execute(select(_B).where(_B.c.number == number[:32])).first()
        return Booking.of(row) if row is not None else None

    def verify(self, number: str, code: str, client: str) -> Booking:
        """The booking ``number`` when ``code`` is its query code; raises BookingError otherwise (the
        same answer for an unknown number) and query_codes.Throttled past the limits of wrong codes."""
        number = number.strip().upper()
        if len(number) > 32 or not query_codes.check(self.db, number, code, client, self.clock.now(), _lookup):
            raise BookingError(gettext("预约号或查询码不正确。"))
        found = self.get(number)
        assert found is not None
        return found

    # ------------------------------------------------------------------ acting
    def book(
        self, counter_id: str, day: date, start: str, *, person: str, id_number: str, contact: str,
        item_code: str | None = None, filer: filing_limits.Filer | None = None,
    ) -> tuple[Booking, str]:  # fmt: skip
        """Book a seat; returns the booking and its query code (shown once). ``filer``: the address the
        booking came from, counted and capped per day (None: not limited)."""
        counter = self.counter(counter_id)
        person, id_number, contact = " ".join(person.split()), id_number.strip().upper(), contact.strip()
        too_long(N_("姓名"), person, MAX_NAME)
        if not person:
            raise BookingError(gettext("请填写姓名。"))
        if not valid_id_card(id_number):
            raise BookingError(gettext("请填写正确的居民身份证号码。"))
        if not valid_phone(contact):
            raise BookingError(gettext("请填写正确的手机号码。"))
        slot = self._slot(counter, day, start)
        code, key, now = query_codes.new(), person_key(id_number), self.clock.now()
        for _ in range(3):  # a clash of random numbers is retried with another
            try:
                with self.db.begin() as conn:
                    if filer is not None:  # PostgreSQL: an address's bookings are counted one at a time
                        lock(conn, filing_limits.client_lock(filer))
                        filing_limits.admit(conn, filer, now)
                    lock(conn, f"booking-person:{key}")  # PostgreSQL: one booking of a person at a time
                    self._may_book(conn, key, counter_id, day)
                    self._take(conn, counter_id, day, slot)
                    values = dict(
                        number=_new_number(day), counter=counter_id, department=counter.department,
                        item_code=item_code or counter.item, day=day.isoformat(), start=slot.key, late=slot.late,
                        state="booked", person=person, person_key=key, contact=contact,
                        query_code=query_codes.hash_code(code), version=0, created_at=iso(now), updated_at=iso(now),
                    )  # fmt: skip
                    conn.execute(insert(_B).values(**values))
                    row = conn.execute(select(_B).where(_B.c.number == values["number"])).one()
                return Booking.of(row), code
            except filing_limits.TooMany as exc:
                raise Busy(exc.seconds) from None
            except IntegrityError:
                continue
        raise BookingError(gettext("预约暂时没有成功，请再试一次。"))

    def _slot(self, counter: rules.Counter, day: date, start: str) -> rules.Slot:
        if not self._bookable_day(day):
            raise BookingError(
                gettext("这一天不能预约：只能预约今天起 %(days)s 天内的日子。") % {"days": self.rules.book_ahead_days}
            )
        for s in rules.slots(counter, day, self.calendar):
            if s.key == start:
                if self.clock.now() > rules.closes_at(day, s, self.rules.same_day_until, TZ):
                    raise BookingError(gettext("这个时段已经停止预约，请选择其他时段。"))
                return s
        raise BookingError(gettext("这一天没有这个时段（节假日不开放），请重新选择。"))

    def _may_book(self, conn: Connection, key: str, counter_id: str, day: date, keep: int | None = None) -> None:
        """The no-show rule, and one active booking per person, counter and day."""
        missed = conn.execute(select(_B.c.day).where(_B.c.person_key == key, _B.c.state == "no_show")).scalars()
        until = rules.blocked_until(self.rules.no_show, (date.fromisoformat(d) for d in missed), self.today())
        if until is not None:
            words = gettext("您近期多次预约未到，%(date)s 起才能再次预约；可以直接到窗口办理。")
            raise BookingError(words % {"date": date_words(until)})
        same = select(func.count()).where(
            _B.c.person_key == key, _B.c.counter == counter_id, _B.c.day == day.isoformat(), _B.c.state.in_(ACTIVE)
        )
        if keep is not None:
            same = same.where(_B.c.id != keep)
        if conn.execute(same).scalar_one():
            raise BookingError(gettext("您在这一天已经预约了这个窗口，可以改约或取消原来的预约。"))

    def _take(self, conn: Connection, counter_id: str, day: date, slot: rules.Slot) -> None:
        """Take one seat of the slot, or raise Full: the database's guard decides, not a count read before."""
        where = (_S.c.counter == counter_id, _S.c.day == day.isoformat(), _S.c.start == slot.key)
        if conn.execute(select(_S.c.taken).where(*where)).first() is None:
            lock(conn, f"booking-slot:{counter_id}:{day}:{slot.key}")  # PostgreSQL: one of two first bookings inserts
            if conn.execute(select(_S.c.taken).where(*where)).first() is None:
                conn.execute(
                    insert(_S).values(
                        counter=counter_id, day=day.isoformat(), start=slot.key, capacity=slot.capacity, taken=0
                    )
                )
        # the capacity configured now decides (appointments.yaml may have changed since the row was made), as
        # free() shows it; the row keeps it so the hall and supervision read what the guard used
        took = conn.execute(
            update(_S).where(*where, _S.c.taken < slot.capacity).values(taken=_S.c.taken + 1, capacity=slot.capacity)
        )
        if took.rowcount != 1:
            raise Full(gettext("这个时段已经约满，请选择其他时段。"))

    def _give_back(self, conn: Connection, b: Booking) -> None:
        where = (_S.c.counter == b.counter, _S.c.day == b.day, _S.c.start == b.start, _S.c.taken > 0)
        conn.execute(update(_S).where(*where).values(taken=_S.c.taken - 1))

    def change(self, conn: Connection, b: Booking, states: tuple[str, ...], **values: Any) -> None:
        """Update ``b`` if it is still at the version read and in one of ``states``; else Stale."""
        values.update(version=b.version + 1, updated_at=iso(self.clock.now()))
        done = conn.execute(
            update(_B).where(_B.c.id == b.id, _B.c.version == b.version, _B.c.state.in_(states)).values(**values)
        )
        if done.rowcount != 1:
            raise Stale(gettext("这条预约刚刚有了变化，请刷新后再试。"))

    def move(self, b: Booking, day: date, start: str) -> Booking:
        """Move an active booking to another slot of its counter (the new seat is taken before the old one is freed)."""
        if not b.active:
            raise BookingError(gettext("这条预约已经不能改约。"))
        counter = self.counter(b.counter)
        slot = self._slot(counter, day, start)
        if (day.isoformat(), slot.key) == (b.day, b.start):
            return b
        with self.db.begin() as conn:
            lock(conn, f"booking-person:{self._key_of(conn, b)}")
            self._may_book(conn, self._key_of(conn, b), b.counter, day, keep=b.id)
            self._take(conn, b.counter, day, slot)
            self.change(conn, b, ACTIVE, day=day.isoformat(), start=slot.key, late=slot.late, state="moved")
            self._give_back(conn, b)
            row = conn.execute(select(_B).where(_B.c.id == b.id)).one()
        return Booking.of(row)

    def cancel(self, b: Booking) -> Booking:
        """Cancel an active booking; its seat is free again at once."""
        if not b.active:
            raise BookingError(gettext("这条预约已经不能取消。"))
        with self.db.begin() as conn:
            now = iso(self.clock.now())
            self.change(conn, b, ACTIVE, state="cancelled", ended_at=now)
            self._give_back(conn, b)
            row = conn.execute(select(_B).where(_B.c.id == b.id)).one()
        return Booking.of(row)

    def _key_of(self, conn: Connection, b: Booking) -> str:
        return str(conn.execute(select(_B.c.person_key).where(_B.c.id == b.id)).scalar_one())


def _new_number(day: date) -> str:
    """B, the day booked (YYMMDD) and eight random digits: not guessable from another booking's."""
    return f"B{day:%y%m%d}{secrets.randbelow(10**8):08d}"


def when(b: Booking) -> datetime:
    """The booking's slot start as an aware local instant."""
    return datetime.combine(date.fromisoformat(b.day), rules.parse_time(b.start), tzinfo=TZ)
