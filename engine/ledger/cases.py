"""The case rows: filing a case, reading its row, and the columns written beside its events.

A case's row (``cases``) is what worklists, public pages and rankings read; its events are the record. The
row changes with each event (engine.ledger.events.append_event); the functions here file a new case with its
first event, find the last number issued, read a row, and write what is not an event: the staff of a case
that ended (for the staff rankings) and deadlines counted again under a newer calendar.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, cast, insert, select, update
from sqlalchemy.engine import Connection

from engine.ledger.db import dumps, loads
from engine.ledger.errors import CaseExists
from engine.ledger.events import GENESIS_HASH, EventRecord, case_values, insert_event, next_link
from engine.ledger.fastpath import INTEGRITY_ERRORS, Tx, fast_execute
from engine.ledger.tables import case_staff, cases, events

__all__ = ["create_case", "get_case", "last_number", "recompute_columns", "record_case_staff"]

_INSERT_CASE = insert(cases)
# ``number >= prefix AND number < prefix + "~"`` (not LIKE, which SQLite cannot serve from the
# unique index without case-sensitive LIKE): the last number issued under a prefix.
_LAST_NUMBER = (
    select(cases.c.number)
    .where(cases.c.number >= bindparam("low"), cases.c.number < bindparam("high"))
    .order_by(cases.c.number.desc())
    .limit(1)
)
_CASE_COLUMNS = tuple(c.name for c in cases.columns if c.name != "id")


def create_case(
    conn: Connection,
    *,
    number: str,
    query_code: str | None,
    item_code: str,
    catalogue_version: str,
    state: str,
    data: Any,
    at: datetime,
    actor: str,
    role: str,
    payload: Any,
    department: str | None,
    action: str = "submit",
    columns: Mapping[str, Any] | None = None,
    plain: bool = False,
) -> tuple[int, EventRecord]:
    """Insert a case and its first event (``submit``): the row is written at version 1 with the event's
    hash as the head of its chain, so the event needs no second write of the row.

    ``columns`` sets further worklist columns at once (``current_step``, ``assignee_role``,
    ``due_promised``, ``due_legal``, ``paused``; dates/datetimes are stored as ISO text).
    ``plain``: the payload already is what JSON reads back (engine.ledger.events.append_event's ``plain``).
    Raises :class:`CaseExists` when the number is taken.
    """
    extra = case_values(columns or {}, "columns")
    link = next_link(number, 1, at, actor, role, action, payload, catalogue_version, GENESIS_HASH, plain)
    at_text = link.chained["at"]
    values: dict[str, Any] = dict.fromkeys(_CASE_COLUMNS)
    values.update(
        light="green", step_overdue=False, legal_overdue=False, minute_limit=False, immediate=False
    )  # NOT NULL, as the server default
    values.update(extra)
    values.update(
        number=number,
        query_code=query_code,
        item_code=item_code,
        catalogue_version=catalogue_version,
        state=state,
        version=1,
        last_event_hash=link.hash,
        data=data if isinstance(data, str) else dumps(data),
        created_at=at_text,
        updated_at=at_text,
        department=department,
        paused=bool(extra.get("paused", False)),
    )
    try:
        inserted = fast_execute(conn, _INSERT_CASE, values)
    except INTEGRITY_ERRORS as exc:
        if "number" not in str(exc):  # pragma: no cover - no other constraint can fail here
            raise
        raise CaseExists(number) from exc
    if inserted.lastrowid is None:  # pragma: no cover - every table here has an integer primary key
        raise RuntimeError("the database did not report the new case's id")
    case_id = int(inserted.lastrowid)
    return case_id, link.record(insert_event(conn, case_id, link), case_id)


def last_number(conn: Connection, prefix: str) -> str | None:
    """The highest case number starting with ``prefix`` (numbers are fixed-width, so text order is
    number order), or ``None``."""
    rows = fast_execute(conn, _LAST_NUMBER, {"low": prefix, "high": prefix + "~"}).rows
    return str(rows[0][0]) if rows else None


_FIGURES = ("department", "ended_at", "completed", "on_time", "early", "minute_limit", "used_days", "promised_days",
            "immediate")  # fmt: skip
# one statement: every staff member who acted on the case (two comparisons rather than NOT IN:
# fast_execute runs plain bind parameters only), each with the case's figures
_INSERT_CASE_STAFF = insert(case_staff).from_select(
    ["case_id", "actor", *_FIGURES],
    # each figure cast to its column's type: PostgreSQL reads an untyped parameter in a select list as text
    select(events.c.case_id, events.c.actor, *(cast(bindparam(name), case_staff.c[name].type) for name in _FIGURES))
    .where(events.c.case_id == bindparam("case_id"), events.c.role != "applicant", events.c.role != "system")
    .distinct(),
)


def record_case_staff(conn: Connection | Tx, case_id: int, figures: Mapping[str, Any]) -> None:
    """When a case ends, in the same transaction: one ``case_staff`` row per staff member who acted
    on it, carrying the figures the rankings read (``ended_at``, ``completed``, ``on_time`` …)."""
    given = {"immediate": False, **figures}  # as the column's server default when not given
    fast_execute(conn, _INSERT_CASE_STAFF, {"case_id": case_id, **{name: given.get(name) for name in _FIGURES}})


def recompute_columns(conn: Connection, case_number: str, version: int, values: Mapping[str, Any]) -> bool:
    """Set query-table columns derived from the record (deadlines counted again, engine.service.provisional)
    without an event, only while the case is still at ``version``; whether the row was updated."""
    stmt = update(cases).where(cases.c.number == case_number, cases.c.version == version)
    return conn.execute(stmt.values(**case_values(values, "recompute_columns"))).rowcount == 1


def get_case(conn: Connection, number: str) -> dict[str, Any] | None:
    """The case row as a dict (``data`` decoded), or ``None``."""
    row = conn.execute(select(cases).where(cases.c.number == number)).mappings().first()
    if row is None:
        return None
    out = dict(row)
    out["data"] = loads(out["data"])
    return out
