"""The notices the other counters produce through the notifications' outbox: a request's or complaint's answer
(queued in the answer's own transaction) and the reminder of an appointment the day before (queued by the
notification worker's cycle).

Both go through :func:`engine.service.notifications.enqueue`, idempotent by key — ``appeal:<number>:answered:
<channel>`` and ``booking:<number>:reminder:<day>`` — so a restart or a second run never queues one twice,
and a booking moved to another day gets a reminder for its new day. Queuing only writes an outbox row: a
channel that is down delays the message, never the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection

from engine.base.dates import TZ
from engine.base.identifiers import valid_email, valid_phone
from engine.catalogue.model import Catalogue
from engine.ledger.booking_tables import bookings
from engine.rules import slots as slot_rules
from engine.rules.calendar import WorkCalendar
from engine.service.notifications import Recipient, enqueue, local_day

__all__ = ["NOTIFY", "REMINDER_HOUR", "appeal_recipient", "queue_answer", "reminder_window", "reminders"]

#: how a person may ask to be told of an appeal's answer (the form's choice, kept in ``appeals.notify``)
NOTIFY = ("none", "sms", "email")
#: from this hour (local time) of the working day before an appointment, its reminder is queued
REMINDER_HOUR = 16
#: the booking states that still hold a slot: booked, or moved to the slot it holds now
ACTIVE = ("booked", "moved")


def appeal_recipient(row: Mapping[str, Any]) -> Recipient | None:
    """Whom the person who filed an appeal asked to be told by: SMS to the phone they gave, or the e-mail
    address they gave; None for ``none``, or no valid address (an anonymous report that left no contact)."""
    if row.get("notify") == "sms" and valid_phone(row.get("contact")):
        return Recipient("sms", str(row["contact"]).strip())
    if row.get("notify") == "email" and valid_email(row.get("notify_email")):
        return Recipient("email", str(row["notify_email"]).strip())
    return None


def queue_answer(conn: Connection, catalogue: Catalogue, row: Mapping[str, Any], answer: str, now: datetime) -> bool:
    """Queue the ``complaint_answered`` notice of appeal ``row`` in the answer's transaction ``conn``, in the
    language the person chose; False when they asked for none (or it was queued before)."""
    to = appeal_recipient(row)
    if to is None:
        return False
    language = str(row.get("notify_language") or "zh")
    values = {
        "complaint_number": row["number"],
        "center": (catalogue.center or {}).get("name", ""),
        "applicant": row.get("filer_name") or "",
        "answer": answer,
        "date": local_day(now, language),
    }
    key = f"appeal:{row['number']}:answered:{to.channel}"
    return enqueue(conn, catalogue, kind="complaint_answered", key=key, to=to, values=values, language=language,
                   now=now, ref=str(row["number"]))  # fmt: skip


def reminder_window(calendar: WorkCalendar, now: datetime, hour: int = REMINDER_HOUR) -> tuple[date, date] | None:
    """The appointment days whose reminders are due at ``now``: after today, up to the next working day —
    from ``hour`` o'clock on a working day, all day on a day off (its appointments' working day before has
    passed its hour). None before the hour of a working day (today's reminders went out the day before)."""
    local = now.astimezone(TZ)
    today = local.date()
    if calendar.is_working_day(today) and local.hour < hour:
        return None
    return today, calendar.next_working_day(today)


def reminders(
    db: Engine, catalogue: Catalogue, calendar: WorkCalendar, now: datetime, hour: int = REMINDER_HOUR
) -> int:
    """Queue the ``appointment_reminder`` SMS of every booking (booked or moved, not cancelled) of the days
    :func:`reminder_window` gives, to the phone it was booked with; how many were queued (the rest had
    theirs already)."""
    window = reminder_window(calendar, now, hour)
    if window is None or catalogue.appointments is None:
        return 0
    after, last = window
    departments = {d["id"]: d for d in (catalogue.center or {}).get("departments", []) if isinstance(d, dict)}
    item_departments = {
        code: (catalogue.data(doc) or {}).get("department", "") for code, doc in catalogue.items.items()
    }
    counters = slot_rules.rules_of(catalogue.appointments, list(departments.values()), item_departments).counters
    b = bookings
    query = select(b.c.number, b.c.counter, b.c.department, b.c.day, b.c.start, b.c.person, b.c.contact).where(
        b.c.state.in_(ACTIVE), b.c.day > after.isoformat(), b.c.day <= last.isoformat()
    )
    queued = 0
    with db.begin() as conn:
        for r in conn.execute(query.order_by(b.c.day, b.c.start, b.c.id)).all():
            if not valid_phone(r.contact):
                continue
            counter = counters.get(r.counter)
            window_no = str(departments.get(r.department, {}).get("window") or "")
            place = " ".join(p for p in (counter.name if counter else r.counter, window_no) if p)
            values = {
                "booking_number": r.number, "center": (catalogue.center or {}).get("name", ""), "applicant": r.person,
                "date": local_day(date.fromisoformat(r.day), "zh"), "time": r.start, "place": place,
            }  # fmt: skip
            key = f"booking:{r.number}:reminder:{r.day}"
            queued += enqueue(conn, catalogue, kind="appointment_reminder", key=key, to=Recipient("sms", r.contact),
                              values=values, language="zh", now=now, ref=r.number)  # fmt: skip
    return queued
