"""Staff accounts: adding a person with a role, a department and an AB backup role
(``yangguang user add``), the demo accounts ``make run`` creates, and unlocking an account
after failed logins (``yangguang user unlock``). Passwords are hashed by engine.service.auth."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from engine.ledger import tables
from engine.ledger.db import read_only
from engine.service import access
from engine.service.auth import USERNAME_MAX, hash_password, pair_key

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
    "frontdesk",  # 综合受理窗口: accepts chain applications for every department (统一受理)
)


class UnknownUser(ValueError):
    """``unlock_user`` of a username that has no account."""


class UserExists(ValueError):
    """``add_user`` of a username that is taken."""


def add_user(
    db: Engine,
    username: str,
    role: str,
    department: str | None = None,
    password: str | None = None,
    backup_for: str | None = None,
    display_name: str | None = None,
    password_hash: str | None = None,
) -> int:
    """Create a staff account and return its id.

    ``backup_for`` is the role this person stands in for (AB角). Raises ``ValueError``
    with a message for the operator on a duplicate username (:class:`UserExists`), an
    unknown role, or a missing password. The strength rule (``engine.base.passwords``) is the
    caller's: ``yangguang user add`` applies it to a person's new password; the demo
    accounts and tests call this directly.
    """
    name = username.strip()
    if not name or len(name) > USERNAME_MAX:
        raise ValueError(f"username must be 1 to {USERNAME_MAX} characters, got {username!r}")
    for label, value in (("role", role), ("backup_for", backup_for)):
        if value is not None and value not in ROLES:
            raise ValueError(f"unknown {label} {value!r}; roles are: {', '.join(ROLES)}")
    if backup_for in access.NOT_BY_BACKUP:  # it would grant nothing (engine.service.access): say so now
        raise ValueError(
            f"--backup-for {backup_for!r}: an AB backup stands in for a department role; {backup_for} is a "
            f"center role, which only its own holders have (add the person with --role {backup_for} instead)"
        )
    if backup_for is not None and not department:
        raise ValueError(
            f"--backup-for {backup_for!r}: an AB backup stands in for a colleague of their own department; "
            "give the person's --department too"
        )
    if not password:
        raise ValueError("a password is required")
    if user_exists(db, name):  # before hashing: a duplicate costs nothing
        raise UserExists(f"user {name!r} already exists")
    values = {
        "username": name,
        "display_name": display_name,
        "password_hash": password_hash or hash_password(password),
        "role": role,
        "department": department or None,
        "backup_for": backup_for,
        "active": True,
    }
    try:
        with db.begin() as conn:
            if conn.execute(select(tables.users.c.id).where(tables.users.c.username == name)).first():
                raise UserExists(f"user {name!r} already exists")
            result = conn.execute(insert(tables.users).values(**values))
            key = result.inserted_primary_key
    except IntegrityError as exc:  # a concurrent add of the same name
        raise UserExists(f"user {name!r} already exists") from exc
    assert key is not None
    return int(key[0])


def user_exists(db: Engine, name: str) -> bool:
    with read_only(db) as conn:
        return conn.execute(select(tables.users.c.id).where(tables.users.c.username == name)).first() is not None


# ------------------------------------------------------------------------------ demo accounts

DEMO_PASSWORD = "demo-password"
CENTER_ROLES = ("supervisor", "admin", "frontdesk")
DEPARTMENT_ROLES = tuple(r for r in ROLES if r not in CENTER_ROLES)
ROLE_NAMES = {
    "window": "窗口受理",
    "undertaker": "承办",
    "reviewer": "审核",
    "decider": "审批",
    "issuer": "制证发证",
    "inspector": "现场核查",
    "head": "负责人",
    "supervisor": "效能监察",
    "admin": "系统管理员",
    "frontdesk": "综合受理",
}


@dataclass(frozen=True, slots=True)
class DemoAccount:
    username: str
    role: str
    department: str | None
    backup_for: str | None = None
    display_name: str | None = None


def ensure_users(
    db: Engine,
    accounts: Iterable[DemoAccount],
    password: str,
    progress: Callable[[int, int], None] | None = None,
) -> list[tuple[DemoAccount, bool]]:
    """Create the accounts that do not exist yet (existing ones are left alone); each with whether it was created.

    The password is hashed once for all of them: the demo accounts share one published password, so
    one salt hides nothing more than 170 would, and 170 Argon2id hashes (64 MiB each) kept `make run`
    waiting over a minute. ``progress(done, total)`` is called after each account (engine.cli.progress)."""
    todo = list(accounts)
    shared: str | None = None
    done: list[tuple[DemoAccount, bool]] = []
    for a in todo:
        if user_exists(db, a.username.strip()):
            done.append((a, False))
        else:
            shared = shared or hash_password(password)
            try:
                add_user(db, a.username, a.role, a.department, password, a.backup_for, a.display_name, shared)
            except UserExists:  # created meanwhile by another run
                done.append((a, False))
            else:
                done.append((a, True))
        if progress is not None:
            progress(len(done), len(todo))
    return done


def unlock_user(db: Engine, username: str) -> int:
    """Forget the account's failed logins from every address (``yangguang user unlock``) and
    return how many there were; :class:`UnknownUser` when no account has that name. The
    addresses' own counts are left: they belong to whoever used them, not to this account."""
    name = username.strip()
    if not user_exists(db, name):
        raise UnknownUser(f"no user {name!r}; check the spelling (login names are case-sensitive)")
    la = tables.login_attempts
    prefix = pair_key(name, "")
    with db.begin() as conn:  # every "pair:<name>\x1f<client>": the keys between the prefix and the next one
        result = conn.execute(delete(la).where(la.c.key >= prefix, la.c.key < prefix[:-1] + "\x20"))
    return int(result.rowcount)
