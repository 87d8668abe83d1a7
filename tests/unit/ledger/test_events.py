"""The hash-chained case record (engine/ledger/events.py): appending, tampering caught by verify, concurrent
writers, a writer killed mid-write."""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from ledger_support import CATV, T0, new_case, step
from sqlalchemy import select
from sqlalchemy.engine import Engine
from support import tamper

from engine.ledger import events as ledger_events
from engine.ledger import tables as ledger_tables
from engine.ledger.cases import get_case
from engine.ledger.db import dumps, open_engine, read_only
from engine.ledger.errors import CaseExists, VersionConflict
from engine.ledger.events import GENESIS_HASH, append_event, canonical, event_hash, events_of
from engine.ledger.migrations import migrate
from engine.supervision import audit

REPO = Path(__file__).resolve().parents[3]


def raw(db: Path, *sql: str) -> None:
    """Tamper behind the application's back, as someone with the file would (dropping the append-only
    triggers first, tests/support.py)."""
    tamper(db, *sql)


def only_problem(engine: Engine) -> audit.Problem:
    report = audit.verify(engine)
    assert not report.ok
    assert len(report.problems) == 1, report.render()
    return report.problems[0]


# -- the happy path -----------------------------------------------------------------------


def test_append_and_verify(engine: Engine) -> None:
    case_id = new_case(engine, events=4)
    new_case(engine, "QQ20261122000002", events=2)
    with engine.connect() as conn:
        evs = events_of(conn, "QQ20261122000001")
        case = get_case(conn, "QQ20261122000001")
    assert [e.seq for e in evs] == [1, 2, 3, 4]
    assert evs[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(evs))
    assert evs[0].action == "submit" and evs[1].payload == {"note": "第1步", "n": 1}
    assert evs[0].at == "2026-11-22T09:00:00.000000+00:00"
    assert case is not None
    assert case["id"] == case_id
    assert case["version"] == 4 and case["state"] == "step-3" and case["current_step"] == "s3"
    assert case["last_event_hash"] == evs[-1].hash
    assert case["data"]["applicant"]["name"] == "张三"

    report = audit.verify(engine)
    assert report.ok, report.render()
    assert (report.cases_checked, report.events_checked) == (2, 6)
    assert report.render().startswith("ok: 2 cases, 6 events checked")


def test_hash_is_sha256_of_prev_and_canonical_json() -> None:
    import hashlib
    import json

    ev = {
        "case_number": "QQ1",
        "seq": 1,
        "at": "2026-11-22T09:00:00.000000+00:00",
        "actor": "张三",
        "role": "applicant",
        "action": "submit",
        "payload": {"b": 1, "a": [1, "二"]},
        "catalogue_version": CATV,
        "prev_hash": GENESIS_HASH,
        "ignored": "not chained",
    }
    body = canonical(ev)
    expected = {k: v for k, v in ev.items() if k != "ignored"}
    assert body == json.dumps(expected, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert "张三".encode() in body
    assert event_hash(ev) == hashlib.sha256(GENESIS_HASH.encode() + body).hexdigest()


def test_naive_time_and_protected_columns_are_refused(engine: Engine) -> None:
    case_id = new_case(engine)
    with pytest.raises(ValueError, match="timezone"), engine.begin() as conn:
        append_event(
            conn,
            case_id=case_id,
            case_number="QQ20261122000001",
            expected_version=1,
            at=datetime(2026, 11, 22, 9, 0),
            actor="x",
            role="window",
            action="accept",
            payload={},
            catalogue_version=CATV,
            state_update={},
        )
    with pytest.raises(ValueError, match="version"), engine.begin() as conn:
        append_event(
            conn,
            case_id=case_id,
            case_number="QQ20261122000001",
            expected_version=1,
            at=T0,
            actor="x",
            role="window",
            action="accept",
            payload={},
            catalogue_version=CATV,
            state_update={"version": 9},
        )
    with pytest.raises(CaseExists):
        new_case(engine)
    assert audit.verify(engine).ok


def test_columns_already_holding_their_value_are_not_written_again(engine: Engine) -> None:
    """``current`` is the row as the writer read it in the same transaction: a column equal there is left
    alone (so its indexes are not touched), every other column is written, and the event is appended."""
    case_id = new_case(engine)
    with engine.begin() as conn:
        append_event(
            conn,
            case_id=case_id,
            case_number="QQ20261122000001",
            expected_version=1,
            at=T0,
            actor="clerk-li",
            role="window",
            action="accept",
            payload={},
            catalogue_version=CATV,
            # the writer believes decision is already "approve" (it is NULL): so it is not written
            state_update={"state": "accepted", "decision": "approve", "current_step": "s1"},
            current={"state": "submitted", "decision": "approve", "current_step": None},
        )
    with read_only(engine) as conn:
        case = get_case(conn, "QQ20261122000001")
    assert case is not None
    assert (case["state"], case["current_step"], case["decision"], case["version"]) == ("accepted", "s1", None, 2)
    assert audit.verify(engine).ok


# -- tampering ------------------------------------------------------------------------------


def test_edited_payload_is_altered(engine: Engine, db: Path) -> None:
    case_id = new_case(engine, events=4)
    raw(db, f'UPDATE events SET payload = \'{{"n":2,"note":"改过"}}\' WHERE case_id = {case_id} AND seq = 3')
    assert only_problem(engine)[:3] == ("QQ20261122000001", 3, "altered")


def test_deleted_middle_event_is_a_gap(engine: Engine, db: Path) -> None:
    case_id = new_case(engine, events=5)
    raw(db, f"DELETE FROM events WHERE case_id = {case_id} AND seq = 3")
    report = audit.verify(engine)
    problem = report.problems[0]
    assert problem[:3] == ("QQ20261122000001", 4, "gap")
    assert "3 missing" in problem.message
    # and the events table's ids (1..5, one per event) now lack 3: on SQLite that proves a deletion;
    # PostgreSQL's sequences skip ids a rolled-back insert took, so there a gap proves nothing
    missing = [("events", 3, "missing_events", "event id 3 is missing: events were deleted")]
    assert report.problems[1:] == (missing if engine.dialect.name == "sqlite" else [])


def test_deleted_last_event_is_a_head_mismatch(engine: Engine, db: Path) -> None:
    case_id = new_case(engine, events=4)
    raw(db, f"DELETE FROM events WHERE case_id = {case_id} AND seq = 4")
    assert only_problem(engine)[:3] == ("QQ20261122000001", 3, "head_mismatch")


def test_all_events_deleted(engine: Engine, db: Path) -> None:
    case_id = new_case(engine, events=2)
    raw(db, f"DELETE FROM events WHERE case_id = {case_id}")
    assert only_problem(engine)[:3] == ("QQ20261122000001", 0, "head_mismatch")


def test_swapped_events_are_a_broken_link(engine: Engine, db: Path) -> None:
    case_id = new_case(engine, events=5)
    where = f"case_id = {case_id}"
    raw(
        db,
        f"UPDATE events SET seq = -1 WHERE {where} AND seq = 2",
        f"UPDATE events SET seq = 2 WHERE {where} AND seq = 3",
        f"UPDATE events SET seq = 3 WHERE {where} AND seq = -1",
    )
    assert only_problem(engine)[:3] == ("QQ20261122000001", 2, "broken_link")


def test_forged_event_inserted_in_the_middle(engine: Engine, db: Path) -> None:
    """The forger shifts later events and inserts a correctly hashed event at seq 3."""
    case_id = new_case(engine, events=4)
    with engine.connect() as conn:
        evs = events_of(conn, "QQ20261122000001")
    forged = {**evs[2].chained(), "action": "approve", "payload": {"forged": True}, "prev_hash": evs[1].hash}
    digest = event_hash(forged)
    raw(
        db,
        *[f"UPDATE events SET seq = seq + 1 WHERE case_id = {case_id} AND seq = {s}" for s in (4, 3)],
        "INSERT INTO events (case_id, seq, at, actor, role, action, payload, catalogue_version, prev_hash, hash) "
        f"VALUES ({case_id}, 3, '{forged['at']}', '{forged['actor']}', 'window', 'approve', '{{\"forged\":true}}', "
        f"'{CATV}', '{evs[1].hash}', '{digest}')",
    )
    problem = only_problem(engine)
    assert problem[:3] == ("QQ20261122000001", 3, "inserted")


def test_forged_event_appended_at_the_end(engine: Engine, db: Path) -> None:
    """A well-formed event added after the head is caught by cases.last_event_hash."""
    case_id = new_case(engine, events=3)
    with engine.connect() as conn:
        last = events_of(conn, "QQ20261122000001")[-1]
    forged = {**last.chained(), "seq": 4, "action": "approve", "prev_hash": last.hash}
    raw(
        db,
        "INSERT INTO events (case_id, seq, at, actor, role, action, payload, catalogue_version, prev_hash, hash) "
        f"VALUES ({case_id}, 4, '{last.at}', '{last.actor}', 'window', 'approve', '{dumps(last.payload)}', "
        f"'{CATV}', '{last.hash}', '{event_hash(forged)}')",
    )
    assert only_problem(engine)[:3] == ("QQ20261122000001", 4, "head_mismatch")


def test_duplicate_seq_is_inserted(tmp_path: Path) -> None:
    """Without the unique constraint (a rebuilt table) a second event with the same seq is reported."""
    eng = open_engine(tmp_path / "dup.db")
    migrate(eng)
    case_id = new_case(eng, events=3)
    db = tmp_path / "dup.db"
    raw(
        db,
        "CREATE TABLE events2 AS SELECT * FROM events",
        "DROP TABLE events",
        "ALTER TABLE events2 RENAME TO events",
        "INSERT INTO events SELECT (SELECT max(id) + 1 FROM events), case_id, seq, at, actor, role, 'approve',"
        f" payload, catalogue_version, prev_hash, hash FROM events WHERE case_id = {case_id} AND seq = 2",
    )
    assert only_problem(eng)[:3] == ("QQ20261122000001", 2, "inserted")
    eng.dispose()


def test_verify_reports_one_problem_per_case_and_renders(engine: Engine, db: Path) -> None:
    a = new_case(engine, "QQ20261122000001", events=4)
    b = new_case(engine, "QQ20261122000002", events=3)
    new_case(engine, "QQ20261122000003", events=2)
    raw(
        db,
        f"UPDATE events SET actor = 'someone' WHERE case_id = {a} AND seq >= 2",
        f"DELETE FROM events WHERE case_id = {b} AND seq = 3",
    )
    report = audit.verify(engine)
    # b's third event had id 7 (a has 4 events, b 3): a missing id is a problem on SQLite only (see above)
    whole = [("events", 7, "missing_events")] if engine.dialect.name == "sqlite" else []
    assert [p[:3] for p in report.problems] == [
        ("QQ20261122000001", 2, "altered"),
        ("QQ20261122000002", 2, "head_mismatch"),
        *whole,
    ]
    text = report.render()
    assert "QQ20261122000001:2: error[altered]:" in text
    assert text.splitlines()[-1].startswith("FAILED: 2 cases with a broken record")
    assert audit.verify(engine, "QQ20261122000003").ok


# -- concurrency ---------------------------------------------------------------------------


def test_stale_version_is_a_conflict(engine: Engine) -> None:
    case_id = new_case(engine)
    with read_only(engine) as reader_a, read_only(engine) as reader_b:
        seen_a = reader_a.execute(select(ledger_tables.cases.c.version)).scalar_one()
        seen_b = reader_b.execute(select(ledger_tables.cases.c.version)).scalar_one()
    assert seen_a == seen_b == 1
    step(engine, case_id, "QQ20261122000001", version=seen_a, n=1)
    with pytest.raises(VersionConflict) as info:
        step(engine, case_id, "QQ20261122000001", version=seen_b, n=1)
    assert (info.value.case_number, info.value.expected, info.value.actual) == ("QQ20261122000001", 1, 2)
    with engine.connect() as conn:
        assert len(events_of(conn, "QQ20261122000001")) == 2
    assert audit.verify(engine).ok


def test_two_threads_exactly_one_wins(engine: Engine) -> None:
    case_id = new_case(engine)
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []

    def writer(n: int) -> None:
        barrier.wait()
        try:
            outcomes.append(step(engine, case_id, "QQ20261122000001", version=1, n=n))
        except VersionConflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(type(o).__name__ for o in outcomes) == ["EventRecord", "VersionConflict"]
    with engine.connect() as conn:
        case = get_case(conn, "QQ20261122000001")
    assert case is not None and case["version"] == 2
    assert audit.verify(engine).ok


def test_update_guard_catches_a_writer_the_read_missed(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the version read were stale (as under PostgreSQL READ COMMITTED), the guarded UPDATE still refuses."""
    case_id = new_case(engine)
    step(engine, case_id, "QQ20261122000001", version=1, n=1)
    real = ledger_events._case_row
    calls: list[int] = []

    class Stale:
        number = "QQ20261122000001"
        version = 1
        last_event_hash = "stale"

    def stale_then_real(conn: Any, cid: int) -> Any:
        calls.append(cid)
        return Stale() if len(calls) == 1 else real(conn, cid)

    monkeypatch.setattr(ledger_events, "_case_row", stale_then_real)
    with pytest.raises(VersionConflict) as info:
        step(engine, case_id, "QQ20261122000001", version=1, n=2)
    assert (info.value.expected, info.value.actual) == (1, 2)
    monkeypatch.undo()
    assert audit.verify(engine).ok


def test_tables_compile_for_postgresql() -> None:
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateTable

    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    for table in ledger_tables.metadata.sorted_tables:
        CreateTable(table).compile(dialect=dialect)
    update_sql = str(
        ledger_events._GUARDED_UPDATE.compile(
            dialect=dialect, column_keys=["state", "version", "_case_id", "_expected_version"]
        )
    )
    assert update_sql.startswith("UPDATE cases SET state=%(state)s")
    assert "WHERE cases.id = %(_case_id)s" in update_sql
    assert "AND cases.version = %(_expected_version)s" in update_sql
    assert "last_event_hash" in str(ledger_events._SELECT_CASE.compile(dialect=dialect))


# -- crash safety --------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from sqlalchemy import select
    from engine.ledger.cases import create_case
    from engine.ledger.db import open_engine
    from engine.ledger.events import append_event
    from engine.ledger.migrations import migrate
    from engine.ledger.tables import cases

    engine = open_engine(sys.argv[1])
    migrate(engine)
    at = datetime.now(UTC)
    with engine.begin() as conn:
        case_id, _ = create_case(
            conn, number="QQ20261122000009", query_code=None, item_code="x", catalogue_version="v",
            state="submitted", data={}, at=at, actor="a", role="applicant", payload={}, department="psb",
        )
    print("ready", flush=True)
    n = 0
    while True:
        n += 1
        with engine.begin() as conn:
            version = conn.execute(select(cases.c.version).where(cases.c.id == case_id)).scalar_one()
            append_event(
                conn, case_id=case_id, case_number="QQ20261122000009", expected_version=version,
                at=datetime.now(UTC), actor="clerk", role="window", action="note",
                payload={"n": n, "blob": "办" * 2000}, catalogue_version="v",
                state_update={"state": f"s{n}", "data": {"n": n}},
            )
    """
)


def test_sigkill_mid_write_leaves_a_consistent_record(db: Path) -> None:
    url = open_engine(db).url.render_as_string(hide_password=False)  # the file, or where pytest redirected it
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, url],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "ready", proc.stderr.read() if proc.stderr else ""
        time.sleep(0.5)
        assert proc.poll() is None, "the writer stopped on its own"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    eng = open_engine(db)
    try:
        report = audit.verify(eng)
        assert report.ok, report.render()
        with eng.connect() as conn:
            case = get_case(conn, "QQ20261122000009")
            evs = events_of(conn, "QQ20261122000009")
        assert case is not None
        assert len(evs) > 5
        assert case["version"] == len(evs) == report.events_checked
        assert case["data"] == ({"n": len(evs) - 1} if len(evs) > 1 else {})
        assert case["state"] == f"s{len(evs) - 1}"
    finally:
        eng.dispose()


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"data": {"申请人": {"姓名": "张三", "note": 'a "quoted" \\ "payload":0,"prev_hash" text'}}},
        {"amount_fen": 120, "lines": [{"x": 1.5, "y": None, "z": True}], "prev_hash": "not the chain's"},
    ],
)
def test_next_link_hashes_exactly_the_canonical_encoding(payload: dict[str, Any]) -> None:
    """An event's payload is encoded once and spliced into the canonical text: the hash is still
    sha256(prev_hash + canonical(event)), whatever the payload holds (quotes, keys named like the chain's)."""
    at = datetime.fromisoformat("2026-11-22T09:00:00+00:00")
    link = ledger_events.next_link("QQ1", 2, at, "张三", "window", "accept", payload, CATV, "f" * 64)
    assert link.hash == event_hash(link.chained)
    assert link.stored == dumps(payload)


@pytest.mark.parametrize(
    ("number", "actor", "role", "action", "version"),
    [
        ("QQ1", "张三", "window", "accept", CATV),
        ('Q"1\\', 'a "quoted"\n\u0000 name', "rôle\t", "\u2028act", "v\u00e9"),
    ],
)
def test_next_link_hashes_the_canonical_encoding_of_any_text(
    number: str, actor: str, role: str, action: str, version: str
) -> None:
    """The chained fields are written one by one in key order: byte for byte what canonical() encodes,
    whatever characters the texts hold (quotes, backslashes, control and non-ASCII characters)."""
    at = datetime.fromisoformat("2026-11-22T09:00:00+00:00")
    link = ledger_events.next_link(number, 12, at, actor, role, action, {"k": "v"}, version, "e" * 64)
    assert link.hash == event_hash(link.chained)
