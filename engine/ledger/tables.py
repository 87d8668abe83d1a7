"""The case record: an append-only, hash-chained event log and the portable database layer.

Everything here is SQLAlchemy Core, so the same tables and queries run on SQLite (the
embedded default) and PostgreSQL. SQLite-specific behaviour lives only in
:func:`open_engine` (pragmas and ``BEGIN IMMEDIATE``).

Conventions
-----------
* Timestamps are text, ISO 8601 in UTC with an explicit offset and microseconds
  (``2026-11-22T01:02:03.000000+00:00``), so they compare correctly as strings.
* JSON columns (``cases.data``, ``events.payload``, ``catalogue_snapshots.content``) are
  ``Text`` holding JSON written by :func:`dumps` (sorted keys, no whitespace, UTF-8 kept);
  read them with :func:`loads`.
* A case changes only through :func:`append_event` (or :func:`create_case`), inside the
  caller's transaction: ``with engine.begin() as conn: append_event(conn, ...)``. The event
  and the case row are written in the same transaction, so a crash leaves neither or both.
* ``cases.version`` equals the number of events of the case; writers pass the version they
  read (``expected_version``) and get :class:`VersionConflict` if somebody was faster.

The hash chain
--------------
``event.hash = sha256(prev_hash.encode("ascii") + canonical(event)).hexdigest()`` where
``prev_hash`` is the 64-hex-digit hash of the case's previous event (64 zeros for the first
one) and :func:`canonical` is the JSON object of ``case_number, seq, at, actor, role,
action, payload, catalogue_version, prev_hash`` with sorted keys, no whitespace,
``ensure_ascii=False``, UTF-8. ``cases.last_event_hash`` holds the head of the chain, so a
truncated tail is detected too. (A chain without an external anchor cannot detect an
attacker who rewrites a whole tail *and* the head; publish or sign head hashes for that.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, CursorResult

from engine.ledger.db import dumps, iso, loads
from engine.ledger.errors import CaseNotFound, VersionConflict
from engine.ledger.fastpath import fast_execute

__all__ = [
    "GENESIS_HASH",
    "EventRecord",
    "append_event",
    "canonical",
    "case_staff",
    "cases",
    "catalogue_snapshots",
    "catalogue_versions",
    "chain_cases",
    "checkpoint_keys",
    "checkpoints",
    "corrections",
    "drafts",
    "event_hash",
    "events",
    "events_of",
    "filings",
    "followups",
    "idempotency",
    "login_attempts",
    "metadata",
    "query_code_attempts",
    "schema_migrations",
    "sessions",
    "supervision_events",
    "uploads",
    "users",
]

GENESIS_HASH = "0" * 64

# ---------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------

metadata = MetaData()

TS_LENGTH = 40  # length of an ISO 8601 timestamp column
HASH_LENGTH = 64  # a SHA-256 as hex digits

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", String(TS_LENGTH), nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", String(32), nullable=False, unique=True),
    Column("query_code", String(64)),
    Column("item_code", String(128), nullable=False),
    Column("catalogue_version", String(HASH_LENGTH), nullable=False),
    Column("state", String(64), nullable=False),
    Column("version", Integer, nullable=False, default=0),
    Column("data", Text, nullable=False, default="{}"),
    Column("created_at", String(TS_LENGTH), nullable=False),
    Column("updated_at", String(TS_LENGTH), nullable=False),
    Column("department", String(64)),
    Column("current_step", String(64)),
    Column("assignee_role", String(64)),
    Column("due_promised", String(TS_LENGTH)),
    Column("due_legal", String(TS_LENGTH)),
    Column("paused", Boolean, nullable=False, default=False),
    Column("last_event_hash", String(HASH_LENGTH)),
    # migration 2: the Art. 32 deadline while the case awaits acceptance, and the earliest
    # deadline among the open steps (supervision lights an overdue step from it)
    Column("due_completeness", String(TS_LENGTH)),
    Column("due_step", String(TS_LENGTH)),
    # migration 6: supervision (engine/supervision/sweep.py). ``light`` is the case's light: green,
    # warning (黄灯: promised deadline near) or violation (红灯: past it); ``step_overdue`` the
    # abnormal mark (异常: a step past its own limit while the case is on time); ``legal_overdue``
    # past the legal deadline. Dates a case was accepted and ended, the applicant (masked on
    # public pages) and whether its limits are in minutes.
    Column("light", String(16), nullable=False, server_default="green"),
    Column("light_since", String(TS_LENGTH)),
    Column("step_overdue", Boolean, nullable=False, server_default="0"),
    Column("legal_overdue", Boolean, nullable=False, server_default="0"),
    Column("minute_limit", Boolean, nullable=False, server_default="0"),
    Column("accepted_at", String(TS_LENGTH)),
    Column("ended_at", String(TS_LENGTH)),
    Column("decision", String(16)),
    Column("applicant_name", String(200)),
    Column("applicant_type", String(32)),
    # migration 7: the deadline a worklist is sorted by — the Art. 32 deadline while awaiting
    # acceptance, else the earlier of the open step's limit and the promised deadline
    Column("due_next", String(TS_LENGTH)),
    # migration 10: what a completed case contributes to the rankings, fixed when it ends —
    # completed by the promised deadline, before its day, working days used and promised
    Column("on_time", Boolean),
    Column("early", Boolean),
    Column("used_days", Integer),
    Column("promised_days", Integer),
    # migration 12: the applicant's rating as points (非常满意 100 … 非常不满意 0) and when it was given
    Column("rating_score", Integer),
    Column("rated_at", String(TS_LENGTH)),
    Column("chain_number", String(32)),  # migration 13: the chain application this case belongs to
    # migration 17: an immediate item (即办件: promised limit 0, whatever its unit), from the pinned snapshot;
    # ``minute_limit`` says only how its lights are judged (minutes or working days)
    Column("immediate", Boolean, nullable=False, server_default="0"),
    # migration 18: Art. 44 — after a decision to grant, the licence is issued or delivered within
    # 10 working days of the decision; the deadline while that is outstanding
    Column("due_delivery", String(TS_LENGTH)),
    # migration 19: the first year counted by the provisional holiday rule when the deadline columns
    # were written, if any of them reaches into it (engine.service.provisional); NULL when all are exact
    Column("provisional_from", Integer),
    Index("ix_cases_department_state", "department", "state"),
    Index("ix_cases_assignee_role_state", "assignee_role", "state"),
    Index("ix_cases_due_promised", "due_promised"),
    Index("ix_cases_query_code", "query_code"),
    Index("ix_cases_due_step", "due_step"),
    # covering indexes for supervision (migration 6): counts by state/light/department, a
    # department's worklist by deadline, and a period's completions by department
    Index("ix_cases_state_department_light", "state", "department", "light", "step_overdue"),
    Index("ix_cases_department_state_due_promised", "department", "state", "due_promised"),
    # migration 17 (replacing migration 10's ix_cases_ended_rank, which held minute_limit): a month's
    # cases per department with every ranking figure, from the index alone
    Index(
        "ix_cases_ended_ranking",
        "ended_at",
        "department",
        "state",
        "on_time",
        "early",
        "immediate",
        "used_days",
        "promised_days",
        "id",
    ),
    Index("ix_cases_due_legal", "due_legal"),
    # migration 9 (replacing migration 7's): worklists in deadline order straight from the index
    Index("ix_cases_department_state_next", "department", "state", text("(due_next IS NULL)"), "due_next", "number"),
    Index("ix_cases_state_next", "state", text("(due_next IS NULL)"), "due_next", "number"),
    Index("ix_cases_accepted_at", "accepted_at"),  # migration 8: the public announcements, newest first
    Index("ix_cases_rated_at", "rated_at", "department", "rating_score", "id"),  # migration 12: a month's ratings
    Index("ix_cases_chain_number", "chain_number"),  # migration 13
    Index("ix_cases_due_delivery", "due_delivery"),  # migration 18: supervision's delivery clock
    Index("ix_cases_provisional_from", "provisional_from"),  # migration 19: the stale ones, once a file comes
)

supervision_events = Table(  # what electronic supervision saw, when (migration 6); never updated
    "supervision_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id")),
    Column("department", String(64)),
    # warning | violation | abnormal | legal_overdue | light_cleared | abnormal_cleared |
    # special_procedure_overrun | correction_escalated | followup_overdue
    Column("kind", String(32), nullable=False),
    Column("key", String(200), nullable=False),  # what makes it unique: one event per light per deadline
    Column("at", String(TS_LENGTH), nullable=False),
    Column("detail", Text, nullable=False, server_default="{}"),
    UniqueConstraint("key", name="uq_supervision_events_key"),
    Index("ix_supervision_events_at_kind", "at", "kind", "department"),
    Index("ix_supervision_events_case_id", "case_id"),
)

chain_cases = Table(  # one application for a whole approval chain (migration 13)
    "chain_cases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", String(32), nullable=False, unique=True),
    Column("query_code", String(64), nullable=False),
    Column("chain_id", String(64), nullable=False),
    Column("chain", Text, nullable=False),  # the chain's YAML as JSON, pinned when applied for
    Column("data", Text, nullable=False),
    Column("uploads", Text, nullable=False),  # {material name: [upload ids]}
    Column("state", String(16), nullable=False),  # open | completed | stopped
    Column("stage", Integer, nullable=False),  # index of the stage now open
    Column("green_channel", Boolean, nullable=False, server_default="0"),
    Column("accepted_by", String(64)),  # the front desk that accepted it once (统一受理)
    Column("stage_opened_at", String(TS_LENGTH)),  # migration 14: when the open stage began (joint-review deadline)
    Column("green_basis", Text),  # migration 15: the key-project designation (绿色通道), who marked it, when
    Column("green_by", String(64)),
    Column("green_at", String(TS_LENGTH)),
    # migration 16: {item code: catalogue snapshot key} of every member, pinned when applied for, so a
    # later stage is filed under the rules the application was made under (a reload may change them)
    Column("members", Text),
    Column("created_at", String(TS_LENGTH), nullable=False),
    Column("updated_at", String(TS_LENGTH), nullable=False),
    Index("ix_chain_cases_state", "state"),
)

case_staff = Table(  # who worked on a case, with its ranking figures, written when it ends (migration 11)
    "case_staff",
    metadata,
    Column("case_id", Integer, ForeignKey("cases.id"), primary_key=True),
    Column("actor", String(128), primary_key=True),
    Column("department", String(64)),
    Column("ended_at", String(TS_LENGTH), nullable=False),
    Column("completed", Boolean, nullable=False),
    Column("on_time", Boolean),
    Column("early", Boolean),
    Column("minute_limit", Boolean, nullable=False),
    Column("used_days", Integer),
    Column("promised_days", Integer),
    Column("immediate", Boolean, nullable=False, server_default="0"),  # migration 17, as cases.immediate
    # a month's staff ranking from the index alone (migration 17, replacing ix_case_staff_ended)
    Index(
        "ix_case_staff_ended_ranking",
        "ended_at",
        "actor",
        "department",
        "completed",
        "on_time",
        "early",
        "immediate",
        "used_days",
        "promised_days",
    ),
)

corrections = Table(  # 纠错: a supervisor's correction notice (migration 6)
    "corrections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_number", String(32)),
    Column("department", String(64), nullable=False),
    Column("card", String(8), nullable=False),  # yellow | red
    Column("reason", Text, nullable=False),
    Column("issued_by", String(64), nullable=False),
    Column("issued_at", String(TS_LENGTH), nullable=False),
    Column("respond_by", String(TS_LENGTH), nullable=False),
    Column("response", Text),
    Column("responded_by", String(64)),
    Column("responded_at", String(TS_LENGTH)),
    Column("escalated_at", String(TS_LENGTH)),
    # migration 19: the working days given, and the first provisional year when respond_by reaches into it
    Column("working_days", Integer),
    Column("provisional_from", Integer),
    Index("ix_corrections_department_issued_at", "department", "issued_at"),
)

followups = Table(  # 不满意评价的回访整改 (migration 6)
    "followups",
    metadata,
    Column("case_id", Integer, ForeignKey("cases.id"), primary_key=True),
    Column("department", String(64)),
    Column("rating", String(16), nullable=False),
    Column("comment", Text),
    Column("opened_at", String(TS_LENGTH), nullable=False),
    Column("due", String(TS_LENGTH)),
    Column("answer", Text),
    Column("answered_by", String(64)),
    Column("answered_at", String(TS_LENGTH)),
    # migration 19: as for corrections
    Column("working_days", Integer),
    Column("provisional_from", Integer),
    Index("ix_followups_answered_at_due", "answered_at", "due"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", String(TS_LENGTH), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("role", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("catalogue_version", String(HASH_LENGTH), nullable=False),
    Column("prev_hash", String(HASH_LENGTH), nullable=False),
    Column("hash", String(HASH_LENGTH), nullable=False),
    UniqueConstraint("case_id", "seq", name="uq_events_case_seq"),
    Index("ix_events_action_at", "action", "at"),  # migration 6: anomalies and volumes by period
    Index("ix_events_case_actor_role", "case_id", "actor", "role"),  # migration 10: who worked on a case
)

# migration 22: signed tree heads of the events (engine/ledger/transparency.py), and the public keys that
# signed them. Both are append-only like events (their triggers come with migration 22); a retired
# key stays listed so the checkpoints it signed still verify. The private key is never stored here.
checkpoints = Table(
    "checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("origin", String(64), nullable=False),  # the center's id: a checkpoint names whose record it is
    Column("tree_size", Integer, nullable=False, unique=True),  # events covered: the first tree_size by id
    Column("root", String(HASH_LENGTH), nullable=False),  # RFC 9162 tree head, hex
    Column("signed_at", String(TS_LENGTH), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("signature", String(128), nullable=False),  # Ed25519 over transparency.signed_text, base64
)

checkpoint_keys = Table(
    "checkpoint_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),  # the first 16 hex digits of SHA-256(raw public key)
    Column("public_key", String(64), nullable=False),  # raw Ed25519 public key, base64
    Column("created_at", String(TS_LENGTH), nullable=False),
    Column("retired_at", String(TS_LENGTH)),  # set once, when `yangguang key rotate` replaced it
)

catalogue_snapshots = Table(
    "catalogue_snapshots",
    metadata,
    Column("version", String(HASH_LENGTH), primary_key=True),
    Column("created_at", String(TS_LENGTH), nullable=False),
    Column("content", Text, nullable=False),
)

idempotency = Table(
    "idempotency",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("case_number", String(32), nullable=False),
    Column("created_at", String(TS_LENGTH), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(128)),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(64), nullable=False),
    Column("department", String(64)),
    Column("backup_for", String(64)),
    Column("active", Boolean, nullable=False, default=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(HASH_LENGTH), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("expires_at", String(TS_LENGTH), nullable=False),
    Column("last_seen", String(TS_LENGTH)),  # migration 5: idle timeout
    Index("ix_sessions_user_id", "user_id"),
)

login_attempts = Table(  # failed staff logins, for throttling (migration 5)
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False),  # "user:<name>" or "ip:<address>"
    Column("at", String(TS_LENGTH), nullable=False),
    Index("ix_login_attempts_key_at", "key", "at"),
)

query_code_attempts = Table(  # wrong query codes, for throttling (migration 20, engine.service.query_codes)
    "query_code_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False),  # "client:<address>" or "case:<number>"
    Column("at", String(TS_LENGTH), nullable=False),
    Index("ix_query_code_attempts_key_at", "key", "at"),
)

device_grants = Table(  # progress pages a browser asked to remember (migration 23, engine.service.device_grants)
    "device_grants",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device", String(HASH_LENGTH), nullable=False),  # SHA-256 of the device id the browser's cookie holds
    Column("number", String(32), nullable=False),  # a case or chain application
    Column("created_at", String(TS_LENGTH), nullable=False),
    Column("expires_at", String(TS_LENGTH), nullable=False),
    Column("revoked_at", String(TS_LENGTH)),  # "forget this device": refused from then on
    Index("ix_device_grants_device", "device", "number"),
)

filings = Table(  # applications filed per client address in the last day (migration 24, engine.service.filing_limits)
    "filings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client", String(HASH_LENGTH), nullable=False),  # engine.service.uploads.client: the address's sha256
    Column("at", String(TS_LENGTH), nullable=False),
    Index("ix_filings_client_at", "client", "at"),
    Index("ix_filings_at", "at"),  # the prune of rows older than a day
)

catalogue_versions = Table(  # which catalogue version was served, from where, when (migration 3)
    "catalogue_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version", String(HASH_LENGTH), nullable=False),
    Column("root", String(1024), nullable=False),
    Column("items", Integer, nullable=False),
    Column("loaded_at", String(TS_LENGTH), nullable=False),
)

drafts = Table(  # an application being filled in on the portal, page by page (migration 4)
    "drafts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("item_code", String(128), nullable=False),
    Column("browser", String(HASH_LENGTH), nullable=False),  # sha256 of the browser's cookie token
    Column("data", Text, nullable=False),
    Column("uploads", Text, nullable=False),
    Column("created_at", String(TS_LENGTH), nullable=False),
    Column("updated_at", String(TS_LENGTH), nullable=False),
    Column("case_number", String(32)),
    Column("query_code", String(64)),
    Column("client", String(HASH_LENGTH)),  # migration 21: sha256 of the creating address (API drafts' rate)
    Index("ix_drafts_client_created", "client", "created_at"),
)

uploads = Table(
    "uploads",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(128), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(HASH_LENGTH), nullable=False),
    Column("path", String(1024), nullable=False),
    Column("created_at", String(TS_LENGTH), nullable=False),
    # migration 21: who may claim it (engine.service.uploads.Owner) and what its quotas count
    Column("draft", String(64)),  # the draft it was uploaded into; only that draft's application claims it
    Column("case_number", String(32)),  # or the case it was uploaded for (a supplement)
    Column("client", String(HASH_LENGTH)),  # sha256 of the uploading address (per-client limits); None for staff
    # when an application owned it (a case's upload at once; a draft's once the sweep sees it filed;
    # older than migration 21: its own time): never purged, and out of the sweep's index range
    Column("claimed_at", String(TS_LENGTH)),
    Index("ix_uploads_draft", "draft"),
    Index("ix_uploads_case_number", "case_number"),
    Index("ix_uploads_client_created", "client", "created_at"),
    Index("ix_uploads_unclaimed", "claimed_at", "created_at"),
)


def _column_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


# ---------------------------------------------------------------------------------------
# Hash chain
# ---------------------------------------------------------------------------------------

_CHAINED = ("case_number", "seq", "at", "actor", "role", "action", "payload", "catalogue_version", "prev_hash")


def canonical(event: Mapping[str, Any]) -> bytes:
    """The bytes an event's hash covers: the chained fields as canonical JSON (see module doc)."""
    missing = [k for k in _CHAINED if k not in event]
    if missing:
        raise KeyError(f"event lacks {', '.join(missing)}")
    return dumps({k: event[k] for k in _CHAINED}).encode("utf-8")


def event_hash(event: Mapping[str, Any]) -> str:
    """``sha256(prev_hash as ASCII + canonical(event))`` as 64 hex digits."""
    return hashlib.sha256(str(event["prev_hash"]).encode("ascii") + canonical(event)).hexdigest()


@dataclass(frozen=True)
class EventRecord:
    id: int
    case_id: int
    case_number: str
    seq: int
    at: str
    actor: str
    role: str
    action: str
    payload: Any
    catalogue_version: str
    prev_hash: str
    hash: str

    def chained(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _CHAINED}

    @property
    def at_datetime(self) -> datetime:
        return datetime.fromisoformat(self.at)


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------

_PROTECTED = frozenset({"id", "number", "version", "created_at", "updated_at", "last_event_hash"})
_UPDATABLE = frozenset(c.name for c in cases.columns) - _PROTECTED


def case_values(values: Mapping[str, Any], what: str) -> dict[str, Any]:
    unknown = sorted(set(values) - _UPDATABLE)
    if unknown:
        raise ValueError(f"{what}: cannot set {', '.join(unknown)} (settable: {', '.join(sorted(_UPDATABLE))})")
    out = {k: _column_value(v) for k, v in values.items()}
    if "data" in out and not isinstance(out["data"], str):
        out["data"] = dumps(out["data"])
    return out


def _normalise_payload(payload: Any) -> tuple[str, Any]:
    """The payload as stored (JSON text) and as re-read from it, so what is hashed now is
    exactly what verify re-reads."""
    try:
        stored = dumps(payload)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"event payload is not plain JSON: {exc}") from exc
    return stored, json.loads(stored)


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - every table here has an integer primary key
        raise RuntimeError("the database did not report the new row's id")
    return int(key[0])


# Built once: statements with bind parameters hit SQLAlchemy's compiled cache without
# rebuilding expressions on every append (about three times faster).
_SELECT_CASE = select(cases.c.number, cases.c.version, cases.c.last_event_hash).where(
    cases.c.id == bindparam("case_id")
)
_GUARDED_UPDATE = update(cases).where(
    cases.c.id == bindparam("_case_id"), cases.c.version == bindparam("_expected_version")
)  # the SET clause comes from the other parameter names
_INSERT_EVENT = insert(events)


def _case_row(conn: Connection, case_id: int) -> Any:
    return conn.execute(_SELECT_CASE, {"case_id": case_id}).first()


def append_event(
    conn: Connection,
    *,
    case_id: int,
    case_number: str,
    expected_version: int,
    at: datetime,
    actor: str,
    role: str,
    action: str,
    payload: Any,
    catalogue_version: str,
    state_update: Mapping[str, Any],
    known: Any = None,
) -> EventRecord:
    """Append one event to a case and apply ``state_update`` to its row, in the caller's transaction.

    Raises :class:`VersionConflict` when ``cases.version != expected_version`` (checked on
    read and again by ``UPDATE ... WHERE version = :expected``, so two writers never both
    succeed, whatever the database), :class:`CaseNotFound`, or ``ValueError`` for a naive
    ``at``, a non-JSON payload or a protected column in ``state_update``. Afterwards
    ``cases.version == expected_version + 1``.
    """
    values = case_values(state_update, "state_update")
    at_text = iso(at)
    stored, body = _normalise_payload(payload)

    # ``known``: the case row the caller already read in this same write transaction
    row = known if known is not None else _case_row(conn, case_id)
    if row is None:
        raise CaseNotFound(case_number)
    if row.number != case_number:
        raise ValueError(f"case id {case_id} is {row.number}, not {case_number}")
    if row.version != expected_version:
        raise VersionConflict(case_number, expected_version, row.version)

    # cases.version counts the case's events and last_event_hash is the head of its chain
    # (verify() checks both), so the next link needs no read of the events table.
    seq = expected_version + 1
    prev = str(row.last_event_hash or GENESIS_HASH) if expected_version else GENESIS_HASH
    chained = {
        "case_number": case_number,
        "seq": seq,
        "at": at_text,
        "actor": actor,
        "role": role,
        "action": action,
        "payload": body,
        "catalogue_version": catalogue_version,
        "prev_hash": prev,
    }
    digest = event_hash(chained)

    # The guard first: on PostgreSQL it takes the row lock, so a concurrent writer waits
    # here and then finds the version changed (rowcount 0) instead of a duplicate seq.
    result = fast_execute(
        conn,
        _GUARDED_UPDATE,
        {
            **values,
            "version": expected_version + 1,
            "updated_at": at_text,
            "last_event_hash": digest,
            "_case_id": case_id,
            "_expected_version": expected_version,
        },
    )
    if result.rowcount != 1:
        now = _case_row(conn, case_id)
        raise VersionConflict(case_number, expected_version, None if now is None else now.version)

    inserted = fast_execute(
        conn,
        _INSERT_EVENT,
        {
            "case_id": case_id,
            "seq": seq,
            "at": at_text,
            "actor": actor,
            "role": role,
            "action": action,
            "payload": stored,
            "catalogue_version": catalogue_version,
            "prev_hash": prev,
            "hash": digest,
        },
    )
    if inserted.lastrowid is None:  # pragma: no cover - every table here has an integer primary key
        raise RuntimeError("the database did not report the new event's id")
    event_id = int(inserted.lastrowid)
    return EventRecord(id=event_id, case_id=case_id, hash=digest, **chained)


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------


def record_of(row: Any, case_number: str) -> EventRecord:
    return EventRecord(
        id=int(row.id),
        case_id=int(row.case_id),
        case_number=case_number,
        seq=int(row.seq),
        at=str(row.at),
        actor=str(row.actor),
        role=str(row.role),
        action=str(row.action),
        payload=loads(row.payload),
        catalogue_version=str(row.catalogue_version),
        prev_hash=str(row.prev_hash),
        hash=str(row.hash),
    )


_EVENTS_OF = (
    select(*events.c)
    .join(cases, cases.c.id == events.c.case_id)
    .where(cases.c.number == bindparam("number"))
    .order_by(events.c.seq, events.c.id)
)
_EVENT_FIELDS = tuple(c.name for c in events.c)


class _EventRow(NamedTuple):
    id: int
    case_id: int
    seq: int
    at: str
    actor: str
    role: str
    action: str
    payload: str
    catalogue_version: str
    prev_hash: str
    hash: str


assert _EVENT_FIELDS == _EventRow._fields, "keep _EventRow in step with the events table"


def events_of(conn: Connection, case_number: str) -> list[EventRecord]:
    """Every event of a case in ``seq`` order (empty for an unknown case)."""
    rows = fast_execute(conn, _EVENTS_OF, {"number": case_number}).rows
    return [record_of(_EventRow(*r), case_number) for r in rows]
