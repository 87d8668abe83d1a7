"""Notifications (通知) to applicants and staff: messages put in the outbox (engine.ledger.outbox) from the
catalogue's templates (engine.catalogue.notifications), never on a case action's own path.

* :func:`tail` reads the case events after its cursor and queues a message for each one an applicant
  cares about (accepted, supplement requested, paused, extended, decided, ready to collect), by the
  channel the applicant chose on the form (``contact.notify``: email, sms or none). The cursor moves in
  the same transaction as the rows it produced, and a row's key is the event and the channel, so a
  crash or a restart never produces a message twice; a case action waits on none of it.
* :func:`enqueue` lets another feature queue a message in its own transaction (complaint answers and
  appointment reminders: engine.service.notifications_feeds).
* :func:`digest` queues each staff member's daily digest (their yellow and red cases, the requests and
  complaints new for them: :func:`new_complaints`) once per working day.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

from sqlalchemy import Engine, and_, delete, insert, or_, select
from sqlalchemy.engine import Connection

from engine.base import delivery
from engine.base.dates import TZ
from engine.base.i18n import N_, gettext, speaking
from engine.base.identifiers import valid_email, valid_phone
from engine.catalogue.model import Catalogue
from engine.catalogue.notifications import render
from engine.ledger import outbox, tables
from engine.ledger.appeals import appeals
from engine.ledger.db import iso, loads, lock, read_only
from engine.rules import clock
from engine.rules.calendar import WorkCalendar
from engine.rules.cases.model import Actor
from engine.service import access, worklist

__all__ = [
    "ACTION_EVENTS",
    "CHANNELS",
    "Recipient",
    "Tailer",
    "compose",
    "digest",
    "enqueue",
    "local_day",
    "new_complaints",
    "previous_digest",
    "recipient_of",
    "set_staff_email",
    "tail",
]

CHANNELS = ("email", "sms")
#: case action -> the template event it produces
ACTION_EVENTS = {
    "accept": "accepted",
    "deemed_accept": "accepted",
    "request_supplement": "supplement_requested",
    "start_special_procedure": "paused",
    "extend": "extended",
    "decide": "decided",
    "complete": "ready_to_collect",
}
CURSOR = outbox.CASE_EVENTS_CURSOR
BATCH = 500
#: on PostgreSQL an event id may commit after a higher one: a gap in the ids is waited for this long
#: (wall time) before it is taken for a rolled-back transaction and passed
GAP_SECONDS = 30.0
_TEMPLATE_LANGUAGE = {"zh": "zh_CN", "en": "en"}
_DECISIONS = {"approve": N_("准予许可"), "deny": N_("不予许可")}
_NONE = N_("无")
_OVERDUE, _DUE = N_("已超期 %(day)s"), N_("期限 %(day)s")


@dataclass(frozen=True, slots=True)
class Recipient:
    channel: str  # email | sms
    address: str


def recipient_of(data: Mapping[str, Any]) -> Recipient | None:
    """Whom a case's applicant asked to be told by (``contact.notify``), or None: no choice, ``none``, or
    an address that is not valid for the channel (the form validates it; an old case may lack it)."""
    contact = data.get("contact")
    if not isinstance(contact, Mapping):
        return None
    channel = contact.get("notify")
    if channel == "email" and valid_email(contact.get("email")):
        return Recipient("email", str(contact["email"]).strip())
    if channel == "sms" and valid_phone(contact.get("phone")):
        return Recipient("sms", str(contact["phone"]).strip())
    return None


def compose(catalogue: Catalogue, kind: str, values: Mapping[str, Any], language: str) -> tuple[str, str, str] | None:
    """(subject, e-mail body, SMS text) of event ``kind`` in ``language`` (zh or en); None without a template."""
    template = catalogue.notifications.get(kind)
    if not isinstance(template, Mapping):
        return None
    lang = language if language in _TEMPLATE_LANGUAGE else "zh"

    def text(part: str) -> str:
        return render(str(template[part][lang]), values).strip()

    subject, body = text("subject"), text("body")
    sms = text("sms") if template.get("sms") else f"{subject}\n{body}"
    return subject, body, sms


def enqueue(
    conn: Connection,
    catalogue: Catalogue,
    *,
    kind: str,
    key: str,
    to: Recipient,
    values: Mapping[str, Any],
    language: str,
    now: datetime,
    ref: str | None = None,
) -> bool:
    """Queue the message of event ``kind`` for ``to`` in the caller's transaction. ``key`` makes it
    idempotent (a second call with the same key queues nothing; say ``complaint:<number>:answered``).
    False when nothing was queued: no template for ``kind``, an unknown channel, or the key is taken."""
    if to.channel not in CHANNELS:
        return False
    composed = compose(catalogue, kind, values, language)
    if composed is None:
        return False
    subject, body, sms = composed
    row = {
        "key": key[:200], "kind": kind, "channel": to.channel, "address": to.address[:320],
        "subject": subject, "body": body if to.channel == "email" else sms,
        "language": language if language in _TEMPLATE_LANGUAGE else "zh", "ref": ref,
    }  # fmt: skip
    return outbox.add(conn, row, now)


def local_day(moment: datetime | date | None, language: str) -> str:
    """A day as a message writes it: ``2026年3月6日`` in Chinese, ``2026-03-06`` in English (a moment: its
    local day)."""
    if moment is None:
        return ""
    d = clock.local_date(moment) if isinstance(moment, datetime) else moment
    return f"{d.year}年{d.month}月{d.day}日" if language == "zh" else d.isoformat()


def _case_values(catalogue: Catalogue, row: Any, payload: Mapping[str, Any], language: str) -> dict[str, Any]:
    """The placeholders' values of a case event, in the applicant's language."""
    data = loads(row.data) or {}
    item = catalogue.items.get(row.item_code)
    item_data = (item.data if item is not None else None) or {}
    dept = catalogue.department(row.department or "") or {}
    contact = data.get("contact") if isinstance(data.get("contact"), Mapping) else {}
    materials = {m.get("id"): m.get("name", m.get("id")) for m in item_data.get("materials", []) if isinstance(m, dict)}
    missing = [f"- {materials.get(m.get('material'), m.get('material'))}: {m.get('reason', '')}"
               for m in payload.get("missing", []) if isinstance(m, Mapping)]  # fmt: skip
    chosen = contact.get("delivery") if isinstance(contact, Mapping) else None
    kinds = {sp.get("kind"): sp.get("name", sp.get("kind")) for sp in item_data.get("special_procedures", [])}
    with speaking(_TEMPLATE_LANGUAGE[language]):
        decision = gettext(_DECISIONS[payload["outcome"]]) if payload.get("outcome") in _DECISIONS else ""
        method = gettext(delivery.METHOD_LABELS[chosen]) if chosen in delivery.METHOD_LABELS else gettext(_NONE)
    due = datetime.fromisoformat(row.due_promised) if row.due_promised else None
    return {
        "case_number": row.number,
        "item_name": item_data.get("name", row.item_code),
        "department": dept.get("name", row.department or ""),
        "center": (catalogue.center or {}).get("name", ""),
        "applicant": (contact or {}).get("name") or row.applicant_name or "",
        "date": local_day(datetime.fromisoformat(row.at), language),
        "due_date": local_day(due, language),
        "missing": "\n".join(missing),
        "reason": str(payload.get("reason") or kinds.get(payload.get("kind"), payload.get("kind") or "")),
        "decision": decision,
        "delivery": method,
    }


_E, _C = tables.events, tables.cases
_COLUMNS = (_E.c.id, _E.c.action, _E.c.payload, _E.c.at, _C.c.number, _C.c.data, _C.c.item_code,
            _C.c.department, _C.c.due_promised, _C.c.applicant_name)  # fmt: skip
_READ = select(*_COLUMNS).join(_C, _C.c.id == _E.c.case_id).order_by(_E.c.id)


class Tailer:
    """Reads the case events after the cursor and queues their messages, and remembers the gaps in the
    event ids it waits for (PostgreSQL), so that one process passes a gap once it has waited ``GAP_SECONDS``.

    Every gap in a batch is noted at once, so they all age together: k rolled-back transactions cost one
    wait, not k waits one after another. The cursor still stops before the lowest gap not yet passable, as
    a lower id may still commit; an id that commits inside the wait is read when the wait ends or sooner."""

    def __init__(self, wall: Callable[[], float] = time.monotonic) -> None:
        self.wall = wall
        #: the gaps seen missing: first missing id -> (last missing id, when this tailer first saw them)
        self.gaps: dict[int, tuple[int, float]] = {}

    def __call__(self, db: Engine, catalogue: Catalogue, now: datetime) -> tuple[int, bool]:
        """One batch: how many messages were queued, and whether the cursor moved (nothing queued and
        False when another producer moved it first)."""
        with db.begin() as conn:
            lock(conn, "outbox:" + CURSOR)  # PostgreSQL: one producer at a time; SQLite writes alone anyway
            seen = outbox.cursor(conn, CURSOR)
            rows = conn.execute(_READ.where(_E.c.id > seen).limit(BATCH)).all()
            upto = self._readable(seen, [row.id for row in rows])
            position, queued = seen, 0
            for row in rows:
                if row.id > upto:
                    break  # a lower id may still commit: wait for it
                position = row.id
                queued += self._produce(conn, catalogue, row, now)
            if position == seen:
                return 0, False
            if not outbox.move_cursor(conn, CURSOR, seen, position):
                conn.rollback()
                return 0, False
        return queued, True

    def _readable(self, seen: int, ids: list[int]) -> int:
        """The highest of ``ids`` (ascending, all above ``seen``) the cursor may move to: below the lowest
        gap not yet waited for long enough. Notes when each gap of the batch was first seen; forgets the
        gaps that are no longer gaps (filled, or passed by this or another producer)."""
        at, noted = self.wall(), self.gaps
        self.gaps, upto, last, blocked = {}, seen, seen, False
        for i in ids:
            if i > last + 1:
                first = self._first_seen(noted, last + 1, i - 1, at)
                self.gaps[last + 1] = (i - 1, first)
                blocked = blocked or at - first < GAP_SECONDS  # else taken for a rolled-back transaction
            if not blocked:
                upto = i
            last = i
        return upto

    @staticmethod
    def _first_seen(noted: Mapping[int, tuple[int, float]], low: int, high: int, at: float) -> float:
        """When ids ``low``..``high`` were first seen missing: a gap seen before that holds them all (a gap
        only shrinks or splits as its ids commit, since the ids around it stay), else now."""
        for start, (end, first) in noted.items():
            if start <= low and high <= end:
                return first
        return at

    @staticmethod
    def _produce(conn: Connection, catalogue: Catalogue, row: Any, now: datetime) -> int:
        kind = ACTION_EVENTS.get(row.action)
        if kind is None:
            return 0
        if '"notify":"email"' not in row.data and '"notify":"sms"' not in row.data:
            return 0  # no choice made (every case filed before the form asked): no JSON parsed for it
        data = loads(row.data) or {}
        to = recipient_of(data)
        if to is None:
            return 0
        contact = data.get("contact") or {}
        language = str(contact.get("language")) if contact.get("language") in _TEMPLATE_LANGUAGE else "zh"
        values = _case_values(catalogue, row, loads(row.payload) or {}, language)
        key = f"event:{row.id}:{to.channel}"
        return int(enqueue(conn, catalogue, kind=kind, key=key, to=to, values=values, language=language,
                           now=now, ref=row.number))  # fmt: skip


def tail(db: Engine, catalogue: Catalogue, now: datetime, tailer: Tailer | None = None) -> int:
    """Queue the messages of every case event not yet read, batch after batch (the server keeps one
    ``tailer``, so a gap it waits for is remembered across rounds); how many were queued."""
    tailer, total = tailer or Tailer(), 0
    while True:
        queued, moved = tailer(db, catalogue, now)
        total += queued
        if not moved:
            return total


def set_staff_email(db: Engine, username: str, email: str | None) -> bool:
    """Where a staff member's daily digest goes (None: nowhere); False when there is no such account.
    ValueError for an address that is not one."""
    if email is not None and not valid_email(email):
        raise ValueError(f"{email!r} is not an e-mail address")
    u, a = tables.users, outbox.staff_addresses
    with db.begin() as conn:
        if conn.execute(select(u.c.id).where(u.c.username == username)).first() is None:
            return False
        conn.execute(delete(a).where(a.c.username == username))
        if email is not None:
            conn.execute(insert(a).values(username=username, email=email))
        return True


_LIGHTS = {"green": N_("绿灯"), "warning": N_("黄灯"), "violation": N_("红灯")}
#: at most this many new requests are listed in one digest (the desk's list has them all)
MAX_COMPLAINTS = 50


def new_complaints(db: Engine, catalogue: Catalogue, actor: Actor, since: datetime, language: str = "zh") -> list[str]:
    """The requests and complaints new for a staff member's digest, one line each (number, kind, light, due
    day): those assigned to them, and the unassigned ones waiting on their department (which they may assign),
    filed, sent to it or changed since ``since`` (the digest before), the most urgent first."""
    office = catalogue.appeals_office()
    if office is None:
        return []
    a = appeals
    waiting = [and_(a.c.state == "assigned", a.c.assignee == actor.username)]
    if actor.department and access.may_handle_appeal(actor, "assign", actor.department, office):
        waiting.append(and_(a.c.state == "open", a.c.handler == actor.department))
    query = (
        select(a.c.number, a.c.kind, a.c.light, a.c.due)
        .where(or_(*waiting), a.c.updated_at >= iso(since))
        .order_by(a.c.due, a.c.number)
        .limit(MAX_COMPLAINTS)
    )
    with read_only(db) as conn:
        rows = conn.execute(query).all()
    kinds = catalogue.appeal_kinds()
    lines = []
    with speaking(_TEMPLATE_LANGUAGE.get(language, "zh_CN")):
        for r in rows:
            label = str(kinds.get(r.kind, {}).get("label", r.kind))
            light = gettext(_LIGHTS.get(r.light, _LIGHTS["green"]))
            words = _OVERDUE if r.light == "violation" else _DUE
            due = gettext(words) % {"day": local_day(datetime.fromisoformat(r.due), language)}
            lines.append(f"- {r.number} {label} {light}（{due}）")
    return lines


def previous_digest(calendar: WorkCalendar, today: date, hour: int) -> datetime:
    """When the digest before today's was due: ``hour`` o'clock of the working day before ``today``."""
    day = today - timedelta(days=1)
    for _ in range(60):  # the longest break of the calendar is far shorter
        if calendar.is_working_day(day):
            break
        day -= timedelta(days=1)
    return datetime.combine(day, clock_time(hour), tzinfo=TZ)


def digest(
    db: Engine, catalogue: Catalogue, calendar: WorkCalendar, now: datetime, warning_days: int = 1, hour: int = 8
) -> int:
    """Queue each active staff member's daily digest (their yellow and red cases, new complaints) once per
    working day, from ``hour`` o'clock local time on; only for those with an e-mail address and something to
    tell. Idempotent: the key is the person and the day. How many were queued."""
    today = clock.local_date(now)
    if now.astimezone(TZ).hour < hour or not calendar.is_working_day(today):
        return 0
    since = previous_digest(calendar, today, hour)
    u, a = tables.users, outbox.staff_addresses
    with read_only(db) as conn:
        people = conn.execute(
            select(u.c.username, u.c.display_name, u.c.role, u.c.department, u.c.backup_for, a.c.email)
            .join(a, a.c.username == u.c.username)
            .where(u.c.active.is_(True))
            .order_by(u.c.username)
        ).all()
    queued = 0
    for p in people:
        if not valid_email(p.email):
            continue
        actor = Actor(p.username, p.role, p.department, p.backup_for)
        rows = [r for r in worklist.for_actor(db, actor, now, calendar, warning_days) if r.light in ("yellow", "red")]
        complaints = new_complaints(db, catalogue, actor, since, "zh")
        if not rows and not complaints:
            continue
        values = {
            "staff": p.display_name or p.username,
            "center": (catalogue.center or {}).get("name", ""),
            "date": local_day(now, "zh"),
            "yellow_count": sum(r.light == "yellow" for r in rows),
            "red_count": sum(r.light == "red" for r in rows),
            "cases": "\n".join(f"- {r.number} {_item_name(catalogue, r.item_code)} {_due(r)}" for r in rows),
            "complaints": "\n".join(complaints) or "-",
        }
        key = f"digest:{p.username}:{today.isoformat()}"
        with db.begin() as conn:
            queued += enqueue(conn, catalogue, kind="staff_digest", key=key, to=Recipient("email", p.email),
                              values=values, language="zh", now=now, ref=None)  # fmt: skip
    return queued


def _item_name(catalogue: Catalogue, code: str) -> str:
    doc = catalogue.items.get(code)
    return str((doc.data or {}).get("name", code)) if doc is not None else code


def _due(row: worklist.Row) -> str:
    if row.due is None:
        return ""
    words = _OVERDUE if row.light == "red" else _DUE
    with speaking("zh_CN"):  # the digest speaks the staff's language
        return "（" + gettext(words) % {"day": local_day(row.due, "zh")} + "）"
