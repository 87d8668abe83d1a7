"""Moving a center's record to another store (``yangguang db copy``): every table, row for row.

The source (usually the SQLite file a center has run on) is read in one read transaction, so the
copy is one moment's record even if a server still writes to it; the target (usually PostgreSQL)
must be empty and is migrated to this version first. Tables are copied parents first
(``metadata.sorted_tables``: a case before its events), each in primary-key order and in batches of
``BATCH`` rows, so memory stays bounded whatever the record's size; all of it in one transaction on
the target, so a copy that fails leaves the target as empty as it was. PostgreSQL's sequences are
then set past the highest id copied, so the next case, event or user gets a new one.

:func:`compare` then reads both again and names the first row of each table that differs: the
command runs it, and ``audit verify``, before saying the copy is good.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, func, insert, inspect, select, text
from sqlalchemy.engine import Connection, Engine

from engine.ledger.backup import is_empty
from engine.ledger.db import read_only
from engine.ledger.migrations import MIGRATIONS, migrate, schema_version
from engine.ledger.tables import metadata, schema_migrations

__all__ = ["BATCH", "CopyReport", "TransferError", "compare", "copy"]

BATCH = 1000  # rows per insert: large enough that round trips do not dominate, small enough to bound memory
Progress = Callable[[int, int], None]


class TransferError(Exception):
    """A copy that cannot be made; the message says why and what to do."""


@dataclass
class CopyReport:
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows copied (or compared)
    differences: list[str] = field(default_factory=list)  # one line per table whose rows differ

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _tables() -> list[Table]:
    """The tables a copy moves, parents first. schema_migrations is the target's own (its migrate)."""
    return [t for t in metadata.sorted_tables if t is not schema_migrations]


def _ordered(table: Table) -> Any:
    return select(*table.columns).order_by(*table.primary_key.columns)


def _batches(conn: Connection, table: Table) -> Iterator[Sequence[Any]]:
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(_ordered(table))
    yield from result.partitions(BATCH)


def _check_source(conn: Connection) -> None:
    version = schema_version(conn)
    if version != len(MIGRATIONS):
        raise TransferError(
            f"the source is at schema version {version} but this yangguang copies version {len(MIGRATIONS)}"
            + ("; it was written by a newer yangguang" if version > len(MIGRATIONS) else "")
        )
    missing = [t.name for t in _tables() if not inspect(conn).has_table(t.name)]
    if missing:
        raise TransferError(f"the source has no table {', '.join(missing)}: it is not a yangguang database")


def _counts(conn: Connection) -> dict[str, int]:
    return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one()) for t in _tables()}


def copy(source: Engine, target: Engine, progress: Progress | None = None) -> CopyReport:
    """Copy every row of ``source`` into the empty ``target`` (migrated here first); the rows per table."""
    if not is_empty(target):
        raise TransferError("the target database is not empty: copy into a new, empty database")
    migrate(target)
    report = CopyReport()
    with read_only(source) as src:
        with src.begin():  # one read transaction: one moment's record
            _check_source(src)
            counts = _counts(src)
            total, done = sum(counts.values()), 0
            with target.begin() as dst:
                for table in _tables():
                    copied = 0
                    for rows in _batches(src, table):
                        dst.execute(insert(table), [dict(r._mapping) for r in rows])
                        copied += len(rows)
                        done += len(rows)
                        if progress is not None:
                            progress(done, total)
                    report.rows[table.name] = copied
                _reset_sequences(dst)
    return report


def _reset_sequences(conn: Connection) -> None:
    """Set each PostgreSQL sequence behind an integer id past the highest id copied (the rows came with
    their ids, so the sequences never moved). SQLite needs nothing: it takes the highest id + 1."""
    if conn.dialect.name != "postgresql":
        return
    for table in _tables():
        for column in table.primary_key.columns:
            if column.autoincrement is True:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                        f"COALESCE((SELECT MAX({conn.dialect.identifier_preparer.quote(column.name)}) "
                        f"FROM {conn.dialect.identifier_preparer.quote(table.name)}), 0) + 1, false)"
                    ),
                    {"table": table.name, "column": column.name},
                )


def compare(source: Engine, target: Engine, progress: Progress | None = None) -> CopyReport:
    """Read every table of both databases in primary-key order and compare them row for row: the rows
    per table, and for each table that differs the first row (by key) that does."""
    report = CopyReport()
    with read_only(source) as src, read_only(target) as dst, src.begin(), dst.begin():
        total, done = sum(_counts(src).values()), 0
        for table in _tables():
            keys = [c.name for c in table.primary_key.columns]
            left, right = _rows(src, table), _rows(dst, table)
            n = 0
            for a, b in _pairs(left, right):
                if a != b:
                    row = a if a is not None else b
                    assert row is not None
                    where = ", ".join(f"{k}={row[k]!r}" for k in keys)
                    what = "missing from the copy" if b is None else "only in the copy" if a is None else "differs"
                    report.differences.append(f"{table.name}: the row {where} {what}")
                    break
                n += 1
                done += 1
                if progress is not None and done % BATCH == 0:
                    progress(done, total)
            report.rows[table.name] = n
    return report


def _rows(conn: Connection, table: Table) -> Iterator[dict[str, Any]]:
    for batch in _batches(conn, table):
        for row in batch:
            yield dict(row._mapping)


def _pairs(
    left: Iterator[dict[str, Any]], right: Iterator[dict[str, Any]]
) -> Iterator[tuple[dict[str, Any] | None, dict[str, Any] | None]]:
    """The rows of two tables side by side; None where one has run out."""
    while True:
        a, b = next(left, None), next(right, None)
        if a is None and b is None:
            return
        yield a, b
