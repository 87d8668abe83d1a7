"""One holder at a time (engine.ledger.leases) and one server key per database (engine.ledger.server_key),
on a real SQLite file and a real PostgreSQL database, each party with an engine of its own as a process has."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from engine.base import keys
from engine.ledger.db import open_engine
from engine.ledger.leases import AdvisoryLease, RowLease, lease
from engine.ledger.migrations import migrate
from engine.ledger.server_key import shared_key

TTL = timedelta(seconds=30)


@pytest.fixture(params=["sqlite", "postgresql"])
def engines(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Engine]]:
    """A factory of engines on one database: each one stands for a server process."""
    url = str(tmp_path / "y.db") if request.param == "sqlite" else request.getfixturevalue("pg_url")
    made: list[Engine] = []

    def another() -> Engine:
        made.append(open_engine(url))
        return made[-1]

    migrate(another())
    yield another
    for engine in made:
        engine.dispose()


def test_a_second_process_does_not_get_a_held_lease_and_gets_it_once_released(engines: Callable[[], Engine]) -> None:
    first, second = lease(engines(), "sweep", TTL), lease(engines(), "sweep", TTL)
    assert first.hold() and first.hold()  # taken, then renewed
    assert not second.hold()
    assert lease(engines(), "other job", TTL).hold()  # another name is another lease
    first.release()
    assert second.hold() and not first.hold()


def test_the_lease_is_an_advisory_lock_on_postgresql_and_a_row_elsewhere(engines: Callable[[], Engine]) -> None:
    engine = engines()
    kind = AdvisoryLease if engine.dialect.name == "postgresql" else RowLease
    assert isinstance(lease(engine, "sweep", TTL), kind)


def test_an_expired_row_lease_is_taken_over_and_its_old_holder_learns_it(tmp_path: Path) -> None:
    engine = open_engine(tmp_path / "y.db")
    migrate(engine)
    now = [datetime(2026, 3, 6, 9, 0, tzinfo=UTC)]
    dead, alive = RowLease(engine, "sweep", TTL, lambda: now[0]), RowLease(engine, "sweep", TTL, lambda: now[0])
    assert dead.hold()
    now[0] += TTL  # exactly at the expiry it is still held
    assert not alive.hold()
    now[0] += timedelta(microseconds=1)  # the holder stopped renewing: past its expiry, another takes it
    assert alive.hold() and not dead.hold()
    dead.release()  # releasing a lease one no longer holds leaves the holder's alone
    assert alive.hold()


def test_every_process_gets_the_same_server_key_however_many_start_at_once(engines: Callable[[], Engine]) -> None:
    got: list[bytes] = []
    parties = [engines() for _ in range(4)]
    threads = [threading.Thread(target=lambda e=e: got.append(shared_key(e))) for e in parties]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and len(set(got)) == 1 and len(got[0]) == keys.KEY_BYTES
    assert shared_key(engines()) == got[0]  # and a process started later too


def test_an_older_servers_key_file_is_adopted_so_nobody_is_signed_out(tmp_path: Path) -> None:
    old = keys.load_or_create(tmp_path / "secret.key")
    engine = open_engine(tmp_path / "y.db")
    migrate(engine)
    assert shared_key(engine, adopt=lambda: keys.read_existing(tmp_path / "secret.key")) == old
    assert keys.read_existing(tmp_path / "missing.key") is None
