"""The case record: each case's events, append-only and hash-chained, written with its row in one transaction.

* A case changes only through :func:`append_event` (or engine.ledger.cases.create_case, which appends its
  first event), inside the caller's transaction: ``with engine.begin() as conn: append_event(conn, ...)``.
  The event and the case row are written in the same transaction, so a crash leaves neither or both.
* ``cases.version`` equals the number of events of the case; writers pass the version they
  read (``expected_version``) and get :class:`VersionConflict` if somebody was faster.

The hash chain
--------------
``event.hash = sha256(prev_hash.encode("ascii") + canonical(event)).hexdigest()`` where
``prev_hash`` is the 64-hex-digit hash of the case's previous event (64 zeros for the first
one) and :func:`canonical` is the JSON object of ``case_number, seq, at, actor, role,
action, payload, catalogue_version, prev_hash`` with sorted keys, no whitespace,
``ensure_ascii=False``, UTF-8. ``cases.last_event_hash`` holds the head of the chain, so a
truncated tail is detected too. (A chain without an external anchor cannot detect an
attacker who rewrites a whole tail *and* the head; publish or sign head hashes for that:
engine.ledger.transparency signs checkpoints over every event.) The encoding never changes:
``yangguang audit verify`` checks every hash ever written against it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, cast, insert, select, update
from sqlalchemy.engine import Connection

from engine.ledger.db import dumps, iso, loads
from engine.ledger.errors import CaseNotFound, VersionConflict
from engine.ledger.fastpath import Tx, fast_execute
from engine.ledger.tables import cases, events

__all__ = [
    "GENESIS_HASH",
    "EventRecord",
    "Link",
    "append_event",
    "canonical",
    "case_values",
    "event_hash",
    "events_of",
    "insert_event",
    "next_link",
    "record_of",
]

# ---------------------------------------------------------------------------------------
# Hash chain
# ---------------------------------------------------------------------------------------

GENESIS_HASH = "0" * 64  # the prev_hash of a case's first event
_CHAINED = ("case_number", "seq", "at", "actor", "role", "action", "payload", "catalogue_version", "prev_hash")


def canonical(event: Mapping[str, Any]) -> bytes:
    """The bytes an event's hash covers: the chained fields as canonical JSON (see module doc)."""
    missing = [k for k in _CHAINED if k not in event]
    if missing:
        raise KeyError(f"event lacks {', '.join(missing)}")
    return dumps({k: event[k] for k in _CHAINED}).encode("utf-8")


def event_hash(event: Mapping[str, Any]) -> str:
    """``sha256(prev_hash as ASCII + canonical(event))`` as 64 hex digits."""
    return hashlib.sha256(str(event["prev_hash"]).encode("ascii") + canonical(event)).hexdigest()


@dataclass(frozen=True)
class EventRecord:
    id: int
    case_id: int
    case_number: str
    seq: int
    at: str
    actor: str
    role: str
    action: str
    payload: Any
    catalogue_version: str
    prev_hash: str
    hash: str

    def chained(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _CHAINED}

    @property
    def at_datetime(self) -> datetime:
        return datetime.fromisoformat(self.at)


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------

_PROTECTED = frozenset({"id", "number", "version", "created_at", "updated_at", "last_event_hash"})
_UPDATABLE = frozenset(c.name for c in cases.columns) - _PROTECTED


_PLAIN = frozenset({str, int, bool, type(None)})


def _column_value(value: Any) -> Any:
    if type(value) in _PLAIN:  # most columns: stored as they are (checked first, once per column per action)
        return value
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def case_values(values: Mapping[str, Any], what: str) -> dict[str, Any]:
    """The columns a writer sets on a case row, as stored (dates as ISO text, ``data`` as JSON); a column
    only the record itself writes (id, number, version, timestamps, chain head) is a ValueError naming ``what``."""
    unknown = sorted(set(values) - _UPDATABLE)
    if unknown:
        raise ValueError(f"{what}: cannot set {', '.join(unknown)} (settable: {', '.join(sorted(_UPDATABLE))})")
    out = {k: _column_value(v) for k, v in values.items()}
    if "data" in out and not isinstance(out["data"], str):
        out["data"] = dumps(out["data"])
    return out


def _normalise_payload(payload: Any, plain: bool = False) -> tuple[str, Any]:
    """The payload as stored (JSON text) and as re-read from it, so what is hashed now is
    exactly what verify re-reads (``plain``: the caller's payload already is what JSON reads back)."""
    try:
        stored = dumps(payload)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"event payload is not plain JSON: {exc}") from exc
    return stored, payload if plain else json.loads(stored)


# Built once: statements with bind parameters hit SQLAlchemy's compiled cache without
# rebuilding expressions on every append (about three times faster).
_SELECT_CASE = select(cases.c.number, cases.c.version, cases.c.last_event_hash).where(
    cases.c.id == bindparam("case_id")
)
_GUARDED_UPDATE = update(cases).where(
    cases.c.id == bindparam("_case_id"), cases.c.version == bindparam("_expected_version")
)  # the SET clause comes from the other parameter names
_INSERT_EVENT = insert(events)
_EVENT_FIELDS_WRITTEN = ("seq", "at", "actor", "role", "action", "payload", "catalogue_version", "prev_hash", "hash")
_MOVED: dict[tuple[str, ...], Any] = {}  # set columns → the guarded update and the event's insert as one statement


def _moved_and_appended(columns: tuple[str, ...]) -> Any:
    """PostgreSQL: the guarded update setting ``columns`` (and the version, time and chain head) and the
    event's insert in one statement — a data-modifying ``WITH`` whose insert reads the updated row, so
    the event is written only when the guard matched (no row back: a version conflict, nothing written).
    One round trip instead of two per action; the row lock and the guard decide exactly as before. The
    event's parameters are named ``e_…``, apart from the case columns'."""
    stmt = _MOVED.get(columns)
    if stmt is None:
        sets = {c: bindparam(c, type_=cases.c[c].type) for c in (*columns, "version", "updated_at", "last_event_hash")}
        moved = (
            update(cases)
            .where(cases.c.id == bindparam("_case_id"), cases.c.version == bindparam("_expected_version"))
            .values(sets)
            .returning(cases.c.id)
            .cte("moved")
        )
        # each parameter cast to its column's type: PostgreSQL reads an untyped parameter in a select list as text
        fields = (cast(bindparam(f"e_{n}"), events.c[n].type) for n in _EVENT_FIELDS_WRITTEN)
        stmt = _MOVED[columns] = insert(events).from_select(
            ["case_id", *_EVENT_FIELDS_WRITTEN], select(moved.c.id, *fields)
        )
    return stmt


class _Head(NamedTuple):
    number: str
    version: int
    last_event_hash: str | None


def _case_row(conn: Connection | Tx, case_id: int) -> _Head | None:
    rows = fast_execute(conn, _SELECT_CASE, {"case_id": case_id}).rows
    return _Head(*rows[0]) if rows else None


def append_event(
    conn: Connection | Tx,
    *,
    case_id: int,
    case_number: str,
    expected_version: int,
    at: datetime,
    actor: str,
    role: str,
    action: str,
    payload: Any,
    catalogue_version: str,
    state_update: Mapping[str, Any],
    known: Any = None,
    current: Mapping[str, Any] | None = None,
    plain: bool = False,
    last: bool = False,
) -> EventRecord:
    """Append one event to a case and apply ``state_update`` to its row, in the caller's transaction.

    ``current``: columns of the case row as read in this same write transaction (values as the database
    returns them); a column of ``state_update`` already holding its value there is not written again,
    so the database maintains only the indexes over columns that really change (most actions change
    one or two of the row's twenty-odd worklist columns). ``plain``: the payload is already as JSON
    reads it back (the service's is), so it is not read back again. ``last``: the caller writes nothing
    more in this transaction (engine.ledger.fastpath.fast_execute's ``last``: on PostgreSQL an action
    that read nothing first is then one statement, its own transaction).

    Raises :class:`VersionConflict` when ``cases.version != expected_version`` (checked on
    read and again by ``UPDATE ... WHERE version = :expected``, so two writers never both
    succeed, whatever the database), :class:`CaseNotFound`, or ``ValueError`` for a naive
    ``at``, a non-JSON payload or a protected column in ``state_update``. Afterwards
    ``cases.version == expected_version + 1``.
    """
    values = case_values(state_update, "state_update")
    if current:
        values = {k: v for k, v in values.items() if k not in current or current[k] != v}

    # ``known``: the case row the caller already read in this same write transaction
    row: Any = known if known is not None else _case_row(conn, case_id)
    _check_row(row, case_id, case_number, expected_version)

    # cases.version counts the case's events and last_event_hash is the head of its chain
    # (verify() checks both), so the next link needs no read of the events table.
    prev = str(row.last_event_hash or GENESIS_HASH) if expected_version else GENESIS_HASH
    link = next_link(
        case_number, expected_version + 1, at, actor, role, action, payload, catalogue_version, prev, plain
    )
    event_id = _write(conn, case_id, expected_version, values, link, last)
    return link.record(event_id, case_id)


class Link(NamedTuple):
    """The next event of a case before it is written: its chained fields, its payload as stored, its hash."""

    chained: dict[str, Any]
    stored: str
    hash: str

    def record(self, event_id: int, case_id: int) -> EventRecord:
        return EventRecord(id=event_id, case_id=case_id, hash=self.hash, **self.chained)


def next_link(
    case_number: str,
    seq: int,
    at: datetime,
    actor: str,
    role: str,
    action: str,
    payload: Any,
    catalogue_version: str,
    prev_hash: str,
    plain: bool = False,
) -> Link:
    """The event ``seq`` of a case chained to ``prev_hash`` (ValueError for a naive ``at`` or a payload
    that is not plain JSON): what :func:`append_event` writes, and engine.ledger.cases.create_case for a
    case's first event, which it files together with the case row."""
    stored, body = _normalise_payload(payload, plain)
    chained: dict[str, Any] = {
        "case_number": case_number,
        "seq": seq,
        "at": iso(at),
        "actor": actor,
        "role": role,
        "action": action,
        "payload": body,
        "catalogue_version": catalogue_version,
        "prev_hash": prev_hash,
    }
    # the payload is encoded once: its stored text is spliced into the canonical text of the other fields
    # (what canonical() encodes in one go, byte for byte: JSON's encoding of a value does not depend on
    # where it stands, and sorted keys put "payload" just before "prev_hash")
    text = _canonical_text(chained, stored)
    return Link(chained, stored, hashlib.sha256(prev_hash.encode("ascii") + text.encode("utf-8")).hexdigest())


# _canonical_text writes the chained fields in this order: JSON's sorted keys
assert tuple(sorted(_CHAINED)) == ("action", "actor", "at", "case_number", "catalogue_version", "payload", "prev_hash",
                                   "role", "seq")  # fmt: skip
_TEXT = json.encoder.encode_basestring  # what json.dumps(..., ensure_ascii=False) writes for a text


def _canonical_text(chained: dict[str, Any], stored: str) -> str:
    """canonical(chained) as text, with the payload's JSON ``stored`` in its place. When every other
    field is a text (and seq an integer), as always from the engine, the object is written field by field
    in sorted key order with JSON's own string encoder (no dict sorted and walked per event); anything
    else goes through dumps."""
    c = chained
    texts = (c["action"], c["actor"], c["at"], c["case_number"], c["catalogue_version"], c["prev_hash"], c["role"])
    if type(c["seq"]) is int and all(type(t) is str for t in texts):
        action, actor, at, number, version, prev, role = map(_TEXT, texts)
        return (
            f'{{"action":{action},"actor":{actor},"at":{at},"case_number":{number},"catalogue_version":{version},'
            f'"payload":{stored},"prev_hash":{prev},"role":{role},"seq":{c["seq"]}}}'
        )
    head, tail = dumps({**chained, "payload": 0}).split(_PAYLOAD_SLOT, 1)
    return f'{head}"payload":{stored},"prev_hash"{tail}'


# unescaped quotes occur only around keys, so this marks the payload's place in the canonical text
_PAYLOAD_SLOT = '"payload":0,"prev_hash"'


def insert_event(
    conn: Connection | Tx, case_id: int, link: Link, moved: dict[str, Any] | None = None, last: bool = False
) -> int:
    """Write ``link`` as an event of the case ``case_id`` (its row is the caller's to keep in step: see
    :func:`append_event`); the new event's id. ``moved`` (PostgreSQL, from append_event): the guarded
    update's parameters (``_set``: the columns it sets), run with the insert as one statement
    (:func:`_moved_and_appended`; ``last`` as fast_execute's): 0 when the guard failed and nothing was written."""
    if moved is not None:
        params = {k: v for k, v in moved.items() if k != "_set"}
        appended = fast_execute(conn, _moved_and_appended(moved["_set"]), params, last=last)
        return 0 if appended.lastrowid is None else int(appended.lastrowid)
    chained = link.chained
    inserted = fast_execute(
        conn,
        _INSERT_EVENT,
        {
            "case_id": case_id,
            "seq": chained["seq"],
            "at": chained["at"],
            "actor": chained["actor"],
            "role": chained["role"],
            "action": chained["action"],
            "payload": link.stored,
            "catalogue_version": chained["catalogue_version"],
            "prev_hash": chained["prev_hash"],
            "hash": link.hash,
        },
    )
    if inserted.lastrowid is None:  # pragma: no cover - every table here has an integer primary key
        raise RuntimeError("the database did not report the new event's id")
    return int(inserted.lastrowid)


def _check_row(row: Any, case_id: int, case_number: str, expected_version: int) -> None:
    """The case row an append starts from: there, the case named, at the version the caller read."""
    if row is None:
        raise CaseNotFound(case_number)
    if row.number != case_number:
        raise ValueError(f"case id {case_id} is {row.number}, not {case_number}")
    if row.version != expected_version:
        raise VersionConflict(case_number, expected_version, row.version)


def _write(
    conn: Connection | Tx, case_id: int, expected_version: int, values: Mapping[str, Any], link: Link, last: bool
) -> int:
    """The case row moved to the next version (only if still at ``expected_version``), then the event
    itself; the new event's id."""
    # The guard first: on PostgreSQL it takes the row lock, so a concurrent writer waits
    # here and then finds the version changed (rowcount 0) instead of a duplicate seq.
    moved = {
        **values,
        "version": expected_version + 1,
        "updated_at": link.chained["at"],
        "last_event_hash": link.hash,
        "_case_id": case_id,
        "_expected_version": expected_version,
    }
    if conn.dialect.name == "postgresql":  # both in one statement (one round trip): see _moved_and_appended
        chained = link.chained
        fields = {"payload": link.stored, "hash": link.hash}
        moved.update({f"e_{n}": fields[n] if n in fields else chained[n] for n in _EVENT_FIELDS_WRITTEN})
        moved["_set"] = tuple(sorted(values))
        event_id = insert_event(conn, case_id, link, moved, last)
        if event_id:
            return event_id
        now = _case_row(conn, case_id)
        raise VersionConflict(link.chained["case_number"], expected_version, None if now is None else now.version)
    result = fast_execute(conn, _GUARDED_UPDATE, moved)
    if result.rowcount != 1:
        now = _case_row(conn, case_id)
        raise VersionConflict(link.chained["case_number"], expected_version, None if now is None else now.version)
    return insert_event(conn, case_id, link)


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------


def record_of(row: Any, case_number: str) -> EventRecord:
    return EventRecord(
        id=int(row.id),
        case_id=int(row.case_id),
        case_number=case_number,
        seq=int(row.seq),
        at=str(row.at),
        actor=str(row.actor),
        role=str(row.role),
        action=str(row.action),
        payload=loads(row.payload),
        catalogue_version=str(row.catalogue_version),
        prev_hash=str(row.prev_hash),
        hash=str(row.hash),
    )


_EVENTS_OF = (
    select(*events.c)
    .join(cases, cases.c.id == events.c.case_id)
    .where(cases.c.number == bindparam("number"))
    .order_by(events.c.seq, events.c.id)
)
_EVENT_FIELDS = tuple(c.name for c in events.c)


class _EventRow(NamedTuple):
    id: int
    case_id: int
    seq: int
    at: str
    actor: str
    role: str
    action: str
    payload: str
    catalogue_version: str
    prev_hash: str
    hash: str


assert _EVENT_FIELDS == _EventRow._fields, "keep _EventRow in step with the events table"


def events_of(conn: Connection | Tx, case_number: str) -> list[EventRecord]:
    """Every event of a case in ``seq`` order (empty for an unknown case)."""
    rows = fast_execute(conn, _EVENTS_OF, {"number": case_number}).rows
    return [record_of(_EventRow(*r), case_number) for r in rows]
