"""Triggers that keep a table append-only in the database itself, on SQLite and on PostgreSQL.

The record is append-only by the database, not by convention: migration 22 protects the case events,
the signed checkpoints and their keys, and the supervision events; migration 28 the history of requests
and complaints. Both go through :func:`protect`, so every protected table gets the same triggers by the
same names (``<table>_append_only_<verb>``). Anyone holding the SQLite file, or PostgreSQL's superuser,
can drop a trigger: the signed checkpoints (engine/ledger/transparency.py) catch that.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

__all__ = ["APPEND_ONLY", "protect"]

APPEND_ONLY = {
    "events": "events are append-only",
    "checkpoints": "checkpoints are append-only",
    "checkpoint_keys": "checkpoint keys are only added or retired",
    # what electronic supervision saw: the monthly rankings count it, so no one may quietly unsee it
    "supervision_events": "supervision events are append-only",
}
"""Tables migration 22 keeps append-only: what the abort says."""

#: the one table whose UPDATE trigger lets one change through: a key's retirement
RETIRED_ONCE = "checkpoint_keys"

# the one change a checkpoint key's row may take: retired_at set, once, nothing else touched
_RETIRE_ONCE = (
    " WHEN NOT (OLD.retired_at IS NULL AND NEW.retired_at IS NOT NULL AND NEW.key_id = OLD.key_id"
    " AND NEW.public_key = OLD.public_key AND NEW.created_at = OLD.created_at)"
)

# PostgreSQL: one function raises the table's message (the trigger's argument) as an integrity violation
# (SQLSTATE 23000, so SQLAlchemy raises IntegrityError as on SQLite); checkpoint_keys' UPDATE trigger
# lets the one allowed change through. TRUNCATE, which fires no row trigger, is refused too.
_PG_REFUSE = """CREATE OR REPLACE FUNCTION yangguang_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
END $$"""
_PG_RETIRE_ONCE = """CREATE OR REPLACE FUNCTION yangguang_retire_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.retired_at IS NULL AND NEW.retired_at IS NOT NULL AND NEW.key_id = OLD.key_id
       AND NEW.public_key = OLD.public_key AND NEW.created_at = OLD.created_at THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
END $$"""


def protect(conn: Connection, tables: dict[str, str]) -> None:
    """Refuse every UPDATE and DELETE (and TRUNCATE on PostgreSQL) of each table, with its message;
    run again, it leaves the same triggers (SQLite keeps existing ones, PostgreSQL puts them back)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(_PG_REFUSE))
        if RETIRED_ONCE in tables:
            conn.execute(text(_PG_RETIRE_ONCE))
        for name, message in tables.items():
            _protect_postgresql(conn, name, message)
        return
    for name, message in tables.items():
        for verb in ("UPDATE", "DELETE"):
            allowed = _RETIRE_ONCE if (name, verb) == (RETIRED_ONCE, "UPDATE") else ""
            conn.execute(
                text(
                    f"CREATE TRIGGER IF NOT EXISTS {name}_append_only_{verb.lower()} BEFORE {verb} ON {name}"
                    f"{allowed} BEGIN SELECT RAISE(ABORT, '{message}'); END"
                )
            )


def _protect_postgresql(conn: Connection, name: str, message: str) -> None:
    quoted = message.replace("'", "''")
    for verb in ("UPDATE", "DELETE", "TRUNCATE"):
        retire = (name, verb) == (RETIRED_ONCE, "UPDATE")
        function = "yangguang_retire_once" if retire else "yangguang_append_only"
        each = "STATEMENT" if verb == "TRUNCATE" else "ROW"
        trigger = f"{name}_append_only_{verb.lower()}"
        conn.execute(text(f"DROP TRIGGER IF EXISTS {trigger} ON {name}"))  # run again, it puts them back
        conn.execute(
            text(
                f"CREATE TRIGGER {trigger} BEFORE {verb} ON {name} "
                f"FOR EACH {each} EXECUTE FUNCTION {function}('{quoted}')"
            )
        )
