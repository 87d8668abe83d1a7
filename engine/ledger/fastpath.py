"""The fast path: a prebuilt one-row statement run with as little overhead as the database allows.

The hot paths (appending an event, filing a case, a draft's or an upload's row, a filing limit's count) run
the same few statements thousands of times. Each is compiled once per set of parameter names for the
connection's dialect and then run on the transaction's own DB-API connection — sqlite3 or psycopg —
bypassing SQLAlchemy's per-statement machinery, which costs several times more than the database's own
work for these one-row statements. The SQL is still SQLAlchemy's, so it stays portable.
``bench/bench_cases.py`` measures it on both stores.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Mapping
from typing import Any

import psycopg
from sqlalchemy import Integer
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

__all__ = ["INTEGRITY_ERRORS", "FastResult", "Tx", "fast_execute"]

#: what a violated constraint raises here: the drivers' own errors, as no SQLAlchemy wraps them (and SQLAlchemy's)
INTEGRITY_ERRORS: tuple[type[Exception], ...] = (IntegrityError, sqlite3.IntegrityError, psycopg.IntegrityError)


class _Plan:
    """A statement compiled for one dialect and one set of parameter names."""

    __slots__ = ("fixed", "named", "order", "returns_id", "returns_rows", "sql")

    def __init__(self, conn: Connection | Tx, stmt: Any, names: tuple[str, ...]) -> None:
        self.returns_id = False
        if conn.dialect.name != "sqlite" and getattr(stmt, "is_insert", False):
            key = _integer_key(stmt.table)
            if key is not None:  # no lastrowid there: the new row's id comes back as a result row
                stmt, self.returns_id = stmt.returning(key), True
        # known from the statement, not asked of the cursor: psycopg builds a description object per column
        self.returns_rows = bool(getattr(stmt, "is_select", False)) or self.returns_id
        compiled = stmt.compile(dialect=conn.dialect, column_keys=list(names))
        self.sql = str(compiled)
        # bound constants in the statement itself (e.g. LIMIT 1) keep their compiled values
        self.fixed: dict[str, Any] = dict(compiled.params)
        self.named = compiled.positiontup is None  # psycopg: %(name)s; sqlite3: ? in positiontup's order
        self.order: tuple[str, ...] = tuple(compiled.positiontup or ())


def _integer_key(table: Any) -> Any:
    key = list(table.primary_key.columns)
    return key[0] if len(key) == 1 and isinstance(key[0].type, Integer) else None


_PLANS: dict[tuple[int, str, tuple[str, ...]], _Plan] = {}


class Tx:
    """A write transaction straight on a pooled DB-API connection (engine.ledger.db.write_transaction):
    what :func:`fast_execute` needs of a connection — its dialect and ``connection.dbapi_connection`` —
    without SQLAlchemy's Connection, whose checkout, begin and commit wrapping cost more per action than
    the database's own work. Only prebuilt statements run in it (``fast_execute``)."""

    __slots__ = ("connection", "dialect")

    def __init__(self, dialect: Any, connection: Any) -> None:
        self.dialect, self.connection = dialect, connection


class FastResult:
    """What the hot path needs from an executed statement, however it ran."""

    __slots__ = ("lastrowid", "rowcount", "rows")

    def __init__(self, rowcount: int, lastrowid: int | None, rows: list[Any]) -> None:
        self.rowcount, self.lastrowid, self.rows = rowcount, lastrowid, rows


def fast_execute(conn: Connection | Tx, stmt: Any, params: Mapping[str, Any], *, last: bool = False) -> FastResult:
    """Run a prebuilt Core statement inside ``conn``'s transaction on its DB-API connection.

    The statement is compiled once per dialect and set of parameter names. Parameters must already be
    plain values the driver takes as they are (no SQLAlchemy type processing runs); only plain bind
    parameters (no expanding IN). An insert into a table with an integer key reports the new id as
    ``lastrowid`` on every database. (psycopg's pipeline mode, which could send several statements in
    one round trip, measured slower than one statement at a time on a local server: not used.)

    ``last``: the caller writes nothing more in this transaction (engine.ledger.db.write_transaction's
    ``Tx`` only). On PostgreSQL, when this is also the transaction's first statement, it runs as a
    transaction of its own — one statement is atomic by itself — without the BEGIN and COMMIT round
    trips (two of the three an ordinary action would take); the commit at the block's end then has
    nothing to do. Anything else runs as usual.
    """
    names = tuple(sorted(params))
    key = (id(stmt), conn.dialect.name, names)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = _Plan(conn, stmt, names)
    dbapi: Any = conn.connection.dbapi_connection  # type: ignore[union-attr]
    if last and plan.named and isinstance(conn, Tx) and dbapi.info.transaction_status == _IDLE:
        dbapi.autocommit = True  # idle: psycopg allows the switch, and no statement of this transaction ran
        try:
            return _run(dbapi, plan, params)
        finally:
            # a connection the statement broke refuses the switch: its error is the one to raise, and
            # write_transaction's failed rollback then takes the connection out of the pool
            with contextlib.suppress(psycopg.Error):
                dbapi.autocommit = False
    return _run(dbapi, plan, params)


_IDLE = psycopg.pq.TransactionStatus.IDLE


def _run(dbapi: Any, plan: _Plan, params: Mapping[str, Any]) -> FastResult:
    cursor = dbapi.cursor()
    try:
        if plan.named:  # psycopg
            cursor.execute(plan.sql, {**plan.fixed, **params})
        else:  # sqlite3
            cursor.execute(plan.sql, tuple(params[n] if n in params else plan.fixed[n] for n in plan.order))
        fetched: list[Any] = list(cursor.fetchall()) if plan.returns_rows else []
        if plan.returns_id:
            return FastResult(cursor.rowcount, int(fetched[0][0]) if fetched else None, [])
        return FastResult(cursor.rowcount, getattr(cursor, "lastrowid", None), fetched)
    finally:
        cursor.close()
