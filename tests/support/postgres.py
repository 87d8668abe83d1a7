"""A real PostgreSQL server for the tests: a throwaway cluster, or the one ``YANGGUANG_TEST_PG`` names.

* :func:`server` answers the base URL of a server the tests may create databases on
  (``postgresql://user@host:port``, no database), or ``None`` when none can be had:
  ``YANGGUANG_TEST_PG`` if it is set (``.ci/run`` sets it after starting its own cluster), else a
  cluster this process starts with Debian's ``initdb`` in a temporary folder (as the ``postgres``
  user when the tests run as root, since PostgreSQL refuses to run as root), on a free port of
  127.0.0.1, stopped and removed when the tests end.
* :func:`fresh_database` makes a new, empty database on that server and answers its URL.
* :func:`start_replica` starts a streaming replica of a server (``pg_basebackup -R`` into a new folder,
  started on another port) and answers its base URL and how to stop it: for ``serve --db-read``;
  :func:`replayed` waits until it has caught up with its primary.
* :class:`Redirect` maps every SQLite file the engine opens to a fresh PostgreSQL database of its
  own: with it installed (``pytest --store=postgresql``) the whole suite runs on PostgreSQL
  without a test knowing. Tests about SQLite itself carry ``@pytest.mark.sqlite_only``.

The cluster trades durability for speed (``fsync=off``): it is thrown away at the end.
"""

from __future__ import annotations

import atexit
import glob
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ENV = "YANGGUANG_TEST_PG"
REQUIRE_ENV = "YANGGUANG_REQUIRE_PG"  # set by .ci/run: no PostgreSQL is then a failure, not a skip

_lock = threading.Lock()
_server: list[str | None] = []  # [] not yet tried, [None] not available, [url]
_why: list[str] = []


def _binaries() -> Path | None:
    """The folder of Debian's server programs (``/usr/lib/postgresql/<version>/bin``), newest first."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and (Path(found).parent / "initdb").exists() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_user() -> list[str]:
    """The prefix that runs a command as a user PostgreSQL accepts (never root)."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        raise RuntimeError("running as root without runuser: PostgreSQL will not start as root")
    return [runuser, "-u", "postgres", "--"]


def _start() -> str:
    bin_dir = _binaries()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL server programs (Debian: apt-get install postgresql)")
    home = Path(tempfile.mkdtemp(prefix="yangguang-pg-"))
    prefix = _as_user()
    if prefix:
        shutil.chown(home, "postgres")
    data, port = home / "data", _free_port()
    run = [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
           "--locale=C", "--no-sync"]
    subprocess.run(run, check=True, capture_output=True, timeout=120)
    options = (f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
               "-c full_page_writes=off -c max_connections=300 -c shared_buffers=128MB")
    subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(home / "log"),
                    "-w", "-t", "60", "start"], check=True, capture_output=True, timeout=90)

    def stop() -> None:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60, check=False)
        shutil.rmtree(home, ignore_errors=True)

    atexit.register(stop)
    return f"postgresql://postgres@127.0.0.1:{port}"


def start_replica(primary: str) -> tuple[str, Callable[[], None]]:
    """A hot-standby streaming replica of the server ``primary`` (a base URL as :func:`server` gives): a base
    backup taken with ``pg_basebackup -R`` (which writes the standby's connection settings) into a new
    temporary folder, started on a free port of 127.0.0.1. Answers its base URL and a function that stops
    and removes it. The primary must accept replication connections: a cluster :func:`server` starts does
    (``initdb -A trust`` trusts local replication; ``wal_level=replica`` is the default).
    RuntimeError when the server programs are missing; subprocess errors as they come."""
    bin_dir = _binaries()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL server programs (Debian: apt-get install postgresql)")
    home = Path(tempfile.mkdtemp(prefix="yangguang-pg-replica-"))
    prefix = _as_user()
    if prefix:
        shutil.chown(home, "postgres")
    data, port = home / "data", _free_port()
    with _admin(primary) as conn:  # a standby refuses to run with fewer connections than its primary allows
        connections = conn.execute("SHOW max_connections").fetchone()[0]
    backup = [*prefix, str(bin_dir / "pg_basebackup"), "-d", f"{primary}/postgres", "-D", str(data), "-R",
              "-X", "stream", "--checkpoint=fast", "--no-sync"]
    options = (f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c hot_standby=on -c fsync=off "
               f"-c max_connections={connections}")

    def stop() -> None:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60, check=False)
        shutil.rmtree(home, ignore_errors=True)

    try:
        subprocess.run(backup, check=True, capture_output=True, timeout=120)
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(home / "log"),
                        "-w", "-t", "60", "start"], check=True, capture_output=True, timeout=90)
    except BaseException:
        stop()
        raise
    atexit.register(stop)  # stopping twice is harmless: pg_ctl finds no server the second time
    return f"postgresql://postgres@127.0.0.1:{port}", stop


def replayed(primary_url: str, replica_url: str, seconds: float = 60.0) -> None:
    """Wait until the replica at ``replica_url`` has replayed everything the primary at ``primary_url`` had
    written when this was called (polled, since replication is asynchronous); TimeoutError after ``seconds``."""
    import psycopg

    with psycopg.connect(primary_url, autocommit=True) as conn:
        target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    deadline = time.monotonic() + seconds
    while True:
        try:
            with psycopg.connect(replica_url, autocommit=True) as conn:
                done = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)).fetchone()[0]
        except psycopg.OperationalError:  # the database itself is not replayed yet
            done = False
        if done:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the replica {replica_url} did not replay {target} within {seconds} s")
        time.sleep(0.02)


def server() -> str | None:
    """The base URL of a PostgreSQL server for the tests, or None (:func:`why_not` says why)."""
    with _lock:
        if not _server:
            try:
                _server.append(os.environ.get(ENV) or _start())
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                detail = getattr(exc, "stderr", b"") or b""
                _why.append(f"{exc} {detail.decode(errors='replace')[-500:]}".strip())
                _server.append(None)
        return _server[0]


def why_not() -> str:
    return _why[0] if _why else ""


def _admin(base: str) -> Any:
    import psycopg

    return psycopg.connect(f"{base}/postgres", autocommit=True)


def fresh_database(base: str, name: str | None = None) -> str:
    """A new empty database on ``base`` (named ``name``, dropped first if it exists); its URL."""
    name = name or "t_" + os.urandom(8).hex()
    with _admin(base) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 STRATEGY FILE_COPY')
    return f"{base}/{name}"


class Redirect:
    """Wraps ``engine.ledger.db.open_engine`` so an SQLite file path opens a PostgreSQL database instead:
    the same path always the same database (a test that reopens its file finds its data), each new
    path a fresh one. ``:memory:`` and non-SQLite URLs pass through."""

    def __init__(self, base: str, original: Callable[..., Any]) -> None:
        self.base, self.original = base, original
        self.made: dict[str, str] = {}

    def __call__(self, url_or_path: Any, *args: Any, **kwargs: Any) -> Any:
        text = str(url_or_path)
        if "://" in text and not text.startswith("sqlite"):
            return self.original(url_or_path, *args, **kwargs)
        path = text.split("sqlite:///", 1)[-1]
        if path in ("", ":memory:") or path.startswith("file:"):
            return self.original(url_or_path, *args, **kwargs)
        key = os.path.abspath(path)
        if key not in self.made:
            name = "t_" + hashlib.sha1(key.encode()).hexdigest()[:24]
            self.made[key] = fresh_database(self.base, name)
        return self.original(self.made[key], *args, **kwargs)


def redirected(path: Any) -> str | None:
    """The PostgreSQL URL the SQLite file ``path`` was redirected to, or None (no redirect, or a new path)."""
    import engine.ledger.db as db

    made = getattr(db.open_engine, "made", None)
    return None if made is None else made.get(os.path.abspath(str(path)))


def tamper(url: str, *sql: str) -> None:
    """support.tamper on PostgreSQL: drop the database's own triggers (those that keep the record
    append-only; its owner can), then run ``sql``, in one transaction."""
    import psycopg

    with psycopg.connect(url) as conn:
        found = conn.execute("SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                             "WHERE NOT t.tgisinternal").fetchall()
        for name, table in found:
            conn.execute(f'DROP TRIGGER "{name}" ON "{table}"')
        for statement in sql:
            conn.execute(statement)


def redirect_sqlite(base: str) -> None:
    """Install :class:`Redirect` before any engine module has imported ``open_engine``."""
    import engine.ledger.db as db

    db.open_engine = Redirect(base, db.open_engine)  # type: ignore[assignment]
