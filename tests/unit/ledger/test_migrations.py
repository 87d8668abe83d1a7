"""The numbered migrations (engine/ledger/migrations.py): idempotent, atomic, and upgrading old databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from ledger_support import T0, new_case
from sqlalchemy import Column, Integer, String, inspect, select
from sqlalchemy.engine import Engine

from engine.ledger import tables as ledger_tables
from engine.ledger.db import iso, open_engine
from engine.ledger.errors import SchemaTooNew
from engine.ledger.migrations import MIGRATIONS, add_column, migrate, schema_version
from engine.ledger.snapshots import catalogue_history, record_catalogue
from engine.supervision import audit

LATEST = len(MIGRATIONS)


def test_migrate_is_idempotent(engine: Engine) -> None:
    assert migrate(engine) == LATEST
    assert migrate(engine) == LATEST
    with engine.connect() as conn:
        rows = conn.execute(select(ledger_tables.schema_migrations)).all()
        tables = set(inspect(conn).get_table_names())
    assert [r.version for r in rows] == list(range(1, LATEST + 1))
    assert {
        "cases",
        "events",
        "catalogue_snapshots",
        "idempotency",
        "users",
        "sessions",
        "uploads",
        "schema_migrations",
    } <= tables


def test_a_later_migration_adds_a_column(engine: Engine) -> None:
    new_case(engine)

    def m_next_priority(conn: Any) -> None:
        add_column(conn, "cases", Column("priority", Integer, server_default="0", nullable=False))
        add_column(conn, "users", Column("phone", String(32)))

    steps = [*MIGRATIONS, m_next_priority]
    assert migrate(engine, steps) == LATEST + 1
    assert migrate(engine, steps) == LATEST + 1
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("cases")}
        assert "priority" in columns
        assert conn.exec_driver_sql("SELECT priority FROM cases").scalar() == 0
        assert [r.version for r in conn.execute(select(ledger_tables.schema_migrations.c.version))] == list(
            range(1, LATEST + 2)
        )
    # Older code refuses a newer database instead of guessing.
    with pytest.raises(SchemaTooNew):
        migrate(engine)
    assert audit.verify(engine).ok


def test_a_fresh_database_runs_every_migration(tmp_path: Path) -> None:
    def m_next_priority(conn: Any) -> None:
        add_column(conn, "cases", Column("priority", Integer))

    eng = open_engine(tmp_path / "fresh.db")
    assert migrate(eng, [*MIGRATIONS, m_next_priority]) == LATEST + 1
    with eng.connect() as conn:
        assert "priority" in {c["name"] for c in inspect(conn).get_columns("cases")}
    eng.dispose()


def test_a_failed_migration_leaves_nothing(engine: Engine) -> None:
    def m_next_broken(conn: Any) -> None:
        add_column(conn, "cases", Column("half", Integer))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        migrate(engine, [*MIGRATIONS, m_next_broken])
    with engine.connect() as conn:
        assert schema_version(conn) == LATEST
        assert "half" not in {c["name"] for c in inspect(conn).get_columns("cases")}


@pytest.mark.sqlite_only  # release 1 wrote SQLite only; its expression indexes are read from sqlite_master
def test_migration_2_upgrades_a_version_1_database(tmp_path: Path) -> None:
    """A database made by the first release (cases without the deadline columns) gains them,
    keeps its cases, and still verifies."""
    path = tmp_path / "v1.db"
    eng = open_engine(path)
    migrate(eng, MIGRATIONS[:1])
    new_case(eng)
    with eng.begin() as conn:  # make it look exactly like release 1 wrote it
        conn.exec_driver_sql("DROP INDEX ix_cases_due_step")
        conn.exec_driver_sql("ALTER TABLE cases DROP COLUMN due_step")
        conn.exec_driver_sql("ALTER TABLE cases DROP COLUMN due_completeness")
    assert migrate(eng) == LATEST
    with eng.connect() as conn:
        assert {"due_step", "due_completeness"} <= {c["name"] for c in inspect(conn).get_columns("cases")}
        indexes = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "ix_cases_due_step" in indexes
        # migration 9's worklist indexes (expressions, so read from sqlite_master), and not migration 7's
        assert {"ix_cases_department_state_next", "ix_cases_state_next"} <= indexes
        assert "ix_cases_department_state_due_next" not in indexes
        assert conn.exec_driver_sql("SELECT count(*) FROM cases").scalar() == 1
    assert audit.verify(eng).ok
    eng.dispose()


@pytest.mark.sqlite_only  # the table exactly as release 1's engine/store.py wrote it into an SQLite file
def test_migration_3_keeps_the_catalogue_history_the_old_store_wrote(tmp_path: Path) -> None:
    """Databases served by release 1 have catalogue_versions written by engine/store.py; the
    ledger takes the table over as it is, and serving again adds a row only on a change."""
    path = tmp_path / "served.db"
    with sqlite3.connect(path) as raw:  # exactly what store.Store created and wrote
        raw.execute(
            "CREATE TABLE catalogue_versions (id INTEGER NOT NULL, version VARCHAR(64) NOT NULL,"
            " root VARCHAR(1024) NOT NULL, items INTEGER NOT NULL, loaded_at DATETIME NOT NULL, PRIMARY KEY (id))"
        )
        raw.execute(
            "INSERT INTO catalogue_versions (version, root, items, loaded_at)"
            " VALUES ('v1', '/srv/catalogue', 42, '2026-11-01 08:00:00.000000')"
        )
    eng = open_engine(path)
    assert migrate(eng) == LATEST
    with eng.begin() as conn:
        assert not record_catalogue(conn, "v1", "/srv/catalogue", 42, T0)  # unchanged: no new row
        assert record_catalogue(conn, "v2", "/srv/catalogue", 43, T0)
        assert record_catalogue(conn, "v2", "/srv/county", 43, T0)  # same version, another root
    with eng.connect() as conn:
        history = catalogue_history(conn)
    assert [(h["version"], h["root"], h["items"]) for h in history] == [
        ("v1", "/srv/catalogue", 42),
        ("v2", "/srv/catalogue", 43),
        ("v2", "/srv/county", 43),
    ]
    assert history[1]["loaded_at"] == iso(T0)
    eng.dispose()
