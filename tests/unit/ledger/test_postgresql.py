"""PostgreSQL as the store, on a real server (the ``pg_url`` fixture: a fresh database on the test cluster).

``pytest --store=postgresql`` runs the whole suite on PostgreSQL; these tests are what only PostgreSQL can
show: writers that really run side by side (SQLite runs one at a time), the database's own append-only
triggers in PL/pgSQL, and the commands and the server given a ``postgresql://`` URL (``--db`` or
``YANGGUANG_DB``), whose files live in ``YANGGUANG_DATA_DIR``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from starlette.testclient import TestClient

from engine.base.dates import TZ
from engine.ledger.db import open_engine, place
from engine.ledger.migrations import MIGRATIONS, migrate
from engine.rules.calendar import WorkCalendar
from engine.rules.cases.model import Actor
from engine.rules.clock import ManualClock
from engine.service.cases import CaseService, Submitted, UnknownCase
from engine.service.samples import sample_application
from engine.supervision import audit
from engine.web.app import create_app

REPO = Path(__file__).resolve().parents[3]
RESALE = "QQ-REALESTATE-DJ-102"
APPLICANT = Actor("zhang", "applicant")


@pytest.fixture
def pg_service(pg_url: str, reference: Any) -> CaseService:
    cat = reference.catalogue
    db = open_engine(pg_url)
    migrate(db)
    clock = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))  # a Friday
    return CaseService(cat, db, clock, WorkCalendar.from_documents([d.data for d in cat.calendars.values()]))


def at_once(n: int, work: Callable[[int], Submitted]) -> list[Submitted]:
    """``work(0..n-1)`` in n threads released together; every result (a thread's exception fails the test)."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # reported below, with the others
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    failed = [r for r in results if not isinstance(r, Submitted)]
    assert not failed, failed
    return results


def test_filings_at_once_get_distinct_gapless_numbers_and_one_case_per_key(pg_service: CaseService) -> None:
    """Eight applicants filing in the same instant get eight numbers, 1 to 8 of the day, as on SQLite; two
    submissions of one idempotency key (a double click reaching two server threads) file one case."""
    data, uploads = sample_application(pg_service.catalogue, pg_service.catalogue.items[RESALE], {})

    def file(i: int) -> Submitted:
        return pg_service.submit(RESALE, data, uploads, APPLICANT, f"key-{i}")

    numbers = sorted(s.number for s in at_once(8, file))
    assert [int(n[-6:]) for n in numbers] == list(range(1, 9))
    twice = at_once(2, lambda _i: pg_service.submit(RESALE, data, uploads, APPLICANT, "double-click"))
    assert twice[0].number == twice[1].number and sorted(s.created for s in twice) == [False, True]
    assert int(twice[0].number[-6:]) == 9
    report = audit.verify(pg_service.db, service=pg_service)
    assert report.ok, report.render()
    assert report.cases_checked == 9


def test_the_record_refuses_update_delete_and_truncate(pg_service: CaseService) -> None:
    """Migration 22 on PostgreSQL: the same protections as SQLite's triggers, plus TRUNCATE (which fires no
    row trigger); a checkpoint key may be retired once and nothing else."""
    data, uploads = sample_application(pg_service.catalogue, pg_service.catalogue.items[RESALE], {})
    pg_service.submit(RESALE, data, uploads, APPLICANT, "k")
    for statement in ("UPDATE events SET actor = 'x'", "DELETE FROM events", "TRUNCATE events CASCADE"):
        with pytest.raises(IntegrityError, match="events are append-only"), pg_service.db.begin() as conn:
            conn.execute(text(statement))
    with pg_service.db.begin() as conn:
        conn.execute(text("INSERT INTO checkpoint_keys (key_id, public_key, created_at) VALUES ('k1', 'pk', 'now')"))
    with pytest.raises(IntegrityError, match="only added or retired"), pg_service.db.begin() as conn:
        conn.execute(text("UPDATE checkpoint_keys SET public_key = 'other'"))
    with pg_service.db.begin() as conn:
        conn.execute(text("UPDATE checkpoint_keys SET retired_at = 'then'"))
    with pytest.raises(IntegrityError, match="only added or retired"), pg_service.db.begin() as conn:
        conn.execute(text("UPDATE checkpoint_keys SET retired_at = 'later'"))
    assert audit.verify(pg_service.db, service=pg_service).ok


def test_migrating_from_several_processes_at_once_applies_each_migration_once(pg_url: str) -> None:
    """Four server processes starting together on a new database: the advisory lock lets one migrate."""
    script = "import sys; from engine.ledger.db import open_engine; from engine.ledger.migrations import migrate; " \
             "print(migrate(open_engine(sys.argv[1])))"  # fmt: skip
    procs = [
        subprocess.Popen([sys.executable, "-c", script, pg_url], cwd=REPO, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]  # fmt: skip
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [out.strip() for out, _ in outputs] == [str(len(MIGRATIONS))] * 4, outputs
    with psycopg.connect(pg_url) as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == list(range(1, len(MIGRATIONS) + 1))


def yangguang(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, **env}, check=False, timeout=300)  # fmt: skip


def test_commands_take_the_database_from_yangguang_db(pg_url: str, tmp_path: Path) -> None:
    """No --db: every command reads YANGGUANG_DB. A simulated center on PostgreSQL verifies; a case row
    edited behind the application's back is named; the signing key lives in YANGGUANG_DATA_DIR."""
    env = {"YANGGUANG_DB": pg_url, "YANGGUANG_DATA_DIR": str(tmp_path)}
    sim = yangguang("simulate", "--days", "2", "--per-day", "2", "--items", "QQ-PSB-BA-001", env=env)
    assert sim.returncode == 0, sim.stderr
    created = yangguang("key", "create", env=env)
    assert created.returncode == 0, created.stderr
    database = pg_url.rsplit("/", 1)[-1]
    assert (tmp_path / f"{database}.checkpoint.key").is_file()
    assert yangguang("sweep", env=env).returncode == 0
    ok = yangguang("audit", "verify", env=env)
    assert ok.returncode == 0 and "4 case rows match their events" in ok.stdout, ok.stdout + ok.stderr
    assert "; 1 checkpoint" in ok.stdout  # the sweep signed one with the key found in the data folder
    with psycopg.connect(pg_url) as conn:
        (number,) = conn.execute("SELECT number FROM cases ORDER BY id LIMIT 1").fetchone() or ("",)
        conn.execute("UPDATE cases SET state = 'refused' WHERE number = %s", (number,))
    bad = yangguang("audit", "verify", "--db", pg_url, env={})  # --db names it as well
    assert bad.returncode == 1 and f"{number}:" in bad.stdout and "error[row_mismatch]" in bad.stdout


def test_an_unreachable_server_is_a_clean_error(tmp_path: Path) -> None:
    url = "postgresql://nobody:secret@127.0.0.1:9/none"  # port 9 (discard): nothing listens
    for args in (("audit", "verify", "--db", url), ("sweep", "--db", url), ("user", "unlock", "x", "--db", url),
                 ("serve", "--db", url)):  # fmt: skip
        done = yangguang(*args, env={})
        assert done.returncode == 1, (args, done.stderr)
        assert "cannot open the database postgresql://nobody:***@127.0.0.1:9/none" in done.stderr
        assert "secret" not in done.stderr and "Traceback" not in done.stderr


def test_the_server_on_a_postgresql_url(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        reference: Any) -> None:  # fmt: skip
    """create_app with a URL: migrated, its files in the data folder, pages and a filing served."""
    monkeypatch.setenv("YANGGUANG_DATA_DIR", str(tmp_path / "data"))
    clk = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))
    app = create_app(REPO, pg_url, reference.catalogue, clock=clk, sweep_seconds=0, reload_seconds=0)
    where = place(pg_url)
    assert where is not None and where.parent == tmp_path / "data"
    with TestClient(app) as client:
        assert client.get("/").status_code == 200
        assert {p.name for p in (tmp_path / "data").iterdir()} == {"uploads", "open-data"}
        svc = app.state.service
        data, uploads = sample_application(svc.catalogue, svc.catalogue.items[RESALE], {})
        svc.submit(RESALE, data, uploads, APPLICANT, "web")
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM cases").fetchone() == (1,)


def test_a_nul_in_a_looked_up_value_matches_nothing_instead_of_failing(pg_service: CaseService) -> None:
    """PostgreSQL's text cannot hold NUL: a case number with one (``/api/uploads?case=%00``) is no case."""
    with pytest.raises(UnknownCase):
        pg_service.load("QIQIHAR20260306\x00000001")
    with pg_service.db.connect() as conn:
        assert conn.execute(text("SELECT :v"), {"v": "a\x00b"}).scalar_one() == "a\ufffdb"
