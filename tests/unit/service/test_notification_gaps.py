"""The notification tailer and the gaps PostgreSQL leaves in the event ids, on a real PostgreSQL server:
a case action whose transaction rolls back after writing its event uses up an id for good, and one
that commits late leaves a gap below ids already committed. The wall clock is injected."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import select
from support.portal import PERMIT

from engine.base.dates import TZ
from engine.ledger import events, outbox, tables
from engine.ledger.db import open_engine, read_only
from engine.ledger.migrations import migrate
from engine.rules.calendar import WorkCalendar
from engine.rules.cases.model import Actor
from engine.rules.clock import ManualClock
from engine.service import notifications
from engine.service.cases import CaseService
from engine.service.notifications import GAP_SECONDS, Tailer
from engine.service.samples import sample_application

WINDOW = Actor("w.housing", "window", "housing")


class _RolledBack(Exception):
    pass


class Wall:
    """The tailer's wall clock, moved by the test."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def svc(pg_url: str, reference: Any) -> Iterator[CaseService]:
    cat = reference.catalogue
    db = open_engine(pg_url)
    migrate(db)
    cal = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
    yield CaseService(cat, db, ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ)), cal)
    db.dispose()


def file(svc: CaseService, n: int) -> str:
    choices = {"contact.notify": "email", "contact.email": f"p{n}@example.org"}
    data, uploads = sample_application(svc.catalogue, svc.catalogue.items[PERMIT], choices)
    return svc.submit(PERMIT, data, uploads, Actor("zhang", "applicant"), f"k{n}").number


def accept(svc: CaseService, number: str) -> None:
    svc.act(number, "accept", WINDOW, {}, svc.load(number)[0].version)


def elsewhere(svc: CaseService) -> CaseService:
    """The same database served by another process: it did not write the case, so its action reads the row
    first and is a transaction of several statements (an action of the process that wrote the case last is
    one statement, its own transaction, with nothing after its event to fail or to wait)."""
    return CaseService(svc.catalogue, svc.db, svc.clock, svc.calendar)


def accept_rolled_back(svc: CaseService, number: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An acceptance that fails after its event is written: the transaction rolls back, the id is gone."""
    real = events.insert_event

    def fails_after(*args: Any) -> int:
        real(*args)
        raise _RolledBack

    monkeypatch.setattr(events, "insert_event", fails_after)
    with pytest.raises(_RolledBack):
        accept(elsewhere(svc), number)
    monkeypatch.setattr(events, "insert_event", real)


def queued(svc: CaseService) -> list[str]:
    o = outbox.outbox
    with read_only(svc.db) as conn:
        return list(conn.execute(select(o.c.address).order_by(o.c.id)).scalars())


def event_ids(svc: CaseService) -> list[int]:
    with read_only(svc.db) as conn:
        return list(conn.execute(select(tables.events.c.id).order_by(tables.events.c.id)).scalars())


def test_several_gaps_cost_one_wait(svc: CaseService, monkeypatch: pytest.MonkeyPatch) -> None:
    numbers = [file(svc, n) for n in range(5)]
    wall = Wall()
    tailer = Tailer(wall)
    notifications.tail(svc.db, svc.catalogue, svc.clock.now(), tailer)  # the cursor passes the filings
    accept(svc, numbers[0])
    for n in numbers[1:]:  # four refused acceptances between five good ones: four gaps
        accept_rolled_back(svc, n, monkeypatch)
        accept(svc, n)
    ids = event_ids(svc)
    assert len([b for a, b in pairwise(ids) if b != a + 1]) == 4
    assert notifications.tail(svc.db, svc.catalogue, svc.clock.now(), tailer) == 1  # up to the first gap
    wall.t += GAP_SECONDS / 2
    assert notifications.tail(svc.db, svc.catalogue, svc.clock.now(), tailer) == 0
    wall.t += GAP_SECONDS / 2
    assert notifications.tail(svc.db, svc.catalogue, svc.clock.now(), tailer) == 4  # every gap waited at once
    assert queued(svc) == [f"p{n}@example.org" for n in range(5)]
    assert tailer.gaps == {}  # nothing left to wait for


def test_a_late_commit_inside_the_wait_is_not_skipped(svc: CaseService, monkeypatch: pytest.MonkeyPatch) -> None:
    late, early, after = file(svc, 0), file(svc, 1), file(svc, 2)
    wall = Wall()
    tailer = Tailer(wall)
    notifications.tail(svc.db, svc.catalogue, svc.clock.now(), tailer)
    written, release = threading.Event(), threading.Event()
    real = events.insert_event

    def holds(*args: Any) -> int:
        event_id = real(*args)
        written.set()
        release.wait(30)  # the transaction stays open with its id taken, until the test releases it
        return event_id

    monkeypatch.setattr(events, "insert_event", holds)
    slow = threading.Thread(target=accept, args=(elsewhere(svc), late))
    slow.start()
    assert written.wait(30)
    monkeypatch.setattr(events, "insert_event", real)
    accept(svc, early)  # commits with a higher id than the open transaction's
    assert notifications.tail(svc.db, svc.catalogue, svc.clock.now(), tailer) == 0
    accept_rolled_back(svc, after, monkeypatch)  # a second gap above the first, seen later
    accept(svc, after)
    wall.t += GAP_SECONDS - 1
    assert notifications.tail(svc.db, svc.catalogue, svc.clock.now(), tailer) == 0
    release.set()
    slow.join(30)
    assert notifications.tail(svc.db, svc.catalogue, svc.clock.now(), tailer) == 1 + 1  # late and early
    assert queued(svc) == ["p0@example.org", "p1@example.org"]
    wall.t += 1  # the second gap was first seen only a second ago
    assert notifications.tail(svc.db, svc.catalogue, svc.clock.now(), tailer) == 0
    wall.t += GAP_SECONDS
    assert notifications.tail(svc.db, svc.catalogue, svc.clock.now(), tailer) == 1
    assert queued(svc) == ["p0@example.org", "p1@example.org", "p2@example.org"]
