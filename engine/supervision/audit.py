"""Verifying the record (``yangguang audit verify``): that it is what was written, and all of it.

* every case's hash chain, and every request or complaint's (engine.ledger.appeals): the first event
  altered, deleted, reordered or inserted (the chain's rules are
  in engine/ledger/events.py's module docstring);
* every case row against the fold of its events under the snapshot its submission pinned: the columns
  the worklists, public pages and rankings read (state, version, decision, deadlines ...) must be what
  the events give, so a row edited behind the application's back is named with the column;
* whole cases deleted: a gap in the case numbers of a day, on SQLite a gap in the events' ids (it gives
  each new row the next one; a PostgreSQL sequence skips the ids of rolled-back inserts, so there a gap
  proves nothing), and the database's own signed checkpoints (engine.ledger.transparency);
* with ``checkpoints`` (saved earlier by an auditor, checked with the center's public key): a consistency
  proof from each to today's record, so nothing before a published checkpoint was changed since.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Connection, Engine

from engine.ledger import transparency
from engine.ledger.appeals import appeal_events, appeals
from engine.ledger.db import iso, loads, read_only
from engine.ledger.events import GENESIS_HASH, EventRecord, event_hash, record_of
from engine.ledger.merkle import MerkleTree, leaf_data
from engine.ledger.snapshots import load_snapshot
from engine.ledger.tables import cases, events
from engine.rules.cases.fold import fold_event
from engine.rules.cases.model import TERMINAL, Case, Event

if TYPE_CHECKING:
    from engine.service.cases import CaseService

__all__ = ["Problem", "VerifyReport", "verify"]


class Problem(NamedTuple):
    case_number: str  # or "events" / "checkpoint" for a problem of the whole record
    seq: int  # the event's seq; an event id for "events", a tree size for "checkpoint"
    kind: str  # altered | broken_link | gap | inserted | head_mismatch | row_mismatch | snapshot | missing_case |
    # missing_events | bad_signature | unknown_key | events_missing | inconsistent
    message: str


WHOLE_RECORD = ("events", "checkpoint")


@dataclass
class VerifyReport:
    cases_checked: int = 0
    events_checked: int = 0
    rows_checked: int = 0  # case rows compared with the fold of their events
    recounted_skipped: int = 0  # rows whose provisional deadlines a newer calendar file would count otherwise
    checkpoints_checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def render(self) -> str:
        """One line per problem (``CASE:SEQ: error[kind]: message``) and a summary line."""
        lines = [f"{p.case_number}:{p.seq}: error[{p.kind}]: {p.message}" for p in self.problems]
        checked = f"{self.cases_checked} cases, {self.events_checked} events checked"
        if self.ok:
            what = ["every hash chain is intact"]
            if self.rows_checked:
                what.append(f"{self.rows_checked} case rows match their events")
            if self.recounted_skipped:
                what.append(f"{self.recounted_skipped} with provisional deadlines not recounted")
            if self.checkpoints_checked:
                what.append(f"{self.checkpoints_checked} checkpoints verified")
            lines.append(f"ok: {checked}; {'; '.join(what)}")
        else:
            broken = {p.case_number for p in self.problems if p.case_number not in WHOLE_RECORD}
            whole = sum(p.case_number in WHOLE_RECORD for p in self.problems)
            parts = [f"{len(broken)} case{'s' if len(broken) != 1 else ''} with a broken record"] if broken else []
            if whole:
                parts.append(f"{whole} problem{'s' if whole != 1 else ''} of the whole record")
            lines.append(f"FAILED: {', '.join(parts)}; {checked}")
        return "\n".join(lines) + "\n"


def _check_case(number: str, version: int, head: str | None, rows: Sequence[Any]) -> Problem | None:
    """The first problem of one case's chain (rows in seq order), or ``None``."""
    seen: dict[str, int] = {GENESIS_HASH: 0}  # hash -> seq of every event walked so far
    prev_hash = GENESIS_HASH
    prev_seq = 0
    for row in rows:
        rec = record_of(row, number)
        if rec.seq == prev_seq:
            return Problem(number, rec.seq, "inserted", f"two events have seq {rec.seq}")
        if rec.seq != prev_seq + 1:
            missing = f"{prev_seq + 1}" if rec.seq == prev_seq + 2 else f"{prev_seq + 1}..{rec.seq - 1}"
            return Problem(number, rec.seq, "gap", f"event(s) {missing} missing before seq {rec.seq}")
        if rec.prev_hash != prev_hash:
            if rec.prev_hash in seen:
                first = seen[rec.prev_hash] + 1
                return Problem(
                    number,
                    first,
                    "inserted",
                    f"seq {rec.seq} links to seq {first - 1}, so event(s) {first}..{rec.seq - 1} were inserted",
                )
            return Problem(
                number,
                rec.seq,
                "broken_link",
                f"prev_hash does not match the hash of seq {prev_seq} (event removed or reordered)",
            )
        try:
            recomputed = event_hash(rec.chained())
        except (TypeError, ValueError, UnicodeError) as exc:
            recomputed = f"unhashable: {exc}"
        if recomputed != rec.hash:
            return Problem(number, rec.seq, "altered", "content does not match its hash (event edited)")
        seen[rec.hash] = rec.seq
        prev_hash, prev_seq = rec.hash, rec.seq
    if prev_seq == 0:
        return Problem(number, 0, "head_mismatch", "the case has no events (its record was removed)")
    if head != prev_hash:
        return Problem(
            number,
            prev_seq,
            "head_mismatch",
            f"the case's last_event_hash is not the hash of its last event (seq {prev_seq}): events after it removed",
        )
    if version != prev_seq:
        return Problem(
            number, prev_seq, "head_mismatch", f"the case is at version {version} but its record has {prev_seq} events"
        )
    return None


# the columns written from the deadlines: counted with the calendar, so a provisional one counted
# before its year's file came is recounted only while the case runs (engine.service.provisional)
_DEADLINE_COLUMNS = frozenset({
    "due_next", "due_completeness", "due_promised", "due_legal", "due_step", "due_delivery", "provisional_from",
    "on_time", "early", "used_days", "promised_days",
})  # fmt: skip


def _plain(value: Any) -> Any:
    """A value as the case row stores it."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


class _Folder:
    """Fold each case's events under its pinned snapshot and compare the row with what they give."""

    def __init__(self, service: CaseService, conn: Connection) -> None:
        self.service, self.conn = service, conn
        self.snapshots: dict[str, dict[str, Any] | str] = {}  # key -> snapshot, or why it cannot be used
        years = service.calendar.years
        self.last_year = years[-1] if years else None

    def snapshot(self, key: str) -> dict[str, Any] | str:
        if key not in self.snapshots:
            snap = load_snapshot(self.conn, key)
            if not isinstance(snap, dict) or not isinstance(snap.get("item"), dict):
                self.snapshots[key] = f"the snapshot {key} its submission pinned is missing"
            # the key is the start of the SHA-256 of the snapshot's canonical JSON (SnapshotStore.store)
            elif hashlib.sha256(_canonical(snap).encode()).hexdigest()[:32] != key:
                self.snapshots[key] = f"the snapshot {key} its submission pinned was altered (its hash differs)"
            else:
                self.snapshots[key] = snap
        return self.snapshots[key]

    def check(self, row: Any, records: Sequence[EventRecord], report: VerifyReport) -> None:
        number, n = str(row.c_number), len(records)
        key = records[0].payload.get("snapshot") if isinstance(records[0].payload, dict) else None
        snap = self.snapshot(str(key)) if key else "its submission names no snapshot"
        if isinstance(snap, str):
            report.problems.append(Problem(number, 1, "snapshot", snap))
            return
        item = snap["item"]
        case = Case(number, item["code"], item["department"])
        try:
            for r in records:
                event = Event(r.action, r.at_datetime, r.actor, r.role, dict(r.payload or {}))
                case = fold_event(case, event, item)  # as the case service folds: the row must be what it wrote
            expected = {
                "state": case.state,
                "version": case.version,
                "item_code": item["code"],
                "department": item["department"],
                "catalogue_version": key,
                "chain_number": case.chain,
                "created_at": records[0].at,
                "updated_at": records[-1].at,
                "data": records[0].payload.get("data", {}),
                **self.service.worklist(case, snap),
            }
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # events no engine could have written
            report.problems.append(Problem(number, n, "row_mismatch", f"its events cannot be folded: {exc!r}"))
            return
        report.rows_checked += 1
        stored_from = row.c_provisional_from
        skip = stored_from is not None and self.last_year is not None and stored_from <= self.last_year
        skip = skip and case.state in TERMINAL  # a running case is recounted by every sweep
        report.recounted_skipped += skip
        for column, want in expected.items():
            if skip and column in _DEADLINE_COLUMNS:
                continue
            have = getattr(row, f"c_{column}")
            if column == "data":
                have = loads(have)
            if have != _plain(want):
                report.problems.append(
                    Problem(number, n, "row_mismatch", f"{column} is {have!r} but its {n} events give {_plain(want)!r}")
                )


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _grouped(rows: Iterator[Any]) -> Iterator[tuple[Any, list[Any]]]:
    case: Any = None
    batch: list[Any] = []
    for row in rows:
        if case is not None and row.c_id != case.c_id:
            yield case, batch
            batch = []
        if case is None or row.c_id != case.c_id:
            case = row
        if row.id is not None:
            batch.append(row)
    if case is not None:
        yield case, batch


def _missing_numbers(conn: Connection, center: str) -> list[Problem]:
    """The service numbers a center's cases CENTER + YYYYMMDD + the day's count from 000001
    (CaseService._file), so a number missing below the day's highest is a case deleted (a day's
    last case deleted shows only against a checkpoint)."""
    pattern = re.compile(rf"^({re.escape(center)}\d{{8}})(\d{{6}})$")
    issued: dict[str, set[int]] = {}
    for (number,) in conn.execute(select(cases.c.number).where(cases.c.number.startswith(center, autoescape=True))):
        m = pattern.match(str(number))
        if m:
            issued.setdefault(m.group(1), set()).add(int(m.group(2)))
    found = []
    for prefix, seen in sorted(issued.items()):
        for first, last in _runs(set(range(1, max(seen) + 1)) - seen):
            what = f"{prefix}{first:06d}" + (f"..{prefix}{last:06d}" if last > first else "")
            found.append(
                Problem(
                    f"{prefix}{first:06d}",
                    0,
                    "missing_case",
                    f"case number{'s' if last > first else ''} {what} were issued (the day goes on to "
                    f"{prefix}{max(seen):06d}) but are not in the database: deleted",
                )
            )
    return found


def _runs(values: set[int]) -> Iterator[tuple[int, int]]:
    """Consecutive runs of ``values`` as (first, last)."""
    run: list[int] = []
    for v in sorted(values):
        if run and v != run[-1] + 1:
            yield run[0], run[-1]
            run = []
        run.append(v)
    if run:
        yield run[0], run[-1]


def _whole_record(
    conn: Connection,
    published: Sequence[transparency.Checkpoint],
    public_keys: Mapping[str, bytes],
    report: VerifyReport,
    center: str | None,
) -> None:
    """Problems of the record as a whole: event ids missing, case numbers missing, checkpoints that fail."""
    ids, hashes = [], []
    for event_id, digest in conn.execute(select(events.c.id, events.c.hash).order_by(events.c.id)):
        ids.append(int(event_id))
        hashes.append(leaf_data(str(digest)))
    if conn.dialect.name == "sqlite":  # each new row gets the highest id + 1; PostgreSQL's sequences skip on rollback
        for first, last in _runs(set(range(1, ids[-1] + 1)) - set(ids) if ids else set()):
            what = f"id {first} is" if first == last else f"ids {first}..{last} are"
            report.problems.append(
                Problem("events", first, "missing_events", f"event {what} missing: events were deleted")
            )
    if center is not None:
        report.problems.extend(_missing_numbers(conn, center))
    tree = MerkleTree(hashes)
    own, listed = transparency.stored(conn)
    for label, checkpoints, keyring in (("stored", own, listed), ("published", published, public_keys)):
        report.checkpoints_checked += len(checkpoints)
        for f in transparency.check(conn, checkpoints, keyring, tree):
            where = "the database's own checkpoint" if label == "stored" else "the published checkpoint"
            report.problems.append(Problem("checkpoint", f.tree_size, f.kind, f"{where}: {f.message}"))


def _verify_appeals(conn: Connection, report: VerifyReport) -> None:
    """Every request or complaint's hash chain (engine.ledger.appeals: the case record's technique), counted
    with the cases: a problem is named with the appeal's number (none before migration 28)."""
    if not inspect(conn).has_table(appeals.name):
        return
    e = appeal_events
    event_columns = [c.label("case_id") if c.name == "appeal_id" else c for c in e.columns]
    query = (
        select(*[c.label(f"c_{c.name}") for c in appeals.columns], *event_columns)
        .select_from(appeals.outerjoin(e, e.c.appeal_id == appeals.c.id))
        .order_by(appeals.c.id, e.c.seq, e.c.id)
    )
    for appeal, rows in _grouped(iter(conn.execute(query))):
        report.cases_checked += 1
        report.events_checked += len(rows)
        problem = _check_case(str(appeal.c_number), int(appeal.c_version), appeal.c_last_event_hash, rows)
        if problem is not None:
            report.problems.append(problem)


def verify(
    engine: Engine,
    case_number: str | None = None,
    *,
    service: CaseService | None = None,
    published: Sequence[transparency.Checkpoint] = (),
    public_keys: Mapping[str, bytes] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> VerifyReport:
    """Walk every case's events (or one case's) in seq order and report the first problem of each case's chain.

    With ``service`` (its calendar and center settings count the deadlines) each case row whose chain is
    intact is also compared with the fold of its events. For the whole record (no ``case_number``): event
    ids missing, the center's case numbers missing (with ``service``), the database's own checkpoints,
    and ``published`` ones (checked with ``public_keys``, key id -> raw Ed25519 key), each against today's
    events. ``progress(done, total)`` is called after each case (``yangguang audit verify`` draws a bar).
    """
    report = VerifyReport()
    query = (
        select(*[c.label(f"c_{c.name}") for c in cases.columns], *events.columns)
        .select_from(cases.outerjoin(events, events.c.case_id == cases.c.id))
        .order_by(cases.c.id, events.c.seq, events.c.id)
    )
    if case_number is not None:
        query = query.where(cases.c.number == case_number)
    with read_only(engine) as conn:
        folder = _Folder(service, conn) if service is not None else None
        total = 0
        if progress is not None:  # the cases to walk, counted only when a bar will show them
            counted = select(func.count()).select_from(cases)
            if case_number is not None:
                counted = counted.where(cases.c.number == case_number)
            total = int(conn.execute(counted).scalar_one())
        result = conn.execution_options(stream_results=True).execute(query)
        for case, rows in _grouped(iter(result)):
            report.cases_checked += 1
            report.events_checked += len(rows)
            number = str(case.c_number)
            problem = _check_case(number, int(case.c_version), case.c_last_event_hash, rows)
            if problem is not None:
                report.problems.append(problem)
            elif folder is not None:
                folder.check(case, [record_of(r, number) for r in rows], report)
            if progress is not None:
                progress(report.cases_checked, total)
        if case_number is None:
            _verify_appeals(conn, report)
            center = None if service is None else str((service.catalogue.center or {}).get("id", "YG")).upper()
            _whole_record(conn, published, public_keys or {}, report, center)
    return report
