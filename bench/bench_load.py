"""Load over HTTP: 50 concurrent clients against one and two server processes, on SQLite and PostgreSQL.

Each run starts ``yangguang serve`` processes (the command a center runs) on free ports of 127.0.0.1
against one fresh database — an SQLite file in a temporary folder, or a fresh database on the
benchmark's PostgreSQL server (``$YANGGUANG_BENCH_PG``, else a throwaway cluster: bench/pg.py) — with
the reference catalogue, live reload off and the per-address limits out of reach (all the load comes
from one address: bench_web's ``ONE_ADDRESS_FOR_MANY``). The first process sweeps every 60 s, a second
runs with ``--sweep-seconds 0``. Clients are spread over the processes in turn, and for ``--seconds``
(default 60) they work as a center's day does, each on its own keep-alive connection:

* 30 applicants file ``QQ-REALESTATE-DJ-102`` through the API: ``POST /api/drafts``, the upload of a small
  PDF into the draft, ``POST /api/cases`` under a unique idempotency key;
* 10 window staff (``window.realestate.1`` …, each signed in with ``POST /api/session``) accept the filed cases
  (``POST /api/cases/N/actions``, ``accept`` at version 1): each filed case goes to exactly one of them,
  so no two clients ever act on one case and any 409 is an error;
* 8 readers walk the public pages: the home page, the item's guide, the announcements, the sunshine log;
* 2 supervisors (``supervisor.1``, ``supervisor.2``) read ``GET /api/supervision/summary`` of the last 30 days.

It prints requests/s, and p50/p99 latency per route; every answer other than the one expected is an
error (target: 0). Afterwards the database is checked against what the clients saw succeed: as many
cases as 201s of ``POST /api/cases`` with every number distinct and present, as many accept events as
accepts answered 200 — 0 lost or duplicated actions — and ``yangguang audit verify`` passes on it.
Nothing here asserts a time: targets print PASS/MISS, the exit status is 0 unless the servers could
not start. The clients share the machine's cores with the servers (the client's own CPU time is
printed): on 2 cores the figures are what one small machine serves, for comparing runs side by side.

    .venv/bin/python bench/bench_load.py [--seconds S] [--store both|sqlite|postgresql] [--processes 1,2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))  # import the engine from this checkout, however the venv was installed
sys.path.insert(0, str(BENCH))

import pg  # noqa: E402  (bench/pg.py)
from bench_web import ONE_ADDRESS_FOR_MANY, RawConn, free_port, get, multipart, small_pdf, tail  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from engine.check.pipeline import load  # noqa: E402
from engine.ledger import tables  # noqa: E402
from engine.ledger.db import open_engine, read_only  # noqa: E402
from engine.ledger.migrations import migrate  # noqa: E402
from engine.service import auth  # noqa: E402
from engine.service.accounts import add_user  # noqa: E402
from engine.service.samples import sample_application  # noqa: E402

HOST = "127.0.0.1"
ITEM, DEPARTMENT = "QQ-REALESTATE-DJ-102", "realestate"
APPLICANTS, WINDOWS, READERS, SUPERVISORS = 30, 10, 8, 2  # 50 clients
PASSWORD = "load-bench-7f3a9c-Password"
READ_PATHS = ("/", f"/items/{ITEM}", "/announcements", "/sunshine")
START_TIMEOUT = 60.0
TARGET_ERRORS = 0
MP = "multipart/form-data; boundary=yangguangbench7f3a9c"  # bench_web.multipart's boundary


class Broken(Exception):
    """The figures mean nothing: a server did not start."""


# ---------------------------------------------------------------------------------------
# A small HTTP/1.1 client over asyncio: keep-alive, raw, so the client costs little of the shared CPUs
# ---------------------------------------------------------------------------------------


class Conn(RawConn):
    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        await self.send("\r\n".join(lines), body)
        return await self.answer(method, path)


# ---------------------------------------------------------------------------------------
# The clients
# ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Tally:
    latency: dict[str, list[float]] = field(default_factory=dict)  # route -> ms
    errors: list[str] = field(default_factory=list)
    filed: list[str] = field(default_factory=list)  # case numbers answered 201
    accepted: list[str] = field(default_factory=list)  # case numbers whose accept answered 200

    async def call(
        self,
        conn: Conn,
        route: str,
        expect: int,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> bytes | None:
        """One request, timed under ``route``; None (and an error counted) unless it answers ``expect``."""
        t = time.perf_counter()
        try:
            status, reply = await conn.request(method, path, body, headers)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            self.errors.append(f"{route}: {type(exc).__name__}: {exc}")
            await conn.close()
            return None
        self.latency.setdefault(route, []).append(1000 * (time.perf_counter() - t))
        if status != expect:
            self.errors.append(f"{route}: {status} {reply[:300].decode(errors='replace')}")
            return None
        return reply


@dataclass(slots=True)
class Work:
    ports: list[int]
    deadline: float
    application: dict[str, Any]
    materials: list[str]
    upload: bytes
    tally: Tally = field(default_factory=Tally)
    queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)

    def port(self, k: int) -> int:
        return self.ports[k % len(self.ports)]


JSON = {"Content-Type": "application/json"}


async def applicant(w: Work, k: int) -> None:
    conn, t, n = Conn(w.port(k)), w.tally, 0
    while time.perf_counter() < w.deadline:
        reply = await t.call(conn, "POST /api/drafts", 201, "POST", "/api/drafts", b"", JSON)
        if reply is None:
            continue
        draft = json.loads(reply)["draft"]
        ups: dict[str, list[str]] = {}
        for m in w.materials:
            up = await t.call(
                conn,
                "POST /api/uploads",
                201,
                "POST",
                "/api/uploads",
                w.upload,
                {"Content-Type": MP, "X-Draft-Token": draft},
            )
            if up is not None:
                ups[m] = [json.loads(up)["upload_id"]]
        if len(ups) < len(w.materials):
            continue
        n += 1
        case = {**w.application, "uploads": ups, "draft": draft, "idempotency_key": f"load-{k}-{n}"}
        body = json.dumps(case, ensure_ascii=False).encode()
        filed = await t.call(conn, "POST /api/cases", 201, "POST", "/api/cases", body, JSON)
        if filed is not None:
            number = json.loads(filed)["number"]
            t.filed.append(number)
            w.queue.put_nowait(number)
    await conn.close()


async def signed_in(w: Work, conn: Conn, username: str) -> dict[str, str] | None:
    body = json.dumps({"username": username, "password": PASSWORD}).encode()
    reply = await w.tally.call(conn, "POST /api/session", 200, "POST", "/api/session", body, JSON)
    return None if reply is None else {**JSON, "Authorization": f"Bearer {json.loads(reply)['token']}"}


async def window(w: Work, k: int) -> None:
    conn, t = Conn(w.port(k)), w.tally
    auth = await signed_in(w, conn, f"window.{DEPARTMENT}.{k}")
    while auth is not None and time.perf_counter() < w.deadline:
        try:
            number = await asyncio.wait_for(w.queue.get(), timeout=max(0.01, w.deadline - time.perf_counter()))
        except TimeoutError:
            break
        body = json.dumps({"action": "accept", "version": 1}).encode()
        done = await t.call(conn, "POST /api/cases/N/actions", 200, "POST", f"/api/cases/{number}/actions", body, auth)
        if done is not None:
            t.accepted.append(number)
    await conn.close()


async def reader(w: Work, k: int) -> None:
    conn, t, i = Conn(w.port(k)), w.tally, k
    while time.perf_counter() < w.deadline:
        path = READ_PATHS[i % len(READ_PATHS)]
        await t.call(conn, f"GET {path}", 200, "GET", path)
        i += 1
    await conn.close()


async def supervisor(w: Work, k: int) -> None:
    conn, t = Conn(w.port(k)), w.tally
    auth = await signed_in(w, conn, f"supervisor.{k}")
    today = date.today()
    path = f"/api/supervision/summary?from={today - timedelta(days=30)}&to={today + timedelta(days=1)}"
    while auth is not None and time.perf_counter() < w.deadline:
        await t.call(conn, "GET /api/supervision/summary", 200, "GET", path, b"", auth)
    await conn.close()


ROLES = [applicant] * APPLICANTS + [window] * WINDOWS + [reader] * READERS + [supervisor] * SUPERVISORS


async def drive(w: Work) -> None:
    await asyncio.gather(*(role(w, k) for k, role in enumerate(ROLES)))


# ---------------------------------------------------------------------------------------
# Servers and databases
# ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def servers(db: str, workdir: Path, processes: int) -> Iterator[list[int]]:
    """``processes`` ``yangguang serve`` processes on ``db``; the first sweeps, the others do not. Always stopped."""
    env = {**os.environ, **ONE_ADDRESS_FOR_MANY, "YANGGUANG_RELOAD_SECONDS": "0"}
    procs: list[tuple[subprocess.Popen[bytes], Path, int]] = []
    try:
        for k in range(processes):
            port, log = free_port(), workdir / f"server-{k}.log"
            cmd = [
                sys.executable,
                "-m",
                "engine",
                "serve",
                "--catalog",
                str(REPO),
                "--db",
                db,
                "--host",
                HOST,
                "--port",
                str(port),
                "--sweep-seconds",
                "60" if k == 0 else "0",
                "--reload-seconds",
                "0",
            ]
            with log.open("wb") as out:  # its own session: a Ctrl-C reaches only us, and we stop it in order
                proc = subprocess.Popen(
                    cmd, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
            procs.append((proc, log, port))
            ready(proc, log, port)  # one at a time: the first migrates the database
        yield [port for _, _, port in procs]
    finally:
        for proc, _, _ in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc, _, _ in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def ready(proc: subprocess.Popen[bytes], log: Path, port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise Broken(f"a server exited with {proc.returncode}:\n{tail(log)}")
        with contextlib.suppress(OSError):
            if get(port, "/healthz")[0] == 200:
                return
        if time.monotonic() > deadline:
            raise Broken(f"no answer on /healthz after {START_TIMEOUT:.0f} s:\n{tail(log)}")
        time.sleep(0.1)


def prepare(db: str) -> None:
    """Migrate the database and make the accounts the clients sign in with: one per client, as a center
    gives every member of staff their own (parallel sign-ins of one account from one address count as
    failures until their passwords are checked, engine.service.auth, and would be refused after 5)."""
    engine = open_engine(db)
    migrate(engine)
    hashed = auth.HASHER.hash(PASSWORD)  # once: Argon2id costs ~0.2 s a hash
    for k, role in enumerate(ROLES):
        if role is window:
            add_user(engine, f"window.{DEPARTMENT}.{k}", "window", DEPARTMENT, PASSWORD, password_hash=hashed)
        elif role is supervisor:
            add_user(engine, f"supervisor.{k}", "supervisor", None, PASSWORD, password_hash=hashed)
    engine.dispose()


@dataclass(slots=True)
class Check:
    cases: int
    distinct_numbers: bool
    missing: int  # numbers the clients were given that the database does not have
    accept_events: int
    audit_ok: bool
    audit_tail: str


def check(db: str, tally: Tally, workdir: Path) -> Check:
    c, e = tables.cases, tables.events
    engine = open_engine(db)
    with read_only(engine) as conn:
        cases = int(conn.execute(select(func.count()).select_from(c)).scalar_one())
        accepts = int(conn.execute(select(func.count()).where(e.c.action == "accept")).scalar_one())
        stored = {r[0] for r in conn.execute(select(c.c.number))}
    engine.dispose()
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "audit", "verify", "--catalog", str(REPO), "--db", db],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    said = (proc.stdout + proc.stderr).strip().splitlines() or [""]
    distinct = len(set(tally.filed)) == len(tally.filed)
    return Check(cases, distinct, len(set(tally.filed) - stored), accepts, proc.returncode == 0, said[-1])


# ---------------------------------------------------------------------------------------
# One run, and the report
# ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Run:
    label: str
    seconds: float
    tally: Tally
    check: Check | None
    client_cpu: float
    server_errors: dict[str, int] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.tally.latency.values())


def one_run(label: str, db: str, workdir: Path, processes: int, seconds: float) -> Run:
    cat = load(REPO).catalogue
    data, needed = sample_application(cat, cat.items[ITEM])
    application = {"item": ITEM, "data": json.loads(json.dumps(data, ensure_ascii=False, default=str))}
    prepare(db)
    with servers(db, workdir, processes) as ports:
        work = Work(ports, 0.0, application, list(needed), multipart(small_pdf()))
        cpu, t = time.process_time(), time.perf_counter()
        work.deadline = t + seconds
        asyncio.run(drive(work))
        elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
    result = check(db, work.tally, workdir)
    return Run(label, elapsed, work.tally, result, cpu, server_errors(workdir))


def server_errors(workdir: Path) -> dict[str, int]:
    """The exceptions the servers logged (the last line of each traceback), how many times each: what an
    error answer was."""
    found: dict[str, int] = {}
    for log in sorted(workdir.glob("server-*.log")):
        lines = log.read_text(errors="replace").splitlines()
        for k, line in enumerate(lines):
            if line.startswith("Traceback"):
                end = next((j for j in range(k + 1, len(lines)) if lines[j] and not lines[j][0].isspace()), None)
                if end is not None:  # case numbers and such made alike, so one cause is counted once
                    said = re.sub(r"\d{4,}", "…", lines[end])[:240]
                    found[said] = found.get(said, 0) + 1
    return found


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(run: Run) -> list[tuple[str, bool]]:
    t, c = run.tally, run.check
    print(
        f"\n{run.label}: {run.requests:,} requests in {run.seconds:.1f} s = {run.requests / run.seconds:,.0f}/s "
        f"(client CPU {run.client_cpu:.1f} s); {len(t.filed):,} cases filed, {len(t.accepted):,} accepted"
    )
    print(f"  {'route':<34}{'requests':>9}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}")
    for route, ms in sorted(t.latency.items()):
        print(
            f"  {route:<34}{len(ms):>9,}{len(ms) / run.seconds:>8.1f}{statistics.median(ms):>9.1f}{pct(ms, 0.99):>9.1f}"
        )
    for line in t.errors[:10]:
        print(f"  error: {line}")
    if len(t.errors) > 10:
        print(f"  … {len(t.errors) - 10:,} more errors")
    for line, n in sorted(run.server_errors.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  server log, {n}x: {line}")
    assert c is not None
    lost = len(t.filed) - c.cases
    print(
        f"  database: {c.cases:,} cases ({len(t.filed):,} filed as the clients saw), {c.missing} numbers missing, "
        f"numbers distinct: {c.distinct_numbers}; {c.accept_events:,} accept events ({len(t.accepted):,} seen); "
        f"audit verify: {'passed' if c.audit_ok else 'FAILED'} ({c.audit_tail})"
    )
    return [
        (f"{run.label}: errors = {len(t.errors)} (target {TARGET_ERRORS})", len(t.errors) <= TARGET_ERRORS),
        (
            f"{run.label}: lost or duplicated cases = {abs(lost) + c.missing}",
            lost == 0 and not c.missing and c.distinct_numbers,
        ),
        (
            f"{run.label}: lost or duplicated accepts = {abs(c.accept_events - len(t.accepted))}",
            c.accept_events == len(t.accepted),
        ),
        (f"{run.label}: audit verify", c.audit_ok),
    ]


def runs_of(args: argparse.Namespace, base: str | None, workdir: Path) -> Iterator[tuple[str, str, Path, int]]:
    """(label, database, folder, processes) of every run asked for."""
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    for store in stores:
        for processes in args.processes:
            folder = workdir / f"{store}-{processes}"
            folder.mkdir()
            label = f"{'SQLite' if store == 'sqlite' else 'PostgreSQL'}, {processes} process{'es' * (processes > 1)}"
            if store == "sqlite":
                yield label, str(folder / "load.db"), folder, processes
            elif base is not None:
                url, _ = pg.database(base, f"load_{processes}_{os.getpid()}")
                yield label, url, folder, processes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--seconds", type=float, default=60.0, help="seconds of load per run (default 60)")
    p.add_argument("--store", choices=("both", "sqlite", "postgresql"), default="both")
    p.add_argument("--processes", default="1,2", help="server processes per run, comma-separated (default 1,2)")
    args = p.parse_args(argv)
    args.processes = [int(x) for x in args.processes.split(",")]
    if not 1 <= args.seconds <= 3600 or not all(1 <= n <= 8 for n in args.processes):
        p.error("--seconds from 1 to 3600, --processes from 1 to 8 each")
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {APPLICANTS + WINDOWS + READERS + SUPERVISORS} "
        f"clients ({APPLICANTS} applicants, {WINDOWS} window staff, {READERS} readers, {SUPERVISORS} supervisors), "
        f"{args.seconds:.0f} s per run"
    )
    workdir = Path(tempfile.mkdtemp(prefix="yangguang-load-"))
    targets: list[tuple[str, bool]] = []
    try:
        with pg.server() if args.store != "sqlite" else contextlib.nullcontext() as base:
            if args.store != "sqlite" and base is None:
                print(f"PostgreSQL: skipped ({pg.why_not[0]})")
            for label, db, folder, processes in runs_of(args, base, workdir):
                try:
                    run = one_run(label, db, folder, processes, args.seconds)
                except Broken as exc:
                    print(f"\n{label}: could not run: {exc}")
                    targets.append((f"{label}: servers started", False))
                    continue
                targets += report(run)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\ntargets")
    for text, ok in targets:
        print(f"  {text:<72}{'PASS' if ok else 'MISS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
