"""The record of requests and complaints (诉求): the ``appeals`` rows and their append-only, hash-chained events.

An appeal changes only through :func:`append_appeal_event` (or :func:`create_appeal`, which writes its first
event), inside the caller's transaction, with a version check: ``appeals.version`` counts its events and
``appeals.last_event_hash`` is the head of its chain. The chain is the case record's own technique and
encoding (engine/ledger/events.py: ``next_link``; the chained ``case_number`` field holds the appeal's
number), so ``yangguang audit verify`` walks both with the same code. The database keeps
``appeal_events`` append-only (triggers of migration 28).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from engine.ledger.db import iso
from engine.ledger.errors import CaseExists, CaseNotFound, VersionConflict
from engine.ledger.events import GENESIS_HASH, EventRecord, Link, next_link, record_of
from engine.ledger.tables import HASH_LENGTH, TS_LENGTH, metadata

__all__ = [
    "appeal_events",
    "appeals",
    "append_appeal_event",
    "create_appeal",
    "events_of_appeal",
    "get_appeal",
    "last_appeal_number",
]

appeals = Table(  # one request or complaint (migration 28, engine.service.appeals)
    "appeals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", String(32), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),  # appeals/kinds.yaml's id: enquiry, complaint, report ...
    Column("channel", String(16), nullable=False),  # portal | phone | visit (recorded by a window clerk)
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("filer_name", String(100)),  # NULL: filed anonymously (a kind that allows it)
    Column("contact", String(100)),
    # how the person asked to be told of the answer (migration 30): none | sms (to ``contact``) | email
    Column("notify", String(8), nullable=False, server_default="none"),
    Column("notify_email", String(100)),
    Column("notify_language", String(8), nullable=False, server_default="zh"),  # zh | en: the answer's notice
    Column("query_code_hash", String(HASH_LENGTH), nullable=False),  # sha256 of the normalised query code
    Column("case_number", String(32)),  # what it names: a case, an item, a department, a member of staff
    Column("item_code", String(128)),
    Column("named_department", String(64)),
    Column("named_staff", String(100)),
    Column("uploads", Text, nullable=False, server_default="[]"),  # ids of engine.service.uploads files
    Column("state", String(16), nullable=False),  # open | assigned | answered | closed
    Column("handler", String(64), nullable=False),  # the department handling it
    Column("assignee", String(128)),  # the member of staff it is assigned to
    Column("due", String(TS_LENGTH), nullable=False),  # the answer is due by (working-day clock)
    Column("light", String(16), nullable=False, server_default="green"),  # green | warning | violation
    Column("answered_at", String(TS_LENGTH)),
    Column("on_time", Boolean),  # answered by ``due``
    Column("escalated_at", String(TS_LENGTH)),
    Column("escalated_to", String(64)),
    Column("verdict", String(16)),  # justified | not_justified (kinds with ``verdict``)
    Column("rating", String(16)),  # the person's satisfaction (the five ratings), when closed
    Column("closed_at", String(TS_LENGTH)),
    Column("catalogue_version", String(HASH_LENGTH), nullable=False),
    Column("version", Integer, nullable=False),
    Column("last_event_hash", String(HASH_LENGTH), nullable=False),
    Column("created_at", String(TS_LENGTH), nullable=False),
    Column("updated_at", String(TS_LENGTH), nullable=False),
    Index("ix_appeals_handler_state_due", "handler", "state", "due"),
    Index("ix_appeals_state_due", "state", "due"),
    Index("ix_appeals_case_number", "case_number"),
    Index("ix_appeals_created_at", "created_at", "kind"),
)

appeal_events = Table(  # an appeal's history, append-only and hash-chained like ``events`` (migration 28)
    "appeal_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("appeal_id", Integer, ForeignKey("appeals.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", String(TS_LENGTH), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("role", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("catalogue_version", String(HASH_LENGTH), nullable=False),
    Column("prev_hash", String(HASH_LENGTH), nullable=False),
    Column("hash", String(HASH_LENGTH), nullable=False),
    UniqueConstraint("appeal_id", "seq", name="uq_appeal_events_appeal_seq"),
)

#: the columns only the record writes
_PROTECTED = frozenset({"id", "number", "version", "created_at", "updated_at", "last_event_hash"})
_SETTABLE = frozenset(c.name for c in appeals.columns) - _PROTECTED


def _event_values(appeal_id: int, link: Link) -> dict[str, Any]:
    c = link.chained
    return {
        "appeal_id": appeal_id,
        "seq": c["seq"],
        "at": c["at"],
        "actor": c["actor"],
        "role": c["role"],
        "action": c["action"],
        "payload": link.stored,
        "catalogue_version": c["catalogue_version"],
        "prev_hash": c["prev_hash"],
        "hash": link.hash,
    }


def _new_id(result: Any) -> int:
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - every table here has an integer primary key
        raise RuntimeError("the database did not report the new row's id")
    return int(key[0])


def _settable(values: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(values) - _SETTABLE)
    if unknown:
        raise ValueError(f"cannot set {', '.join(unknown)} on an appeal")
    return {k: iso(v) if isinstance(v, datetime) else v for k, v in values.items()}


def create_appeal(
    conn: Connection,
    *,
    number: str,
    at: datetime,
    actor: str,
    role: str,
    payload: Any,
    catalogue_version: str,
    values: Mapping[str, Any],
) -> EventRecord:
    """Insert a new appeal row and its first event (``filed``) in the caller's transaction.
    Raises CaseExists when the number is taken (the caller draws the next one)."""
    link = next_link(number, 1, at, actor, role, "filed", payload, catalogue_version, GENESIS_HASH)
    row = {
        **_settable(values),
        "number": number,
        "catalogue_version": catalogue_version,
        "version": 1,
        "last_event_hash": link.hash,
        "created_at": link.chained["at"],
        "updated_at": link.chained["at"],
    }
    try:
        with conn.begin_nested():
            appeal_id = _new_id(conn.execute(insert(appeals).values(**row)))
    except IntegrityError as exc:
        raise CaseExists(number) from exc
    event_id = _new_id(conn.execute(insert(appeal_events).values(**_event_values(appeal_id, link))))
    return link.record(event_id, appeal_id)


def append_appeal_event(
    conn: Connection,
    *,
    number: str,
    expected_version: int,
    at: datetime,
    actor: str,
    role: str,
    action: str,
    payload: Any,
    catalogue_version: str,
    values: Mapping[str, Any],
) -> EventRecord:
    """Append one event to an appeal and apply ``values`` to its row, only if it is still at
    ``expected_version`` (else VersionConflict; CaseNotFound for an unknown number)."""
    row = conn.execute(
        select(appeals.c.id, appeals.c.version, appeals.c.last_event_hash).where(appeals.c.number == number)
    ).first()
    if row is None:
        raise CaseNotFound(number)
    if row.version != expected_version:
        raise VersionConflict(number, expected_version, row.version)
    link = next_link(
        number, expected_version + 1, at, actor, role, action, payload, catalogue_version, str(row.last_event_hash)
    )
    done = conn.execute(
        update(appeals)
        .where(appeals.c.id == row.id, appeals.c.version == expected_version)
        .values(
            **_settable(values), version=expected_version + 1, last_event_hash=link.hash, updated_at=link.chained["at"]
        )
    ).rowcount
    if done != 1:
        raise VersionConflict(number, expected_version, None)
    inserted = conn.execute(insert(appeal_events).values(**_event_values(int(row.id), link)))
    return link.record(_new_id(inserted), int(row.id))


def get_appeal(conn: Connection, number: str) -> dict[str, Any] | None:
    """The appeal's row as a dict, or None."""
    found = conn.execute(select(appeals).where(appeals.c.number == number)).mappings().first()
    return dict(found) if found is not None else None


def events_of_appeal(conn: Connection, number: str) -> list[EventRecord]:
    """Every event of an appeal in ``seq`` order (empty for an unknown number)."""
    e = appeal_events
    rows = conn.execute(
        select(*[c.label("case_id") if c.name == "appeal_id" else c for c in e.c])
        .join(appeals, appeals.c.id == e.c.appeal_id)
        .where(appeals.c.number == number)
        .order_by(e.c.seq, e.c.id)
    ).all()
    return [record_of(r, number) for r in rows]


def last_appeal_number(conn: Connection, prefix: str) -> str | None:
    """The highest appeal number starting with ``prefix`` (fixed width: text order is number order)."""
    found = conn.execute(
        select(appeals.c.number)
        .where(appeals.c.number >= prefix, appeals.c.number < prefix + "~")
        .order_by(appeals.c.number.desc())
        .limit(1)
    ).first()
    return str(found.number) if found is not None else None
