"""Every table: the case record's and those of the services that keep their state beside it (SQLAlchemy Core,
so the same definitions run on SQLite and PostgreSQL).

These definitions are today's schema: migration 1 (engine/ledger/migrations.py) creates a fresh database from
them, and the later migrations bring an older database to the same tables, so a change here always comes
with a new migration. A column or index added after the first release names the migration that added it.

* Timestamps are ``String(TS_LENGTH)``: ISO 8601 in UTC with an explicit offset and microseconds
  (``2026-11-22T01:02:03.000000+00:00``, engine.ledger.db.iso), so they compare correctly as strings.
* JSON columns (``cases.data``, ``events.payload``, ``catalogue_snapshots.content``) are ``Text`` holding
  JSON written by engine.ledger.db.dumps (sorted keys, no whitespace, UTF-8 kept).
"""

from __future__ import annotations

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
    text,
)

__all__ = [
    "HASH_LENGTH",
    "TS_LENGTH",
    "case_staff",
    "cases",
    "catalogue_snapshots",
    "catalogue_versions",
    "chain_cases",
    "checkpoint_keys",
    "checkpoints",
    "corrections",
    "device_grants",
    "drafts",
    "events",
    "filings",
    "followups",
    "idempotency",
    "leases",
    "login_attempts",
    "metadata",
    "query_code_attempts",
    "schema_migrations",
    "server_keys",
    "sessions",
    "supervision_events",
    "uploads",
    "users",
]

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

server_keys = Table(  # keys every server process of this database signs with (migration 26, engine.ledger.server_key)
    "server_keys",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(256), nullable=False),  # hex; written once, never changed
    Column("created_at", String(TS_LENGTH), nullable=False),
)

leases = Table(  # who does a job only one process may do, until when (migration 26, engine.ledger.leases)
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),  # host:pid:random of the process holding it
    Column("expires_at", String(TS_LENGTH), nullable=False),  # wall time; another process may take it after
)
