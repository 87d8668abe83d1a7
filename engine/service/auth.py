"""Staff sessions: Argon2id password hashes, opaque bearer tokens, login throttling (the accounts
themselves are engine.service.accounts).

Passwords are hashed with Argon2id (RFC 9106, the low-memory recommendation: t=3,
m=64 MiB, p=4) by the module-level :data:`HASHER`; tests may swap it for cheaper
parameters. Hashes made before (``scrypt$n$r$p$salt_hex$hash_hex``) still verify, and a
successful login re-hashes a password whose hash is scrypt or has outdated Argon2
parameters. At most :data:`_HASH_SLOTS` hashes run at once, which bounds the memory a
burst of logins can take.

Only ``sha256(token)`` is stored in ``sessions``, so a copy of the database does not
hand out working tokens. A session ends :data:`SESSION_LIFETIME` after login, or
earlier when unused for longer than :data:`IDLE_TIMEOUT`; ``last_seen`` is written at
most once per :data:`TOUCH_INTERVAL`. Ended sessions are deleted when next seen.

Failed logins are counted in ``login_attempts``, each before its password is checked and
in the same write transaction as the check of the limits, so parallel guesses cannot slip
past them. Two limits, both over the last :data:`THROTTLE_WINDOW` (15 minutes):

* per account *and* client address: :data:`ACCOUNT_CLIENT_LIMIT` (5) failures refuse that
  account from that address (even the right password, or the limit would tell a guesser
  when they hit it) until the oldest of them is 15 minutes old. The same account from any
  other address is not affected, so someone hammering ``admin`` from one place does not
  keep the real administrator out. A success clears the pair's failures; ``yangguang user
  unlock`` (engine.service.accounts.unlock_user) clears an account's failures from every address.
* per client address: after :data:`CLIENT_FREE` (30) failures from one address, every
  further attempt from it waits 1 s after the address's latest failure, doubling with each
  failure to at most :data:`CLIENT_DELAY_CAP` (60 s). An office behind one NAT address with
  20 mistyped passwords in 15 minutes is not slowed at all, and with 40 it waits at most a
  minute at a time, never locked out; a guesser at one address gets about 50 tries per 15 minutes over all
  accounts (30 free, then about one a minute).

There is deliberately no limit per account over all addresses: it is what let anyone lock
``admin`` out by typing wrong passwords. Guessing one account from many addresses is
answered by the password rule instead (``engine.base.passwords``): zxcvbn score 3 (about
10^8 guesses) for staff, 4 (10^10) for administrators and supervisors; 1,000 addresses at
5 tries each per 15 minutes need about 200 days for 10^8 guesses and over 50 years for
10^10, and :data:`_HASH_SLOTS` Argon2 hashes at a time bound the server's rate anyway.

Applicants have no accounts: they reach their own case with its query code (see
``engine.web.api``). Nothing here prints.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher, profiles
from argon2.exceptions import Argon2Error
from sqlalchemy import Connection, Engine, delete, func, insert, or_, select, update

from engine.base.i18n import N_, gettext, ngettext
from engine.ledger import tables
from engine.ledger.db import iso, lock, read_only
from engine.rules.cases.model import Actor

SESSION_LIFETIME = timedelta(hours=8)
IDLE_TIMEOUT = timedelta(minutes=30)
TOUCH_INTERVAL = timedelta(minutes=1)  # last_seen is written at most this often per session
THROTTLE_WINDOW = timedelta(minutes=15)
ACCOUNT_CLIENT_LIMIT = 5  # failed logins for one username from one address within THROTTLE_WINDOW
CLIENT_FREE = 30  # failed logins from one address within THROTTLE_WINDOW before its attempts are slowed
CLIENT_DELAY_CAP = timedelta(seconds=60)  # the longest wait between attempts from a slowed address

HASHER = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)
"""Hashes new passwords and decides which stored hashes are outdated (swap it in tests)."""
_HASH_SLOTS = threading.BoundedSemaphore(4)  # 4 x 64 MiB at most

_N, _R, _P = 2**14, 8, 1  # scrypt, for hashes made before Argon2id
_MAXMEM = 64 * 1024 * 1024
USERNAME_MAX = 64
_CLIENT_MAX = 100  # of a client address in login_attempts.key (String(200)); IPv6 text is at most 45
LOGIN_FAILED = N_("用户名或密码错误")  # one message whatever failed: it never says whether the user exists


class AuthError(Exception):
    """A failed login; the message never says whether the user exists. It is said in the language of the
    request that tried (the desk's login page, the API; Chinese outside a request)."""


class LoginThrottled(AuthError):
    """Too many failed logins for this username or from this client; ``retry_after`` says how long to wait."""

    def __init__(self, retry_after: timedelta) -> None:
        self.retry_after = retry_after
        seconds = max(1, math.ceil(retry_after.total_seconds()))
        if seconds < 60:  # a slowed address waits seconds, not minutes (Chinese has one form: 1 分钟, 10 分钟)
            count = seconds
            words = ngettext(
                "登录失败次数过多，请 %(count)s 秒后再试", "登录失败次数过多，请 %(count)s 秒后再试", count
            )
        else:
            count = math.ceil(seconds / 60)
            words = ngettext(
                "登录失败次数过多，请 %(count)s 分钟后再试", "登录失败次数过多，请 %(count)s 分钟后再试", count
            )
        super().__init__(words % {"count": count})


@dataclass(frozen=True, slots=True)
class Session:
    token: str  # give to the client once; only its sha256 is stored
    actor: Actor
    expires_at: datetime


# ------------------------------------------------------------------------------ passwords


def hash_password(pw: str) -> str:
    """An Argon2id hash (PHC string ``$argon2id$v=19$m=…,t=…,p=…$salt$hash``) with :data:`HASHER`'s parameters."""
    with _HASH_SLOTS:
        return HASHER.hash(pw)


def check_password(pw: str, stored: str) -> bool:
    """True when ``pw`` matches ``stored`` (Argon2 or the older scrypt); False for a malformed hash."""
    if stored.startswith("$argon2"):
        try:
            with _HASH_SLOTS:
                return HASHER.verify(stored, pw)
        except (Argon2Error, ValueError):  # mismatch, or an invalid hash
            return False
    if stored.startswith("scrypt$"):
        return _check_scrypt(pw, stored)
    return False


def needs_rehash(stored: str) -> bool:
    """True when ``stored`` is not Argon2id with :data:`HASHER`'s current parameters."""
    if not stored.startswith("$argon2id$"):
        return True
    try:
        return HASHER.check_needs_rehash(stored)
    except ValueError:  # InvalidHashError
        return True


def _check_scrypt(pw: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_hex, hash_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(hash_hex)
        with _HASH_SLOTS:
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


def scrypt_hash(pw: str) -> str:
    """A hash in the format used before Argon2id (kept to test the upgrade path; never used for new accounts)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pw.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, maxmem=_MAXMEM, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


# A real hash to check against when the user does not exist, so a failed login takes
# the same time either way (no probing for usernames by timing). Made with the current
# HASHER the first time it is needed (and again if the hasher is swapped).
_dummy: tuple[PasswordHasher, str] | None = None


def _dummy_hash() -> str:
    global _dummy
    current = _dummy
    if current is None or current[0] is not HASHER:
        current = _dummy = (HASHER, hash_password(secrets.token_hex(16)))
    return current[1]


# ------------------------------------------------------------------------------ sessions


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def pair_key(username: str, client: str) -> str:
    """The key of one account's failures from one address (a name longer than any account is cut short)."""
    return f"pair:{username[: USERNAME_MAX + 1]}\x1f{client[:_CLIENT_MAX]}"


def _client_key(client: str) -> str:
    return f"ip:{client[:_CLIENT_MAX]}"


def _count_attempt(db: Engine, username: str, client: str, now: datetime) -> list[int]:
    """Refuse with ``LoginThrottled`` while the account is locked for this client or the client
    is slowed; otherwise record this attempt as a failure of the pair and of the client (undone
    on success) and return the row ids. One write transaction: parallel attempts queue."""
    la = tables.login_attempts
    since = iso(now - THROTTLE_WINDOW)
    pair = pair_key(username, client)
    wait = timedelta(0)
    ids: list[int] = []
    with db.begin() as conn:
        lock(conn, "login_attempts")  # PostgreSQL: parallel attempts count one after the other, as on SQLite
        conn.execute(delete(la).where(la.c.at <= since))  # prune
        newest = select(la.c.at).where(la.c.key == pair, la.c.at > since).order_by(la.c.at.desc())
        recent = conn.execute(newest.limit(ACCOUNT_CLIENT_LIMIT)).all()
        if len(recent) >= ACCOUNT_CLIENT_LIMIT:  # free again when the limit-th newest failure leaves the window
            wait = datetime.fromisoformat(str(recent[-1][0])) + THROTTLE_WINDOW - now
        keys = [pair]
        if client:
            keys.append(_client_key(client))
            failures, latest = conn.execute(
                select(func.count(), func.max(la.c.at)).where(la.c.key == keys[1], la.c.at > since)
            ).one()
            if failures >= CLIENT_FREE:  # 1 s after the 30th failure, 2 s after the 31st, ... at most a minute
                delay = min(CLIENT_DELAY_CAP, timedelta(seconds=2 ** min(failures - CLIENT_FREE, 16)))
                wait = max(wait, datetime.fromisoformat(str(latest)) + delay - now)
        if wait <= timedelta(0):
            for key in keys:
                key_id = conn.execute(insert(la).values(key=key, at=iso(now))).inserted_primary_key
                assert key_id is not None
                ids.append(int(key_id[0]))
    if wait > timedelta(0):
        raise LoginThrottled(wait)
    return ids


def start_session(db: Engine, username: str, password: str, now: datetime, *, client: str = "") -> Session:
    """Check the credentials and open a session of ``SESSION_LIFETIME``.

    ``client`` is the caller's address, for throttling. Raises ``LoginThrottled`` after
    too many failures (before looking at the password), ``AuthError`` with the one
    generic message on bad credentials. A success clears the username's failures from
    this client (not the client's failures for other usernames) and upgrades an outdated
    password hash.
    """
    name = username.strip()
    attempt_ids = _count_attempt(db, name, client, now)
    u = tables.users
    with read_only(db) as conn:
        row = conn.execute(select(u).where(u.c.username == name)).mappings().first()
    if row is None:
        check_password(password, _dummy_hash())
        raise AuthError(gettext(LOGIN_FAILED))
    stored = str(row["password_hash"])
    if not check_password(password, stored) or not row["active"]:
        raise AuthError(gettext(LOGIN_FAILED))
    upgraded = hash_password(password) if needs_rehash(stored) else None
    token = secrets.token_urlsafe(32)
    expires = now + SESSION_LIFETIME
    la, s = tables.login_attempts, tables.sessions
    with db.begin() as conn:
        conn.execute(delete(la).where(or_(la.c.key == pair_key(name, client), la.c.id.in_(attempt_ids))))
        _prune_sessions(conn, now)
        conn.execute(
            insert(s).values(
                token_hash=_token_hash(token),
                user_id=int(row["id"]),
                expires_at=iso(expires),
                last_seen=iso(now),
            )
        )
        if upgraded is not None:  # unless the password was changed meanwhile
            conn.execute(
                update(u).where(u.c.id == row["id"], u.c.password_hash == stored).values(password_hash=upgraded)
            )
    return Session(token, _actor(row), expires)


def _prune_sessions(conn: Connection, now: datetime) -> None:
    """Delete ended sessions: past their lifetime, or idle (NULL last_seen counts from the start)."""
    s = tables.sessions
    conn.execute(
        delete(s).where(
            or_(
                s.c.expires_at <= iso(now),
                s.c.last_seen < iso(now - IDLE_TIMEOUT),
                s.c.last_seen.is_(None) & (s.c.expires_at < iso(now - IDLE_TIMEOUT + SESSION_LIFETIME)),
            )
        )
    )


def login(db: Engine, username: str, password: str, now: datetime, *, client: str = "") -> str:
    """A new bearer token for the user; ``AuthError`` (one generic message) on bad credentials."""
    return start_session(db, username, password, now, client=client).token


def logout(db: Engine, token: str) -> None:
    with db.begin() as conn:
        conn.execute(delete(tables.sessions).where(tables.sessions.c.token_hash == _token_hash(token)))


def actor_for_token(db: Engine, token: str, now: datetime) -> Actor | None:
    """The staff actor of a live session, or None (unknown, expired, idle or deactivated).

    Records the use in ``last_seen`` (at most once per ``TOUCH_INTERVAL``); deletes the
    session when it has ended.
    """
    if not token:
        return None
    s, u = tables.sessions, tables.users
    key = _token_hash(token)
    with read_only(db) as conn:
        row = (
            conn.execute(
                select(u, s.c.expires_at, s.c.last_seen).join(s, s.c.user_id == u.c.id).where(s.c.token_hash == key)
            )
            .mappings()
            .first()
        )
    if row is None:
        return None
    expires = datetime.fromisoformat(str(row["expires_at"]))
    seen = datetime.fromisoformat(str(row["last_seen"])) if row["last_seen"] else expires - SESSION_LIFETIME
    if expires <= now or now - seen > IDLE_TIMEOUT:
        with db.begin() as conn:
            conn.execute(delete(s).where(s.c.token_hash == key))
        return None
    if not row["active"]:
        return None
    if now - seen >= TOUCH_INTERVAL:
        with db.begin() as conn:  # a concurrent request may have touched it already
            conn.execute(
                update(s)
                .where(
                    s.c.token_hash == key,
                    or_(s.c.last_seen.is_(None), s.c.last_seen <= iso(now - TOUCH_INTERVAL)),
                )
                .values(last_seen=iso(now))
            )
    return _actor(row)


def _actor(r: Mapping[Any, Any]) -> Actor:
    return Actor(
        username=str(r["username"]),
        role=str(r["role"]),
        department=r["department"] or None,
        backup_role=r["backup_for"] or None,
    )
