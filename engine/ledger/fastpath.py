"""The fast path: a prebuilt one-row statement run with as little overhead as the database allows.

The hot paths (appending an event, filing a case, a draft's or an upload's row, a filing limit's count) run
the same few statements thousands of times. On SQLite each is compiled once per set of parameter names and
run on the transaction's own DB-API connection; elsewhere (PostgreSQL) through SQLAlchemy as usual, so the
SQL stays portable. ``bench/bench_cases.py`` measures the appends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

__all__ = ["FastResult", "fast_execute"]

_PRECOMPILED: dict[tuple[int, tuple[str, ...]], tuple[str, tuple[str, ...], dict[str, Any]]] = {}


class FastResult:
    """What the hot path needs from an executed statement, however it ran."""

    __slots__ = ("lastrowid", "rowcount", "rows")

    def __init__(self, rowcount: int, lastrowid: int | None, rows: list[Any]) -> None:
        self.rowcount, self.lastrowid, self.rows = rowcount, lastrowid, rows


def fast_execute(conn: Connection, stmt: Any, params: Mapping[str, Any]) -> FastResult:
    """Run a prebuilt Core statement inside ``conn``'s transaction with as little overhead as the
    database allows.

    On SQLite the statement is compiled once (per set of parameter names) and executed on the
    transaction's own DB-API connection: SQLAlchemy's per-statement machinery costs several times
    more than SQLite's work for these one-row statements. Elsewhere (PostgreSQL) it runs through
    SQLAlchemy as usual, so the SQL stays portable. Parameters must already be plain values.
    """
    if conn.dialect.name != "sqlite":
        result = conn.execute(stmt, dict(params))
        found: list[Any] = list(result) if result.returns_rows else []
        new = result.inserted_primary_key if result.is_insert else None
        # a text primary key (an upload's uuid) is no row id: only an integer one is
        return FastResult(result.rowcount, new[0] if new and isinstance(new[0], int) else None, found)
    key = (id(stmt), tuple(sorted(params)))
    hit = _PRECOMPILED.get(key)
    if hit is None:
        compiled = stmt.compile(dialect=conn.dialect, column_keys=sorted(params))
        # bound constants in the statement itself (e.g. LIMIT 1) keep their compiled values
        hit = (str(compiled), tuple(compiled.positiontup or ()), dict(compiled.params))
        _PRECOMPILED[key] = hit
    sql, order, fixed = hit
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, tuple(params[name] if name in params else fixed[name] for name in order))
        fetched: list[Any] = list(cursor.fetchall()) if cursor.description else []
        return FastResult(cursor.rowcount, cursor.lastrowid, fetched)
    finally:
        cursor.close()
