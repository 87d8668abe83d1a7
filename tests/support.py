"""Helpers shared by the tests that serve a copy of the reference catalogue (test_reload, test_admin)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine import auth

REPO = Path(__file__).resolve().parent.parent
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
