"""Backups that restore (issue 18, "Operating it"): a backup taken while another thread keeps filing and
acting on cases restores into a new database on which `audit verify` passes, with every action committed
before the backup began, and nothing that had not committed by its end. On SQLite (the backup API) and on
PostgreSQL (pg_dump and pg_restore against the test server)."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from support import postgres
from support.cases import filed

from engine.base.dates import TZ
from engine.ledger import backup
from engine.ledger.db import open_engine, read_only
from engine.ledger.migrations import migrate
from engine.ledger.tables import cases
from engine.rules.calendar import WorkCalendar
from engine.rules.cases.model import Actor
from engine.rules.clock import ManualClock
from engine.service.cases import CaseService
from engine.supervision import audit

WINDOW = Actor("w.culture", "window", "culture")
STORES = [pytest.param("sqlite", marks=pytest.mark.sqlite_only), "postgresql"]


def service_on(url: str, reference: Any) -> CaseService:
    cat = reference.catalogue
    engine = open_engine(url)
    migrate(engine)
    cal = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
    return CaseService(cat, engine, ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ)), cal)


def new_database(store: str, tmp_path: Path, name: str, request: pytest.FixtureRequest) -> str:
    if store == "sqlite":
        return str(tmp_path / f"{name}.db")
    request.getfixturevalue("pg_url")  # skips (or fails under YANGGUANG_REQUIRE_PG) without a server
    base = postgres.server()
    assert base is not None
    return postgres.fresh_database(base)


class Clerk(threading.Thread):
    """Files culture cases and accepts each, recording every committed action as (number, version)."""

    def __init__(self, svc: CaseService) -> None:
        super().__init__(daemon=True)
        self.svc, self.committed, self.errors = svc, list[tuple[str, int]](), list[BaseException]()
        self.stop, self.warmed = threading.Event(), threading.Event()

    def run(self) -> None:
        try:
            i = 0
            while not self.stop.is_set():
                number = filed(self.svc, f"k{i}", f"申请人{i}")
                self.committed.append((number, 1))
                self.committed.append((number, self.svc.act(number, "accept", WINDOW, {}, 1).version))
                i += 1
                if i >= 5:
                    self.warmed.set()
        except BaseException as exc:  # the test fails with it
            self.errors.append(exc)
            self.warmed.set()


def versions(engine: Any) -> dict[str, int]:
    with read_only(engine) as conn:
        rows = conn.execute(cases.select().with_only_columns(cases.c.number, cases.c.version))
        return {str(n): int(v) for n, v in rows}


@pytest.mark.parametrize("store", STORES)
def test_a_backup_taken_under_load_restores_with_every_committed_action(
    store: str, tmp_path: Path, reference: Any, request: pytest.FixtureRequest
) -> None:
    svc = service_on(new_database(store, tmp_path, "live", request), reference)
    clerk = Clerk(svc)
    clerk.start()
    try:
        assert clerk.warmed.wait(120), "the clerk never got going"
        before = list(clerk.committed)  # every action committed before the backup began
        kind = backup.backup(svc.db.url.render_as_string(hide_password=False) if store != "sqlite"
                             else str(svc.db.url.database), tmp_path / "center.backup")
        during = list(clerk.committed)  # and by the time it ended
    finally:
        clerk.stop.set()
        clerk.join(120)
    assert not clerk.errors, clerk.errors
    assert kind is (backup.Kind.SQLITE if store == "sqlite" else backup.Kind.DUMP)

    target = new_database(store, tmp_path, "restored", request)
    restored = open_engine(target)
    assert backup.is_empty(restored)
    if store == "sqlite":
        backup.restore_sqlite(tmp_path / "center.backup", target)
    else:
        backup.restore_dump(tmp_path / "center.backup", target)
    assert not backup.is_empty(restored)

    report = audit.verify(restored, service=service_on(target, reference))
    assert report.ok, report.render()
    have = versions(restored)
    for number, version in before:
        assert have.get(number, 0) >= version, f"{number} v{version} committed before the backup is missing"
    by_end: dict[str, int] = {}
    for number, version in during:
        by_end[number] = max(by_end.get(number, 0), version)
    assert all(version <= by_end.get(number, 0) for number, version in have.items())  # nothing from later
    assert len(have) >= len({n for n, _ in before})


def test_a_backup_never_overwrites_a_file_and_a_restore_knows_a_backup(tmp_path: Path) -> None:
    out = tmp_path / "exists.backup"
    out.write_text("precious")
    with pytest.raises(backup.BackupError, match="already exists"):
        backup.backup(str(tmp_path / "any.db"), out)
    assert out.read_text() == "precious"
    with pytest.raises(backup.BackupError, match="not a yangguang backup"):
        backup.backup_kind(out)


@pytest.mark.sqlite_only
def test_a_sqlite_backup_is_owner_only_and_a_whole_database(tmp_path: Path, reference: Any) -> None:
    svc = service_on(str(tmp_path / "live.db"), reference)
    number = filed(svc, "k", "张三")
    out = tmp_path / "b.backup"
    backup.backup(str(tmp_path / "live.db"), out)
    assert out.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []
    assert versions(open_engine(out)) == {number: 1}
