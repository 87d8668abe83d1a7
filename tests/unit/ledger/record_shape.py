"""The shape of an SQLite database as text: every schema object's SQL, and per table the row count and the
SHA-256 of its rows in rowid order. Two databases with the same shape hold the same schema and the same rows.

Plain sqlite3, no engine import, so it reads a database the same way whatever engine/ledger looks like: the
committed fixtures of tests/fixtures/ledger were described with it by the code before the ledger split, and
test_existing_database.py describes today's migrations of them the same way.

    .venv/bin/python tests/unit/ledger/record_shape.py DB   # prints the shape of DB
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from pathlib import Path

# when each migration ran is the day of the run, not part of the record
IGNORED = frozenset({("schema_migrations", "applied_at")})


def schema(path: Path) -> list[str]:
    """``<type> <name>: <sql>`` for every table, index and trigger, by type and name."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
        ).fetchall()
    finally:
        con.close()
    return [f"{kind} {name}: {sql}" for kind, name, sql in rows]


def rows(path: Path) -> list[str]:
    """``rows <table>: <count> sha256 <digest of the rows' repr in rowid order>`` for every table."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    out = []
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for table in tables:
            columns = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")') if (table, r[1]) not in IGNORED]
            digest = hashlib.sha256()
            count = 0
            listed = ", ".join(f'"{c}"' for c in columns)
            for row in con.execute(f'SELECT {listed} FROM "{table}" ORDER BY rowid'):
                digest.update(repr(row).encode("utf-8") + b"\n")
                count += 1
            out.append(f"rows {table}: {count} sha256 {digest.hexdigest()}")
    finally:
        con.close()
    return out


def describe(path: Path) -> str:
    """The whole shape, one line per schema object and per table."""
    return "\n".join([*schema(path), *rows(path)]) + "\n"


if __name__ == "__main__":
    sys.stdout.write(describe(Path(sys.argv[1])))
