"""``serve --db-read``: the public and supervision pages read a real streaming replica of the PostgreSQL
primary (tests/support/postgres.py starts one with ``pg_basebackup -R``); sign-in, the desk and every
write stay on the primary. Replay on the replica is paused to tell the two apart: what the primary has
and the replica does not yet shows only on the pages that read the primary."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient
from support import REPO, postgres
from support.desk import browser
from support.portal import csrf

from engine.base.dates import TZ
from engine.rules.cases.model import Actor
from engine.rules.clock import ManualClock
from engine.service.accounts import add_user
from engine.service.samples import sample_application
from engine.web import app as web
from engine.web.deps import REPLICA_ROUTES

CULTURE = "QQ-CULTURE-XK-101"
PASSWORD = "supervise-me"


@pytest.fixture(scope="module")
def replica() -> Iterator[str]:
    """The base URL of a streaming replica of the test server."""
    base = postgres.server()
    if base is None:
        if os.environ.get(postgres.REQUIRE_ENV):
            pytest.fail(f"{postgres.REQUIRE_ENV} is set but no PostgreSQL server: {postgres.why_not()}")
        pytest.skip(f"no PostgreSQL server: {postgres.why_not()}")
    url, stop = postgres.start_replica(base)
    yield url
    stop()


def _on_primary(monkeypatch: pytest.MonkeyPatch, path: Path, url: str) -> None:
    """The app opens ``url`` where it is told to open the SQLite file ``path`` (its keys stay in that folder)."""
    original: Callable[..., Any] = web.open_engine

    def opening(target: Any, *args: Any, **kwargs: Any) -> Any:
        return original(url if str(target) == str(path) else target, *args, **kwargs)

    monkeypatch.setattr(web, "open_engine", opening)


def _replay(replica_url: str, on: bool) -> None:
    with psycopg.connect(replica_url, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_resume()" if on else "SELECT pg_wal_replay_pause()")


def _until(check: Callable[[], bool], seconds: float = 60.0) -> None:
    """Poll ``check`` until it holds (replication is asynchronous); fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.05)


def test_supervision_and_public_pages_read_the_replica_while_writes_go_to_the_primary(
    replica: str, pg_url: str, tmp_path: Path, reference: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    replica_url = f"{replica}/{pg_url.rsplit('/', 1)[1]}"
    _on_primary(monkeypatch, tmp_path / "primary.db", pg_url)
    clk = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))
    postgres.replayed(pg_url, replica_url)  # the new database exists on the replica
    app = web.create_app(REPO, tmp_path / "primary.db", reference.catalogue, clock=clk, sweep_seconds=0,
                         reload_seconds=0, db_read=replica_url)  # fmt: skip
    svc = app.state.service
    add_user(svc.db, "supervisor", "supervisor", None, PASSWORD)
    postgres.replayed(pg_url, replica_url)
    _replay(replica_url, on=False)
    try:
        with TestClient(app):
            data, uploads = sample_application(svc.catalogue, svc.catalogue.items[CULTURE], {})
            number = str(svc.submit(CULTURE, data, uploads, Actor("zhang", "applicant"), "k").number)
            svc.act(number, "accept", Actor("w", "window", "culture"), {}, 1)
            boss = browser(app, "supervisor", PASSWORD)  # signing in writes a session: on the primary

            # the replica does not have the case yet: the pages that read it do not show it ...
            drill = boss.get("/supervision/cases")
            assert drill.status_code == 200 and number not in drill.text
            assert number not in boss.get("/announcements").text
            # ... the desk reads the primary, and so does the corrections page after a notice is issued there
            assert number in boss.get(f"/desk/cases/{number}").text
            page = boss.get("/supervision/corrections").text
            issued = boss.post("/supervision/corrections", data={
                "csrf": csrf(page), "department": "culture", "card": "yellow", "reason": "副本尚未同步",
                "days": "3", "case_number": number,
            })  # fmt: skip
            assert issued.status_code == 303
            assert "副本尚未同步" in boss.get("/supervision/corrections").text
            with psycopg.connect(replica_url) as conn:
                assert conn.execute("SELECT count(*) FROM corrections").fetchone()[0] == 0
            with psycopg.connect(pg_url) as conn:
                assert conn.execute("SELECT count(*) FROM corrections").fetchone()[0] == 1

            _replay(replica_url, on=True)  # once the replica catches up, its pages show what was written
            _until(lambda: number in boss.get("/supervision/cases").text)
            assert number in boss.get("/announcements").text
    finally:
        _replay(replica_url, on=True)


def test_every_route_that_may_read_the_replica_is_a_page_that_only_reads(tmp_path: Path, reference: Any) -> None:
    app = web.create_app(REPO, tmp_path / "y.db", reference.catalogue, sweep_seconds=0, reload_seconds=0)
    methods = {getattr(r, "path", None): getattr(r, "methods", None) or set() for r in app.routes}
    for path in REPLICA_ROUTES:  # a route renamed or turned into a form would quietly read the primary, or worse
        assert path in methods, path
        assert methods[path] <= {"GET", "HEAD"}, path
