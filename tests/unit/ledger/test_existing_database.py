"""Databases written before the ledger became a package (issue 17) open, migrate and verify with today's code.

tests/fixtures/ledger holds what the code of main at ba08b99 wrote or made of older files (recipes beside
them): ``existing.db``, a simulated center at the latest schema with signed checkpoints, and ``release1.db``,
a database of the first release (schema version 1) with ``release1-migrated.txt``, its shape
(record_shape.py) after ba08b99's migrations. A migration or the canonical event encoding that changed by a
byte shows here: a different schema or rows, a hash that no longer matches, a checkpoint that fails.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from record_shape import describe, schema
from sqlalchemy import select

from engine.ledger import tables
from engine.ledger.db import dumps, open_engine, read_only
from engine.ledger.events import GENESIS_HASH, canonical, event_hash, events_of
from engine.ledger.migrations import MIGRATIONS, migrate, schema_version
from engine.rules.calendar import WorkCalendar
from engine.rules.clock import SystemClock
from engine.service.cases import CaseService
from engine.supervision import audit

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "ledger"
FIXTURE_SCHEMA = 24  # the schema version of the fixtures; later migrations come on top of them
#: what the migrations after FIXTURE_SCHEMA add: tables and their indexes (26, 27, 28, 29) and triggers (28);
#: 30's columns (appeals.notify, notify_email, notify_language) are on a table of 28's, left out whole
NEWER_TABLES = (
    *("leases", "server_keys", "outbox", "outbox_attempts", "outbox_cursors", "staff_addresses"),
    *("ix_outbox_status_next", "ix_outbox_ref", "ix_outbox_attempts_outbox"),
    *("appeals", "appeal_events"),
    *("booking_slots", "bookings", "home_visits"),
    *("ix_bookings_counter_day", "ix_bookings_person_key", "ix_bookings_day_state", "ix_home_visits_department_state"),
)
NEWER_PREFIXES = ("ix_appeals_", "appeal_events_")  # the appeals' indexes and triggers (28)


def older(lines: list[str]) -> list[str]:
    """The schema lines (record_shape.schema) but those of the tables migrations after the fixtures added."""
    names = [line.split(":", 1)[0].split(" ", 1)[1] for line in lines]
    return [line for line, name in zip(lines, names, strict=True) if name not in NEWER_TABLES
            and not name.startswith(NEWER_PREFIXES)]  # fmt: skip


# the committed databases of earlier releases are SQLite files (no PostgreSQL database predates issue 18)
pytestmark = pytest.mark.sqlite_only


def copy(name: str, tmp_path: Path) -> Path:
    """A private copy: opening a database may write to it (WAL files, migrations)."""
    path = tmp_path / name
    shutil.copyfile(FIXTURES / name, path)
    return path


def test_an_existing_database_opens_at_its_schema_and_migrates_only_what_came_after(tmp_path: Path) -> None:
    path = copy("existing.db", tmp_path)
    engine = open_engine(path)
    try:
        with read_only(engine) as conn:
            assert schema_version(conn) == FIXTURE_SCHEMA
        assert migrate(engine, MIGRATIONS[:FIXTURE_SCHEMA]) == FIXTURE_SCHEMA
    finally:
        engine.dispose()
    assert describe(path) == describe(FIXTURES / "existing.db")  # nothing written
    engine = open_engine(path)
    try:
        assert migrate(engine) == len(MIGRATIONS)
    finally:
        engine.dispose()
    assert older(schema(path)) == schema(FIXTURES / "existing.db")  # the newer migrations only added tables


def test_a_fresh_database_has_the_schema_an_existing_one_has(tmp_path: Path) -> None:
    """Migration 1 builds every table from today's definitions: they must be what they were, byte for byte."""
    engine = open_engine(tmp_path / "fresh.db")
    try:
        migrate(engine)
    finally:
        engine.dispose()
    fresh = schema(tmp_path / "fresh.db")
    assert older(fresh) == schema(FIXTURES / "existing.db") and len(fresh) > len(older(fresh))


def test_every_stored_event_hashes_as_it_was_written(tmp_path: Path) -> None:
    """The canonical encoding: each event's hash is recomputed from its fields and its payload re-encodes to
    exactly the stored text."""
    engine = open_engine(copy("existing.db", tmp_path))
    try:
        with read_only(engine) as conn:
            numbers = conn.execute(select(tables.cases.c.number).order_by(tables.cases.c.id)).scalars().all()
            stored = dict(conn.execute(select(tables.events.c.id, tables.events.c.payload)).all())
            records = [r for n in numbers for r in events_of(conn, n)]
    finally:
        engine.dispose()
    assert len(records) == 90
    for record in records:
        assert event_hash(record.chained()) == record.hash
        assert dumps(record.payload) == stored[record.id]
    first = records[0]
    assert first.prev_hash == GENESIS_HASH
    assert canonical(first.chained()).startswith(b'{"action":"submit","actor":')


def test_audit_verify_passes_on_an_existing_database(tmp_path: Path, reference: Any) -> None:
    """The rows against the fold of their events, every chain, and the two signed checkpoints."""
    path = copy("existing.db", tmp_path)
    engine = open_engine(path)
    try:
        cat = reference.catalogue
        calendar = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
        report = audit.verify(engine, service=CaseService(cat, engine, SystemClock(), calendar))
    finally:
        engine.dispose()
    assert report.ok, report.render()
    assert report.render().strip() == (
        "ok: 18 cases, 90 events checked; every hash chain is intact; 18 case rows match their events;"
        " 2 checkpoints verified"
    )
    engine = open_engine(path)
    try:  # the command reads the latest schema only: as a server of today's code would, migrate it first
        migrate(engine)
    finally:
        engine.dispose()
    done = subprocess.run(
        [sys.executable, "-m", "engine", "audit", "verify", "--db", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == report.render()


def test_a_first_release_database_migrates_as_it_did_before_the_split(tmp_path: Path) -> None:
    """Migrations 2 to 24 (FIXTURE_SCHEMA) over a schema-1 database: the same schema and rows as the code
    before the split made."""
    path = copy("release1.db", tmp_path)
    engine = open_engine(path)
    try:
        with read_only(engine) as conn:
            assert schema_version(conn) == 1
        assert migrate(engine, MIGRATIONS[:FIXTURE_SCHEMA]) == FIXTURE_SCHEMA
        assert audit.verify(engine).ok  # every chain as written; the rows lack the columns added since
    finally:
        engine.dispose()
    assert describe(path) == (FIXTURES / "release1-migrated.txt").read_text(encoding="utf-8")
