"""The database layer (engine/ledger/db.py): SQLite settings, immediate transactions, other URLs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from engine.ledger import db as ledger_db
from engine.ledger.db import open_engine, read_only


@pytest.mark.sqlite_only
@pytest.mark.parametrize(("sync", "value"), [("FULL", 2), ("NORMAL", 1)])
def test_sqlite_pragmas(tmp_path: Path, sync: str, value: int) -> None:
    eng = open_engine(tmp_path / "deep" / "er" / "p.db", synchronous=sync)
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == value
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    eng.dispose()
    with pytest.raises(ValueError):
        open_engine(tmp_path / "x.db", synchronous="OFF")


@pytest.mark.sqlite_only
def test_sqlite_url_and_immediate_transactions(tmp_path: Path) -> None:
    eng = open_engine(f"sqlite:///{tmp_path / 'u.db'}")
    statements: list[str] = []
    from sqlalchemy import event

    @event.listens_for(eng, "connect")
    def _log(dbapi_connection: Any, _record: Any) -> None:  # what SQLite itself is asked to run
        dbapi_connection.set_trace_callback(statements.append)

    with eng.begin() as conn:
        conn.exec_driver_sql("SELECT 1")
    with read_only(eng) as conn:
        conn.exec_driver_sql("SELECT 1")
    assert statements == ["BEGIN IMMEDIATE", "SELECT 1", "COMMIT", "BEGIN", "SELECT 1", "ROLLBACK"]
    eng.dispose()


def test_other_urls_pass_through(monkeypatch: pytest.MonkeyPatch) -> None:
    """What open_engine hands to create_engine for a PostgreSQL URL (no server needed)."""
    seen: list[tuple[Any, ...]] = []
    made = create_engine("sqlite://")  # an engine to hand back (open_engine listens to its connections)

    def fake_create_engine(*args: Any, **kwargs: Any) -> Any:
        seen.append((*args, kwargs))
        return made

    monkeypatch.setattr(ledger_db, "create_engine", fake_create_engine)
    assert open_engine("postgresql://user@localhost/yangguang") is made
    assert len(seen) == 1 and seen[0][-1] == ledger_db.POOL  # a sized pool (engine.ledger.db.POOL says why)
    assert str(seen[0][0]) == "postgresql+psycopg://user@localhost/yangguang"  # psycopg 3


def test_postgresql_opens_with_psycopg_and_replaces_a_connection_the_server_dropped(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pooled connection is tested before use once it has rested (engine.ledger.db.IDLE_PING): one the
    server dropped meanwhile (a restart, an idle timeout) is replaced without the caller seeing an error."""
    import psycopg

    eng = open_engine(pg_url)
    try:
        assert eng.dialect.driver == "psycopg"
        with eng.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        monkeypatch.setattr(ledger_db, "IDLE_PING", 0.0)  # the pooled connection has rested long enough
        with eng.connect() as conn:
            assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != pid
    finally:
        eng.dispose()


@pytest.mark.sqlite_only  # BEGIN IMMEDIATE and the writer turn are SQLite's; PostgreSQL's path runs in test_service
def test_write_transaction_commits_or_rolls_back_and_takes_the_writer_turn(tmp_path: Path) -> None:
    """The hot path's transaction on the DB-API connection: BEGIN IMMEDIATE … COMMIT, everything undone when
    its block raises, and a second writer of this process waits for the first to finish."""
    import threading

    from sqlalchemy import Column, Integer, MetaData, Table, insert, select

    from engine.ledger.fastpath import fast_execute

    eng = open_engine(tmp_path / "w.db")
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("n", Integer))
    table.metadata.create_all(eng)
    add = insert(table)
    with ledger_db.write_transaction(eng) as tx:
        fast_execute(tx, add, {"n": 1})
    with pytest.raises(RuntimeError), ledger_db.write_transaction(eng) as tx:
        fast_execute(tx, add, {"n": 2})
        raise RuntimeError("the action was refused after its first write")
    order: list[str] = []
    with ledger_db.write_transaction(eng) as tx:
        other = threading.Thread(target=lambda: _write_after(eng, add, order))
        other.start()
        other.join(0.2)  # it cannot start its transaction while this one holds the turn
        order.append("first")
        fast_execute(tx, add, {"n": 3})
    other.join()
    with read_only(eng) as conn:
        assert [r.n for r in conn.execute(select(table.c.n).order_by(table.c.id))] == [1, 3, 4]
    assert order == ["first", "second"]
    eng.dispose()


def _write_after(eng: Any, add: Any, order: list[str]) -> None:
    from engine.ledger.fastpath import fast_execute

    with ledger_db.write_transaction(eng) as tx:
        order.append("second")
        fast_execute(tx, add, {"n": 4})
