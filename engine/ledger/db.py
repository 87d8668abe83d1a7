"""The database: an engine for a database URL or SQLite file, and how values are written into it.

Everything in engine/ledger is SQLAlchemy Core, so the same tables and queries run on SQLite (the
embedded default) and PostgreSQL. SQLite-specific behaviour lives only in :func:`open_engine`
(pragmas and ``BEGIN IMMEDIATE``) and in the fast path (engine.ledger.fastpath).

* Timestamps are text, ISO 8601 in UTC with an explicit offset and microseconds
  (``2026-11-22T01:02:03.000000+00:00``), so they compare correctly as strings: :func:`iso`.
* JSON columns (``cases.data``, ``events.payload``, ``catalogue_snapshots.content``) are
  ``Text`` holding JSON written by :func:`dumps` (sorted keys, no whitespace, UTF-8 kept);
  read them with :func:`loads`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, bindparam, create_engine, event, func, select
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DisconnectionError

from engine.ledger.fastpath import Tx, fast_execute

__all__ = [
    "DATA_DIR_ENV", "READ_ONLY", "WRITER_WAIT", "dumps", "is_url", "iso", "loads", "lock", "open_engine", "place",
    "read_only", "utc_now", "write_transaction",
]  # fmt: skip

# ---------------------------------------------------------------------------------------
# Engine
# ---------------------------------------------------------------------------------------

READ_ONLY = "yangguang_read_only"
"""Execution option: ``engine.connect().execution_options(yangguang_read_only=True)`` starts
its SQLite transactions with a plain (deferred) ``BEGIN`` so readers do not queue behind
writers. See :func:`read_only`."""

_SYNCHRONOUS = ("FULL", "NORMAL", "EXTRA")

POOL = {"pool_size": 8, "max_overflow": 8, "pool_timeout": 30}
"""PostgreSQL connections of one process: SQLAlchemy's QueuePool over psycopg 3 (a connection costs a server
process and a few ms to open, so they are kept). Every transaction here is short (one request's work), and a
database core is kept busy by two or three at once, so 8 kept and 8 more at peak serve a process's request
threads; four server processes then hold at most 64 of PostgreSQL's default 100 connections, leaving room
for the CLI, backups and a replica. A waiter gives up after 30 s; a connection that rested in the pool is
tested before use (:func:`_ping_when_idle`)."""
WRITER_WAIT = 30.0  # seconds a writer of this process waits for its turn before giving up
#: an SQLite engine's writer lock (see open_engine), shared by SQLAlchemy's transactions and write_transaction's
_WRITERS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


def _create_private(database: str | None) -> None:
    """Create a new SQLite file readable by its owner only (0600; SQLite gives its -wal and -shm
    files the database's mode) in a folder created 0700: the record holds applicants' personal
    data and staff password hashes. Existing files and folders keep the mode they have."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # an empty file is an empty database
    except FileExistsError:
        pass


def open_engine(url_or_path: str | Path, synchronous: str = "FULL") -> Engine:
    """An engine for a database URL or an SQLite file path (a new file and its folder are created
    owner-only, see :func:`_create_private`).

    For SQLite every connection gets ``journal_mode=WAL``, ``synchronous=<synchronous>``,
    ``busy_timeout=5000`` and ``foreign_keys=ON``, and every transaction starts with
    ``BEGIN IMMEDIATE`` (one writer at a time, taken at the start, so a read-then-write
    transaction never fails half-way with "database is locked"). Other URLs are used as
    they are.
    """
    sync = synchronous.upper()
    if sync not in _SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {', '.join(_SYNCHRONOUS)}, not {synchronous!r}")
    url = str(url_or_path)
    if isinstance(url_or_path, Path) or "://" not in url:
        url = f"sqlite:///{url_or_path}"
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":  # psycopg 3, not SQLAlchemy's default psycopg2
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = _ping_when_idle(create_engine(parsed, **POOL))
        event.listen(engine, "connect", _text_without_nul)
        return engine
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url)
    _create_private(make_url(url).database)

    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite would otherwise BEGIN on its own (deferred) and COMMIT around DDL;
        # we take over transaction control (SQLAlchemy's documented pysqlite recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.fetchall()
            cursor.execute(f"PRAGMA synchronous={sync}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    # Writers of this process queue on a fair lock before BEGIN IMMEDIATE instead of in
    # SQLite's busy handler, which sleeps in growing steps (up to 100 ms) and so gave the slowest
    # writers second-long waits under load. Other processes still meet busy_timeout.
    writer = threading.RLock()  # re-entrant: a nested write on another connection meets busy_timeout as before
    holding: set[int] = set()
    _WRITERS[engine] = writer

    def _release(conn: Connection) -> None:
        if id(conn) in holding:
            holding.discard(id(conn))
            writer.release()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # straight on the DB-API connection: exec_driver_sql would double the cost of a transaction
        if conn.get_execution_options().get(READ_ONLY):
            conn.connection.dbapi_connection.execute("BEGIN")  # type: ignore[union-attr]
            return
        _take_turn(writer)
        holding.add(id(conn))
        try:
            conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
        except BaseException:
            _release(conn)
            raise

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)
    return engine


_ADVISORY_LOCKS: dict[int, Any] = {}  # how many locks → the one statement taking them, in order


def _advisory_locks(count: int) -> Any:
    stmt = _ADVISORY_LOCKS.get(count)
    if stmt is None:
        stmt = _ADVISORY_LOCKS[count] = select(
            *(func.pg_advisory_xact_lock(bindparam(f"key{i}", type_=BigInteger)) for i in range(count))
        )
    return stmt


def _lock_key(name: str) -> int:
    """The 64-bit advisory lock key of the lock ``name`` (engine.ledger.db.lock)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def lock(conn: Connection | Tx, *names: str) -> None:
    """Hold the locks ``names`` until ``conn``'s transaction ends: writers that read, decide and then write
    (the next case number, a per-address limit's count) take it first, so two of them never decide on
    the same reading.

    On SQLite every write transaction already runs alone (``BEGIN IMMEDIATE``), so this does nothing.
    On PostgreSQL transactions run side by side at READ COMMITTED: each is a transaction-scoped advisory
    lock (``pg_advisory_xact_lock``) on a 64-bit key derived from its name, released by the commit or
    rollback, so a crashed writer never leaves it held. Several names are taken in one statement (one
    round trip), left to right: callers that take several name them in one fixed order of kinds (a
    filing: its idempotency key, its address, its number prefix), so two writers never wait on each
    other in a cycle. Taken in either kind of write transaction (``engine.begin()`` or
    :func:`write_transaction`): the statement is prebuilt (engine.ledger.fastpath)."""
    if conn.dialect.name != "postgresql" or not names:
        return
    fast_execute(conn, _advisory_locks(len(names)), {f"key{i}": _lock_key(n) for i, n in enumerate(names)})


def is_url(db: str | Path) -> bool:
    """Whether ``db`` names a database by URL (``postgresql://…``, ``sqlite:///…``) rather than an SQLite file."""
    return not isinstance(db, Path) and "://" in db


DATA_DIR_ENV = "YANGGUANG_DATA_DIR"
"""Where the files of a database on a server (PostgreSQL) live: its signing key, the server's secret key,
uploads and open data (default ``var``). An SQLite database keeps them in its own folder."""


def place(db: str | Path | Engine) -> Path | None:
    """The path that stands for database ``db`` among files: the files that go with it live in its folder
    (``place(db).parent``) and are named after it (``place(db).stem``, e.g. ``<stem>.checkpoint.key``).

    For an SQLite file that is the file itself. A database on a server has no file: it stands at
    ``$YANGGUANG_DATA_DIR/<database name>`` (``var/`` by default), so the CLI and the server find the same
    keys. None for an in-memory database."""
    url = db.url if isinstance(db, Engine) else make_url(str(db) if is_url(db) else f"sqlite:///{db}")
    name = url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    if url.get_backend_name() == "sqlite":
        return Path(name)
    return Path(os.environ.get(DATA_DIR_ENV) or "var") / name


def _text_without_nul(dbapi_connection: Any, _record: Any) -> None:
    """PostgreSQL's text cannot hold NUL, and a NUL in a parameter fails the statement (a 500 for
    ``/api/uploads?case=%00``). Every string reaches the database through this dumper, which writes NUL
    as U+FFFD: a looked-up number or name holding one then simply matches nothing. (No stored value
    holds a NUL: JSON columns escape it, and file names drop control characters.) Costs ~0.1 µs a string."""
    dbapi_connection.adapters.register_dumper(str, _no_nul_dumper())


@functools.cache
def _no_nul_dumper() -> type:
    """psycopg's text dumper for ``str`` (the pure-Python one: the C one cannot be subclassed), NUL as U+FFFD.
    Made on first use: psycopg is imported only by a process that opens a PostgreSQL database."""
    from psycopg.types.string import StrDumperUnknown

    class NoNul(StrDumperUnknown):
        def dump(self, obj: str) -> Any:
            return super().dump(obj.replace("\x00", "\ufffd") if "\x00" in obj else obj)

    return NoNul


def _take_turn(writer: threading.RLock) -> None:
    if not writer.acquire(timeout=WRITER_WAIT):
        raise sqlite3.OperationalError(f"database is locked: no write turn within {WRITER_WAIT} s")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Tx]:
    """One write transaction straight on a pooled DB-API connection (``with write_transaction(db) as tx:``),
    for the hot path's prebuilt statements (engine.ledger.fastpath.fast_execute): committed when the block
    ends, rolled back when it raises. The same guarantees as ``engine.begin()``: on SQLite this process's
    writers take the same fair writer lock, then ``BEGIN IMMEDIATE``; PostgreSQL's transaction starts with
    its first statement (its rows are locked by ``FOR UPDATE`` and the guarded update). What it saves is
    SQLAlchemy's Connection, its begin and commit events and their wrapping: about a tenth of an action."""
    fairy = engine.raw_connection()  # the pool's checkout (and its events: _ping_when_idle) as for any use
    dbapi: Any = fairy.dbapi_connection
    writer = _WRITERS.get(engine)
    try:
        if writer is not None:
            _take_turn(writer)
        try:
            if writer is not None:
                dbapi.execute("BEGIN IMMEDIATE")
            yield Tx(engine.dialect, fairy)
            dbapi.commit()
        except BaseException:
            try:
                dbapi.rollback()
            except Exception:  # a broken connection: the pool must not hand it out again
                fairy.invalidate()
            raise
        finally:
            if writer is not None:
                writer.release()
    finally:
        fairy.close()


IDLE_PING = 2.0  # seconds a pooled PostgreSQL connection may rest before it is tested on its next use


def _ping_when_idle(engine: Engine) -> Engine:
    """Test a pooled connection before use only when it rested in the pool longer than :data:`IDLE_PING`
    (SQLAlchemy's ``pool_pre_ping`` tests every checkout: a round trip before every transaction). A server
    restart or an idle timeout leaves resting connections dead, and those are replaced unseen; one in
    steady use that the server drops fails its request once, and SQLAlchemy then renews the whole pool."""

    @event.listens_for(engine, "checkin")
    def _rested(_dbapi: Any, record: Any) -> None:
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _test(dbapi: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("checked_in", 0.0) <= IDLE_PING:
            return
        try:
            dbapi.execute("SELECT 1")
            dbapi.rollback()
        except Exception as exc:  # any failure: the pool drops this connection and tries another
            raise DisconnectionError(str(exc)) from exc

    return engine


def read_only(engine: Engine) -> Connection:
    """A connection for reading only (``with read_only(engine) as conn: ...``).

    On SQLite its transactions are deferred, so many readers run alongside the writer and
    each sees a consistent snapshot (WAL). Do not write through it.
    """
    return engine.connect().execution_options(**{READ_ONLY: True})


# ---------------------------------------------------------------------------------------
# JSON and time
# ---------------------------------------------------------------------------------------


def dumps(value: Any) -> str:
    """Deterministic JSON text: sorted keys, no whitespace, UTF-8 kept, no NaN/Infinity."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def loads(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def utc_now() -> datetime:
    """Now, timezone-aware in UTC (when a migration ran)."""
    return datetime.now(UTC)


@functools.lru_cache(maxsize=4096)
def iso(moment: datetime) -> str:
    """``moment`` (timezone-aware) as stored: ISO 8601 in UTC with microseconds.

    Remembered for the last few thousand instants: an action stores its case's deadlines again, which
    mostly did not move (equal aware datetimes are one instant, whatever their zone, so one text)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timestamp {moment!r} has no timezone; pass an aware datetime")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
