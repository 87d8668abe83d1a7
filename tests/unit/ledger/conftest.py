"""The database every test of tests/unit/ledger starts from: a fresh file, migrated to today's schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from engine.ledger.db import open_engine
from engine.ledger.migrations import migrate


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "var" / "ledger.db"


@pytest.fixture
def engine(db: Path) -> Iterator[Engine]:
    eng = open_engine(db)
    migrate(eng)
    yield eng
    eng.dispose()
