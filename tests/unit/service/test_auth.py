"""Staff accounts and sessions (engine.service.auth) on a real SQLite file: Argon2id hashes and the
scrypt upgrade, login throttling, idle timeout, and the demo accounts of `make run`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, event, select, update

from engine.base.dates import TZ
from engine.base.i18n import activate
from engine.cli.main import main
from engine.ledger import tables
from engine.ledger.db import iso, open_engine
from engine.ledger.migrations import migrate
from engine.service import auth
from engine.service.accounts import add_user

REAL_HASHER = auth.HASHER


@contextlib.contextmanager
def speaking_english() -> Iterator[None]:
    activate("en")
    try:
        yield
    finally:
        activate("zh_CN")


T0 = datetime(2026, 3, 6, 9, 0, tzinfo=TZ)
PW = "correct horse battery"

# Argon2id with the cheapest parameters (tests/conftest.py), except where a test puts the real hasher back
pytestmark = pytest.mark.usefixtures("cheap_hashes")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = open_engine(tmp_path / "auth.db")
    migrate(engine)
    add_user(engine, "li", "window", "housing", PW)
    add_user(engine, "wang", "reviewer", "housing", PW)
    yield engine
    engine.dispose()


def stored_hash(db: Engine, username: str) -> str:
    with db.connect() as conn:
        return str(
            conn.execute(select(tables.users.c.password_hash).where(tables.users.c.username == username)).scalar_one()
        )


def set_hash(db: Engine, username: str, value: str) -> None:
    with db.begin() as conn:
        conn.execute(update(tables.users).where(tables.users.c.username == username).values(password_hash=value))


def fail(db: Engine, username: str, at: datetime, client: str = "") -> None:
    with pytest.raises(auth.AuthError) as caught:
        auth.start_session(db, username, "wrong", at, client=client)
    assert type(caught.value) is auth.AuthError and str(caught.value) == auth.LOGIN_FAILED


def throttled(db: Engine, username: str, at: datetime, client: str = "") -> auth.LoginThrottled:
    with pytest.raises(auth.LoginThrottled) as caught:
        auth.start_session(db, username, PW, at, client=client)
    return caught.value


def session_rows(db: Engine) -> list[Any]:
    with db.connect() as conn:
        return list(conn.execute(select(tables.sessions)).mappings())


def attempt_rows(db: Engine) -> list[Any]:
    with db.connect() as conn:
        return list(conn.execute(select(tables.login_attempts)).mappings())


# ------------------------------------------------------------------ passwords


def test_default_hasher_is_argon2id_with_rfc9106_low_memory_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "HASHER", REAL_HASHER)
    stored = auth.hash_password("s3cret")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert auth.check_password("s3cret", stored)
    assert not auth.check_password("s3cret!", stored)
    assert not auth.needs_rehash(stored)
    assert auth.hash_password("s3cret") != stored  # a fresh salt every time


def test_malformed_hashes_never_match() -> None:
    for bad in ("", "garbage", "$argon2id$garbage", "$argon2id$v=19$m=8,t=1,p=1$AAAA$AAAA", "scrypt$1$2$3", "md5$x"):
        assert not auth.check_password("x", bad)
        assert auth.needs_rehash(bad)


def test_scrypt_hash_still_accepted_and_upgraded_to_argon2id_after_login(db: Engine) -> None:
    legacy = auth.scrypt_hash("old password")
    assert legacy.startswith("scrypt$16384$8$1$") and auth.check_password("old password", legacy)
    set_hash(db, "li", legacy)
    with pytest.raises(auth.AuthError):  # a wrong password does not touch the hash
        auth.start_session(db, "li", "wrong", T0)
    assert stored_hash(db, "li") == legacy
    assert auth.start_session(db, "li", "old password", T0).actor.username == "li"
    upgraded = stored_hash(db, "li")
    assert upgraded.startswith("$argon2id$") and not auth.needs_rehash(upgraded)
    assert auth.start_session(db, "li", "old password", T0).actor.role == "window"
    assert stored_hash(db, "li") == upgraded  # current hashes are left as they are


def test_outdated_argon2_parameters_are_rehashed_after_login(db: Engine) -> None:
    old = PasswordHasher(time_cost=1, memory_cost=16, parallelism=2).hash(PW)
    assert auth.needs_rehash(old)
    set_hash(db, "li", old)
    auth.start_session(db, "li", PW, T0)
    assert stored_hash(db, "li") != old and not auth.needs_rehash(stored_hash(db, "li"))


def test_wrong_password_and_unknown_user_answer_the_same(db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str] = []
    real_check = auth.check_password
    monkeypatch.setattr(auth, "check_password", lambda pw, stored: checked.append(stored) or real_check(pw, stored))
    fail(db, "li", T0)
    fail(db, "nobody", T0)  # still checks a (dummy) hash: same work, same message
    assert len(checked) == 2 and all(h.startswith("$argon2id$") for h in checked)
    assert checked[1] != stored_hash(db, "li")
    assert session_rows(db) == []


def test_deactivated_user_cannot_log_in(db: Engine) -> None:
    with db.begin() as conn:
        conn.execute(update(tables.users).where(tables.users.c.username == "li").values(active=False))
    fail(db, "li", T0)
    with pytest.raises(auth.AuthError, match="用户名或密码错误"):
        auth.start_session(db, "li", PW, T0)


# ------------------------------------------------------------------ throttling


def test_five_failures_for_a_username_from_one_address_refuse_even_the_right_password(db: Engine) -> None:
    for minute in range(5):
        fail(db, "li", T0 + timedelta(minutes=minute))
    refused = throttled(db, "li", T0 + timedelta(minutes=5))
    assert isinstance(refused, auth.AuthError)
    assert refused.retry_after == timedelta(minutes=10)  # when the first failure leaves the 15-minute window
    assert str(refused) == "登录失败次数过多，请 10 分钟后再试"
    assert throttled(db, "li", T0 + timedelta(minutes=14, seconds=59)).retry_after == timedelta(seconds=1)
    assert auth.start_session(db, "wang", PW, T0 + timedelta(minutes=5)).actor.username == "wang"  # others unaffected
    # refused attempts are not counted: once the first failure is 15 minutes old, one try is free again
    assert auth.start_session(db, "li", PW, T0 + timedelta(minutes=15)).actor.username == "li"
    with speaking_english():  # the message is the catalogue's, in the language of the request that tried
        assert str(auth.LoginThrottled(timedelta(minutes=10))) == "too many failed logins; try again in 10 minutes"
        assert str(auth.LoginThrottled(timedelta(seconds=60))) == "too many failed logins; try again in 1 minute"
        assert str(auth.LoginThrottled(timedelta(seconds=1))) == "too many failed logins; try again in 1 second"
        with pytest.raises(auth.AuthError, match=r"^wrong username or password$"):
            auth.start_session(db, "li", "wrong", T0 + timedelta(minutes=20))


def test_unknown_usernames_are_throttled_alike(db: Engine) -> None:
    for _ in range(5):
        fail(db, "ghost", T0)
    assert throttled(db, "ghost", T0 + timedelta(minutes=1)).retry_after == timedelta(minutes=14)


def test_throttled_while_failures_keep_coming_only_as_long_as_they_are_recent(db: Engine) -> None:
    for minute in (0, 1, 2, 3):
        fail(db, "li", T0 + timedelta(minutes=minute))
    fail(db, "li", T0 + timedelta(minutes=16))  # the first one has left the window: 4 recent
    assert auth.start_session(db, "li", PW, T0 + timedelta(minutes=16)).actor.username == "li"


def test_a_success_clears_the_accounts_failures_from_that_address_but_not_the_addresss(db: Engine) -> None:
    for _ in range(4):
        fail(db, "li", T0, client="10.0.0.9")
    auth.start_session(db, "li", PW, T0, client="10.0.0.9")
    for _ in range(4):
        fail(db, "li", T0, client="10.0.0.9")
    auth.start_session(db, "li", PW, T0, client="10.0.0.9")  # 8 failures, never 5 in a row: not throttled
    keys = sorted(r["key"] for r in attempt_rows(db))
    assert keys == ["ip:10.0.0.9"] * 8  # a valid account does not wipe the address's record
    for i in range(22):  # 30 failures from the address in all: it is slowed (tests/web/test_accounts.py)
        fail(db, f"x{i}", T0, client="10.0.0.9")
    assert throttled(db, "li", T0, client="10.0.0.9").retry_after == timedelta(seconds=1)


def test_old_attempts_are_pruned(db: Engine) -> None:
    for _ in range(3):
        fail(db, "li", T0, client="10.0.0.9")
    assert len(attempt_rows(db)) == 6  # the account from that address, and the address
    fail(db, "wang", T0 + timedelta(minutes=20))
    assert [r["key"] for r in attempt_rows(db)] == ["pair:wang\x1f"]


# ------------------------------------------------------------------ sessions


def test_only_the_token_hash_is_stored_and_last_seen_starts_at_login(db: Engine) -> None:
    s = auth.start_session(db, "li", PW, T0)
    [row] = session_rows(db)
    assert row["token_hash"] != s.token and len(row["token_hash"]) == 64
    assert row["last_seen"] == iso(T0) and row["expires_at"] == iso(T0 + auth.SESSION_LIFETIME)
    assert s.expires_at == T0 + timedelta(hours=8)


def test_idle_session_is_refused_and_deleted(db: Engine) -> None:
    idle = auth.start_session(db, "li", PW, T0).token
    assert auth.actor_for_token(db, idle, T0 + timedelta(minutes=31)) is None
    assert session_rows(db) == []
    edge = auth.start_session(db, "li", PW, T0).token
    assert auth.actor_for_token(db, edge, T0 + auth.IDLE_TIMEOUT) is not None  # exactly 30 minutes is still fine


def test_session_used_every_ten_minutes_lives_until_the_absolute_lifetime(db: Engine) -> None:
    token = auth.start_session(db, "li", PW, T0).token
    for minutes in range(10, 480, 10):
        actor = auth.actor_for_token(db, token, T0 + timedelta(minutes=minutes))
        assert actor is not None and actor.username == "li", minutes
    assert auth.actor_for_token(db, token, T0 + timedelta(hours=8)) is None
    assert session_rows(db) == []


def test_null_last_seen_counts_from_the_session_start(db: Engine) -> None:
    old = auth.start_session(db, "li", PW, T0).token
    young = auth.start_session(db, "wang", PW, T0 + timedelta(minutes=5)).token
    with db.begin() as conn:  # sessions from before migration 5
        conn.execute(update(tables.sessions).values(last_seen=None))
    assert auth.actor_for_token(db, old, T0 + timedelta(minutes=31)) is None
    assert auth.actor_for_token(db, young, T0 + timedelta(minutes=31)) is not None
    assert [r["last_seen"] for r in session_rows(db)] == [iso(T0 + timedelta(minutes=31))]


def test_last_seen_is_written_at_most_once_a_minute(db: Engine) -> None:
    token = auth.start_session(db, "li", PW, T0).token
    writes: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")):
            writes.append(statement)

    event.listen(db, "before_cursor_execute", count)
    try:
        for second in range(0, 60, 5):
            assert auth.actor_for_token(db, token, T0 + timedelta(seconds=second)) is not None
        assert writes == []
        assert session_rows(db)[0]["last_seen"] == iso(T0)
        for second in range(60, 120, 5):
            assert auth.actor_for_token(db, token, T0 + timedelta(seconds=second)) is not None
        assert len(writes) == 1
        assert session_rows(db)[0]["last_seen"] == iso(T0 + timedelta(minutes=1))
    finally:
        event.remove(db, "before_cursor_execute", count)


def test_a_new_login_deletes_ended_sessions_and_logout_deletes_its_own(db: Engine) -> None:
    auth.start_session(db, "li", PW, T0)  # will be idle
    auth.start_session(db, "wang", PW, T0 + timedelta(minutes=20))  # still live
    fresh = auth.start_session(db, "li", PW, T0 + timedelta(minutes=40)).token
    assert len(session_rows(db)) == 2
    auth.logout(db, fresh)
    assert [r["last_seen"] for r in session_rows(db)] == [iso(T0 + timedelta(minutes=20))]
    assert auth.actor_for_token(db, fresh, T0 + timedelta(minutes=41)) is None
    assert auth.actor_for_token(db, "", T0) is None


# ------------------------------------------------------------------ demo accounts


# (the table and every department: tests/unit/service/test_demo_users.py)


def test_demo_users_reports_an_unwritable_database_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["demo-users", "--db", str(blocker / "demo.db")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("yangguang: cannot write the demo accounts to") and "Traceback" not in err
