"""Leases: a job only one process of a database may do at a time (the server's sweep), with one small interface
for both stores.

* PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) held on a connection of its own
  for as long as the process holds the lease. A process that dies — even by ``kill -9`` — loses its
  connection and with it the lock, and the next process to ask takes it at once.
* SQLite (and any other store): a row of ``leases`` naming its holder and an expiry in wall time, taken
  or renewed in one transaction (``BEGIN IMMEDIATE`` serialises the takers). The holder renews it every
  time it asks; a holder that died stops renewing, and once the expiry has passed the next process
  to ask takes it over. ``ttl`` must therefore be longer than the holder's pause between two asks.

:meth:`Lease.hold` answers whether this process holds the lease now (taking or renewing it);
:meth:`Lease.release` gives it up, so another process need not wait for the expiry.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, insert, or_, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from engine.ledger.db import iso, utc_now
from engine.ledger.tables import leases

__all__ = ["AdvisoryLease", "Lease", "RowLease", "holder_name", "lease"]

_T = leases


class Lease(Protocol):
    name: str

    def hold(self) -> bool:
        """Take or renew the lease; whether this process holds it now."""
        ...

    def release(self) -> None:
        """Give the lease up if this process holds it (nothing otherwise)."""
        ...


def holder_name() -> str:
    """This process, as a lease row names it: host, process id and a random part (a pid is reused)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


def lease(engine: Engine, name: str, ttl: timedelta, now: Callable[[], datetime] = utc_now) -> Lease:
    """The lease ``name`` on ``engine``'s database: an advisory lock on PostgreSQL, else a row that
    expires ``ttl`` after it was last renewed (``now`` is wall time: a simulated clock must not move it)."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLease(engine, name)
    return RowLease(engine, name, ttl, now)


class RowLease:
    """A row of ``leases``: held while its expiry is ahead, renewed on every :meth:`hold`."""

    def __init__(self, engine: Engine, name: str, ttl: timedelta, now: Callable[[], datetime] = utc_now) -> None:
        if ttl <= timedelta(0):
            raise ValueError("a lease needs a positive ttl")
        self.engine, self.name, self.ttl, self.now = engine, name, ttl, now
        self.holder = holder_name()

    def hold(self) -> bool:
        at = self.now()
        until = iso(at + self.ttl)
        mine_or_expired = or_(_T.c.holder == self.holder, _T.c.expires_at < iso(at))
        try:
            with self.engine.begin() as conn:
                take = update(_T).where(_T.c.name == self.name, mine_or_expired)
                renewed = conn.execute(take.values(holder=self.holder, expires_at=until))
                if renewed.rowcount:
                    return True
                if conn.execute(select(_T.c.holder).where(_T.c.name == self.name)).first() is not None:
                    return False  # another process holds it and its expiry is ahead
                conn.execute(insert(_T).values(name=self.name, holder=self.holder, expires_at=until))
                return True
        except IntegrityError:  # a store without SQLite's one writer: another process inserted it first
            return False

    def release(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(_T).where(_T.c.name == self.name, _T.c.holder == self.holder))


class AdvisoryLease:
    """A PostgreSQL session-level advisory lock on a connection kept open while it is held."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine, self.name = engine, name
        # advisory locks are named by a 64-bit number: a stable one from the name
        self.key = int.from_bytes(hashlib.sha256(f"yangguang:{name}".encode()).digest()[:8], "big", signed=True)
        self._conn: Connection | None = None

    def hold(self) -> bool:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))  # the session lives, so its lock does
                return True
            except DBAPIError:  # the server restarted or the connection broke: the lock went with it
                self._drop()
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar())
        except BaseException:
            conn.invalidate()
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        except DBAPIError:  # the connection is gone, and the lock with it
            conn.invalidate()
        finally:
            conn.close()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.invalidate()  # never back into the pool: it might still hold the lock
            conn.close()
