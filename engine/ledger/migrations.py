"""The numbered migrations that bring any database of Yangguang to the schema of engine/ledger/tables.py.

:data:`MIGRATIONS` is append-only: migration *n* does today exactly what it did when it was written (a
database a county migrated years ago and one migrated today must end the same), so a migration is never
edited, reordered or removed; a change of schema is a new migration at the end (the pattern is in
:data:`MIGRATIONS`'s docstring). tests/unit/ledger/test_existing_database.py migrates a database of the
first release and compares the result with what the code of the day made.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Column, Integer, String, Text, func, insert, inspect, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.schema import CreateColumn, CreateIndex

from engine.ledger.appeals import appeal_events, appeals
from engine.ledger.append_only import APPEND_ONLY, protect
from engine.ledger.booking_tables import booking_slots, bookings, home_visits
from engine.ledger.db import iso, lock, utc_now
from engine.ledger.errors import SchemaTooNew
from engine.ledger.outbox import outbox, outbox_attempts, outbox_cursors, staff_addresses
from engine.ledger.snapshots import load_snapshot
from engine.ledger.tables import (
    HASH_LENGTH,
    TS_LENGTH,
    case_staff,
    cases,
    catalogue_versions,
    chain_cases,
    checkpoint_keys,
    checkpoints,
    corrections,
    device_grants,
    drafts,
    events,
    filings,
    followups,
    leases,
    login_attempts,
    metadata,
    query_code_attempts,
    schema_migrations,
    server_keys,
    supervision_events,
    uploads,
)

__all__ = ["MIGRATIONS", "Migration", "add_column", "migrate", "schema_version"]

Migration = Callable[[Connection], None]


def _columns_of(conn: Connection, table_name: str) -> set[str]:
    with warnings.catch_warnings():  # the expression indexes of migration 9 cannot be reflected; columns can
        warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index")
        return {c["name"] for c in inspect(conn).get_columns(table_name)}


def add_column(conn: Connection, table_name: str, column: Column[Any]) -> bool:
    """``ALTER TABLE <table> ADD COLUMN <column>`` unless the column is already there.

    Portable (SQLite and PostgreSQL). The column must be nullable or have a
    ``server_default`` (SQLite cannot add a NOT NULL column without one) and cannot be a
    primary key or unique. Returns whether the column was added.
    """
    existing = _columns_of(conn, table_name)
    if column.name in existing:
        return False
    ddl = CreateColumn(column).compile(dialect=conn.dialect)
    table = conn.dialect.identifier_preparer.quote(table_name)
    conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {ddl}"))
    return True


def _m001_initial(conn: Connection) -> None:
    """Create every table of :data:`metadata` that does not exist yet."""
    metadata.create_all(conn, checkfirst=True)


def _m002_case_deadlines(conn: Connection) -> None:
    """``cases.due_completeness`` and ``cases.due_step`` (worklist and supervision inputs)."""
    add_column(conn, "cases", Column("due_completeness", String(TS_LENGTH)))
    add_column(conn, "cases", Column("due_step", String(TS_LENGTH)))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_cases_due_step ON cases (due_step)"))


def _m003_catalogue_versions(conn: Connection) -> None:
    """``catalogue_versions`` (kept by engine/store.py in its own table before; same columns)."""
    catalogue_versions.create(conn, checkfirst=True)


def _m004_drafts(conn: Connection) -> None:
    """``drafts``: portal applications in progress."""
    drafts.create(conn, checkfirst=True)


def _m005_sessions_idle_and_login_attempts(conn: Connection) -> None:
    """``sessions.last_seen`` (idle timeout) and ``login_attempts`` (login throttling)."""
    add_column(conn, "sessions", Column("last_seen", String(TS_LENGTH)))
    login_attempts.create(conn, checkfirst=True)


def _m006_supervision(conn: Connection) -> None:
    """Lights and supervision columns on ``cases`` with their indexes; ``supervision_events``,
    ``corrections`` and ``followups``."""
    for column in cases.columns:
        if column.name in _M006_COLUMNS:
            default = column.server_default.arg if column.server_default is not None else None  # type: ignore[attr-defined]
            add_column(
                conn,
                "cases",
                Column(column.name, column.type, nullable=column.nullable, server_default=default),
            )
    for index in [*cases.indexes, *events.indexes]:
        if index.name in _M006_INDEXES:
            conn.execute(CreateIndex(index, if_not_exists=True))
    for table in (supervision_events, corrections, followups):
        table.create(conn, checkfirst=True)


_M006_COLUMNS = (
    "light", "light_since", "step_overdue", "legal_overdue", "minute_limit", "accepted_at", "ended_at", "decision",
    "applicant_name", "applicant_type",
)  # fmt: skip
_M006_INDEXES = (
    "ix_cases_state_department_light", "ix_cases_department_state_due_promised",
    "ix_cases_due_legal", "ix_events_action_at",
)  # fmt: skip


def _m007_due_next(conn: Connection) -> None:
    """``cases.due_next`` (its index is migration 9's)."""
    add_column(conn, "cases", Column("due_next", String(TS_LENGTH)))


def _m009_worklist_indexes(conn: Connection) -> None:
    """Indexes that serve a worklist in deadline order, NULLs last, per department or center-wide;
    the plain (department, state, due_next) index of migration 7 could not, so it goes."""
    conn.execute(text("DROP INDEX IF EXISTS ix_cases_department_state_due_next"))
    for index in cases.indexes:
        if index.name in ("ix_cases_department_state_next", "ix_cases_state_next"):
            # IF NOT EXISTS: reflection does not see expression indexes, so checkfirst cannot
            conn.execute(CreateIndex(index, if_not_exists=True))


def _m008_announcements(conn: Connection) -> None:
    """An index on ``cases.accepted_at`` (the public announcements list, newest first)."""
    for index in cases.indexes:
        if index.name == "ix_cases_accepted_at":
            conn.execute(CreateIndex(index, if_not_exists=True))


def _m010_ranking_facts(conn: Connection) -> None:
    """Ranking figures per ended case (filled for cases that end from now on; earlier ones count
    as handled without them) and the indexes a month's ranking reads."""
    for name, kind in (("on_time", Boolean), ("early", Boolean), ("used_days", Integer), ("promised_days", Integer)):
        add_column(conn, "cases", Column(name, kind))
    conn.execute(text("DROP INDEX IF EXISTS ix_cases_ended_at_department"))
    for index in [*cases.indexes, *events.indexes]:
        if index.name in ("ix_cases_ended_rank", "ix_events_case_actor_role"):
            conn.execute(CreateIndex(index, if_not_exists=True))


def _m011_case_staff(conn: Connection) -> None:
    """``case_staff``: the staff of each ended case with its ranking figures (filled from now on)."""
    case_staff.create(conn, checkfirst=True)


def _m012_ratings(conn: Connection) -> None:
    """``cases.rating_score`` and ``cases.rated_at`` with their index (a month's satisfaction)."""
    add_column(conn, "cases", Column("rating_score", Integer))
    add_column(conn, "cases", Column("rated_at", String(TS_LENGTH)))
    for index in cases.indexes:
        if index.name == "ix_cases_rated_at":
            conn.execute(CreateIndex(index, if_not_exists=True))


def _m013_chains(conn: Connection) -> None:
    """``chain_cases`` and ``cases.chain_number``: applications for whole approval chains."""
    chain_cases.create(conn, checkfirst=True)
    add_column(conn, "cases", Column("chain_number", String(32)))
    for index in cases.indexes:
        if index.name == "ix_cases_chain_number":
            conn.execute(CreateIndex(index, if_not_exists=True))


def _m014_stage_opened_at(conn: Connection) -> None:
    """``chain_cases.stage_opened_at``: a joint review's shared deadline runs from it."""
    add_column(conn, "chain_cases", Column("stage_opened_at", String(TS_LENGTH)))


def _m015_green_channel(conn: Connection) -> None:
    """Why, by whom and when a chain application was put in the green channel (绿色通道)."""
    add_column(conn, "chain_cases", Column("green_basis", Text))
    add_column(conn, "chain_cases", Column("green_by", String(64)))
    add_column(conn, "chain_cases", Column("green_at", String(TS_LENGTH)))


def _m016_chain_members(conn: Connection) -> None:
    """``chain_cases.members``: each member item's snapshot, pinned when the chain was applied for."""
    add_column(conn, "chain_cases", Column("members", Text))


def _m017_immediate(conn: Connection) -> None:
    """``cases.immediate`` and ``case_staff.immediate`` (即办件: promised limit 0), filled for existing cases
    from the snapshot each is pinned to, and the ranking indexes carrying it instead of ``minute_limit``."""
    add_column(conn, "cases", Column("immediate", Boolean, nullable=False, server_default="0"))
    add_column(conn, "case_staff", Column("immediate", Boolean, nullable=False, server_default="0"))
    keys = conn.execute(select(cases.c.catalogue_version).where(cases.c.immediate.is_(False)).distinct()).scalars()
    for key in list(keys):  # one snapshot per item and catalogue version: few, however many cases
        snap = load_snapshot(conn, key)
        item = snap.get("item") if isinstance(snap, Mapping) else None
        promised = ((item or {}).get("time_limit") or {}).get("promised") or {}
        if promised.get("value") == 0:
            conn.execute(update(cases).where(cases.c.catalogue_version == key).values(immediate=True))
    conn.execute(
        update(case_staff)
        .where(case_staff.c.case_id.in_(select(cases.c.id).where(cases.c.immediate.is_(True))))
        .values(immediate=True)
    )
    conn.execute(text("DROP INDEX IF EXISTS ix_cases_ended_rank"))
    conn.execute(text("DROP INDEX IF EXISTS ix_case_staff_ended"))
    for index in [*cases.indexes, *case_staff.indexes]:
        if index.name in ("ix_cases_ended_ranking", "ix_case_staff_ended_ranking"):
            conn.execute(CreateIndex(index, if_not_exists=True))


def _m018_due_delivery(conn: Connection) -> None:
    """``cases.due_delivery``: the Art. 44 deadline to issue or deliver a granted licence."""
    add_column(conn, "cases", Column("due_delivery", String(TS_LENGTH)))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_cases_due_delivery ON cases (due_delivery)"))


def _m019_provisional_deadlines(conn: Connection) -> None:
    """Deadlines counted by the provisional holiday rule (a year without its calendar file) are
    marked with the first such year, so they show as 暂定 and are counted again once the file
    comes: ``provisional_from`` on cases (with its index), corrections and follow-ups, and the
    working days a correction or follow-up was given."""
    add_column(conn, "cases", Column("provisional_from", Integer))
    for index in cases.indexes:
        if index.name == "ix_cases_provisional_from":
            conn.execute(CreateIndex(index, if_not_exists=True))
    for table in ("corrections", "followups"):
        add_column(conn, table, Column("working_days", Integer))
        add_column(conn, table, Column("provisional_from", Integer))


def _m020_query_code_attempts(conn: Connection) -> None:
    """``query_code_attempts``: wrong query codes per client and per case (engine.service.query_codes)."""
    query_code_attempts.create(conn, checkfirst=True)


def _m023_device_grants(conn: Connection) -> None:
    """``device_grants``: a browser remembered for a case's progress page, revocable (engine.service.device_grants)."""
    device_grants.create(conn, checkfirst=True)




def _m022_append_only_events(conn: Connection) -> None:
    """The record is append-only by the database, not by convention: triggers abort every UPDATE and
    DELETE of ``events`` and ``checkpoints`` (and every change to ``checkpoint_keys`` but retiring a key
    once), and the tables of signed checkpoints (engine/ledger/transparency.py) are created."""
    for new_table in (checkpoints, checkpoint_keys):
        new_table.create(conn, checkfirst=True)
    protect(conn, APPEND_ONLY)


def _m024_filings(conn: Connection) -> None:
    """``filings``: applications filed per client address, for the filing limits (engine.service.filing_limits)."""
    filings.create(conn, checkfirst=True)


def _m021_upload_owners(conn: Connection) -> None:
    """Every upload belongs to a draft or a case (``uploads.draft``, ``case_number``) and counts
    against its address's limits (``client``; ``drafts.client`` too). Uploads stored before have
    no owner and may already be in a case: they are marked claimed, so the sweep never purges them."""
    for name, column_type in (("draft", String(64)), ("case_number", String(32)), ("client", String(HASH_LENGTH))):
        add_column(conn, "uploads", Column(name, column_type))
    add_column(conn, "uploads", Column("claimed_at", String(TS_LENGTH)))
    add_column(conn, "drafts", Column("client", String(HASH_LENGTH)))
    conn.execute(
        update(uploads)
        .where(uploads.c.claimed_at.is_(None), uploads.c.draft.is_(None), uploads.c.case_number.is_(None))
        .values(claimed_at=uploads.c.created_at)
    )
    for index in (*uploads.indexes, *drafts.indexes):
        conn.execute(CreateIndex(index, if_not_exists=True))


def _m025_reserved(conn: Connection) -> None:
    """Nothing: number 25 was kept for work done at the same time as migration 26 (issue 18)."""


def _m026_shared_server_state(conn: Connection) -> None:
    """``server_keys`` (the web signing key, shared by every server process of the database) and
    ``leases`` (one sweeper at a time on SQLite): several server processes on one database."""
    for table in (server_keys, leases):
        table.create(conn, checkfirst=True)


def _m027_notification_outbox(conn: Connection) -> None:
    """``outbox``, ``outbox_attempts``, ``outbox_cursors`` and ``staff_addresses`` (notifications to applicants
    and staff, engine.ledger.outbox). No rows: ``yangguang db copy`` fills a migrated, empty target."""
    for table in (outbox, outbox_attempts, outbox_cursors, staff_addresses):
        table.create(conn, checkfirst=True)


def _m028_appeals(conn: Connection) -> None:
    """``appeals`` and ``appeal_events`` (requests and complaints, engine.service.appeals); the database
    keeps ``appeal_events`` append-only as it does ``events`` (migration 22's triggers, by the same names)."""
    for table in (appeals, appeal_events):
        table.create(conn, checkfirst=True)
    protect(conn, {appeal_events.name: "appeal events are append-only"})


def _m029_bookings(conn: Connection) -> None:
    """Appointments and home visits (engine/ledger/booking_tables.py): slot counters, bookings, home-visit requests."""
    metadata.create_all(conn, tables=[booking_slots, bookings, home_visits], checkfirst=True)


def _m030_appeal_notify(conn: Connection) -> None:
    """``appeals.notify``, ``notify_email`` and ``notify_language``: how the person who filed a request asked
    to be told of its answer (engine.service.appeals); appeals filed before asked nothing (``none``)."""
    for column in appeals.columns:
        if column.name in ("notify", "notify_email", "notify_language"):
            default = column.server_default.arg if column.server_default is not None else None  # type: ignore[attr-defined]
            added = Column(column.name, column.type, nullable=column.nullable, server_default=default)
            add_column(conn, "appeals", added)


MIGRATIONS: tuple[Migration, ...] = (
    _m001_initial,
    _m002_case_deadlines,
    _m003_catalogue_versions,
    _m004_drafts,
    _m005_sessions_idle_and_login_attempts,
    _m006_supervision,
    _m007_due_next,
    _m008_announcements,
    _m009_worklist_indexes,
    _m010_ranking_facts,
    _m011_case_staff,
    _m012_ratings,
    _m013_chains,
    _m014_stage_opened_at,
    _m015_green_channel,
    _m016_chain_members,
    _m017_immediate,
    _m018_due_delivery,
    _m019_provisional_deadlines,
    _m020_query_code_attempts,
    _m021_upload_owners,
    _m022_append_only_events,
    _m023_device_grants,
    _m024_filings,
    _m025_reserved,
    _m026_shared_server_state,
    _m027_notification_outbox,
    _m028_appeals,
    _m029_bookings,
    _m030_appeal_notify,
)
"""Migration *n* is ``MIGRATIONS[n - 1]``; append, never edit or reorder.

Each migration runs in its own transaction together with the row recording it in
``schema_migrations``, so it is applied entirely or not at all. Migration 1 creates the
tables from the *current* definitions (engine/ledger/tables.py), so a fresh database gets the latest schema
at once, and every later migration must therefore be a no-op when its change is already
there. The pattern for a new column::

    # 1. add it to the table definition in engine/ledger/tables.py (nullable or with a server_default):
    #        Column("priority", Integer, server_default="0", nullable=False),
    # 2. add a migration that adds it to existing databases:
    def _m002_case_priority(conn: Connection) -> None:
        add_column(conn, "cases", Column("priority", Integer, server_default="0", nullable=False))

    MIGRATIONS = (_m001_initial, _m002_case_priority)

A new table is ``metadata.create_all(conn, tables=[new_table], checkfirst=True)``; a new
index ``Index(...).create(conn, checkfirst=True)``; a data backfill is an ``update()``
that only touches rows that still need it.
"""


def schema_version(conn: Connection) -> int:
    """The highest applied migration (0 for an empty database)."""
    if not inspect(conn).has_table(schema_migrations.name):
        return 0
    return int(conn.execute(select(func.coalesce(func.max(schema_migrations.c.version), 0))).scalar_one())


_MIGRATING = "schema_migrations"  # the lock (engine.ledger.db.lock) each migration's transaction takes first


def migrate(engine: Engine, migrations: Sequence[Migration] | None = None, now: datetime | None = None) -> int:
    """Apply the pending migrations in order, each in its own transaction; return the schema version.

    Safe to run again (nothing changes) and from several processes at once (on SQLite
    ``BEGIN IMMEDIATE`` serialises them, on PostgreSQL an advisory lock; each re-checks inside its
    transaction).
    """
    steps = tuple(MIGRATIONS if migrations is None else migrations)
    with engine.begin() as conn:
        lock(conn, _MIGRATING)
        schema_migrations.create(conn, checkfirst=True)
        current = schema_version(conn)
    if current > len(steps):
        raise SchemaTooNew(current, len(steps))
    for number in range(current + 1, len(steps) + 1):
        with engine.begin() as conn:
            lock(conn, _MIGRATING)
            applied = conn.execute(
                select(schema_migrations.c.version).where(schema_migrations.c.version == number)
            ).first()
            if applied is not None:
                continue
            steps[number - 1](conn)
            conn.execute(insert(schema_migrations).values(version=number, applied_at=iso(now or utc_now())))
    with engine.connect() as conn:
        return schema_version(conn)
