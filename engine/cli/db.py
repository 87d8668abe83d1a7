"""``yangguang db backup|restore|copy``: backups that are known to restore, and moving a center's record to
another store (engine.ledger.backup, engine.ledger.transfer). A restore and a copy end with the audit
(engine.supervision.audit) of what they wrote, and say what it found."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from engine.cli import common
from engine.cli.errors import EXIT_OK, EXIT_USER, UserError

DB_ENV = common.DB_ENV
DB_HELP = common.DB_HELP


def _db(value: str | None) -> str:
    return value or str(common.default_db())  # --db, else $YANGGUANG_DB, else var/yangguang.db


def _shown(url: str) -> str:
    """A database as a message names it: never its password."""
    return common.shown(url)


def _engine(url: str) -> Any:
    from engine.ledger import backup
    from engine.ledger.db import open_engine

    try:
        backup.store_of(url)
        return open_engine(url)
    except backup.BackupError as exc:
        raise UserError(str(exc)) from None
    except Exception as exc:  # a URL SQLAlchemy cannot parse: the person typed it
        if type(exc).__module__.startswith("sqlalchemy"):
            raise UserError(f"{_shown(url)} is not a database URL: {exc}") from None
        raise


def _audit(engine: Any, args: argparse.Namespace) -> bool:
    """``audit verify`` of ``engine``, printed; with the catalogue (when there is one) case rows too."""
    from engine.cli.progress import bar
    from engine.supervision import audit

    service = None
    if args.catalog is not None and (args.catalog / common.CENTER_FILE).is_file():
        from engine.rules.calendar import WorkCalendar
        from engine.rules.clock import SystemClock
        from engine.service.cases import CaseService

        cat = common.checked(args.catalog)
        calendar = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
        service = CaseService(cat, engine, SystemClock(), calendar)
    with bar("verifying the record", "case", args) as progress:
        report = audit.verify(engine, service=service, progress=progress)
    rows = "" if service is not None else " (hash chains only: run it in the catalogue's folder to check case rows)"
    sys.stdout.write(f"audit verify{rows}:\n{report.render()}")
    return report.ok


def _schema(engine: Any) -> str:
    """The restored database's schema version, brought up to this version's if it is older."""
    from engine.ledger.db import read_only
    from engine.ledger.migrations import MIGRATIONS, migrate, schema_version

    with read_only(engine) as conn:
        version = schema_version(conn)
    if version == 0:
        raise UserError("the restored database holds no yangguang tables: was the backup one of yangguang's?")
    if version > len(MIGRATIONS):
        raise UserError(
            f"the backup is at schema version {version}, newer than this yangguang's "
            f"{len(MIGRATIONS)}: restore it with the version that wrote it"
        )
    if version < len(MIGRATIONS):
        migrate(engine)
        return f"schema version {version}, migrated to {len(MIGRATIONS)}"
    return f"schema version {version}"


def cmd_backup(args: argparse.Namespace) -> int:
    from engine.cli.progress import bar
    from engine.ledger import backup

    url = _db(args.db)
    try:
        with bar("backing up", "page", args) as progress:
            kind = backup.backup(url, args.out, progress)
    except backup.BackupError as exc:
        raise UserError(str(exc)) from None
    size = args.out.stat().st_size
    sys.stdout.write(
        f"backed up {_shown(url)} to {args.out} ({kind.value}, {size:,} bytes, mode 0600)\n"
        f"restore it with: yangguang db restore {args.out} --db DATABASE\n"
    )
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    from engine.cli.progress import bar
    from engine.ledger import backup, transfer

    url = _db(args.db)
    try:
        kind = backup.backup_kind(args.backup)
        if kind is backup.Kind.DUMP and backup.store_of(url) != "postgresql":
            raise UserError("a pg_dump archive restores into PostgreSQL only: pass --db postgresql://…")
        engine = _engine(url)
        if not backup.is_empty(engine) and not args.force:
            raise UserError(
                f"{_shown(url)} is not empty: restore into a new database, or pass --force to "
                "replace what it holds (stop the servers using it first)"
            )
        store = backup.store_of(url)
        if kind is backup.Kind.DUMP:
            backup.restore_dump(args.backup, url, force=args.force)
        elif store == "sqlite":
            engine.dispose()  # no connection of ours holds the file while its pages are replaced
            with bar("restoring", "page", args) as progress:
                backup.restore_sqlite(args.backup, url, progress)
        else:  # an SQLite backup into PostgreSQL: the rows, as `db copy` moves them
            if not backup.is_empty(engine):
                raise UserError(
                    "an SQLite backup goes into an empty PostgreSQL database only (--force cannot "
                    "clear one): create a new database"
                )
            with bar("restoring", "row", args) as progress:
                transfer.copy(_engine(str(args.backup)), engine, progress)
    except (backup.BackupError, transfer.TransferError) as exc:
        raise UserError(str(exc)) from None
    schema = _schema(engine)
    sys.stdout.write(f"restored {args.backup} ({kind.value}) into {_shown(url)}: {schema}\n")
    return EXIT_OK if _audit(engine, args) else EXIT_USER


def cmd_copy(args: argparse.Namespace) -> int:
    from engine.cli.progress import bar
    from engine.ledger import backup, transfer

    if os.path.abspath(args.source) == os.path.abspath(args.target) or args.source == args.target:
        raise UserError("the source and the target are the same database")
    if "://" not in args.source and not Path(args.source).is_file():
        raise UserError(f"no database at {args.source}")
    source, target = _engine(args.source), _engine(args.target)
    try:
        with bar("copying", "row", args) as progress:
            copied = transfer.copy(source, target, progress)
        with bar("comparing", "row", args) as progress:
            compared = transfer.compare(source, target, progress)
    except (backup.BackupError, transfer.TransferError) as exc:
        raise UserError(str(exc)) from None
    tables = sum(1 for n in copied.rows.values() if n)
    sys.stdout.write(
        f"copied {copied.total:,} rows of {tables} tables from {_shown(args.source)} to {_shown(args.target)}\n"
    )
    if compared.differences:
        sys.stdout.write("".join(f"error[copy_differs]: {line}\n" for line in compared.differences))
        sys.stdout.write("FAILED: the copy differs from its source\n")
        return EXIT_USER
    sys.stdout.write(
        f"compared: every row of the copy matches its source ({compared.rows.get('cases', 0):,} "
        f"case rows, {compared.total:,} rows in all)\n"
    )
    return EXIT_OK if _audit(target, args) else EXIT_USER


def add_parsers(sub: Any, catalog: argparse.ArgumentParser) -> None:
    db = sub.add_parser("db", help="back up, restore or copy the database")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="WHAT")
    with_catalog = {"parents": [catalog]}  # the audit after a restore or copy checks case rows with it

    b = db_sub.add_parser("backup", help="write a consistent backup of the running database to a new file")
    b.add_argument("--db", default=None, help=DB_HELP)
    b.add_argument("out", type=Path, metavar="OUT", help="the backup file to write (it must not exist yet)")
    b.set_defaults(func=cmd_backup)

    r = db_sub.add_parser(
        "restore", help="put a backup back into an empty database, then check its schema and audit it", **with_catalog
    )
    r.add_argument("backup", type=Path, metavar="BACKUP", help="a file `yangguang db backup` wrote")
    r.add_argument("--db", default=None, help=DB_HELP)
    r.add_argument("--force", action="store_true", help="replace what a database that is not empty holds")
    r.set_defaults(func=cmd_restore, catalog_optional=True)

    c = db_sub.add_parser(
        "copy", help="move a center's record into a new, empty database (e.g. SQLite to PostgreSQL)", **with_catalog
    )
    c.add_argument("source", metavar="SOURCE", help="the database to copy: an SQLite file (or a database URL)")
    c.add_argument("target", metavar="TARGET", help="an empty database to copy it into: a postgresql:// URL")
    c.set_defaults(func=cmd_copy, catalog_optional=True)
