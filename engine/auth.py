"""Staff accounts and sessions: scrypt password hashes, opaque bearer tokens.

Only ``sha256(token)`` is stored in ``sessions``, so a copy of the database does not
hand out working tokens. Passwords are hashed with scrypt (n=2**14, r=8, p=1, random
16-byte salt) as ``scrypt$n$r$p$salt_hex$hash_hex``. Applicants have no accounts: they
reach their own case with its query code (see ``engine.api``). Nothing here prints.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from engine import ledger
from engine.cases import Actor

ROLES: tuple[str, ...] = (
    "window",
    "undertaker",
    "reviewer",
    "decider",
    "issuer",
    "inspector",
    "head",
    "supervisor",
    "admin",
)
SESSION_LIFETIME = timedelta(hours=8)
_N, _R, _P = 2**14, 8, 1
_DKLEN = 32
_MAXMEM = 64 * 1024 * 1024
_USERNAME_MAX = 64
LOGIN_FAILED = "用户名或密码错误 / wrong username or password"


class AuthError(Exception):
    """A failed login; the message never says whether the user exists."""


@dataclass(frozen=True, slots=True)
class Session:
    token: str  # give to the client once; only its sha256 is stored
    actor: Actor
    expires_at: datetime


def hash_password(pw: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pw.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, maxmem=_MAXMEM, dklen=_DKLEN)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def check_password(pw: str, stored: str) -> bool:
    """True when ``pw`` matches ``stored`` (constant-time compare); False for a malformed hash."""
    try:
        scheme, n, r, p, salt_hex, hash_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(hash_hex)
        digest = hashlib.scrypt(
            pw.encode("utf-8"),
            salt=bytes.fromhex(salt_hex),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_MAXMEM,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, expected)


# A real hash to check against when the user does not exist, so a failed login takes
# the same time either way (no probing for usernames by timing).
_DUMMY_HASH = hash_password(secrets.token_hex(16))


def add_user(
    db: Engine,
    username: str,
    role: str,
    department: str | None = None,
    password: str | None = None,
    backup_for: str | None = None,
    display_name: str | None = None,
) -> int:
    """Create a staff account and return its id.

    ``backup_for`` is the role this person stands in for (AB角). Raises ``ValueError``
    with a message for the operator on a duplicate username, an unknown role, or a
    missing password.
    """
    name = username.strip()
    if not name or len(name) > _USERNAME_MAX:
        raise ValueError(f"username must be 1 to {_USERNAME_MAX} characters, got {username!r}")
    for label, value in (("role", role), ("backup_for", backup_for)):
        if value is not None and value not in ROLES:
            raise ValueError(f"unknown {label} {value!r}; roles are: {', '.join(ROLES)}")
    if not password:
        raise ValueError("a password is required")
    values = {
        "username": name,
        "display_name": display_name,
        "password_hash": hash_password(password),
        "role": role,
        "department": department or None,
        "backup_for": backup_for,
        "active": True,
    }
    try:
        with db.begin() as conn:
            if conn.execute(select(ledger.users.c.id).where(ledger.users.c.username == name)).first():
                raise ValueError(f"user {name!r} already exists")
            result = conn.execute(insert(ledger.users).values(**values))
            key = result.inserted_primary_key
    except IntegrityError as exc:  # a concurrent add of the same name
        raise ValueError(f"user {name!r} already exists") from exc
    assert key is not None
    return int(key[0])


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(db: Engine, username: str, password: str, now: datetime) -> Session:
    """Check the credentials and open a session of ``SESSION_LIFETIME``; ``AuthError`` otherwise."""
    u = ledger.users
    with ledger.read_only(db) as conn:
        row = conn.execute(select(u).where(u.c.username == username.strip())).mappings().first()
    if row is None:
        check_password(password, _DUMMY_HASH)
        raise AuthError(LOGIN_FAILED)
    if not check_password(password, str(row["password_hash"])) or not row["active"]:
        raise AuthError(LOGIN_FAILED)
    token = secrets.token_urlsafe(32)
    expires = now + SESSION_LIFETIME
    with db.begin() as conn:
        conn.execute(delete(ledger.sessions).where(ledger.sessions.c.expires_at < ledger.iso(now)))
        conn.execute(
            insert(ledger.sessions).values(
                token_hash=_token_hash(token), user_id=int(row["id"]), expires_at=ledger.iso(expires)
            )
        )
    return Session(token, _actor(row), expires)


def login(db: Engine, username: str, password: str, now: datetime) -> str:
    """A new bearer token for the user; ``AuthError`` (one generic message) on bad credentials."""
    return start_session(db, username, password, now).token


def logout(db: Engine, token: str) -> None:
    with db.begin() as conn:
        conn.execute(delete(ledger.sessions).where(ledger.sessions.c.token_hash == _token_hash(token)))


def actor_for_token(db: Engine, token: str, now: datetime) -> Actor | None:
    """The staff actor of a live session, or None (unknown, expired or deactivated)."""
    if not token:
        return None
    s, u = ledger.sessions, ledger.users
    with ledger.read_only(db) as conn:
        row = (
            conn.execute(
                select(u, s.c.expires_at).join(s, s.c.user_id == u.c.id).where(s.c.token_hash == _token_hash(token))
            )
            .mappings()
            .first()
        )
    if row is None or not row["active"]:
        return None
    if datetime.fromisoformat(str(row["expires_at"])) <= now:
        return None
    return _actor(row)


def _actor(r: Mapping[Any, Any]) -> Actor:
    return Actor(
        username=str(r["username"]),
        role=str(r["role"]),
        department=r["department"] or None,
        backup_role=r["backup_for"] or None,
    )
