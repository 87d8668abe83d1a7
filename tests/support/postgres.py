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
  own (and back, for the files that go with a database: ``engine.ledger.db.place``), leaving an
  empty stand-in file at the path: with it installed (``pytest --store=postgresql``) the whole
  suite runs on PostgreSQL without a test knowing. Tests about SQLite itself carry
  ``@pytest.mark.sqlite_only``.
* For tests that reach behind the application's back, on either store: :func:`tamper` (used by
  ``support.tamper``), :func:`copy_database`, :func:`query` (rows through a raw client) and
  :func:`schema_names` (indexes and triggers).

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
_installed: list[Redirect] = []  # the Redirect of pytest --store=postgresql, once installed


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


class _Cluster:
    """A cluster's folder (made for it, owned by the user the server runs as), port and programs."""

    def __init__(self, kind: str) -> None:
        bin_dir = _binaries()
        if bin_dir is None:
            raise RuntimeError("no PostgreSQL server programs (Debian: apt-get install postgresql)")
        self.bin_dir, self.prefix = bin_dir, _as_user()
        self.home = Path(tempfile.mkdtemp(prefix=f"yangguang-{kind}-"))
        if self.prefix:
            shutil.chown(self.home, "postgres")
        self.data, self.port = self.home / "data", _free_port()

    def run(self, program: str, *args: str, timeout: float = 120) -> None:
        subprocess.run([*self.prefix, str(self.bin_dir / program), *args], check=True, capture_output=True,
                       timeout=timeout)

    def start(self, options: str) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-o", f"-p {self.port} -k {self.home} {options}",
                 "-l", str(self.home / "log"), "-w", "-t", "60", "start", timeout=90)

    def stop(self) -> None:
        """Stop the server and remove its folder; stopping twice is harmless (pg_ctl finds no server)."""
        subprocess.run([*self.prefix, str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60, check=False)
        shutil.rmtree(self.home, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"


def _start() -> str:
    cluster = _Cluster("pg")
    cluster.run("initdb", "-D", str(cluster.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C",
                "--no-sync")
    cluster.start("-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                  "-c max_connections=300 -c shared_buffers=128MB")
    atexit.register(cluster.stop)
    return cluster.url


def start_replica(primary: str) -> tuple[str, Callable[[], None]]:
    """A hot-standby streaming replica of the server ``primary`` (a base URL as :func:`server` gives): a base
    backup taken with ``pg_basebackup -R`` (which writes the standby's connection settings) into a new
    temporary folder, started on a free port of 127.0.0.1. Answers its base URL and a function that stops
    and removes it. The primary must accept replication connections: a cluster :func:`server` starts does
    (``initdb -A trust`` trusts local replication; ``wal_level=replica`` is the default).
    RuntimeError when the server programs are missing; subprocess errors as they come."""
    cluster = _Cluster("pg-replica")
    with _admin(primary) as conn:  # a standby refuses to run with fewer connections than its primary allows
        connections = conn.execute("SHOW max_connections").fetchone()[0]
    try:
        cluster.run("pg_basebackup", "-d", f"{primary}/postgres", "-D", str(cluster.data), "-R", "-X", "stream",
                    "--checkpoint=fast", "--no-sync")
        cluster.start(f"-c listen_addresses=127.0.0.1 -c hot_standby=on -c fsync=off -c max_connections={connections}")
    except BaseException:
        cluster.stop()
        raise
    atexit.register(cluster.stop)
    return cluster.url, cluster.stop


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


def _name(path: str) -> str:
    return "t_" + hashlib.sha1(path.encode()).hexdigest()[:24]


def _stand_in(path: str) -> None:
    """An empty file where the SQLite file would be, so code that asks whether the database exists
    (``Path.is_file``, as the CLI does before an audit) finds it, as it would find the SQLite file; made
    owner-only in a folder made 0700, as engine.ledger.db makes a new SQLite file."""
    Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    Path(path).touch(mode=0o600)


class Redirect:
    """Wraps ``engine.ledger.db.open_engine`` so an SQLite file path opens a PostgreSQL database instead:
    the same path always the same database (a test that reopens its file finds its data), each new
    path a fresh one. ``:memory:`` and non-SQLite URLs pass through."""

    def __init__(self, base: str, original: Callable[..., Any], original_place: Callable[..., Any]) -> None:
        self.base, self.original, self.original_place = base, original, original_place
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
            self.made[key] = fresh_database(self.base, _name(key))
            _stand_in(key)
        return self.original(self.made[key], *args, **kwargs)

    def place(self, db: Any) -> Any:
        """``engine.ledger.db.place`` for a redirected database: the SQLite file it stands for, so its
        files (the signing key, uploads) are where the test expects them."""
        url = str(db.url) if hasattr(db, "url") else str(db)
        name = url.rsplit("/", 1)[-1]
        for path, made in self.made.items():
            if made.rsplit("/", 1)[-1] == name:
                return Path(path)
        return self.original_place(db)


def redirect_sqlite(base: str) -> None:
    """Install :class:`Redirect` as ``engine.ledger.db.open_engine``, and in every module already imported
    that took the name with ``from engine.ledger.db import open_engine`` (the conftest.py files of the
    folders named on the command line are imported before pytest_configure)."""
    import sys

    import engine.ledger.db as db

    original, original_place = db.open_engine, db.place
    redirect = Redirect(base, original, original_place)
    _installed[:] = [redirect]
    for module in list(sys.modules.values()):
        if getattr(module, "open_engine", None) is original:
            module.open_engine = redirect
        if getattr(module, "place", None) is original_place:
            module.place = redirect.place


def redirected(path: str | os.PathLike[str]) -> str | None:
    """The PostgreSQL URL the SQLite file ``path`` was redirected to (None: no redirect, or not opened yet)."""
    return _installed[0].made.get(os.path.abspath(path)) if _installed else None


def tamper(url: str, *sql: str) -> None:
    """Change the record of the database at ``url`` as its superuser could: drop the append-only triggers
    (migration 22), then run ``sql``."""
    import psycopg

    with psycopg.connect(url) as conn:
        found = conn.execute(
            "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE NOT t.tgisinternal AND t.tgname LIKE '%append_only%'"
        ).fetchall()
        for name, table in found:
            conn.execute(f'DROP TRIGGER "{name}" ON "{table}"')
        for statement in sql:
            conn.execute(statement)


def copy_database(src: str | os.PathLike[str], dest: str | os.PathLike[str]) -> bool:
    """When ``src`` was redirected: make ``dest`` a redirected copy of its database (``CREATE DATABASE …
    TEMPLATE``, after ending the sessions on ``src``: a pool reconnects) and answer True; False otherwise."""
    url = redirected(src)
    if url is None:
        return False
    base, source = url.rsplit("/", 1)
    key = os.path.abspath(dest)
    name = _name(key)
    with _admin(base) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (source,))
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}" STRATEGY FILE_COPY')
    _installed[0].made[key] = f"{base}/{name}"
    _stand_in(key)
    return True


def query(path: str | os.PathLike[str], sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` (``?`` placeholders) on the database of ``path``, outside the engine: the SQLite
    file, or the PostgreSQL database pytest redirected it to."""
    url = redirected(path)
    if url is None:
        import sqlite3

        with sqlite3.connect(path) as conn:
            return list(conn.execute(sql, params).fetchall())
    import psycopg

    with psycopg.connect(url) as conn:
        return list(conn.execute(sql.replace("?", "%s"), params).fetchall())


def schema_names(conn: Any, kind: str) -> set[str]:
    """The names of the ``kind`` (``index`` or ``trigger``) objects of the database ``conn`` (an SQLAlchemy
    connection) is on, SQLite or PostgreSQL; reflection does not list triggers, nor SQLite's expression indexes."""
    if conn.dialect.name == "sqlite":
        return {r[0] for r in conn.exec_driver_sql(f"SELECT name FROM sqlite_master WHERE type = '{kind}'")}
    sql = {
        "index": "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()",
        "trigger": "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal",
    }[kind]
    return {r[0] for r in conn.exec_driver_sql(sql)}
