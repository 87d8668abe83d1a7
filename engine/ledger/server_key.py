"""The web server's secret key kept in the database, so every server process of one database signs alike.

The key (engine.base.keys) signs the browser cookies and the CSRF tokens. A key per process would sign
a form on one worker that another refuses, so it lives in ``server_keys``: the first process to start
writes it (an insert under the primary key: of two processes starting at once, one wins and both read
the winner's) and every process reads the same row. An older server kept it in ``secret.key`` beside
an SQLite file; the first start adopts that key, so nobody is signed out by the upgrade.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from engine.ledger.db import iso, utc_now
from engine.ledger.tables import server_keys

__all__ = ["KEY_BYTES", "WEB", "shared_key"]

KEY_BYTES = 32
WEB = "web"  # the key of cookies and CSRF tokens
_T = server_keys


def _read(engine: Engine, name: str) -> bytes | None:
    with engine.connect() as conn:
        value = conn.execute(select(_T.c.value).where(_T.c.name == name)).scalar_one_or_none()
    return None if value is None else bytes.fromhex(value)


def shared_key(engine: Engine, name: str = WEB, adopt: Callable[[], bytes | None] = lambda: None) -> bytes:
    """The key ``name`` of this database; on the first call ever, ``adopt()`` (an older key to keep) or
    a new random one is written first. Safe from several processes at once: all get the same key."""
    found = _read(engine, name)
    if found is not None:
        return found
    fresh = adopt() or secrets.token_bytes(KEY_BYTES)
    if len(fresh) < KEY_BYTES:
        raise ValueError(f"a server key must have at least {KEY_BYTES} bytes")
    try:
        with engine.begin() as conn:
            conn.execute(insert(_T).values(name=name, value=fresh.hex(), created_at=iso(utc_now())))
    except IntegrityError:  # another process wrote it between our read and our insert: theirs counts
        pass
    stored = _read(engine, name)
    if stored is None:  # pragma: no cover - the row was just written or seen
        raise RuntimeError(f"server key {name!r} was neither found nor written")
    return stored
