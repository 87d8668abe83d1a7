"""PostgreSQL for the benchmarks: the server ``YANGGUANG_BENCH_PG`` names, or a throwaway cluster.

* :func:`server` (a context manager) gives the base URL of a server the benchmark may create databases
  on (``postgresql://user@host:port``, no database): ``$YANGGUANG_BENCH_PG`` when set, else a cluster
  started here with Debian's ``initdb`` in a temporary folder on a free port of 127.0.0.1 (as the
  ``postgres`` user when run as root: PostgreSQL refuses root), stopped and removed on leaving, or
  ``None`` with the reason (:data:`why_not`) when neither can be had. Unlike the tests' cluster this one
  keeps PostgreSQL's durability defaults (``fsync``, ``synchronous_commit``, full-page writes): a
  benchmark of writes measures what a center would run. ``shared_buffers`` is 256 MB.
* :func:`database` makes a fresh database (or finds a kept one) and answers its URL.
* :func:`copy_from_sqlite` copies the rows of an SQLite file's tables into a migrated PostgreSQL
  database with ``COPY`` (the secondary indexes dropped while copying and rebuilt after), then
  ``VACUUM ANALYZE`` — so both stores hold the very same rows.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ENV = "YANGGUANG_BENCH_PG"
why_not: list[str] = []


def _binaries() -> Path | None:
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True):
        if (Path(folder) / "initdb").exists():
            return Path(folder)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and (Path(found).parent / "initdb").exists() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server() -> Iterator[str | None]:
    """The base URL of a PostgreSQL server for this run, or None (``why_not[0]`` says why)."""
    if os.environ.get(ENV):
        yield os.environ[ENV].rstrip("/")
        return
    bin_dir = _binaries()
    if bin_dir is None:
        why_not.append(f"no PostgreSQL server programs (apt-get install postgresql) and no ${ENV}")
        yield None
        return
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    home = Path(tempfile.mkdtemp(prefix="yangguang-bench-pg-"))
    if prefix:
        shutil.chown(home, "postgres")
    data, port = home / "data", _free_port()
    ctl = [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data)]
    try:
        subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                        "-E", "UTF8", "--locale=C"], check=True, capture_output=True, timeout=120)  # fmt: skip
        options = (f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c max_connections=300 "
                   "-c shared_buffers=256MB")  # fmt: skip
        subprocess.run([*ctl, "-o", options, "-l", str(home / "log"), "-w", "-t", "60", "start"],
                       check=True, capture_output=True, timeout=90)  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        detail = (getattr(exc, "stderr", b"") or b"").decode(errors="replace")[-300:]
        why_not.append(f"could not start a PostgreSQL cluster: {exc} {detail}".strip())
        shutil.rmtree(home, ignore_errors=True)
        yield None
        return
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*ctl, "-m", "fast", "stop"], capture_output=True, timeout=60, check=False)
        shutil.rmtree(home, ignore_errors=True)


def _admin(base: str) -> Any:
    import psycopg

    return psycopg.connect(f"{base}/postgres", autocommit=True)


def database(base: str, name: str, keep: bool = False) -> tuple[str, bool]:
    """The URL of database ``name`` on ``base``, and whether it already existed: with ``keep`` an existing
    one is kept (a cache the caller checks), else it is dropped and made anew."""
    with _admin(base) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None
        if exists and keep:
            return f"{base}/{name}", True
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    return f"{base}/{name}", False


def drop(base: str, name: str) -> None:
    with _admin(base) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def copy_from_sqlite(sqlite_path: Path, url: str, tables: list[str], progress: bool = True) -> float:
    """Copy every row of ``tables`` from the SQLite file into the (migrated, empty) PostgreSQL database at
    ``url``; the seconds it took. Columns are matched by name; SQLite's 0/1 become booleans where the
    column is one."""
    import psycopg

    started = time.perf_counter()
    src = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    with psycopg.connect(url) as conn:
        for table in tables:
            columns = [r[1] for r in src.execute(f"PRAGMA table_info({table})")]
            types = dict(conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s", (table,)
            ).fetchall())  # fmt: skip
            columns = [c for c in columns if c in types]
            booleans = [i for i, c in enumerate(columns) if types[c] == "boolean"]
            # secondary indexes are rebuilt once after the copy: far cheaper than maintained row by row
            indexes = conn.execute(
                "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x"
                " JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid"
                " WHERE t.relname = %s AND NOT x.indisprimary"
                " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)", (table,)
            ).fetchall()  # fmt: skip
            for name, _ in indexes:
                conn.execute(f'DROP INDEX "{name}"')
            n = 0
            with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in src.execute(f"SELECT {', '.join(columns)} FROM {table}"):
                    if booleans:
                        row = list(row)
                        for i in booleans:
                            row[i] = None if row[i] is None else bool(row[i])
                    copy.write_row(row)
                    n += 1
            for _, ddl in indexes:
                conn.execute(ddl)
            if "id" in columns:  # the next row a writer adds gets the next id
                conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"(SELECT coalesce(max(id), 1) FROM {table}))")  # fmt: skip
            conn.commit()
            if progress:
                print(f"  copied {n:,} rows of {table} into PostgreSQL", flush=True)
    src.close()
    with psycopg.connect(url, autocommit=True) as conn:  # statistics and the visibility map, as autovacuum keeps them
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - started
