"""Issue 15, accounts: throttling that cannot lock the real user out (hole 1), `user unlock`,
strong passwords for new accounts (hole 2), owner-only files (hole 3) and HSTS behind TLS
(hole 4). Real SQLite files, the real CLI, real HTTP (the app in-process, and `yangguang
serve` for the proxy headers)."""

from __future__ import annotations

import ast
import io
import os
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import zxcvbn
from sqlalchemy import Engine, select
from support import free_port

from engine.base import passwords
from engine.base.dates import TZ
from engine.cli.main import main
from engine.ledger import tables
from engine.ledger.db import open_engine
from engine.ledger.migrations import migrate
from engine.service import auth
from engine.service.accounts import DEMO_PASSWORD, add_user

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 6, 9, 0, tzinfo=TZ)
PW = "correct horse battery"
ATTACKER, OFFICE, HOME = "203.0.113.66", "198.51.100.7", "10.1.2.3"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = open_engine(tmp_path / "auth.db")
    migrate(engine)
    for name, role in (("admin", "admin"), ("li", "window"), ("lix", "window")):
        add_user(engine, name, role, None, PW)
    yield engine
    engine.dispose()


def fail(db: Engine, username: str, at: datetime, client: str) -> None:
    with pytest.raises(auth.AuthError) as caught:
        auth.start_session(db, username, "wrong", at, client=client)
    assert type(caught.value) is auth.AuthError  # a counted failure, not a refusal


def refused(db: Engine, username: str, at: datetime, client: str) -> timedelta:
    """The wait a throttled attempt with the RIGHT password is told."""
    with pytest.raises(auth.LoginThrottled) as caught:
        auth.start_session(db, username, PW, at, client=client)
    return caught.value.retry_after


def signs_in(db: Engine, username: str, at: datetime, client: str) -> bool:
    return auth.start_session(db, username, PW, at, client=client).actor.username == username


def attempt_keys(db: Engine) -> list[str]:
    with db.connect() as conn:
        return sorted(str(k) for k in conn.execute(select(tables.login_attempts.c.key)).scalars())


# ------------------------------------------------------------------ hole 1: throttling


def test_hammering_admin_from_one_address_does_not_keep_the_real_admin_out(db: Engine) -> None:
    """Hole 1: five wrong passwords for `admin` used to lock the account for everyone for 15
    minutes; now they lock `admin` from the guessing address only."""
    for second in range(5):
        fail(db, "admin", T0 + timedelta(seconds=second), ATTACKER)
    # the 5th failure was at 9:00:04; the first (9:00:00) leaves the window at 9:15:00
    assert refused(db, "admin", T0 + timedelta(minutes=1), ATTACKER) == timedelta(minutes=14)
    for second in range(20):  # refused attempts are not counted and never reach the password
        refused(db, "admin", T0 + timedelta(minutes=2, seconds=second), ATTACKER)
    assert signs_in(db, "admin", T0 + timedelta(minutes=2), HOME)  # the real admin, from their own office
    assert signs_in(db, "li", T0 + timedelta(minutes=2), ATTACKER)  # another account from that address too
    assert signs_in(db, "admin", T0 + timedelta(minutes=15), ATTACKER)  # the window has passed


def test_an_office_behind_one_address_with_twenty_mistyped_passwords_is_not_slowed(db: Engine) -> None:
    """Hole 1: 20 failures from one address used to refuse everyone behind it (a whole office
    behind one NAT) for 15 minutes. Ten colleagues each mistype twice within 15 minutes."""
    staff = [f"clerk{i}" for i in range(10)]
    for name in staff:
        add_user(db, name, "window", "housing", PW)
    for i in range(20):  # one failure every 40 s: 9:00:00, 9:00:40, ..., 9:12:40
        fail(db, staff[i % 10], T0 + timedelta(seconds=40 * i), OFFICE)
    at = T0 + timedelta(minutes=13)  # every one of the 20 failures is still within the window
    assert all(signs_in(db, name, at, OFFICE) for name in staff)


def test_past_thirty_failures_an_address_waits_longer_and_longer_but_never_over_a_minute(db: Engine) -> None:
    """Hole 1: the per-address limit is a progressive delay, not a lock: after 30 failures the
    next attempt from the address waits 1 s after its latest failure, then 2, 4, ... 60 s."""
    at = T0
    for i in range(30):  # 3 each for 10 names: no account reaches its own limit of 5
        fail(db, f"user{i % 10}", at, ATTACKER)
    waits = []
    for _ in range(8):
        wait = refused(db, "li", at, ATTACKER)  # even the right password waits
        waits.append(int(wait.total_seconds()))
        at += wait
        fail(db, "li" if len(waits) < 4 else "lix", at, ATTACKER)
    # after failure 30, 31, ..., 37: 2**0, 2**1, ..., 2**5 = 32, then 2**6 = 64 capped at 60
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]
    assert signs_in(db, "admin", at, HOME)  # other addresses are not slowed
    assert str(auth.LoginThrottled(timedelta(seconds=32))) == "登录失败次数过多，请 32 秒后再试"
    # at 9:00:00 the 30 failures; they leave the window at 9:15:00, leaving 8: not slowed
    assert signs_in(db, "li", T0 + timedelta(minutes=15), ATTACKER)


def test_parallel_guesses_cannot_slip_past_the_limit(db: Engine) -> None:
    """Twenty guesses for `admin` from one address at the same moment, on eight threads: each
    is counted before its password is checked, in the write transaction that checks the limit,
    so exactly five are checked and fifteen refused."""
    from concurrent.futures import ThreadPoolExecutor

    def guess(_: int) -> str:
        try:
            auth.start_session(db, "admin", "wrong", T0, client=ATTACKER)
        except auth.LoginThrottled:
            return "refused"
        except auth.AuthError:
            return "checked"
        return "signed in"

    with ThreadPoolExecutor(8) as pool:
        outcomes = sorted(pool.map(guess, range(20)))
    assert outcomes == ["checked"] * 5 + ["refused"] * 15


def test_user_unlock_lets_a_locked_account_in_again_at_once(db: Engine, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Hole 1: `yangguang user unlock USERNAME` forgets the account's failures from every address."""
    for _ in range(5):
        fail(db, "li", T0, OFFICE)
        fail(db, "li", T0, ATTACKER)
    fail(db, "lix", T0, OFFICE)  # another account whose name starts alike keeps its failures
    assert refused(db, "li", T0, OFFICE)
    assert main(["user", "unlock", "li", "--db", str(tmp_path / "auth.db")]) == 0
    out = capsys.readouterr().out
    assert out == "user li unlocked: 10 recent failed login(s) forgotten; it can sign in from every address again\n"
    assert attempt_keys(db) == [f"ip:{OFFICE}"] * 6 + [f"ip:{ATTACKER}"] * 5 + [f"pair:lix\x1f{OFFICE}"]
    assert signs_in(db, "li", T0, OFFICE)


def test_user_unlock_of_an_unknown_user_or_a_missing_database_exits_1_cleanly(
    db: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["user", "unlock", "ghost", "--db", str(tmp_path / "auth.db")]) == 1
    err = capsys.readouterr().err
    assert err == "yangguang: no user 'ghost'; check the spelling (login names are case-sensitive)\n"
    assert main(["user", "unlock", "li", "--db", str(tmp_path / "none.db")]) == 1
    assert capsys.readouterr().err.startswith("yangguang: no database at ")
    assert not (tmp_path / "none.db").exists()


# ------------------------------------------------------------------ hole 2: password strength


def user_add(
    monkeypatch: pytest.MonkeyPatch, db_path: Path, username: str, role: str, password: str, *extra: str
) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    args = ["user", "add", "--username", username, "--role", role, "--password-stdin", "--db", str(db_path)]
    return main([*args, *extra])


def usernames(db_path: Path) -> list[str]:
    engine = open_engine(db_path)
    try:
        with engine.connect() as conn:
            return sorted(str(n) for n in conn.execute(select(tables.users.c.username)).scalars())
    finally:
        engine.dispose()


def test_user_add_refuses_1_as_an_administrators_password_saying_why_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hole 2: `user add` took "1" as an administrator's password."""
    db_path = tmp_path / "y.db"
    assert user_add(monkeypatch, db_path, "admin", "admin", "1") == 1
    err = capsys.readouterr().err
    assert err == (
        "yangguang: 密码太弱（强度 0/4，管理员和效能监察账号至少 4） / "
        "password too weak (strength 0/4; administrator and supervisor accounts need 4)\n"
        "  再加一两个词，不常见的词更好。 / Add another word or two. Uncommon words are better.\n"
        "  例如用四五个不相关的词组成一句只有你知道的话 / "
        "e.g. four or five unrelated words only you would put together\n"
        "user admin not added; run the command again with a stronger password\n"
    )
    assert not db_path.exists()  # refused before the record is opened
    assert user_add(monkeypatch, db_path, "li", "window", "password123") == 1
    assert "这是非常常见的密码。 / This is a very common password." in capsys.readouterr().err
    assert user_add(monkeypatch, db_path, "admin", "admin", "tulip orbit cello marsh") == 0
    assert usernames(db_path) == ["admin"]


def test_administrators_need_a_stronger_password_than_other_staff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hole 2: zxcvbn scores "my own secret" 3 (about 10^9 guesses): enough for a window clerk,
    not for an administrator or a supervisor, who need 4."""
    db_path = tmp_path / "y.db"
    for role in ("admin", "supervisor"):
        assert user_add(monkeypatch, db_path, "boss", role, "my own secret") == 1
        assert "(strength 3/4; administrator and supervisor accounts need 4)" in capsys.readouterr().err
    assert user_add(monkeypatch, db_path, "li", "window", "my own secret") == 0
    assert usernames(db_path) == ["li"]


def test_the_username_and_the_centers_names_count_against_a_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hole 2: "wangfang.qiqihar" alone scores 4, but for the account wangfang at the center
    whose id is qiqihar (center.yaml) it is two known words: 3, too weak for an administrator."""
    assert zxcvbn.zxcvbn("wangfang.qiqihar")["score"] == 4
    db_path = tmp_path / "y.db"
    assert user_add(monkeypatch, db_path, "wangfang", "admin", "wangfang.qiqihar", "--catalog", str(REPO)) == 1
    assert "strength 3/4" in capsys.readouterr().err
    assert user_add(monkeypatch, db_path, "zhaolei", "admin", "qiqihar realestate", "--catalog", str(REPO)) == 1
    # another administrator, at a center whose catalogue does not name qiqihar: both words are unknown
    assert user_add(monkeypatch, db_path, "zhaolei", "admin", "wangfang.qiqihar", "--catalog", str(tmp_path)) == 0


def test_every_zxcvbn_warning_and_suggestion_has_a_chinese_translation() -> None:
    source = Path(zxcvbn.__file__).with_name("feedback.py").read_text(encoding="utf-8")
    texts = {
        node.args[0].value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_"
        if isinstance(node.args[0], ast.Constant)
    }
    assert len(texts) >= 25 and texts == set(passwords.CHINESE)


def test_the_demo_accounts_keep_their_known_password(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`make run` (demo-users) still makes accounts that sign in with the printed demo password:
    it is for trying Yangguang out, never a real database, so the strength rule is not applied."""
    path = tmp_path / "demo.db"
    assert main(["demo-users", "--db", str(path)]) == 0
    assert f"password: {DEMO_PASSWORD}" in capsys.readouterr().out
    assert passwords.password_problem(DEMO_PASSWORD, "admin") is not None  # it would be refused as a real one
    engine = open_engine(path)
    assert auth.start_session(engine, "admin", DEMO_PASSWORD, T0).actor.role == "admin"
    engine.dispose()


# ------------------------------------------------------------------ hole 3: file modes


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_server_keeps_its_database_key_and_uploads_to_its_owner(tmp_path: Path) -> None:
    """Hole 3: the database was created 0644 (world-readable with the usual umask 022): every
    local user could read applicants' personal data and the staff password hashes."""
    from starlette.testclient import TestClient

    from engine.web.app import create_app

    old = os.umask(0o022)
    try:
        var = tmp_path / "var"
        app = create_app(catalog=REPO, db=var / "yangguang.db", sweep_seconds=0, reload_seconds=0)
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
            files = {p.name: mode(p) for p in var.iterdir()}
            assert files == {
                "yangguang.db": 0o600,
                "yangguang.db-wal": 0o600,
                "yangguang.db-shm": 0o600,
                "uploads": 0o700,
                "open-data": 0o700,
            }
            assert mode(var) == 0o700
    finally:
        os.umask(old)


def test_open_engine_creates_a_new_database_owner_only_and_leaves_an_existing_ones_mode(tmp_path: Path) -> None:
    """Hole 3, for every command that opens the record (`user add`, `sweep`, ...)."""
    old = os.umask(0o022)
    try:
        fresh = open_engine(tmp_path / "new" / "y.db")
        migrate(fresh)
        assert (mode(tmp_path / "new"), mode(tmp_path / "new" / "y.db")) == (0o700, 0o600)
        fresh.dispose()
        (tmp_path / "shared.db").touch(mode=0o640)  # an administrator's own choice, e.g. for a backup group
        migrate(existing := open_engine(tmp_path / "shared.db"))
        assert mode(tmp_path / "shared.db") == 0o640
        existing.dispose()
    finally:
        os.umask(old)


# ------------------------------------------------------------------ hole 4: HSTS


def test_hsts_only_on_responses_to_https_requests(tmp_path: Path) -> None:
    """Hole 4: no response told browsers to keep to https."""
    from starlette.testclient import TestClient

    from engine.web.app import create_app

    app = create_app(catalog=REPO, db=tmp_path / "y.db", sweep_seconds=0, reload_seconds=0)
    with TestClient(app, base_url="https://testserver") as tls:
        for path in ("/", "/healthz", "/no-such-page"):
            r = tls.get(path)
            assert r.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains", path
    with TestClient(app, base_url="http://testserver") as plain:
        assert "strict-transport-security" not in plain.get("/").headers


def _serve(tmp_path: Path, *flags: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "YANGGUANG_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("FORWARDED_ALLOW_IPS", None)
    args = ["serve", "--db", str(tmp_path / "y.db"), "--port", str(port), "--sweep-seconds", "0", *flags]
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", *args, "--reload-seconds", "0"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).close()
            return proc, base
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"yangguang serve did not start ({proc.returncode})") from None
            time.sleep(0.2)


def _hsts_behind_proxy(base: str) -> str | None:
    request = urllib.request.Request(base + "/healthz", headers={"X-Forwarded-Proto": "https"})
    with urllib.request.urlopen(request, timeout=5) as r:
        return r.headers.get("strict-transport-security")


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ((), "max-age=31536000; includeSubDomains"),  # the proxy on this host is trusted by default
        (("--forwarded-allow-ips", "192.0.2.1"), None),  # only that proxy is: our own header is ignored
    ],
)
def test_serve_believes_x_forwarded_proto_only_from_the_trusted_proxies(
    tmp_path: Path, flags: tuple[str, ...], expected: str | None
) -> None:
    """Hole 4 behind a TLS-terminating reverse proxy: `yangguang serve` takes the scheme from
    X-Forwarded-Proto only when the request comes from a --forwarded-allow-ips address."""
    proc, base = _serve(tmp_path, *flags)
    try:
        assert _hsts_behind_proxy(base) == expected
        with urllib.request.urlopen(base + "/healthz", timeout=5) as r:
            assert r.headers.get("strict-transport-security") is None  # plain http never gets it
    finally:
        proc.terminate()
        proc.wait(timeout=30)
