"""`yangguang db backup|restore|copy` as an operator runs them: a center's SQLite record moved to PostgreSQL
and checked, a restore that refuses to overwrite, and a restore that audits what it put back."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from support import postgres
from support.cases import CULTURE, file_case

from engine.base.dates import TZ
from engine.cli.main import main
from engine.ledger.db import open_engine, read_only
from engine.ledger.migrations import migrate
from engine.ledger.tables import cases, events
from engine.rules.calendar import WorkCalendar
from engine.rules.cases.model import Actor
from engine.rules.clock import ManualClock
from engine.service.cases import CaseService
from engine.supervision import audit

REPO = Path(__file__).resolve().parents[3]


def service_on(url: str, reference: Any) -> CaseService:
    cat = reference.catalogue
    engine = open_engine(url)
    migrate(engine)
    cal = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
    return CaseService(cat, engine, ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ)), cal)


def simulated(tmp_path: Path) -> Path:
    db = tmp_path / "center.db"
    assert main(["simulate", "--catalog", str(REPO), "--db", str(db), "--days", "2", "--per-day", "3"]) == 0
    return db


def counts(url: str) -> tuple[int, int]:
    """How many cases and events the database at ``url`` holds."""
    with read_only(open_engine(url)) as conn:
        return (len(conn.execute(cases.select().with_only_columns(cases.c.id)).all()),
                len(conn.execute(events.select().with_only_columns(events.c.id)).all()))


@pytest.mark.sqlite_only  # the source is an SQLite file, whatever --store says
def test_copy_moves_a_center_to_postgresql_and_verifies_it(
    tmp_path: Path, pg_url: str, reference: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    source = simulated(tmp_path)
    capsys.readouterr()
    assert main(["db", "copy", str(source), pg_url, "--catalog", str(REPO)]) == 0
    out = capsys.readouterr().out
    assert "compared: every row of the copy matches its source (6 case rows" in out
    assert "6 case rows match their events" in out and "ok:" in out
    assert counts(pg_url) == counts(str(source))

    # the sequences were set past the copied ids: the next case and its events get new ones
    svc = service_on(pg_url, reference)
    number = file_case(svc, CULTURE, "after-the-copy")
    svc.act(number, "accept", Actor("w.culture", "window", "culture"), {}, 1)
    assert counts(pg_url)[0] == 7
    report = audit.verify(svc.db, service=svc)
    assert report.ok and report.cases_checked == 7, report.render()

    assert main(["db", "copy", str(source), pg_url]) == 1  # never into a database that holds a record
    assert "not empty" in capsys.readouterr().err


@pytest.mark.sqlite_only
def test_restore_refuses_a_database_that_is_not_empty_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = simulated(tmp_path)
    out = tmp_path / "center.backup"
    assert main(["db", "backup", "--db", str(source), str(out)]) == 0
    assert main(["db", "backup", "--db", str(source), str(out)]) == 1
    assert "already exists" in capsys.readouterr().err

    other = tmp_path / "other.db"
    assert main(["simulate", "--catalog", str(REPO), "--db", str(other), "--days", "1", "--per-day", "1"]) == 0
    capsys.readouterr()
    assert main(["db", "restore", str(out), "--db", str(other)]) == 1
    assert "is not empty" in capsys.readouterr().err and counts(str(other))[0] == 1
    assert main(["db", "restore", str(out), "--db", str(other), "--force", "--catalog", str(REPO)]) == 0
    said = capsys.readouterr().out
    assert "schema version" in said and "6 case rows match their events" in said
    assert counts(str(other)) == counts(str(source))


@pytest.mark.sqlite_only
def test_a_restore_audits_what_it_put_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A backup edited behind yangguang's back restores, and the audit says which case is wrong (exit 1)."""
    out = tmp_path / "center.backup"
    assert main(["db", "backup", "--db", str(simulated(tmp_path)), str(out)]) == 0
    with sqlite3.connect(out) as conn:
        number = conn.execute("SELECT number FROM cases ORDER BY id LIMIT 1").fetchone()[0]
        conn.execute("UPDATE cases SET state = 'refused' WHERE number = ?", (number,))
    capsys.readouterr()
    assert main(["db", "restore", str(out), "--db", str(tmp_path / "restored.db"), "--catalog", str(REPO)]) == 1
    said = capsys.readouterr().out
    assert f"{number}:" in said and "error[row_mismatch]: state is 'refused'" in said and "FAILED" in said


def test_a_pg_dump_restores_into_postgresql_only(
    tmp_path: Path, pg_url: str, reference: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    svc = service_on(pg_url, reference)
    file_case(svc, CULTURE, "k1")
    file_case(svc, CULTURE, "k2")
    out = tmp_path / "pg.backup"
    assert main(["db", "backup", "--db", pg_url, str(out)]) == 0
    capsys.readouterr()
    assert main(["db", "restore", str(out), "--db", str(tmp_path / "x.db")]) == 1
    assert "restores into PostgreSQL only" in capsys.readouterr().err
    base = postgres.server()
    assert base is not None
    target = postgres.fresh_database(base)
    assert main(["db", "restore", str(out), "--db", target, "--catalog", str(REPO)]) == 0
    assert "2 case rows match their events" in capsys.readouterr().out
    assert counts(target) == counts(pg_url)
