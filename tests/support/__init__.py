"""Helpers the tests share, importable from every folder of tests/ as ``support`` (pytest puts tests/ on
sys.path for its conftest.py). Test modules never import each other: a fixture two modules need lives in
the conftest.py of the narrowest folder holding both, a plain helper here.

This module: copies of the reference catalogue to edit, a joint-review chain, tampering with the record
behind the application's back, a free port, waiting for what another thread or process does.
Its modules: ``support.portal`` (the applicant's pages),
``support.desk`` (staff accounts, a signed-in browser), ``support.api`` (the JSON API in-process),
``support.cases`` (cases filed through the service), ``support.postgres`` (a PostgreSQL server for the tests)."""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from support import postgres

REPO = Path(__file__).resolve().parents[2]
PARTS = ("center.yaml", "items", "fees", "forms", "chains", "calendar", "appointments.yaml")


T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float) -> T:
    """Poll ``probe`` until it returns something truthy and answer that; fail the test after ``timeout``
    seconds, naming ``what`` it waited for (for servers running as other threads or processes)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on (just now), for a server started as another process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    ``sql``. That this is possible is why `audit verify --checkpoints` exists.

    Under ``pytest --store=postgresql`` the file is the PostgreSQL database it was redirected to
    (support.postgres.Redirect), and the owner of that database does the same there."""
    import sqlite3

    url = postgres.redirected(db)
    if url is not None:
        postgres.tamper(url, *sql)
        return
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
