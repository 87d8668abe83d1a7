"""What several commands share: the ``--catalog`` and ``--db`` options, which catalogue a command reads when
none is named, a catalogue that checks clean, an item by code or name, and the case service on a database.

The engine is imported inside the functions: building the parser must stay cheap, since every run builds it
(bench/bench_check.py measures ``yangguang check``'s cold start).
"""

from __future__ import annotations

import argparse
import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.cli.errors import UserError

if TYPE_CHECKING:
    from engine.catalogue.model import Catalogue, CheckResult, Document
    from engine.rules.clock import Clock
    from engine.service.cases import CaseService

DEFAULT_DB = Path("var/yangguang.db")
DB_ENV = "YANGGUANG_DB"
DB_HELP = "the database: an SQLite file or a postgresql:// URL (default: $YANGGUANG_DB, else var/yangguang.db)"
#: engine.catalogue.discover.CENTER_FILE, written out so that building the parser imports nothing
CENTER_FILE = "center.yaml"


def catalog_option() -> argparse.ArgumentParser:
    """The parent parser of every command that reads a catalogue: ``--catalog DIR``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--catalog",
        type=Path,
        default=None,
        help=f"catalogue directory (default: the current directory, when it holds {CENTER_FILE})",
    )
    return common


def db_value(text: str) -> str | Path:
    """A ``--db`` value: a URL (``postgresql://user@host/name``) as it is, anything else an SQLite file's path."""
    return text if "://" in text else Path(text)


def default_db() -> str | Path:
    """The one place that decides which database a command uses when ``--db`` is not given:
    ``$YANGGUANG_DB``, else var/yangguang.db."""
    return db_value(os.environ.get(DB_ENV) or str(DEFAULT_DB))


def add_db(parser: argparse.ArgumentParser, help: str = DB_HELP) -> None:
    parser.add_argument("--db", type=db_value, default=default_db(), help=help)


def shown(db: str | Path) -> str:
    """``db`` for a message: a URL without its password."""
    if isinstance(db, Path) or "://" not in db:
        return str(db)
    from sqlalchemy.engine import make_url

    return make_url(db).render_as_string(hide_password=True)


def open_db(db: str | Path, existing: bool = False) -> Any:
    """An engine on ``db`` (not migrated). ``existing``: the database must be there already: an SQLite
    file that exists, a server that answers (UserError otherwise, saying which and why)."""
    from sqlalchemy.exc import SQLAlchemyError

    from engine.ledger.db import open_engine

    if isinstance(db, Path):
        if existing and not db.is_file():
            raise UserError(f"no database at {db}; pass --db PATH or a postgresql:// URL")
        return open_engine(db)
    try:
        engine = open_engine(db)
        if existing:
            with engine.connect():
                pass
    except (SQLAlchemyError, ValueError) as exc:  # a bad URL, or a server that cannot be reached
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise UserError(f"cannot open the database {shown(db)}: {reason}") from None
    return engine


def resolve_catalog(args: argparse.Namespace) -> None:
    """Fill in ``args.catalog``: ``check DIR`` names it like ``--catalog DIR``; without either, the current
    directory when it is a catalogue. There is no other default: an installed yangguang has no catalogue of
    its own (the repository's reference catalogue is served by ``make run``, which passes ``--catalog``).

    A command that can do without a catalogue sets ``catalog_optional`` (``user add`` reads center.yaml only
    for words a password must not lean on; ``diff`` of two directories needs none) and gets the current
    directory as it is."""
    if getattr(args, "dir", None) is not None:
        args.catalog = args.dir
    if "catalog" not in args or args.catalog is not None:
        return
    here = Path.cwd()
    if (here / CENTER_FILE).is_file() or getattr(args, "catalog_optional", False):
        args.catalog = here
        return
    named = "yangguang check DIR or " if getattr(args, "command", None) == "check" else ""
    raise UserError(
        f"no catalogue here: {here} has no {CENTER_FILE}; run yangguang in the catalogue's folder, "
        f"or name it with {named}--catalog DIR"
    )


def load(
    catalog: Path, use_cache: bool = True, full: bool = True, args: argparse.Namespace | None = None
) -> CheckResult:
    """The check of ``catalog`` as it loaded (problems included), with a progress bar on a terminal."""
    from engine.catalogue.cache import FileCache
    from engine.check.pipeline import load as load_catalogue
    from engine.cli.progress import bar

    cache = FileCache(catalog) if use_cache else None
    with bar("checking the catalogue", "file", args) as progress:
        return load_catalogue(catalog, cache, full=full, progress=progress)


def checked_result(catalog: Path) -> CheckResult:
    """The check of a catalogue that has no errors (warnings allowed); UserError with its report otherwise."""
    from engine.check import report

    result = load(catalog)
    if not result.ok:
        raise UserError(report.text(result).rstrip("\n"))
    return result


def checked(catalog: Path) -> Catalogue:
    """A catalogue that checks without errors; UserError with the check's report otherwise."""
    return checked_result(catalog).catalogue


def item(cat: Catalogue, code: str) -> Document:
    """The item with this code, else the one with this exact name; UserError suggesting close codes otherwise."""
    import difflib

    doc = cat.items.get(code)
    if doc is None:
        by_name = [d for d in cat.items.values() if d.data["name"] == code]
        if by_name:
            return by_name[0]
        close = difflib.get_close_matches(code, list(cat.items), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `yangguang list` shows every item"
        raise UserError(f"no item with code {code!r}{hint}")
    return doc


def service(catalog: Path, db: str | Path, clock: Clock | None = None) -> CaseService:
    """The case service on ``db`` (migrated to this version) for a catalogue that checks clean."""
    from engine.ledger.migrations import migrate
    from engine.rules.calendar import WorkCalendar
    from engine.rules.clock import SystemClock
    from engine.service.cases import CaseService

    cat = checked(catalog)
    cal = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
    engine = open_db(db, existing=not isinstance(db, Path))  # a new SQLite file is made; a server must answer
    migrate(engine)
    return CaseService(cat, engine, clock or SystemClock(), cal)


def date_option(option: str, text: str | None) -> date | None:
    """A YYYY-MM-DD option's date (None when not given); UserError naming the option otherwise."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise UserError(f"{option} {text!r} is not a date (YYYY-MM-DD)") from exc
