"""The tables of appointments and home visits (预约 / 上门, migration 29): seat counters, bookings, home visits.

Beside engine/ledger/tables.py, in the same ``metadata``, so migration 1 creates them on a fresh database
like every other table; migration 29 creates them on an older one.

* ``booking_slots`` holds one row per counter, day and slot with its ``capacity`` and how many
  bookings hold it (``taken``). A booking takes a seat with ``UPDATE … SET taken = taken + 1 WHERE
  taken < capacity``: the database itself refuses the seat after the last one, so two people never
  get the last slot, on SQLite (one writer at a time) and on PostgreSQL (the update waits for the
  row's lock and re-reads ``taken``) alike.
* ``bookings`` is one appointment: its slot, the person (name, a hash of their ID number for the
  no-show rule, a phone number), a hash of its query code, its state and ``version``, the queue
  number given on arrival and the case filed after it.
* ``home_visits`` is one request for a home visit (上门服务) and its scheduling by the department.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text, UniqueConstraint

from engine.ledger.tables import HASH_LENGTH, TS_LENGTH, metadata

__all__ = ["booking_slots", "bookings", "home_visits"]

booking_slots = Table(
    "booking_slots",
    metadata,
    Column("counter", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD, local date
    Column("start", String(5), primary_key=True),  # HH:MM, local time
    Column("capacity", Integer, nullable=False),
    Column("taken", Integer, nullable=False, server_default="0"),
)

bookings = Table(
    "bookings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", String(32), nullable=False, unique=True),
    Column("counter", String(64), nullable=False),
    Column("department", String(64), nullable=False),
    Column("item_code", String(128)),
    Column("day", String(10), nullable=False),
    Column("start", String(5), nullable=False),
    Column("late", Boolean, nullable=False, server_default="0"),
    # booked | moved (still holding its new slot) | cancelled | arrived | served | no_show
    # | closed (its day closed after booking: not held against the person) | left (arrived, never called)
    Column("state", String(16), nullable=False),
    Column("person", String(100), nullable=False),
    Column("person_key", String(HASH_LENGTH), nullable=False),  # sha256 of the ID number: the no-show rule
    Column("contact", String(32), nullable=False),
    Column("query_code", String(HASH_LENGTH), nullable=False),  # sha256 of the normalised code
    Column("queue_number", Integer),
    Column("case_number", String(32)),
    Column("version", Integer, nullable=False, server_default="0"),
    Column("created_at", String(TS_LENGTH), nullable=False),
    Column("updated_at", String(TS_LENGTH), nullable=False),
    Column("arrived_at", String(TS_LENGTH)),
    Column("called_at", String(TS_LENGTH)),
    Column("ended_at", String(TS_LENGTH)),  # served, cancelled or no-show
    UniqueConstraint("counter", "day", "queue_number", name="uq_bookings_queue_number"),
    Index("ix_bookings_counter_day", "counter", "day", "start"),
    Index("ix_bookings_person_key", "person_key", "state"),
    Index("ix_bookings_day_state", "day", "state"),
)

home_visits = Table(
    "home_visits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", String(32), nullable=False, unique=True),
    Column("item_code", String(128), nullable=False),
    Column("department", String(64), nullable=False),
    Column("qualifies", String(32), nullable=False),  # elderly | disabled | seriously_ill | key_project
    Column("person", String(100), nullable=False),
    Column("contact", String(32), nullable=False),
    Column("address", String(200), nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
    Column("query_code", String(HASH_LENGTH), nullable=False),
    Column("state", String(16), nullable=False),  # requested | scheduled | done | cancelled
    Column("visit_at", String(TS_LENGTH)),
    Column("scheduled_by", String(64)),
    Column("staff_note", Text),
    Column("version", Integer, nullable=False, server_default="0"),
    Column("created_at", String(TS_LENGTH), nullable=False),
    Column("updated_at", String(TS_LENGTH), nullable=False),
    Index("ix_home_visits_department_state", "department", "state"),
)
