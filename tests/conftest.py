"""Fixtures for every test under tests/ (each folder's conftest.py adds its own; plain helpers are in
tests/support/):

``_private_cache``  autouse: each test its own check cache, never the developer's ~/.cache, and its own
                    YANGGUANG_DATA_DIR, never the checkout's var/.
``reference``       session: the repository's reference catalogue, checked once (engine.check.pipeline.load).
``cheap_hashes``    Argon2id with its cheapest parameters, for tests that sign in many times (autouse for
                    every test in tests/web through tests/web/conftest.py; others ask for it by name).
``case_service``    a CaseService over the reference catalogue on a fresh, migrated SQLite file, its
                    ManualClock at Friday 2026-03-06 09:00 Beijing time.
``index``           module: the search index (engine.supervision.search.ItemIndex) of the reference catalogue.
``pg_url``          a fresh, empty PostgreSQL database (tests/support/postgres.py): skipped when no server can
                    be started, a failure instead when YANGGUANG_REQUIRE_PG is set (.ci/run sets it).

``pytest --store=postgresql`` runs the whole suite on PostgreSQL: every SQLite file a test opens becomes a
database of its own on the test server; tests about SQLite itself are marked ``sqlite_only`` and deselected.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # engine is imported when a fixture first runs, as the reference fixture always has
    from engine.service.cases import CaseService
    from engine.supervision.search import ItemIndex

REPO = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--store", choices=("sqlite", "postgresql"), default="sqlite",
                     help="the store of every test database (postgresql: a throwaway cluster or YANGGUANG_TEST_PG)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: about SQLite itself; not run with --store=postgresql")
    if config.getoption("--store") == "postgresql":
        from support import postgres

        base = postgres.server()
        if base is None:
            raise pytest.UsageError(f"--store=postgresql: no PostgreSQL server ({postgres.why_not()})")
        postgres.redirect_sqlite(base)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--store") != "postgresql":
        return
    kept = [item for item in items if item.get_closest_marker("sqlite_only") is None]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the developer's ~/.cache: each test gets its own check cache; nor the checkout's var/:
    the files of a PostgreSQL database (engine.ledger.db.place) go to a folder of the test's own."""
    monkeypatch.setenv("YANGGUANG_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("YANGGUANG_DATA_DIR", str(tmp_path_factory.mktemp("data")))


@pytest.fixture(scope="session")
def reference():  # type: ignore[no-untyped-def]
    from engine.check.pipeline import load

    return load(REPO)


@pytest.fixture
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with the cheapest parameters: the real ones cost ~0.2 s per account
    (tests/unit/service/test_auth.py checks them)."""
    from argon2 import PasswordHasher, profiles

    from engine.service import auth

    monkeypatch.setattr(auth, "HASHER", PasswordHasher.from_parameters(profiles.CHEAPEST))


@pytest.fixture
def case_service(tmp_path: Path, reference: Any) -> CaseService:
    """The service on ``tmp_path / "cases.db"``; its clock (``.clock``) is a ManualClock the test moves."""
    from engine.base.dates import TZ
    from engine.ledger.db import open_engine
    from engine.ledger.migrations import migrate
    from engine.rules.calendar import WorkCalendar
    from engine.rules.clock import ManualClock
    from engine.service.cases import CaseService

    cat = reference.catalogue
    cal = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
    db = open_engine(tmp_path / "cases.db")
    migrate(db)
    return CaseService(cat, db, ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ)), cal)  # a Friday


@pytest.fixture
def pg_url() -> str:
    """The URL of a fresh, empty PostgreSQL database on the test server."""
    import os

    from support import postgres

    base = postgres.server()
    if base is None:
        if os.environ.get(postgres.REQUIRE_ENV):
            pytest.fail(f"{postgres.REQUIRE_ENV} is set but no PostgreSQL server: {postgres.why_not()}")
        pytest.skip(f"no PostgreSQL server: {postgres.why_not()}")
    return postgres.fresh_database(base)


@pytest.fixture(scope="module")
def index(reference: Any) -> Iterator[ItemIndex]:
    from engine.supervision.search import ItemIndex

    ix = ItemIndex(reference.catalogue)
    yield ix
    ix.close()
