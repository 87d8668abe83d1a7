"""`audit verify` against a record changed behind the application's back (issue 15, "a record an outside
auditor can check"): case rows checked against their events, deleted cases found, and the events table
append-only by the database itself. Tampering here is done as someone holding the file would do it,
dropping the append-only triggers first (tests/support.py: tamper)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from support import postgres, tamper

from engine.ledger import migrations
from engine.ledger.cases import get_case
from engine.ledger.db import open_engine, read_only
from engine.ledger.events import events_of
from engine.ledger.migrations import MIGRATIONS, migrate
from engine.rules.cases.model import Actor
from engine.service.cases import CaseService
from engine.service.samples import sample_application
from engine.supervision import audit

REPO = Path(__file__).resolve().parents[3]
RESALE = "QQ-REALESTATE-DJ-102"
APPLICANT = Actor("zhang", "applicant")
WINDOW = Actor("window@realestate", "window", "realestate")


@pytest.fixture
def world(case_service: CaseService, tmp_path: Path) -> tuple[CaseService, Path]:
    # the service's file (with --store=postgresql the database it stands for); Friday 2026-03-06 09:00
    return case_service, tmp_path / "cases.db"


def submit(svc: CaseService, key: str) -> str:
    data, uploads = sample_application(svc.catalogue, svc.catalogue.items[RESALE], {})
    return svc.submit(RESALE, data, uploads, APPLICANT, key).number


def accept(svc: CaseService, number: str) -> None:
    case, _ = svc.load(number)
    svc.act(number, "accept", WINDOW, {}, case.version)


def three_cases(svc: CaseService) -> list[str]:
    numbers = [submit(svc, f"k{i}") for i in range(3)]
    for number in numbers:
        accept(svc, number)
    return numbers


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=REPO, check=False
    )


# -- hole 1: the case row that public pages and rankings read -------------------------------


def test_a_case_set_to_refused_is_named_with_the_column(world: tuple[CaseService, Path]) -> None:
    """Hole 1: `UPDATE cases SET state = 'refused'` left every hash chain intact, so verify said ok; the row
    is now compared with the fold of its events and the case and column are named."""
    svc, path = world
    a, b, _ = three_cases(svc)
    assert audit.verify(svc.db, service=svc).ok
    tamper(path, f"UPDATE cases SET state = 'refused', decision = 'refuse' WHERE number = '{a}'")
    assert audit.verify(svc.db).ok  # the chains alone cannot see it: the events were not touched
    report = audit.verify(svc.db, service=svc)
    assert [(p.case_number, p.kind) for p in report.problems] == [(a, "row_mismatch"), (a, "row_mismatch")]
    # submit + accept: 2 events, whose fold is in_progress with no decision yet
    assert report.problems[0].message == "state is 'refused' but its 2 events give 'in_progress'"
    assert report.problems[1].message == "decision is 'refuse' but its 2 events give None"
    assert report.render().splitlines()[-1].startswith("FAILED: 1 case with a broken record")
    assert audit.verify(svc.db, b, service=svc).ok  # the other cases are fine


def test_deadlines_version_and_pinned_snapshot_are_checked(world: tuple[CaseService, Path]) -> None:
    """Hole 1: every column derived from the events is compared: a moved deadline, a version, the snapshot."""
    svc, path = world
    a, b, c = three_cases(svc)
    with read_only(svc.db) as conn:
        row = get_case(conn, a)
    assert row is not None
    # accepted Friday 2026-03-06 09:00; the item promises 1 working day: the end of Monday 9 March
    # (23:59:59.999999 in Beijing, UTC+8, is 15:59:59.999999 UTC)
    assert row["due_promised"] == "2026-03-09T15:59:59.999999+00:00"
    tamper(
        path,
        f"UPDATE cases SET due_promised = '2026-03-20T15:59:59.999999+00:00' WHERE number = '{a}'",
        f"UPDATE cases SET rating_score = 100 WHERE number = '{b}'",
        f"UPDATE cases SET catalogue_version = 'x' WHERE number = '{c}'",
    )
    problems = audit.verify(svc.db, service=svc).problems
    assert [(p.case_number, p.message.split(" is ")[0]) for p in problems] == [
        (a, "due_promised"),
        (b, "rating_score"),
        (c, "catalogue_version"),
    ]
    assert problems[0].message.endswith(f"give {row['due_promised']!r}")


def test_an_altered_snapshot_is_reported(world: tuple[CaseService, Path]) -> None:
    """Hole 1: the fold runs under the snapshot the submission pinned; a snapshot edited in place (e.g. a
    longer promised limit) no longer matches its key, which is its hash."""
    svc, path = world
    a = submit(svc, "k")
    tamper(path, "UPDATE catalogue_snapshots SET content = replace(content, '\"value\":30', '\"value\":60')")
    problems = audit.verify(svc.db, service=svc).problems
    assert [(p.case_number, p.kind) for p in problems] == [(a, "snapshot")]
    assert "was altered" in problems[0].message


def test_cli_names_the_case_and_column(tmp_path: Path) -> None:
    """Hole 1 through the command: a simulated center, one case's state edited, exit 1 with the column."""
    db = tmp_path / "sim.db"
    sim = run("simulate", "--db", str(db), "--days", "2", "--per-day", "2", "--items", "QQ-PSB-BA-001")
    assert sim.returncode == 0, sim.stderr
    ok = run("audit", "verify", "--db", str(db))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "4 case rows match their events" in ok.stdout
    with sqlite3.connect(db) as conn:
        number, state = conn.execute("SELECT number, state FROM cases ORDER BY id LIMIT 1").fetchone()
        conn.execute("UPDATE cases SET state = 'refused' WHERE number = ?", (number,))
    bad = run("audit", "verify", "--db", str(db))
    assert bad.returncode == 1
    assert f"{number}:" in bad.stdout and "error[row_mismatch]: state is 'refused' but its" in bad.stdout
    assert f"give '{state}'" in bad.stdout


# -- hole 2: a whole case deleted ----------------------------------------------------------


def test_a_deleted_case_is_missing_from_the_ids_and_the_day_numbers(world: tuple[CaseService, Path]) -> None:
    """Hole 2: deleting a case's row and events (the chains of the others untouched) went unnoticed; now its
    number is missing among the day's numbers and its events' ids are missing."""
    svc, path = world
    _a, b, _c = three_cases(svc)
    tamper(path, f"DELETE FROM events WHERE case_id = (SELECT id FROM cases WHERE number = '{b}')")
    tamper(path, f"DELETE FROM cases WHERE number = '{b}'")
    report = audit.verify(svc.db, service=svc)
    # ids: a's submit 1, b's 2, c's 3, then the accepts 4, 5, 6: b's are 2 and 5. Only SQLite gives each
    # new row the next id; a PostgreSQL sequence skips the ids of rolled-back inserts, so there the day's
    # numbers (and the signed checkpoints) are what name the deletion.
    sqlite = svc.db.dialect.name == "sqlite"
    ids = [("events", 2, "missing_events"), ("events", 5, "missing_events")] if sqlite else []
    assert [(p.case_number, p.seq, p.kind) for p in report.problems] == [*ids, (b, 0, "missing_case")]
    assert b.endswith("000002") and f"goes on to {b[:-1]}3" in report.problems[-1].message
    whole = ", 2 problems of the whole record;" if sqlite else ";"
    assert report.render().splitlines()[-1].startswith(f"FAILED: 1 case with a broken record{whole}")


# -- hole 3: the events table is append-only by the database itself -------------------------------

TRIGGERS = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger'",
    "postgresql": "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal",
}


def any_client(path: Path, statement: str) -> None:
    """Run ``statement`` as any other client of the database would: the sqlite3 module on the file, or
    psycopg on the PostgreSQL database it stands for (--store=postgresql)."""
    url = postgres.redirected(path)
    if url is None:
        with closing(sqlite3.connect(path)) as con:
            con.execute(statement)
    else:
        with psycopg.connect(url) as con:
            con.execute(statement)



def test_events_refuse_update_and_delete(world: tuple[CaseService, Path]) -> None:
    """Hole 3: an UPDATE or DELETE on events (through the application's engine or any SQLite client) aborts."""
    svc, path = world
    submit(svc, "k")
    for statement in ("UPDATE events SET actor = 'x'", "DELETE FROM events"):
        with pytest.raises(IntegrityError, match="events are append-only"), svc.db.begin() as conn:
            conn.execute(text(statement))
        with pytest.raises((sqlite3.IntegrityError, psycopg.Error), match="events are append-only"):
            any_client(path, statement)
    with read_only(svc.db) as conn:
        assert [e.actor for e in events_of(conn, submit(svc, "k"))] == ["zhang"]
    assert audit.verify(svc.db, service=svc).ok


# migration 22 makes the record append-only; later migrations come after it
APPEND_ONLY_MIGRATION = MIGRATIONS.index(migrations._m022_append_only_events) + 1


def test_checkpoints_are_append_only_and_a_key_is_retired_once(world: tuple[CaseService, Path]) -> None:
    """Hole 3 (and 4): the signed checkpoints and the key list are kept the same way."""
    svc, path = world
    now = "2026-03-06T01:00:00.000000+00:00"
    tamper(path)  # drops the triggers (and changes nothing else) ...
    with svc.db.begin() as conn:
        conn.execute(text("DELETE FROM schema_migrations WHERE version >= :v"), {"v": APPEND_ONLY_MIGRATION})
    migrate(svc.db)  # ... and migration 22, run again, puts them back
    with svc.db.begin() as conn:
        conn.execute(
            text("INSERT INTO checkpoints (origin, tree_size, root, signed_at, key_id, signature) VALUES "
                 "('qiqihar', 1, :r, :at, 'k1', 'sig')"),
            {"r": "0" * 64, "at": now},
        )  # fmt: skip
        conn.execute(
            text("INSERT INTO checkpoint_keys (key_id, public_key, created_at) VALUES ('k1', 'pk', :at)"), {"at": now}
        )
    for statement, message in (
        ("UPDATE checkpoints SET tree_size = 2", "checkpoints are append-only"),
        ("DELETE FROM checkpoints", "checkpoints are append-only"),
        ("UPDATE checkpoint_keys SET public_key = 'other'", "checkpoint keys are only added or retired"),
        ("DELETE FROM checkpoint_keys", "checkpoint keys are only added or retired"),
    ):
        with pytest.raises(IntegrityError, match=message), svc.db.begin() as conn:
            conn.execute(text(statement))
    with svc.db.begin() as conn:  # retiring is the one change allowed, once
        conn.execute(text("UPDATE checkpoint_keys SET retired_at = :at"), {"at": now})
    with pytest.raises(IntegrityError, match="only added or retired"), svc.db.begin() as conn:
        conn.execute(text("UPDATE checkpoint_keys SET retired_at = 'later'"))


def test_migration_23_adds_the_triggers_to_an_existing_database(tmp_path: Path) -> None:
    """Hole 3: a database made before migration 22 gets the triggers when it is migrated."""
    eng = open_engine(tmp_path / "old.db")
    migrate(eng, MIGRATIONS[: APPEND_ONLY_MIGRATION - 1])
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE probe (x INTEGER)"))  # events may still be changed before migrating
    migrate(eng)
    with eng.connect() as conn:
        triggers = {r[0] for r in conn.execute(text(TRIGGERS[conn.dialect.name]))}
    assert {"events_append_only_update", "events_append_only_delete"} <= triggers
    eng.dispose()
