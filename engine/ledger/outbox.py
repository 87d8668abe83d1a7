"""The notification outbox: messages waiting to be sent, each sent at most once, and the record of every try.

* ``outbox`` — one row per message with a unique ``key`` (the event and channel it came from, say
  ``event:42:email``), so producing it again after a crash or a restart inserts nothing. A row is
  ``queued`` until a sender claims it (``sending``, with ``claimed_until``), then ``sent``, or ``failed``
  (tried again at ``next_attempt_at``), or ``dead`` after the last attempt.
* ``outbox_attempts`` — the delivery record: every try, when, and what the channel answered.
* ``outbox_cursors`` — how far a producer has read the case events (engine.service.notifications tails them),
  moved in the same transaction as the rows it produced.
* ``staff_addresses`` — where a staff member's daily digest goes (an account without one gets none).

A claim is a guarded update (``WHERE id = ? AND version = ?``): of several senders (server processes,
``yangguang notify send``) exactly one wins a row. A sender that dies after claiming leaves the row
``sending`` until ``claimed_until``; then any sender takes it again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Integer, String, Table, Text, and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from engine.ledger.db import iso
from engine.ledger.tables import TS_LENGTH, metadata

__all__ = [
    "CASE_EVENTS_CURSOR",
    "STATUSES",
    "Message",
    "add",
    "claim",
    "cursor",
    "exists",
    "finish",
    "listing",
    "move_cursor",
    "outbox",
    "outbox_attempts",
    "outbox_cursors",
    "retry",
    "retry_one",
    "staff_addresses",
    "status_counts",
]

STATUSES = ("queued", "sending", "sent", "failed", "dead")
#: the cursor of the producer that tails the case events (engine.service.notifications)
CASE_EVENTS_CURSOR = "case-events"

outbox = Table(  # migration 27
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, unique=True),  # idempotency: event id + channel, or the producer's
    Column("kind", String(40), nullable=False),  # the template's event (accepted, staff_digest, …)
    Column("channel", String(16), nullable=False),  # email | sms
    Column("address", String(320), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("language", String(8), nullable=False),
    Column("ref", String(64)),  # the case, complaint or booking number it is about
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=False, server_default="0"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", String(TS_LENGTH), nullable=False),
    Column("next_attempt_at", String(TS_LENGTH), nullable=False),
    Column("claimed_until", String(TS_LENGTH)),
    Column("last_error", Text),
    Column("sent_at", String(TS_LENGTH)),
    Index("ix_outbox_status_next", "status", "next_attempt_at"),
    Index("ix_outbox_ref", "ref"),
)

outbox_attempts = Table(  # every try of a message: the delivery record (migration 27)
    "outbox_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("outbox_id", Integer, nullable=False),
    Column("at", String(TS_LENGTH), nullable=False),
    Column("outcome", String(16), nullable=False),  # sent | failed
    Column("detail", Text),  # the channel's answer or error
    Index("ix_outbox_attempts_outbox", "outbox_id"),
)

outbox_cursors = Table(  # how far a producer read the case events (migration 27)
    "outbox_cursors",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", Integer, nullable=False),
)

staff_addresses = Table(  # where a staff member's daily digest goes (migration 27; yangguang notify staff-email)
    "staff_addresses",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("email", String(320), nullable=False),
)

_O = outbox


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    key: str
    kind: str
    channel: str
    address: str
    subject: str
    body: str
    language: str
    ref: str | None
    version: int
    attempts: int


def exists(conn: Connection, key: str) -> bool:
    return conn.execute(select(_O.c.id).where(_O.c.key == key)).first() is not None


def add(conn: Connection, values: Mapping[str, Any], now: datetime) -> bool:
    """Queue one message in the caller's transaction (``values``: key, kind, channel, address, subject,
    body, language, ref); False, and nothing written, when its key is already there."""
    if exists(conn, values["key"]):
        return False
    at = iso(now)
    conn.execute(insert(_O).values(**values, status="queued", created_at=at, next_attempt_at=at))
    return True


def cursor(conn: Connection, name: str) -> int:
    row = conn.execute(select(outbox_cursors.c.position).where(outbox_cursors.c.name == name)).first()
    return int(row[0]) if row is not None else 0


def move_cursor(conn: Connection, name: str, seen: int, position: int) -> bool:
    """Move a producer's cursor from ``seen`` to ``position``; False when another producer moved it first."""
    c = outbox_cursors
    if seen == 0 and conn.execute(select(c.c.name).where(c.c.name == name)).first() is None:
        conn.execute(insert(c).values(name=name, position=position))
        return True
    moved = conn.execute(update(c).where(c.c.name == name, c.c.position == seen).values(position=position))
    return bool(moved.rowcount)


def claim(conn: Connection, now: datetime, hold_until: datetime, limit: int) -> list[Message]:
    """Claim up to ``limit`` messages that are due (queued or failed with their time come, or left
    ``sending`` by a sender whose claim ran out): each by a guarded update, so no two senders get one."""
    at = iso(now)
    due = or_(
        and_(_O.c.status.in_(("queued", "failed")), _O.c.next_attempt_at <= at),
        and_(_O.c.status == "sending", _O.c.claimed_until < at),
    )
    cols = (_O.c.id, _O.c.key, _O.c.kind, _O.c.channel, _O.c.address, _O.c.subject, _O.c.body, _O.c.language,
            _O.c.ref, _O.c.version, _O.c.attempts)  # fmt: skip
    rows = conn.execute(select(*cols).where(due).order_by(_O.c.next_attempt_at, _O.c.id).limit(limit)).all()
    won: list[Message] = []
    for r in rows:
        taken = conn.execute(
            update(_O)
            .where(_O.c.id == r.id, _O.c.version == r.version)
            .values(status="sending", version=r.version + 1, claimed_until=iso(hold_until))
        )
        if taken.rowcount:
            won.append(Message(*r[:9], version=r.version + 1, attempts=r.attempts))  # type: ignore[misc]
    return won


def finish(
    conn: Connection, msg: Message, now: datetime, error: str | None, retry_at: datetime | None, detail: str = ""
) -> bool:
    """Record one try of a claimed message: sent (``error`` None), failed until ``retry_at``, or dead
    (``retry_at`` None). False when the claim was lost meanwhile (another sender took the row over)."""
    if error is None:
        values: dict[str, Any] = {"status": "sent", "sent_at": iso(now), "last_error": None}
    elif retry_at is not None:
        values = {"status": "failed", "next_attempt_at": iso(retry_at), "last_error": error}
    else:
        values = {"status": "dead", "last_error": error}
    done = conn.execute(
        update(_O)
        .where(_O.c.id == msg.id, _O.c.version == msg.version)
        .values(**values, attempts=msg.attempts + 1, version=msg.version + 1, claimed_until=None)
    )
    conn.execute(
        insert(outbox_attempts).values(
            outbox_id=msg.id, at=iso(now), outcome="sent" if error is None else "failed", detail=error or detail
        )
    )
    return bool(done.rowcount)


def retry(conn: Connection, ids: Sequence[int], now: datetime) -> int:
    """Put failed or dead messages back in the queue, due now (a staff member's 重试); how many."""
    again = conn.execute(
        update(_O)
        .where(_O.c.id.in_(list(ids)), _O.c.status.in_(("failed", "dead")))
        .values(status="queued", next_attempt_at=iso(now), attempts=0, version=_O.c.version + 1)
    )
    return int(again.rowcount)


def retry_one(conn: Connection, ident: int, version: int, now: datetime) -> bool:
    """Put one failed or dead message back in the queue, due now, if it is still at ``version`` (the staff
    page's 重试: a row a sender or another person changed since the page was read is left alone); False then."""
    again = conn.execute(
        update(_O)
        .where(_O.c.id == ident, _O.c.version == version, _O.c.status.in_(("failed", "dead")))
        .values(status="queued", next_attempt_at=iso(now), attempts=0, version=version + 1)
    )
    return bool(again.rowcount)


def listing(conn: Connection, status: str | None, limit: int) -> list[Any]:
    """The newest ``limit`` messages (of ``status``; None: all), newest first, without their texts."""
    cols = (_O.c.id, _O.c.kind, _O.c.channel, _O.c.address, _O.c.ref, _O.c.status, _O.c.version, _O.c.attempts,
            _O.c.created_at, _O.c.next_attempt_at, _O.c.sent_at, _O.c.last_error)  # fmt: skip
    query = select(*cols).order_by(_O.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(_O.c.status == status)
    return list(conn.execute(query).all())


def status_counts(conn: Connection) -> dict[str, int]:
    """How many messages are in each status (those with none are left out)."""
    rows = conn.execute(select(_O.c.status, func.count()).group_by(_O.c.status)).all()
    return {str(status): int(n) for status, n in rows}
