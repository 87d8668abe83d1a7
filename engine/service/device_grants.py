"""Remembered progress access (在此设备上记住): a browser that gave a case's query code may ask to be
remembered, so the progress page opens without the code for 30 days.

The browser keeps one long-lived cookie (:data:`COOKIE`) holding a random device id and its HMAC
with the server key (``id.signature``); the server keeps, per remembered case, a row of
``device_grants`` naming the SHA-256 of that id, so the id itself is never stored and a copied
database opens nothing. A grant ends when it expires (:data:`DAYS` after the code was given,
whatever the cookie says) or when the browser says "forget this device", which revokes every grant
of the device at once. Entering the code is still limited by engine.service.query_codes.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Engine, insert, select, update

from engine.base import keys
from engine.ledger import tables
from engine.ledger.db import iso, read_only

COOKIE = "yg_device"
DAYS = 30
_G = tables.device_grants


def new_device() -> str:
    return secrets.token_hex(16)


def cookie_value(key: bytes, device: str) -> str:
    return f"{device}.{keys.sign(key, 'device', device)}"


def device_of(key: bytes, cookie: str) -> str | None:
    """The device id a cookie holds when the server signed it (None for anything else)."""
    device, _, signature = cookie.partition(".")
    if len(device) != 32 or not all(c in "0123456789abcdef" for c in device):
        return None
    return device if keys.verify(key, signature, "device", device) else None


def _digest(device: str) -> str:
    return hashlib.sha256(device.encode()).hexdigest()


def remember(db: Engine, device: str, number: str, now: datetime) -> None:
    """Remember ``number`` on ``device`` for :data:`DAYS` from ``now`` (a second time renews it)."""
    with db.begin() as conn:
        conn.execute(
            update(_G)
            .where(_G.c.device == _digest(device), _G.c.number == number, _G.c.revoked_at.is_(None))
            .values(revoked_at=iso(now))
        )
        conn.execute(
            insert(_G).values(
                device=_digest(device),
                number=number,
                created_at=iso(now),
                expires_at=iso(now + timedelta(days=DAYS)),
            )
        )


def numbers(db: Engine, device: str, now: datetime) -> list[str]:
    """The cases and chain applications remembered on ``device`` and still in force, newest first."""
    with read_only(db) as conn:
        rows = conn.execute(
            select(_G.c.number)
            .where(_G.c.device == _digest(device), _G.c.revoked_at.is_(None), _G.c.expires_at > iso(now))
            .order_by(_G.c.created_at.desc(), _G.c.id.desc())
        ).all()
    return list(dict.fromkeys(r.number for r in rows))


def allows(db: Engine, device: str, number: str, now: datetime) -> bool:
    with read_only(db) as conn:
        found = conn.execute(
            select(_G.c.id).where(
                _G.c.device == _digest(device),
                _G.c.number == number,
                _G.c.revoked_at.is_(None),
                _G.c.expires_at > iso(now),
            )
        ).first()
    return found is not None


def forget(db: Engine, device: str, now: datetime) -> list[str]:
    """Revoke every grant of ``device``; the numbers it had (their short-lived cookies go too)."""
    with db.begin() as conn:
        had = [
            r.number
            for r in conn.execute(
                select(_G.c.number).where(_G.c.device == _digest(device), _G.c.revoked_at.is_(None))
            ).all()
        ]
        conn.execute(
            update(_G).where(_G.c.device == _digest(device), _G.c.revoked_at.is_(None)).values(revoked_at=iso(now))
        )
    return sorted(set(had))
