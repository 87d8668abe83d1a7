"""Home visits (上门服务): asked for on an item whose ``home_visit`` allows it, scheduled by its department.

The item says who may ask (elderly, disabled, seriously_ill, key_project) and which department
schedules the visits (item.schema.json ``home_visit``). A request gets a number and a query code
like a booking; with both the person follows it and may cancel it before it is done (:func:`verify`:
wrong codes limited like a case's). The department sets the visit's time — a working day within
:data:`AHEAD_WORKING_DAYS` working days, within the center's hours (:func:`engine.rules.slots.hours_of`)
— then marks it done. Each change is one transaction with a version check; requests from one
address are counted and capped per day (engine.service.filing_limits) in the request's transaction.
Too long input is refused with a message, never cut.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.base.dates import TZ
from engine.base.i18n import N_, gettext
from engine.base.identifiers import valid_phone
from engine.ledger.booking_tables import home_visits
from engine.ledger.db import iso, lock, read_only
from engine.rules import slots
from engine.rules.calendar import CalendarYearMissing
from engine.rules.clock import local_date
from engine.service import filing_limits, query_codes
from engine.service.bookings import BookingError, Bookings, Busy, Service, date_words, too_long

__all__ = [
    "AHEAD_WORKING_DAYS", "GROUPS", "PAGE", "HomeVisit", "cancel", "done", "listing", "mask_address", "offer",
    "request", "schedule", "verify",
]  # fmt: skip

#: who may ask, as people read it
GROUPS = {
    "elderly": N_("老年人"),
    "disabled": N_("残疾人"),
    "seriously_ill": N_("重病患者"),
    "key_project": N_("重点项目"),
}
AHEAD_WORKING_DAYS = 30  # how far ahead a visit may be set
PAGE = 50  # requests a page on the desk
MAX_NAME, MAX_ADDRESS, MAX_DETAIL, MAX_NOTE = 50, 200, 1000, 1000
_H = home_visits


@dataclass(frozen=True, slots=True)
class HomeVisit:
    id: int
    number: str
    item_code: str
    department: str
    qualifies: str
    person: str
    contact: str
    address: str
    detail: str
    state: str
    visit_at: str | None
    scheduled_by: str | None
    staff_note: str | None
    version: int
    created_at: str

    @classmethod
    def of(cls, row: Any) -> HomeVisit:
        m = row._mapping
        return cls(**{k: m[k] for k in cls.__slots__})


def offer(service: Service, code: str) -> dict[str, Any] | None:
    """The item's ``home_visit`` (who may ask, the department), or None when it offers none."""
    doc = service.catalogue.items.get(code)
    data = service.catalogue.data(doc) if doc is not None else None
    found = (data or {}).get("home_visit")
    return dict(found) if found else None


def _lookup(conn: Connection, number: str) -> tuple[str | None, int | None, str | None]:
    row = conn.execute(select(_H.c.query_code, _H.c.department).where(_H.c.number == number)).first()
    return (query_codes.HASHED + row.query_code, None, row.department) if row is not None else (None, None, None)


def request(
    service: Service, code: str, *, qualifies: str, person: str, contact: str, address: str, detail: str = "",
    filer: filing_limits.Filer | None = None,
) -> tuple[HomeVisit, str]:  # fmt: skip
    """A person asks for a home visit; returns the request and its query code (shown once). ``filer``:
    the address the request came from, counted and capped per day (None: not limited)."""
    offered = offer(service, code)
    if offered is None:
        raise BookingError(gettext("这个事项不提供上门服务。"))
    if qualifies not in offered["for"]:
        raise BookingError(gettext("请选择符合条件的上门服务对象。"))
    person, address, detail = " ".join(person.split()), " ".join(address.split()), detail.strip()
    too_long(N_("姓名"), person, MAX_NAME)
    too_long(N_("上门地址"), address, MAX_ADDRESS)
    too_long(N_("情况说明"), detail, MAX_DETAIL)
    if not person or not address:
        raise BookingError(gettext("请填写姓名和上门地址。"))
    if not valid_phone(contact.strip()):
        raise BookingError(gettext("请填写正确的手机号码。"))
    typed, now = query_codes.new(), service.clock.now()
    for _ in range(3):
        number = f"H{local_date(now):%y%m%d}{secrets.randbelow(10**8):08d}"
        try:
            with service.db.begin() as conn:
                if filer is not None:  # PostgreSQL: an address's requests are counted one at a time
                    lock(conn, filing_limits.client_lock(filer))
                filing_limits.admit(conn, filer, now)
                conn.execute(
                    insert(_H).values(
                        number=number, item_code=code, department=offered["department"], qualifies=qualifies,
                        person=person, contact=contact.strip(), address=address, detail=detail,
                        query_code=query_codes.hash_code(typed), state="requested", version=0, created_at=iso(now),
                        updated_at=iso(now),
                    )
                )  # fmt: skip
                row = conn.execute(select(_H).where(_H.c.number == number)).one()
            return HomeVisit.of(row), typed
        except filing_limits.TooMany as exc:
            raise Busy(exc.seconds) from None
        except IntegrityError:
            continue
    raise BookingError(gettext("预约暂时没有成功，请再试一次。"))


def verify(service: Service, number: str, typed: str, client: str) -> HomeVisit:
    """The request ``number`` when ``typed`` is its query code; BookingError otherwise (the same answer for
    an unknown number), query_codes.Throttled past the limits of wrong codes."""
    number = number.strip().upper()
    if len(number) > 32 or not query_codes.check(service.db, number, typed, client, service.clock.now(), _lookup):
        raise BookingError(gettext("申请号或查询码不正确。"))
    found = get(service, number)
    assert found is not None
    return found


def get(service: Service, number: str) -> HomeVisit | None:
    with read_only(service.db) as conn:
        row = conn.execute(select(_H).where(_H.c.number == number[:32])).first()
    return HomeVisit.of(row) if row is not None else None


def listing(service: Service, department: str | None, page: int = 1) -> tuple[list[HomeVisit], bool]:
    """Page ``page`` (of :data:`PAGE`) of the requests — a department's, or all for ``None`` — open ones
    first, soonest visit first; and whether there is a next page."""
    q = (
        select(_H)
        .order_by(_H.c.state.in_(("done", "cancelled")), _H.c.visit_at, _H.c.created_at, _H.c.id)
        .limit(PAGE + 1)
        .offset((max(1, page) - 1) * PAGE)
    )
    if department is not None:
        q = q.where(_H.c.department == department)
    with read_only(service.db) as conn:
        rows = [HomeVisit.of(r) for r in conn.execute(q)]
    return rows[:PAGE], len(rows) > PAGE


def mask_address(address: str) -> str:
    """An address for staff other than the scheduling department: its first six characters (district, street)."""
    return address[:6] + "****" if len(address) > 6 else "****"


def _change(service: Service, v: HomeVisit, states: tuple[str, ...], **values: Any) -> HomeVisit:
    values.update(version=v.version + 1, updated_at=iso(service.clock.now()))
    with service.db.begin() as conn:
        done_ = conn.execute(
            update(_H).where(_H.c.id == v.id, _H.c.version == v.version, _H.c.state.in_(states)).values(**values)
        )
        if done_.rowcount != 1:
            raise BookingError(gettext("这条预约刚刚有了变化，请刷新后再试。"))
        row = conn.execute(select(_H).where(_H.c.id == v.id)).one()
    return HomeVisit.of(row)


def schedule(service: Service, v: HomeVisit, at: datetime, by: str, note: str = "") -> HomeVisit:
    """The department sets (or changes) the visit's time: a working day from now on, at most
    :data:`AHEAD_WORKING_DAYS` working days ahead, within the center's hours."""
    note = note.strip()
    too_long(N_("备注"), note, MAX_NOTE)
    now = service.clock.now()
    day = local_date(at)
    if at < now or not slots.is_open(service.calendar, day):
        raise BookingError(gettext("上门时间须是今后的工作日。"))
    try:
        last = service.calendar.add_working_days(local_date(now), AHEAD_WORKING_DAYS)
    except CalendarYearMissing:
        last = local_date(now) + timedelta(days=AHEAD_WORKING_DAYS * 7 // 5)
    if day > last:
        raise BookingError(
            gettext("上门时间最多安排在 %(days)s 个工作日之内（%(date)s 以前）。")
            % {"days": AHEAD_WORKING_DAYS, "date": date_words(last)}
        )
    opens, closes = slots.hours_of(Bookings(service).rules, v.department)
    if not opens <= at.astimezone(TZ).time().replace(tzinfo=None) <= closes:
        raise BookingError(
            gettext("上门时间须在中心的工作时间内（%(start)s—%(end)s）。")
            % {"start": opens.strftime("%H:%M"), "end": closes.strftime("%H:%M")}
        )
    return _change(
        service, v, ("requested", "scheduled"), state="scheduled", visit_at=iso(at), scheduled_by=by, staff_note=note
    )


def done(service: Service, v: HomeVisit) -> HomeVisit:
    return _change(service, v, ("scheduled",), state="done")


def cancel(service: Service, v: HomeVisit) -> HomeVisit:
    return _change(service, v, ("requested", "scheduled"), state="cancelled")
