"""Home visits (上门服务): asked for on an item whose ``home_visit`` allows it, scheduled by its department.

The item says who may ask (elderly, disabled, seriously_ill, key_project) and which department
schedules the visits (item.schema.json ``home_visit``). A request gets a number and a query code
like a booking; the department sets the visit's time (a working day, from now on), then marks it
done; the person may cancel before it is done. Each change is one transaction with a version check.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.base.i18n import N_, gettext
from engine.base.identifiers import valid_phone
from engine.ledger.booking_tables import home_visits
from engine.ledger.db import iso, read_only
from engine.rules import slots
from engine.rules.clock import local_date
from engine.service import query_codes
from engine.service.bookings import BookingError, Service, code_hash

__all__ = ["GROUPS", "HomeVisit", "cancel", "done", "listing", "offer", "request", "schedule", "verify"]

#: who may ask, as people read it
GROUPS = {
    "elderly": N_("老年人"),
    "disabled": N_("残疾人"),
    "seriously_ill": N_("重病患者"),
    "key_project": N_("重点项目"),
}
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
    return (row.query_code, None, row.department) if row is not None else (None, None, None)


def _same(stored: str | None, typed: str) -> bool:
    plain = query_codes.normalise(typed)
    return bool(stored) and bool(plain) and stored == code_hash(plain)


def request(
    service: Service, code: str, *, qualifies: str, person: str, contact: str, address: str, detail: str = ""
) -> tuple[HomeVisit, str]:
    """A person asks for a home visit; returns the request and its query code (shown once)."""
    offered = offer(service, code)
    if offered is None:
        raise BookingError(gettext("这个事项不提供上门服务。"))
    if qualifies not in offered["for"]:
        raise BookingError(gettext("请选择符合条件的上门服务对象。"))
    person, address = " ".join(person.split())[:50], " ".join(address.split())[:200]
    if not person or not address:
        raise BookingError(gettext("请填写姓名和上门地址。"))
    if not valid_phone(contact.strip()):
        raise BookingError(gettext("请填写正确的手机号码。"))
    typed, now = query_codes.new(), iso(service.clock.now())
    for _ in range(3):
        number = f"H{local_date(service.clock.now()):%y%m%d}{secrets.randbelow(10**8):08d}"
        try:
            with service.db.begin() as conn:
                conn.execute(
                    insert(_H).values(
                        number=number, item_code=code, department=offered["department"], qualifies=qualifies,
                        person=person, contact=contact.strip(), address=address, detail=detail.strip()[:1000],
                        query_code=code_hash(typed), state="requested", version=0, created_at=now, updated_at=now,
                    )
                )  # fmt: skip
                row = conn.execute(select(_H).where(_H.c.number == number)).one()
            return HomeVisit.of(row), typed
        except IntegrityError:
            continue
    raise BookingError(gettext("预约暂时没有成功，请再试一次。"))


def verify(service: Service, number: str, typed: str, client: str) -> HomeVisit:
    number = number.strip().upper()[:32]
    if not query_codes.check(service.db, number, typed, client, service.clock.now(), _lookup, _same):
        raise BookingError(gettext("预约号或查询码不正确。"))
    found = get(service, number)
    assert found is not None
    return found


def get(service: Service, number: str) -> HomeVisit | None:
    with read_only(service.db) as conn:
        row = conn.execute(select(_H).where(_H.c.number == number[:32])).first()
    return HomeVisit.of(row) if row is not None else None


def listing(service: Service, department: str | None) -> list[HomeVisit]:
    """Open requests first (a department's, or all for ``None``), then the last done or cancelled ones."""
    q = select(_H).order_by(_H.c.state.in_(("done", "cancelled")), _H.c.visit_at, _H.c.created_at).limit(500)
    if department is not None:
        q = q.where(_H.c.department == department)
    with read_only(service.db) as conn:
        return [HomeVisit.of(r) for r in conn.execute(q)]


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
    """The department sets (or changes) the visit's time: a working day, not in the past."""
    if at < service.clock.now() or not slots.is_open(service.calendar, local_date(at)):
        raise BookingError(gettext("上门时间须是今后的工作日。"))
    return _change(
        service, v, ("requested", "scheduled"), state="scheduled", visit_at=iso(at), scheduled_by=by,
        staff_note=note.strip()[:1000],
    )  # fmt: skip


def done(service: Service, v: HomeVisit) -> HomeVisit:
    return _change(service, v, ("scheduled",), state="done")


def cancel(service: Service, v: HomeVisit) -> HomeVisit:
    return _change(service, v, ("requested", "scheduled"), state="cancelled")
