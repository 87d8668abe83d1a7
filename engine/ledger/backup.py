"""Backups that restore: an online, consistent copy of a running database, and putting one back.

* SQLite: the backup API (``sqlite3.Connection.backup``) copies every page in one step under one read
  transaction, so the copy is the database as it was when the step began, while the server keeps
  writing (WAL lets readers and the writer run side by side). The backup is itself an SQLite file.
* PostgreSQL: ``pg_dump --format=custom``, which dumps from one snapshot (a repeatable-read
  transaction) while the server runs; ``pg_restore`` puts it back. Both are Debian's programs
  (``apt-get install postgresql-client``), found on PATH or in ``/usr/lib/postgresql/<version>/bin``.

A backup file is written owner-only (0600: it holds applicants' personal data and staff password
hashes) under a temporary name, then renamed: a backup that failed half-way never looks like one.
What a backup does not hold: uploaded files (a folder of their own) and the signing key beside the
database (engine.base.keys); the README's "Backups" says how to keep those.

A restore goes into an empty database only, unless ``force``; checking what was restored (schema
version, ``audit verify``) is the caller's (engine.cli.db).
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from enum import Enum
from pathlib import Path

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Engine, make_url

from engine.ledger.db import read_only
from engine.ledger.tables import metadata, schema_migrations

__all__ = [
    "BackupError",
    "Kind",
    "backup",
    "backup_kind",
    "is_empty",
    "restore_dump",
    "restore_sqlite",
    "store_of",
]

Progress = Callable[[int, int], None]

SQLITE_MAGIC = b"SQLite format 3\x00"
DUMP_MAGIC = b"PGDMP"  # pg_dump's custom format
PG_TIMEOUT = 24 * 3600.0  # seconds a pg_dump or pg_restore may run: a province's record is large


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


class Kind(Enum):
    SQLITE = "an SQLite database file"
    DUMP = "a pg_dump custom-format archive"


def store_of(url: str) -> str:
    """``"sqlite"`` or ``"postgresql"`` for a database URL or SQLite file path."""
    if "://" not in url:
        return "sqlite"
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"{backend} databases are not supported: use an SQLite file or a postgresql:// URL")
    return backend


def sqlite_path(url: str) -> Path:
    """The file of an SQLite URL or path."""
    database = make_url(url).database if "://" in url else url
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"{url} is not an SQLite database file")
    return Path(database)


def backup_kind(path: Path) -> Kind:
    """What a backup file holds, from its first bytes."""
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise BackupError(f"cannot read the backup {path}: {exc.strerror or exc}") from None
    if head.startswith(SQLITE_MAGIC):
        return Kind.SQLITE
    if head.startswith(DUMP_MAGIC):
        return Kind.DUMP
    raise BackupError(f"{path} is not a yangguang backup (neither an SQLite file nor a pg_dump archive)")


def is_empty(engine: Engine) -> bool:
    """Whether the database holds no data: no tables, or only the tables of a migration with no rows."""
    with read_only(engine) as conn:
        present = set(inspect(conn).get_table_names())
        for table in metadata.sorted_tables:
            if table.name in present and table is not schema_migrations:
                if conn.execute(select(func.count()).select_from(table)).scalar_one():
                    return False
        return not present - {t.name for t in metadata.sorted_tables}  # tables of something else: not ours to fill


def _private_temp(out: Path) -> Path:
    """A new owner-only file beside ``out`` to write the backup into before it is renamed to ``out``."""
    if out.exists():
        raise BackupError(f"{out} already exists; name a new file (a backup never overwrites one)")
    if not out.parent.is_dir():
        raise BackupError(f"no folder {out.parent} to write the backup into")
    temp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    except OSError as exc:
        raise BackupError(f"cannot write {out}: {exc.strerror or exc}") from None
    return temp


def _finish(temp: Path, out: Path) -> None:
    with temp.open("rb+") as f:
        os.fsync(f.fileno())  # on disk before it takes the name: a crash leaves a partial file, never a bad backup
    os.replace(temp, out)


def backup(url: str, out: Path, progress: Progress | None = None) -> Kind:
    """Write a consistent backup of the database at ``url`` (SQLite path or URL, or PostgreSQL URL) to ``out``."""
    if out.exists():
        raise BackupError(f"{out} already exists; name a new file (a backup never overwrites one)")
    if store_of(url) == "sqlite":
        source = sqlite_path(url)
        if not source.is_file():
            raise BackupError(f"no database at {source}")
        temp = _private_temp(out)
        try:
            _sqlite_copy(source, temp, progress)
            _finish(temp, out)
        finally:
            temp.unlink(missing_ok=True)
        return Kind.SQLITE
    pg_dump = _program("pg_dump")
    temp = _private_temp(out)
    try:
        _run([pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--file={temp}"], url)
        _finish(temp, out)
    finally:
        temp.unlink(missing_ok=True)
    return Kind.DUMP


def _sqlite_copy(source: Path, target: Path, progress: Progress | None) -> None:
    """Every page of ``source`` into ``target`` in one step (one read transaction: one moment's database).
    Not opened ``mode=ro``: a WAL database whose server has stopped has no -shm file, which a read-only
    connection cannot make; this connection only reads."""
    try:
        src = sqlite3.connect(source)
        try:
            src.execute("PRAGMA busy_timeout=5000")
            dst = sqlite3.connect(target)
            try:
                # pages=-1: all at once. Smaller steps would let a writer's commit restart the copy.
                src.backup(
                    dst,
                    pages=-1,
                    progress=(lambda _s, left, total: progress(total - left, total)) if progress else None,
                )
                problems = dst.execute("PRAGMA quick_check").fetchall()
                if problems != [("ok",)]:
                    raise BackupError(f"the copy in {target} fails SQLite's quick_check: {problems[:3]}")
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"cannot copy {source}: {exc}") from None


def restore_sqlite(backup_file: Path, url: str, progress: Progress | None = None) -> None:
    """Put an SQLite backup back as the SQLite database at ``url`` (a new file is made owner-only); the
    caller has made sure the target may be overwritten. A PostgreSQL target takes an SQLite backup
    through engine.ledger.transfer instead."""
    target = sqlite_path(url)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not target.exists():
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    _sqlite_copy(backup_file, target, progress)


def restore_dump(backup_file: Path, url: str, force: bool = False) -> None:
    """``pg_restore`` a pg_dump archive into the PostgreSQL database at ``url``, in one transaction (a
    failed restore leaves the database as it was); ``force`` first drops what the archive recreates."""
    if store_of(url) != "postgresql":
        raise BackupError("a pg_dump archive restores into PostgreSQL only: pass --db postgresql://…")
    command = [_program("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    if force:
        command += ["--clean", "--if-exists"]
    _run([*command, str(backup_file)], url)


def _program(name: str) -> str:
    """PostgreSQL's ``name`` (pg_dump, pg_restore): the newest in Debian's server folders, else on PATH.
    The newest first: pg_dump refuses a server newer than itself."""
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: _major(Path(p).parent.name), reverse=True)
    for folder in folders:
        if (Path(folder) / name).is_file():
            return str(Path(folder) / name)
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed: it comes with PostgreSQL's client programs "
            "(Debian: apt-get install postgresql-client)"
        )
    return found


def _major(version: str) -> int:
    return int(version) if version.isdigit() else -1


def _run(command: list[str], url: str) -> None:
    """Run a PostgreSQL program on the database at ``url``: its password in the environment, where other
    users cannot read it (they can read a command line)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    libpq = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    try:
        done = subprocess.run(
            [*command, f"--dbname={libpq}"], env=env, capture_output=True, text=True, timeout=PG_TIMEOUT, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise BackupError(f"{Path(command[0]).name} could not run: {exc}") from None
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()
        raise BackupError(f"{Path(command[0]).name} failed: {' '.join(said[-3:]) or f'exit {done.returncode}'}")
