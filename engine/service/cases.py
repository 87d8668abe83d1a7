"""The case service: one transaction per action over the record (engine.ledger), the rules
(engine.rules.cases), the statutory clock (engine.rules.clock), forms (engine.rules.forms) and fees.

Every case pins a snapshot of the documents it depends on (its item, the form sections
the item uses, its fee schedule) under the catalogue version it was submitted with, so
editing or deleting the YAML later changes nothing for a running case.
"""

from __future__ import annotations

import json
import logging
import math
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, NamedTuple

from sqlalchemy import Engine, bindparam, insert, literal_column, null, select, union_all

from engine.base import stated
from engine.base.i18n import N_, gettext
from engine.catalogue.model import Catalogue, Document
from engine.catalogue.pinned import pinned_view
from engine.ledger import tables
from engine.ledger.cases import create_case, record_case_staff
from engine.ledger.db import iso, lock, read_only, write_transaction
from engine.ledger.errors import VersionConflict
from engine.ledger.events import append_event, case_values, events_of
from engine.ledger.fastpath import fast_execute
from engine.ledger.idempotency import insert_idempotency
from engine.rules import clock
from engine.rules.calendar import CalendarYearMissing, WorkCalendar
from engine.rules.cases.actions import decide
from engine.rules.cases.fold import fold_event
from engine.rules.cases.model import (
    BAD_RATINGS,
    TERMINAL,
    ActionRefused,
    Actor,
    Case,
    Event,
    FeeMismatch,
    Timing,
)
from engine.rules.fees.assessment import assess
from engine.rules.forms import FieldError, money_units, validate
from engine.rules.notice import counter
from engine.service import drafts, filing_limits, provisional, query_codes
from engine.service.case_columns import WRITTEN, columns
from engine.service.deadlines import DeadlineClock, Deadlines, clock_stopped
from engine.service.snapshot_store import SnapshotMissing, SnapshotStore

SYSTEM = Actor("system", "system")
log = logging.getLogger("yangguang.service")
# built once: composing a SQLAlchemy expression per action costs more than running it
_CASE_ROW = select(
    tables.cases.c.id,
    tables.cases.c.number,
    tables.cases.c.version,
    tables.cases.c.catalogue_version,
    tables.cases.c.last_event_hash,
).where(tables.cases.c.number == bindparam("number"))
# the same row read for a write: with the worklist columns as stored, so an action writes only those
# it changes, and locked until commit on PostgreSQL (FOR UPDATE; SQLite's BEGIN IMMEDIATE already is)
_CASE_ROW_FOR_WRITE = (
    select(*_CASE_ROW.selected_columns, *(tables.cases.c[name] for name in WRITTEN))
    .where(tables.cases.c.number == bindparam("number"))
    .with_for_update()
)
_INSERT_FOLLOWUP = insert(tables.followups)
_C = tables.cases.c
#: what a filing reads under its locks, in one prebuilt statement (one round trip): the case its idempotency key
#: filed (kind 0, a repeat answers with it; no row when none), and the last case number under its prefix
#: (kind 1, always one row: NULL when the prefix has none; numbers are fixed-width, so text order is number order)
_FILED_AND_LAST = union_all(
    select(literal_column("0").label("kind"), _C.number, _C.query_code, _C.version)
    .select_from(tables.idempotency.join(tables.cases, _C.number == tables.idempotency.c.case_number))
    .where(tables.idempotency.c.key == bindparam("key")),
    select(
        literal_column("1"),
        select(_C.number)
        .where(_C.number >= bindparam("low"), _C.number < bindparam("high"))
        .order_by(_C.number.desc())
        .limit(1)
        .scalar_subquery(),
        null(),
        null(),
    ),
)
CASE_CACHE_SIZE = 10_000


class CaseRow(NamedTuple):
    id: int
    number: str
    version: int
    catalogue_version: str
    last_event_hash: str | None


class SubmissionInvalid(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} field error(s)")
        self.errors = errors


class UnknownCase(LookupError):
    pass


class ItemUnavailable(Exception):
    """The item cannot be applied for: suspended or cancelled (its ``state``), or its published guide does
    not list its materials (``materials: not_stated``), so no application could be complete. The message
    says why and where to turn instead, in the language of the request (as the portal's page does)."""

    WORDS: ClassVar[dict[str, str]] = {
        "suspended": N_("本事项已暂停办理，暂不受理申请。"),
        "cancelled": N_("本事项已取消，不再受理申请。"),
        "materials": N_("本事项公布的办事指南未说明申请材料，不能在线申请，请到窗口办理或先打电话咨询。"),
    }

    def __init__(self, code: str, reason: str, place: str, phone: str) -> None:
        self.code, self.reason = code, reason
        self.where = gettext("办理地点：{place}").format(place=place)
        if phone:
            self.where += gettext("；咨询电话：{phone}").format(phone=phone)
        super().__init__(gettext(self.WORDS[reason]) + self.where)


@dataclass(frozen=True, slots=True)
class Submitted:
    number: str
    query_code: str
    version: int
    created: bool  # False when the idempotency key named an earlier submission


class CaseService:
    def __init__(self, catalogue: Catalogue, db: Engine, clock_: clock.Clock, calendar: WorkCalendar) -> None:
        self.catalogue = catalogue
        self.db = db
        self.clock = clock_
        self.calendar = calendar
        self.snapshots = SnapshotStore(catalogue, clock_)
        #: id(snapshot) -> (that snapshot, its money fields' units): derived once, snapshots never change
        self._units: dict[int, tuple[Mapping[str, Any], dict[str, str]]] = {}
        #: number -> (case id, state folded from its events); checked against the stored version on use
        self._cases: OrderedDict[str, tuple[int, Case]] = OrderedDict()
        #: number -> (row, worklist columns) as this process's last write left them (see _head)
        self._heads: dict[str, tuple[CaseRow, dict[str, Any]]] = {}
        supervision = (catalogue.center or {}).get("supervision", {})
        self.completeness_days = int(supervision.get("completeness_working_days", 5))
        self.followup_days = int(supervision.get("bad_rating_followup_working_days", 15))
        self.deadline_clock = DeadlineClock(calendar, self.completeness_days)

    def _now(self) -> datetime:
        """The clock's time as the record stores it (UTC, microseconds), so the state kept in
        memory is exactly the state folded again from the events."""
        return datetime.fromisoformat(iso(self.clock.now()))

    # -- snapshots (engine.service.snapshot_store) --------------------------------------------
    def pin(self, conn: Any, item_code: str) -> str:
        """Pin a live item's snapshot inside ``conn``'s transaction; its key, for ``submit(pinned=…)``."""
        return self.snapshots.store(conn, self.catalogue.items[item_code])

    def pinned_view(self, key: str) -> tuple[Catalogue, Document]:
        """A pinned snapshot as a one-item catalogue (engine.catalogue.pinned) and that item."""
        return pinned_view(self.catalogue, key, self.snapshot(key))

    def snapshot(self, key: str) -> dict[str, Any]:
        """A pinned snapshot by key; immutable and named by its hash, so kept in memory once read."""
        if key not in self.snapshots.known:
            with read_only(self.db) as conn:
                return self._snapshot_in(conn, key)
        return self.snapshots.known[key]

    def _snapshot_in(self, conn: Any, key: str) -> dict[str, Any]:
        try:
            return self.snapshots.read_in(conn, key)
        except SnapshotMissing as exc:
            raise UnknownCase(str(exc)) from exc

    # -- submission --------------------------------------------------------------------------
    def ensure_available(self, item_code: str) -> None:
        """ItemUnavailable when the live item cannot be applied for (engine.base.stated.unavailable)."""
        doc = self.catalogue.items.get(item_code)
        if doc is None:
            return
        data = self.catalogue.data(doc)
        why = stated.unavailable(data)
        if why is not None:
            raise ItemUnavailable(item_code, why, *counter(self.catalogue, data))

    def submit(
        self,
        item_code: str,
        data: Mapping[str, Any],
        uploads: Mapping[str, list[str]],
        actor: Actor,
        idempotency_key: str,
        chain: str | None = None,
        pinned: str | None = None,
        filer: filing_limits.Filer | None = None,
    ) -> Submitted:
        """File a case for ``item_code``. ``pinned`` (a snapshot key from ``pin``) files it under the
        rules pinned then instead of the live catalogue's: a chain's later stage, applied for earlier.
        ``filer``: the applicant's address, whose filing limit this filing counts against in its own
        transaction (engine.service.filing_limits; None for staff and for a chain's member cases)."""
        view: Catalogue = self.catalogue
        if pinned is not None:
            view, doc = self.pinned_view(pinned)
        else:
            found = self.catalogue.items.get(item_code)
            if found is None:
                raise UnknownCase(f"no item with code {item_code!r}")
            doc = found
            self.ensure_available(item_code)
        normalised, errors = validate(view, doc, data, uploads)
        if errors:
            raise SubmissionInvalid(errors)
        now = self._now()
        # Staff filings and applications without a draft or a filing limit run straight on the DB-API
        # connection (engine.ledger.db.write_transaction, as actions do): every statement of theirs is
        # prebuilt. A draft's mark and an address's limit still use SQLAlchemy statements: engine.begin().
        plain = filer is None and not idempotency_key.removeprefix("chain:").startswith(drafts.key(""))
        with write_transaction(self.db) if plain else self.db.begin() as conn:
            filed = self._file(
                conn, item_code, doc, normalised, uploads, actor, idempotency_key, now, chain, pinned, filer
            )
        if filed[1] is not None:
            case_id, case, head = filed[1]
            self._remember(filed[0].number, case_id, case)
            self._keep_head(filed[0].number, head)  # the first action needs no read of the row just filed
        return filed[0]

    def _file(
        self,
        conn: Any,
        item_code: str,
        doc: Document,
        normalised: dict[str, Any],
        uploads: Mapping[str, list[str]],
        actor: Actor,
        idempotency_key: str,
        now: datetime,
        chain: str | None,
        pinned: str | None,
        filer: filing_limits.Filer | None,
    ) -> tuple[Submitted, tuple[int, Case, tuple[CaseRow, dict[str, Any]]] | None]:
        """The filing's write transaction on ``conn``: what ``submit`` answers, and the new case's id, state
        and row head for the caches (None when the idempotency key named an earlier submission)."""
        prefix = self._number_prefix(now)
        # PostgreSQL: filings with the same key, address or number prefix (center and day) queue here
        lock(conn, *filing_limits.locks(idempotency_key, filer, prefix))
        read = {int(r[0]): r[1:] for r in fast_execute(conn, _FILED_AND_LAST, {"key": idempotency_key,
                "low": prefix, "high": prefix + "~"}).rows}  # fmt: skip
        if 0 in read:  # a double click or a retried request: the case that exists
            number, query_code, version = read[0]
            return Submitted(str(number), query_code, int(version), created=False), None
        filing_limits.admit(conn, filer, now)  # TooMany past the address's limit: nothing written
        snap_key = pinned if pinned is not None else self.snapshots.store(conn, doc)
        snap = self._snapshot_in(conn, snap_key)
        last = read[1][0]
        number = f"{prefix}{int(last[len(prefix) :]) + 1 if last else 1:06d}"
        drafts.mark_filed(conn, idempotency_key, number, now)  # Filed: the draft filed a chain application
        query_code = query_codes.new()  # unguessable; see engine.service.query_codes
        payload = _plain(
            {
                "data": normalised,
                "uploads": {k: list(v) for k, v in uploads.items()},
                "snapshot": snap_key,
                "proxy": actor.role != "applicant",
                **({"chain": chain} if chain else {}),
            }
        )
        case = fold_event(
            Case(number, item_code, doc.data["department"]),
            Event("submit", now, actor.username, actor.role, payload),
            snap["item"],
        )
        worklist = {**self.worklist(case, snap), **({"chain_number": chain} if chain else {})}
        case_id, first = create_case(
            conn,
            number=number,
            query_code=query_code,
            item_code=item_code,
            catalogue_version=snap_key,
            state=case.state,
            data=normalised,
            at=now,
            actor=actor.username,
            role=actor.role,
            payload=payload,
            department=doc.data["department"],
            columns=worklist,
            plain=True,  # made plain above
        )
        insert_idempotency(conn, idempotency_key, number, now)  # the key was looked up under its lock above
        stored = case_values({"state": case.state, **worklist}, "columns")
        stored["paused"] = bool(stored.get("paused", False))  # as create_case stores it
        head = CaseRow(case_id, number, 1, snap_key, first.hash), {k: stored[k] for k in WRITTEN if k in stored}
        return Submitted(number, query_code, 1, created=True), (case_id, case, head)

    def _number_prefix(self, now: datetime) -> str:
        """Case numbers filed at ``now`` start with this: the center's id and the local day."""
        day = clock.local_date(now).strftime("%Y%m%d")
        return f"{self.catalogue.center['id'].upper() if self.catalogue.center else 'YG'}{day}"

    # -- reading -----------------------------------------------------------------------------
    def load(self, number: str, fresh: bool = False) -> tuple[Case, dict[str, Any]]:
        """The case rebuilt from its events (or the copy folded last time, while its version is
        unchanged; ``fresh=True`` always rebuilds), and the snapshot it runs under."""
        with read_only(self.db) as conn:
            row = self._row(conn, number)
            return self._state(conn, row, fresh)

    @staticmethod
    def _row(conn: Any, number: str) -> CaseRow:
        rows = fast_execute(conn, _CASE_ROW, {"number": number}).rows
        if not rows:
            raise UnknownCase(f"no case with number {number!r}")
        return CaseRow(*rows[0])

    @staticmethod
    def _row_for_write(conn: Any, number: str) -> tuple[CaseRow, dict[str, Any]]:
        """The case row in a write transaction, and its worklist columns as stored."""
        rows = fast_execute(conn, _CASE_ROW_FOR_WRITE, {"number": number}).rows
        if not rows:
            raise UnknownCase(f"no case with number {number!r}")
        width = len(CaseRow._fields)
        return CaseRow(*rows[0][:width]), dict(zip(WRITTEN, rows[0][width:], strict=True))

    def _state(self, conn: Any, row: Any, fresh: bool = False) -> tuple[Case, dict[str, Any]]:
        snap = self._snapshot_in(conn, row.catalogue_version)
        cached = self._cases.get(row.number)
        if cached is not None and cached[1].version == row.version and not fresh:
            self._cases.move_to_end(row.number)
            return cached[1], snap
        item = snap["item"]
        case = Case(row.number, item["code"], item["department"])
        for r in events_of(conn, row.number):
            case = fold_event(case, Event(r.action, r.at_datetime, r.actor, r.role, dict(r.payload)), item)
        self._remember(row.number, int(row.id), case)
        return case, snap

    def _remember(self, number: str, case_id: int, case: Case) -> None:
        self._cases[number] = (case_id, case)
        self._cases.move_to_end(number)
        while len(self._cases) > CASE_CACHE_SIZE:
            self._cases.popitem(last=False)

    # -- deadlines and the query row (engine.service.deadlines, engine.service.case_columns) -------
    def deadlines(self, case: Case, snap: Mapping[str, Any]) -> Deadlines:
        return self.deadline_clock.deadlines(case, snap["item"])

    def timing(self, case: Case, snap: Mapping[str, Any]) -> Timing:
        """The law's clocks ``decide`` needs: the Art. 32 period and the Art. 42 legal limit."""
        return self.deadline_clock.timing(case, snap["item"])

    @staticmethod
    def clock_stopped(case: Case, snap: Mapping[str, Any]) -> bool:
        """A supplement or a special procedure that does not count toward the limit is running."""
        return clock_stopped(case, snap["item"])

    def worklist(self, case: Case, snap: Mapping[str, Any]) -> dict[str, Any]:
        """The query-table columns for ``case``: what the worklists and supervision read
        without folding events (state, open steps and their roles, every deadline)."""
        return columns(case, snap["item"], self.deadlines(case, snap), self.calendar)

    # -- acting ------------------------------------------------------------------------------
    def act(self, number: str, action: str, actor: Actor, payload: Mapping[str, Any], expected_version: int) -> Case:
        """Check and record one action in a single write transaction (read, decide, append)."""
        try:
            # straight on the DB-API connection (engine.ledger.db); BEGIN IMMEDIATE on SQLite: writers queue here
            with write_transaction(self.db) as conn:
                row, current = self._head(conn, number, expected_version)
                after, head, mismatch = self._act(conn, row, current, action, actor, payload)
        except VersionConflict:
            self._heads.pop(number, None)  # what this process wrote last is no longer the case's head
            raise
        self._remember(number, int(row.id), after)
        self._keep_head(number, head)
        if mismatch is not None:
            raise mismatch
        return after

    def _head(self, conn: Any, number: str, expected_version: int) -> tuple[CaseRow, dict[str, Any]]:
        """The case row an action starts from, and its worklist columns as stored.

        When this process wrote the case's last event, it knows both without reading them: the version,
        the chain's head and the columns it wrote. The guarded update still checks the version in the
        database (engine.ledger.events.append_event), so a case another process moved on meanwhile is a
        VersionConflict as before; only the read is saved (a round trip on PostgreSQL)."""
        kept = self._heads.get(number)
        if kept is not None and kept[0].version == expected_version:
            return kept
        row, current = self._row_for_write(conn, number)
        if row.version != expected_version:
            raise VersionConflict(number, expected_version, row.version)
        return row, current

    def _keep_head(self, number: str, head: tuple[CaseRow, dict[str, Any]]) -> None:
        if len(self._heads) >= CASE_CACHE_SIZE:
            self._heads.clear()
        self._heads[number] = head

    def _act(
        self, conn: Any, row: CaseRow, current: dict[str, Any], action: str, actor: Actor, payload: Mapping[str, Any]
    ) -> tuple[Case, tuple[CaseRow, dict[str, Any]], FeeMismatch | None]:
        """Decide and record one action on the case at ``row``: the case after it, its new head, and the
        fee mismatch to raise once the refused attempt is recorded (None when there was none)."""
        mismatch: FeeMismatch | None = None
        case, snap = self._state(conn, row)
        now = self._now()
        payload = self._assessed(action, dict(payload), case, snap, now)
        if action == "supplement" and payload.get("data"):
            payload["data"] = self._corrected(case, snap, payload["data"])
        try:
            event = decide(case, snap["item"], action, actor, payload, now, self.timing(case, snap))
        except FeeMismatch as exc:
            mismatch, event = exc, exc.record  # the refused attempt is kept for supervision
        after, head = self._append(conn, row, case, event, snap, current)
        return after, head, mismatch

    def _corrected(self, case: Case, snap: Mapping[str, Any], changes: Any) -> dict[str, Any]:
        """A supplement that corrects form data: merged with what was filed and validated again
        against the form the case was filed under (never the live catalogue)."""
        if not isinstance(changes, Mapping):
            raise ActionRefused("invalid", N_("补正的 data 须为 {分组: {字段: 值}}"))
        merged = {k: dict(v) for k, v in case.data.items() if isinstance(v, Mapping)}
        for section, fields in changes.items():
            if isinstance(fields, Mapping):
                merged.setdefault(str(section), {}).update(fields)
            else:
                merged[str(section)] = fields
        item = Document("snapshot", "item", snap["item"])
        frozen = Catalogue(
            self.catalogue.root,
            str(snap.get("catalogue_version", "")),
            center=self.catalogue.center,
            items={item.data["code"]: item},
            forms={k: Document("snapshot", "form", v) for k, v in snap.get("forms", {}).items()},
        )
        normalised, errors = validate(frozen, item, merged, None)
        if errors:
            raise SubmissionInvalid(errors)
        return normalised

    def _assessed(
        self, action: str, payload: dict[str, Any], case: Case, snap: Mapping[str, Any], now: datetime
    ) -> dict[str, Any]:
        if action != "assess_fee":
            return payload
        if snap.get("fee_schedule") is None:
            raise ActionRefused("not_allowed", N_("本事项不收费"))
        kept = self._units.get(id(snap))
        if kept is None or kept[0] is not snap:  # an amount asked in 万元 is charged on in yuan
            kept = (snap, money_units(snap["item"], snap.get("forms", {})))
            self._units[id(snap)] = kept
        a = assess(snap["fee_schedule"], case.data, on=clock.local_date(now), money_units=kept[1])
        return {"assessment": a.as_dict()}

    def _append(
        self, conn: Any, row: Any, case: Case, event: Event, snap: Mapping[str, Any], current: Mapping[str, Any]
    ) -> tuple[Case, tuple[CaseRow, dict[str, Any]]]:
        """Fold ``event`` into ``case`` and record it with the row's new worklist columns: the case after it,
        and the row's new head (version, chain head, the worklist columns as now stored)."""
        after = fold_event(case, event, snap["item"])
        columns = self.worklist(after, snap)
        update = case_values({"state": after.state, **columns}, "state_update")
        # only the columns whose value changes are written (see append_event's ``current``)
        changed = {k: v for k, v in update.items() if k not in current or current[k] != v}
        followup = event.action == "evaluate" and event.payload.get("rating") in BAD_RATINGS
        ends = after.state in TERMINAL and case.state not in TERMINAL
        record = append_event(
            conn,
            case_id=int(row.id),
            case_number=case.number,
            expected_version=case.version,
            at=event.at,
            actor=event.actor,
            role=event.role,
            action=event.action,
            payload=_plain(event.payload),
            catalogue_version=str(snap.get("catalogue_version", "")),
            state_update=changed,
            known=row,
            plain=True,
            last=not (followup or ends),  # the event is this transaction's last write
        )
        if followup:
            self._open_followup(conn, int(row.id), after, event)
        if ends:  # the case ends now
            record_case_staff(
                conn,
                int(row.id),
                {
                    "department": after.department,
                    "ended_at": iso(event.at),
                    "completed": after.state == "completed",
                    "minute_limit": bool(columns["minute_limit"]),
                    "immediate": bool(columns["immediate"]),
                    **{k: columns[k] for k in ("on_time", "early", "used_days", "promised_days")},
                },
            )
        head = CaseRow(row.id, row.number, record.seq, row.catalogue_version, record.hash)
        return after, (head, {**current, **update})

    def _open_followup(self, conn: Any, case_id: int, case: Case, event: Event) -> None:
        """A dissatisfied rating opens a follow-up (回访整改) in the same transaction, due in the
        center's ``bad_rating_followup_working_days``; supervision flags it when overdue."""
        try:
            due: datetime | None = clock.due(
                event.at, {"value": self.followup_days, "unit": "working_day"}, self.calendar
            )
        except CalendarYearMissing:  # a year no file and no provisional rule covers (before 2025)
            due = None
        fast_execute(
            conn,
            _INSERT_FOLLOWUP,
            {
                "case_id": case_id,
                "department": case.department,
                "rating": str(event.payload["rating"]),
                "comment": str(event.payload.get("comment", ""))[:1000],
                "opened_at": iso(event.at),
                "due": iso(due) if due else None,
                "working_days": self.followup_days,
                "provisional_from": provisional.since(self.calendar, due),
            },
        )

    # -- timed rules -------------------------------------------------------------------------
    def sweep(self) -> list[str]:
        """Apply the engine's timed rules (Art. 32 deemed acceptance). Idempotent."""
        now = self.clock.now()
        t = tables.cases
        with read_only(self.db) as conn:
            waiting = [r[0] for r in conn.execute(select(t.c.number).where(t.c.state == "submitted"))]
        done = []
        for number in waiting:
            with self.db.begin() as conn:
                row, current = self._row_for_write(conn, number)
                case, snap = self._state(conn, row)
                due = self.deadlines(case, snap).completeness
                if case.state != "submitted" or case.supplement_requested or due is None or now <= due:
                    continue
                event = decide(case, snap["item"], "deemed_accept", SYSTEM, {}, now)
                after, head = self._append(conn, row, case, event, snap, current)
            self._remember(number, int(row.id), after)
            self._keep_head(number, head)
            done.append(number)
        return done


def _plain(value: Any) -> Any:
    """JSON-safe copy (Decimal and dates as text) for the record; a value that already is what JSON reads
    back (most payloads: the form's data is normalised to plain values) is returned as it is."""
    if _is_plain(value):
        return value
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _is_plain(value: Any) -> bool:
    """Whether ``value`` comes back from a JSON round trip equal and of the same types: dicts with text
    keys, lists, text, integers, booleans, None, and floats that are finite (no tuples, Decimals, dates)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is dict:
        return all(type(k) is str and _is_plain(v) for k, v in value.items())
    if kind is list:
        return all(_is_plain(v) for v in value)
    return kind is float and math.isfinite(value)
