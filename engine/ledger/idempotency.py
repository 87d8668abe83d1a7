"""Idempotency keys: a client that repeats a filing (a retry after a lost answer) gets the case it already
filed, not a second one.

The key is remembered in the same transaction as the case it filed (:func:`remember_idempotency` beside
``create_case``), so the key and its case are written together or not at all.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection

from engine.ledger.db import iso
from engine.ledger.fastpath import Tx, fast_execute
from engine.ledger.tables import idempotency

__all__ = ["find_idempotency", "insert_idempotency", "remember_idempotency"]

_SELECT_IDEMPOTENCY = select(idempotency.c.case_number).where(idempotency.c.key == bindparam("key"))
_INSERT_IDEMPOTENCY = insert(idempotency)


def find_idempotency(conn: Connection, key: str) -> str | None:
    """The case number an idempotency key was first used for, or ``None``."""
    rows = fast_execute(conn, _SELECT_IDEMPOTENCY, {"key": key}).rows
    return str(rows[0][0]) if rows else None


def remember_idempotency(conn: Connection, key: str, case_number: str, at: datetime) -> str:
    """Record ``key`` → ``case_number`` unless the key is known; return the case number it maps to.

    Call it in the same transaction as :func:`create_case`; when the returned number differs
    from ``case_number`` the request is a repeat: roll back and answer with that case.
    """
    found = find_idempotency(conn, key)
    if found is not None:
        return found
    insert_idempotency(conn, key, case_number, at)
    return case_number


def insert_idempotency(conn: Connection | Tx, key: str, case_number: str, at: datetime) -> None:
    """Record ``key`` → ``case_number`` for a caller that already looked the key up in this transaction,
    holding the key's lock (engine.service.cases: a filing), so the look-up is not repeated; a key
    recorded meanwhile all the same fails on the key's uniqueness (the transaction rolls back)."""
    fast_execute(conn, _INSERT_IDEMPOTENCY, {"key": key, "case_number": case_number, "created_at": iso(at)})
