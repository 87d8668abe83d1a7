"""Helpers shared by the tests that serve a copy of the reference catalogue (test_reload, test_admin)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from engine.service import auth

REPO = Path(__file__).resolve().parents[2]
PARTS = ("center.yaml", "items", "fees", "forms", "chains", "calendar")


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Staff passwords hashed with Argon2's cheapest profile: these tests sign in many times."""
    from argon2 import PasswordHasher, profiles

    monkeypatch.setattr(auth, "HASHER", PasswordHasher.from_parameters(profiles.CHEAPEST))


def copy_catalogue(dest: Path) -> Path:
    """A private copy of the reference catalogue at ``dest``, to edit while a server watches it."""
    dest.mkdir(parents=True)
    for part in PARTS:
        if (REPO / part).is_dir():
            shutil.copytree(REPO / part, dest / part)
        else:
            shutil.copy2(REPO / part, dest / part)
    return dest


#: a one-stage joint review (联审) of fire-protection design and civil air defence, silence is consent
JOINT_REVIEW_CHAIN: dict[str, object] = {
    "id": "jr", "name": "联合审查", "kind": "construction", "promised": {"value": 30, "unit": "working_day"},
    "stages": [{
        "id": "joint", "name": "消防与人防联审", "mode": "joint_review", "lead": "housing",
        "items": ["QQ-HOUSING-XK-001", "QQ-CAD-XK-001"], "limit": {"value": 5, "unit": "working_day"},
        "silence_is_consent": True,
    }],
}  # fmt: skip


def with_joint_review(cat: Any) -> Any:
    """The catalogue with ``JOINT_REVIEW_CHAIN`` as its only chain."""
    import dataclasses

    from engine.catalogue.model import Document

    return dataclasses.replace(cat, chains={"jr": Document("chains/jr.yaml", "chain", JOINT_REVIEW_CHAIN)})


def tamper(db: Path, *sql: str) -> None:
    """Change the record behind the application's back, as someone holding the database file would:
    first drop the triggers that keep it append-only (migration 22; anyone with the file can), then run
    ``sql``. That this is possible is why `audit verify --checkpoints` exists."""
    import sqlite3

    con = sqlite3.connect(db)
    try:
        triggers = con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%append_only%'")
        for (name,) in triggers.fetchall():
            con.execute(f'DROP TRIGGER "{name}"')
        for statement in sql:
            con.execute(statement)
        con.commit()
    finally:
        con.close()
