"""The case lifecycle on PostgreSQL: Yangguang against a bare psycopg floor, with 1, 2 and 4 concurrent clients.

Run by ``bench/bench_cases.py`` (``--store postgresql`` or ``both``, the default). Each client is its own
process (as server workers are) with its own CaseService and connection, filing and completing cases of the
same standard item as the SQLite section (nine transactions each). The floor writes the same rows in the same
nine transactions with psycopg and nothing else (bench_cases.floor_case, as on SQLite): the case row and its
first event (with the catalogue snapshot and the idempotency key), then per action the guarded version update
setting the worklist columns that changed (the values Yangguang wrote for that action, taken from the SQLite
template) and the hash-chained event, and the staff rows when it ends. Each run gets a fresh database with the
engine's schema.

The server is ``YANGGUANG_BENCH_PG`` (a base URL, ``postgresql://user@host:port``, on which the bench creates
databases), else the tests' server (tests/support/postgres.py: ``YANGGUANG_TEST_PG`` or a throwaway cluster
started with Debian's ``initdb``; it runs with ``fsync=off``, so the figures measure the engine's and the
protocol's work, not the disk's). Target (issue 18): Yangguang at least 60% of the floor's cases/s at each
number of clients.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import multiprocessing
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean

from engine.ledger.db import open_engine
from engine.ledger.migrations import migrate
from engine.ledger.tables import cases
from engine.rules.clock import ManualClock
from engine.service.cases import CaseService

ENV = "YANGGUANG_BENCH_PG"
CLIENTS = (1, 2, 4)
TARGET_VS_FLOOR = 0.6  # issue 18: Yangguang >= 60% of the bare psycopg floor at each number of clients
REPO = Path(__file__).resolve().parent.parent


def server() -> tuple[str | None, str]:
    """(base URL or None, where it came from or why there is none)."""
    if os.environ.get(ENV):
        return os.environ[ENV].rstrip("/"), ENV
    spec = importlib.util.spec_from_file_location("yangguang_test_postgres", REPO / "tests/support/postgres.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    base = module.server()
    if base is None:
        return None, module.why_not()
    return base, "the tests' server (tests/support/postgres.py; a throwaway cluster runs with fsync=off)"


def fresh_database(base: str) -> str:
    import psycopg

    name = "bench_" + os.urandom(6).hex()
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    return f"{base}/{name}"


def drop_database(base: str, url: str) -> None:
    import psycopg

    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


# ---------------------------------------------------------------------------------------
# One client: Yangguang or the floor, n cases, started together with the others
# ---------------------------------------------------------------------------------------

# set in the parent before the clients fork: (bench_cases module, world, template)
_SHARED: list[Any] = []


def _center(world: Any, client: int) -> Any:
    """The world's catalogue as center number ``client``: the clients file as different centers of one
    province database (numbers ``QQ0…``, ``QQ1…``), as county centers would."""
    center = dict(world.catalogue.center or {})
    center["id"] = f"{center.get('id', 'yg')}{client}"
    return dataclasses.replace(world.catalogue, center=center)


def _yangguang_client(url: str, client: int, n: int, ready: Any) -> tuple[float, float]:
    bench, world, _ = _SHARED
    db = open_engine(url)
    clk = ManualClock(bench.START)
    svc = CaseService(_center(world, client), db, clk, world.calendar)
    ready.wait()
    start = time.monotonic()
    for i in range(n):
        bench.yangguang_lifecycle(svc, clk, world, f"pg-{client}-{i}")
    end = time.monotonic()
    db.dispose()
    return start, end


_BOOLEAN = {c.name for c in cases.columns if isinstance(c.type, Boolean)}


def _typed(columns: tuple[str, ...], values: tuple[Any, ...]) -> tuple[Any, ...]:
    """The template's values as PostgreSQL takes them (SQLite hands booleans back as 0 and 1)."""
    return tuple(bool(v) if c in _BOOLEAN and v is not None else v for c, v in zip(columns, values, strict=True))


def _floor_client(url: str, client: int, n: int, ready: Any, joined: bool = False) -> tuple[float, float]:
    import psycopg

    bench, _, tpl = _SHARED
    rows = [_typed(bench.ROW_COLUMNS, e[5]) for e in tpl.events]
    con = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=joined)
    sql: dict[str, str] = {}

    def run(text: str, params: tuple[Any, ...]) -> Any:
        if text not in sql:
            sql[text] = text.replace("?", "%s")
        return con.execute(sql[text], params)  # type: ignore[call-overload]

    def insert_case(text: str, params: tuple[Any, ...]) -> int:
        found = run(text + " RETURNING id", params).fetchone()
        assert found is not None
        return int(found[0])

    if joined:  # autocommit: the transactions of several statements are begun and ended by hand
        driver = bench.FloorDriver(
            run, insert_case, *(partial(con.execute, word) for word in ("BEGIN", "COMMIT", "ROLLBACK"))
        )
    else:
        driver = bench.FloorDriver(run, insert_case, lambda: None, con.commit, con.rollback)  # psycopg begins itself
    moment = bench.START
    ready.wait()
    start = time.monotonic()
    for i in range(n):
        moment = bench.floor_case(tpl, rows, f"FLOOR{client}{i:07d}", f"k{client}-{i}", moment, driver, joined)
    end = time.monotonic()
    con.close()
    return start, end


def _client(fn: Callable[..., tuple[float, float]], url: str, client: int, n: int, ready: Any, out: Any) -> None:
    try:
        out.put(fn(url, client, n, ready))
    except BaseException as exc:  # the parent reports it: a client that fails makes the figures meaningless
        ready.abort()
        out.put(exc)


def _run(fn: Callable[..., tuple[float, float]], url: str, clients: int, n: int) -> float:
    """``clients`` processes running ``fn`` together; the seconds from the first start to the last end."""
    ctx = multiprocessing.get_context("fork")  # the clients inherit the world and the template
    ready, out = ctx.Barrier(clients), ctx.Queue()
    procs = [ctx.Process(target=_client, args=(fn, url, k, n, ready, out)) for k in range(clients)]
    for proc in procs:
        proc.start()
    spans = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    failed = [s for s in spans if isinstance(s, BaseException)]
    if failed:
        bench = _SHARED[0]
        raise bench.Broken(f"a PostgreSQL client failed: {failed[0]!r}")
    return max(end for _, end in spans) - min(start for start, _ in spans)


# ---------------------------------------------------------------------------------------
# Measuring and reporting
# ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class PgFigure:
    label: str
    clients: int
    cases: int  # in all, over every client
    times: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.cases / t for t in self.times)


def _check(bench: Any, url: str, total: int) -> None:
    from engine.supervision import audit

    db = open_engine(url)
    try:
        report = audit.verify(db)
        if not report.ok:
            raise bench.Broken("audit.verify failed after the Yangguang run on PostgreSQL:\n" + report.render())
        with db.connect() as conn:
            done = conn.exec_driver_sql("SELECT count(*) FROM cases WHERE state = 'completed'").scalar_one()
            events = conn.exec_driver_sql("SELECT count(*) FROM events").scalar_one()
        if done != total or events != total * bench.ACTIONS_PER_CASE:
            raise bench.Broken(f"PostgreSQL: expected {total} completed cases, found {done} and {events} events")
    finally:
        db.dispose()


def measure(bench: Any, world: Any, tpl: Any, base: str, cases: int, repeat: int) -> list[PgFigure]:
    """Per number of clients, Yangguang and the floor alternating ``repeat`` times, each on a fresh
    database; ``cases`` per client."""
    _SHARED[:] = [bench, world, tpl]
    figures: list[PgFigure] = []
    for clients in CLIENTS:
        yg = PgFigure("Yangguang", clients, clients * cases, [])
        fl = PgFigure("floor (bare psycopg)", clients, clients * cases, [])
        fj = PgFigure("floor, actions joined (info)", clients, clients * cases, [])
        runs = ((yg, _yangguang_client), (fl, _floor_client), (fj, partial(_floor_client, joined=True)))
        for r in range(repeat):
            for fig, fn in runs:
                url = fresh_database(base)
                try:
                    db = open_engine(url)
                    migrate(db)
                    if fig is yg:  # one case first (untimed), which pins the item's catalogue snapshot
                        clock = ManualClock(bench.START)
                        svc = CaseService(world.catalogue, db, clock, world.calendar)
                        bench.yangguang_lifecycle(svc, clock, world, "warm-up")
                    db.dispose()
                    fig.times.append(_run(fn, url, clients, cases))
                    if fig is yg:
                        _check(bench, url, clients * cases + 1)
                finally:
                    drop_database(base, url)
            print(
                f"  PostgreSQL {clients} client(s) run {r + 1}/{repeat}: Yangguang {yg.cases / yg.times[-1]:,.0f}/s,"
                f" floor {fl.cases / fl.times[-1]:,.0f}/s, floor with actions joined {fj.cases / fj.times[-1]:,.0f}/s",
                flush=True,
            )
        figures += [yg, fl, fj]
    return figures


def report(figures: list[PgFigure], verdict: Callable[[bool], str]) -> None:
    print(f"\n{'PostgreSQL measurement':<34}{'clients':>8}{'cases':>7}{'runs':>5}{'cases/s':>10}  {'range':<14}")
    for f in figures:
        rates = [f.cases / t for t in f.times]
        span = f"{min(rates):,.0f}–{max(rates):,.0f}"
        print(f"{f.label:<34}{f.clients:>8}{f.cases:>7}{len(f.times):>5}{f.median:>10,.0f}  {span:<14}")
    print("\ntargets (PostgreSQL; the median of each run's Yangguang / the floor's run right after it)")
    by = {(f.label.split()[0].rstrip(","), f.label.startswith("floor,"), f.clients): f for f in figures}
    for clients in CLIENTS:
        yg = by[("Yangguang", False, clients)]
        share = paired_share(yg, by[("floor", False, clients)])
        print(
            f"  {clients} client(s)  Yangguang / floor {share:8.1%}   target >= {TARGET_VS_FLOOR:.0%}{'':<9}"
            f"{verdict(share >= TARGET_VS_FLOOR)}"
        )
        joined = paired_share(yg, by[("floor", True, clients)])
        print(f"  {clients} client(s)  Yangguang / floor with actions joined {joined:8.1%}   (informational)")


def paired_share(yg: PgFigure, floor: PgFigure) -> float:
    """Yangguang's cases/s as a share of the floor's: the median over the runs of each run's share against
    the floor's run that followed it. A pair runs back to back under the same machine load, so a burst of
    other work on this busy 2-core machine moves both; the ratio of the two medians mixes runs minutes apart."""
    return statistics.median((yg.cases / y) / (floor.cases / f) for y, f in zip(yg.times, floor.times, strict=True))
