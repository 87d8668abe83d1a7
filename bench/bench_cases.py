"""Benchmark the case lifecycle: cases per second through the real engine (issue 3, performance).

One case of a standard five-step item with a fee (受理 → 承办 → 审核 → 批准 → 办结, fee
assessed at the decision) is nine transactions: submit, accept, complete_step undertake,
complete_step review, assess_fee, decide approve, complete_step decide, record_payment
(exact) and complete — each its own transaction with the hash chain. The item is the
reference catalogue's QQ-REALESTATE-DJ-102 (不动产登记费 schedule) with ``steps: standard``,
built in memory at run time; the clock is a ManualClock.

Two references are measured in the same run on the same machine, alternating with ours:

* SpiffWorkflow: the same process as BPMN (bench/standard_item.bpmn, five user tasks in
  sequence); each task is run to completion and the workflow's JSON serialisation is
  written to an SQLite table, one transaction per task (plus one at creation), same pragmas.
  The workflow stays in memory between tasks; an informational variant ("reload per task")
  reads and deserialises it before every task, as Yangguang rebuilds a case on every action.
* the floor: the same case and event rows written with raw sqlite3 in the same nine
  transactions (BEGIN IMMEDIATE, sha256 hash chain in Python, guarded version update that
  sets the worklist columns that changed — state, open steps, roles, every deadline — to the values
  Yangguang wrote for that action, as Yangguang sets only those that change), and no engine logic.

Each runs with synchronous=NORMAL and FULL (WAL both). The table shows the median of
``--repeat`` runs. The targets (issue 18): Yangguang at least 1.5 times SpiffWorkflow's in-memory
variant with NORMAL, 1.2 times with FULL; the floor and the reload variant are for reference.
Nothing here asserts a time: the targets are reported as PASS/MISS and
the exit status is 0 either way; it is 1 only when ``audit.verify`` fails on a database
Yangguang wrote (or a run did not complete its cases), because then the figures mean nothing.

    .venv/bin/python bench/bench_cases.py [--cases N] [--repeat R] [--profile] [--dir DIR]
        [--store sqlite|postgresql|both] [--pg-cases N]

PostgreSQL (bench/bench_cases_pg.py): 1, 2 and 4 concurrent clients against a bare psycopg floor.

Needs ``SpiffWorkflow`` (the ``bench`` extra) for reference (a); without it that column is skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import gc
import hashlib
import io
import json
import os
import pstats
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # import the engine from this checkout, however the venv was installed

import bench_cases_pg  # noqa: E402  # bench/ is on the path: this script's own folder

from engine.base.dates import TZ  # noqa: E402  # noqa: E402
from engine.catalogue.model import Catalogue, Document  # noqa: E402
from engine.check.pipeline import load  # noqa: E402
from engine.ledger.cases import get_case  # noqa: E402
from engine.ledger.db import open_engine, read_only  # noqa: E402
from engine.ledger.events import GENESIS_HASH, events_of  # noqa: E402
from engine.ledger.migrations import migrate  # noqa: E402
from engine.rules.calendar import WorkCalendar  # noqa: E402
from engine.rules.cases.model import Actor  # noqa: E402  # noqa: E402
from engine.rules.clock import ManualClock  # noqa: E402  # noqa: E402
from engine.service.cases import CaseService  # noqa: E402
from engine.service.samples import sample_application  # noqa: E402
from engine.supervision import audit  # noqa: E402

CODE = "QQ-REALESTATE-DJ-102"
BPMN = Path(__file__).resolve().parent / "standard_item.bpmn"
PROCESS_ID = "standard_item"
START = datetime(2026, 3, 9, 9, 0, tzinfo=TZ)  # a Monday
TICK = timedelta(seconds=30)  # the manual clock moves this much before every action
APPLICANT = Actor("zhang", "applicant")
SYNCS = ("NORMAL", "FULL")
DEFAULT_CASES = {"NORMAL": 200, "FULL": 100}
PG_CASES = 40  # per client
TARGET_VS_SPIFF = {"NORMAL": 1.5, "FULL": 1.2}  # issue 18: Yangguang >= this many times SpiffWorkflow (in memory)


def staff(role: str) -> Actor:
    return Actor(f"{role}@realestate", role, "realestate")


# (action, actor, payload) after submit; record_payment's amount is the assessment's total
PLAN: tuple[tuple[str, Actor, dict[str, Any]], ...] = (
    ("accept", staff("window"), {}),
    ("complete_step", staff("undertaker"), {"step": "undertake"}),
    ("complete_step", staff("reviewer"), {"step": "review"}),
    ("assess_fee", staff("decider"), {}),
    ("decide", staff("decider"), {"outcome": "approve"}),
    ("complete_step", staff("decider"), {"step": "decide"}),
    ("record_payment", staff("window"), {}),
    ("complete", staff("window"), {}),
)
ACTIONS_PER_CASE = 1 + len(PLAN)


class Broken(Exception):
    """A run did not do what it should (unverifiable record, unfinished cases): the figures mean nothing."""


# ---------------------------------------------------------------------------------------
# The world: the standard item in an in-memory catalogue, and a sample application
# ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class World:
    catalogue: Catalogue
    calendar: WorkCalendar
    data: dict[str, Any]
    uploads: dict[str, list[str]]


def build_world() -> World:
    result = load(REPO)
    cat = result.catalogue
    if CODE not in cat.items:
        raise Broken(f"the reference catalogue has no item {CODE}: " + "; ".join(p.render() for p in result.problems))
    doc = cat.items[CODE]
    item = json.loads(json.dumps(doc.data))  # a deep copy (the data are plain YAML values)
    item["steps"] = "standard"
    items = dict(cat.items)
    items[CODE] = Document(doc.file, doc.kind, item, doc.key + "-bench-standard")
    edited = dataclasses.replace(cat, version=cat.version + "-bench-standard", items=items)
    calendar = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
    data, uploads = sample_application(edited, edited.items[CODE], {"realestate.certificate_copies": 2})
    return World(edited, calendar, data, uploads)


# ---------------------------------------------------------------------------------------
# Yangguang: the real CaseService
# ---------------------------------------------------------------------------------------


def yangguang_lifecycle(svc: CaseService, clk: ManualClock, world: World, key: str) -> str:
    """One case from submission to completion; returns its number."""
    clk.advance(seconds=TICK.total_seconds())
    sub = svc.submit(CODE, world.data, world.uploads, APPLICANT, key)
    version, total = sub.version, None
    for action, actor, payload in PLAN:
        clk.advance(seconds=TICK.total_seconds())
        if action == "record_payment":
            payload = {"amount_fen": total}
        case = svc.act(sub.number, action, actor, payload, version)
        version = case.version
        if action == "assess_fee":
            assert case.assessment is not None
            total = int(case.assessment["total_fen"])
    if case.state != "completed":
        raise Broken(f"case {sub.number} ended in state {case.state}")
    return sub.number


def yangguang_service(world: World, path: Path, sync: str) -> tuple[CaseService, ManualClock]:
    db = open_engine(path, synchronous=sync)
    migrate(db)
    clk = ManualClock(START)
    return CaseService(world.catalogue, db, clk, world.calendar), clk


def yangguang_check(svc: CaseService, n: int) -> None:
    report = audit.verify(svc.db)
    if not report.ok:
        raise Broken("audit.verify failed after the Yangguang run:\n" + report.render())
    with read_only(svc.db) as conn:
        rows = conn.exec_driver_sql("SELECT state, count(*) FROM cases GROUP BY state").fetchall()
        states: dict[str, int] = {str(r[0]): int(r[1]) for r in rows}
        events = conn.exec_driver_sql("SELECT count(*) FROM events").scalar_one()
    if states != {"completed": n} or events != n * ACTIONS_PER_CASE:
        raise Broken(f"expected {n} completed cases and {n * ACTIONS_PER_CASE} events, found {states}, {events}")


def run_yangguang(world: World, path: Path, sync: str, n: int, prof: cProfile.Profile | None = None) -> float:
    svc, clk = yangguang_service(world, path, sync)
    gc.collect()
    if prof is not None:
        prof.enable()
    start = time.perf_counter()
    for i in range(n):
        yangguang_lifecycle(svc, clk, world, f"bench-{i}")
    seconds = time.perf_counter() - start
    if prof is not None:
        prof.disable()
    yangguang_check(svc, n)
    svc.db.dispose()
    return seconds


# the case-row columns an action changes (besides version, updated_at and last_event_hash)
ROW_COLUMNS = (
    "state", "paused", "current_step", "assignee_role", "due_completeness", "due_promised", "due_legal", "due_step",
    "due_next", "accepted_at", "ended_at", "decision", "applicant_name", "applicant_type", "minute_limit", "on_time",
    "early", "used_days", "promised_days", "rating_score", "rated_at",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Template:
    """What one Yangguang case wrote, replayed by the floor: the case row after every action and the events."""

    case: dict[str, Any]
    events: list[tuple[str, str, str, Any, str, tuple[Any, ...]]]  # action, actor, role, payload, cat. version, row
    snapshot: tuple[str, str]  # version, content

    @property
    def data_text(self) -> str:
        return _dumps(self.case["data"])


def template(world: World, path: Path) -> Template:
    """Run one case through Yangguang (untimed; also the warm-up) and take its rows as the floor's template:
    after every action, the case row's columns, so the floor writes the same state rows, not fewer."""
    svc, clk = yangguang_service(world, path, "NORMAL")
    rows: list[tuple[Any, ...]] = []
    real_act, real_submit = svc.act, svc.submit

    def row_now(number: str) -> None:
        with read_only(svc.db) as conn:
            found = get_case(conn, number)
        assert found is not None
        rows.append(tuple(found[c] for c in ROW_COLUMNS))

    def submit(*args: Any, **kwargs: Any) -> Any:
        sub = real_submit(*args, **kwargs)
        row_now(sub.number)
        return sub

    def act(number: str, *args: Any, **kwargs: Any) -> Any:
        case = real_act(number, *args, **kwargs)
        row_now(number)
        return case

    svc.submit, svc.act = submit, act  # type: ignore[method-assign]
    number = yangguang_lifecycle(svc, clk, world, "template")
    yangguang_check(svc, 1)
    with read_only(svc.db) as conn:
        row = get_case(conn, number)
        records = events_of(conn, number)
        assert row is not None
        snap = conn.exec_driver_sql(
            "SELECT version, content FROM catalogue_snapshots WHERE version = ?", (row["catalogue_version"],)
        ).one()
    events = [
        (r.action, r.actor, r.role, r.payload, r.catalogue_version, after)
        for r, after in zip(records, rows, strict=True)
    ]
    svc.db.dispose()
    return Template(row, events, (str(snap[0]), str(snap[1])))


# ---------------------------------------------------------------------------------------
# The floor: the same rows with raw sqlite3
# ---------------------------------------------------------------------------------------


def connect(path: Path, sync: str) -> sqlite3.Connection:
    """A raw connection with the engine's pragmas; transactions are ours (BEGIN IMMEDIATE ... COMMIT)."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA busy_timeout=5000")
    con.execute("PRAGMA journal_mode=WAL").fetchall()
    con.execute(f"PRAGMA synchronous={sync}")
    con.execute("PRAGMA foreign_keys=ON")
    return con


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


_INSERT_CASE = (  # at version 1 with the first event's hash, as engine.ledger.cases.create_case writes it
    "INSERT INTO cases (number, query_code, item_code, catalogue_version, version, data, created_at,"
    " updated_at, department, last_event_hash, "
    + ", ".join(ROW_COLUMNS)
    + ") VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?"
    + ", ?" * len(ROW_COLUMNS)
    + ")"
)
_INSERT_EVENT = (
    "INSERT INTO events (case_id, seq, at, actor, role, action, payload, catalogue_version, prev_hash, hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_STAFF_FIGURES = ("ended_at", "on_time", "early", "minute_limit", "used_days", "promised_days")
_INSERT_STAFF = (  # when the case ends: a row per member of staff who acted, as engine.ledger.cases writes
    "INSERT INTO case_staff (case_id, actor, department, completed, immediate, "
    + ", ".join(_STAFF_FIGURES)
    + ") SELECT DISTINCT case_id, actor, ?, ?, ?"
    + ", ?" * len(_STAFF_FIGURES)
    + " FROM events WHERE case_id = ? AND role != 'applicant' AND role != 'system'"
)


def _update_case(changed: tuple[str, ...]) -> str:
    """The guarded version update setting the ``changed`` worklist columns, as Yangguang's sets only
    the columns whose value changes (so both maintain the same indexes)."""
    return (
        "UPDATE cases SET "
        + "".join(f"{c} = ?, " for c in changed)
        + "version = ?, updated_at = ?, last_event_hash = ? WHERE id = ? AND version = ?"
    )


def _joined(changed: tuple[str, ...]) -> str:
    """PostgreSQL: the guarded update and the event's insert in one statement (see floor_case's ``joined``)."""
    return (
        f"WITH moved AS ({_update_case(changed)} RETURNING id) INSERT INTO events (case_id, seq, at, actor, role,"
        " action, payload, catalogue_version, prev_hash, hash) SELECT id, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM moved"
    )


@dataclass(slots=True)
class FloorDriver:
    """How the floor talks to its database: ``run(sql, params)`` answers a cursor (SQL written with ``?``),
    ``insert_case`` the new case's id, ``begin`` and ``commit`` a transaction."""

    run: Callable[[str, tuple[Any, ...]], Any]
    insert_case: Callable[[str, tuple[Any, ...]], int]
    begin: Callable[[], None]
    commit: Callable[[], None]
    rollback: Callable[[], None]


def floor_case(
    tpl: Template,
    rows: list[tuple[Any, ...]],
    number: str,
    key: str,
    moment: datetime,
    db: FloorDriver,
    joined: bool = False,
) -> datetime:
    """One case written by the floor in its nine transactions (``rows``: the template's worklist columns
    after each action, as the driver takes them); the clock's time after it. ``joined`` (PostgreSQL, on a
    connection in autocommit mode, informational): an action between the first and the last is one
    statement and a transaction of its own, the guarded update and the event's insert joined in a
    ``WITH``, as Yangguang writes it there (engine.ledger.events) — no BEGIN and COMMIT round trips."""
    c = tpl.case
    prev, case_id, before = GENESIS_HASH, 0, rows[0]
    last = len(tpl.events)
    for seq, (action, actor, role, payload, cat_version, _) in enumerate(tpl.events, 1):
        after = rows[seq - 1]
        moment += TICK
        at = moment.astimezone(UTC).isoformat(timespec="microseconds")
        body = _dumps(
            {"case_number": number, "seq": seq, "at": at, "actor": actor, "role": role, "action": action,
             "payload": payload, "catalogue_version": cat_version, "prev_hash": prev}
        )  # fmt: skip
        digest = hashlib.sha256(prev.encode("ascii") + body.encode("utf-8")).hexdigest()
        if joined and 1 < seq < last:
            changed = [(k, v) for k, v, was in zip(ROW_COLUMNS, after, before, strict=True) if v != was]
            event = (seq, at, actor, role, action, _dumps(payload), cat_version, prev, digest)
            moved = (*(v for _, v in changed), seq, at, digest, case_id, seq - 1)
            if db.run(_joined(tuple(k for k, _ in changed)), (*moved, *event)).rowcount != 1:
                raise Broken(f"floor: version conflict on {number}")
            prev, before = digest, after
            continue
        db.begin()
        if seq == 1:
            db.run(_INSERT_SNAPSHOT, (tpl.snapshot[0], at, tpl.snapshot[1]))
            case_id = db.insert_case(
                _INSERT_CASE,
                (number, c["query_code"], c["item_code"], c["catalogue_version"], tpl.data_text, at, at,
                 c["department"], digest, *after),
            )  # fmt: skip
            db.run("INSERT INTO idempotency (key, case_number, created_at) VALUES (?, ?, ?)", (key, number, at))
        else:
            changed = [(k, v) for k, v, was in zip(ROW_COLUMNS, after, before, strict=True) if v != was]
            sql = _update_case(tuple(k for k, _ in changed))
            if db.run(sql, (*(v for _, v in changed), seq, at, digest, case_id, seq - 1)).rowcount != 1:
                db.rollback()
                raise Broken(f"floor: version conflict on {number}")
        db.run(_INSERT_EVENT, (case_id, seq, at, actor, role, action, _dumps(payload), cat_version, prev, digest))
        if seq == last:
            figures = dict(zip(ROW_COLUMNS, after, strict=True))
            staff = (c["department"], after[0] == "completed", bool(c["immediate"]))
            db.run(_INSERT_STAFF, (*staff, *(figures[k] for k in _STAFF_FIGURES), case_id))
        db.commit()
        prev, before = digest, after
    return moment


_INSERT_SNAPSHOT = (
    "INSERT INTO catalogue_snapshots (version, created_at, content) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
)


def run_floor(tpl: Template, path: Path, sync: str, n: int) -> float:
    db = open_engine(path, synchronous=sync)
    migrate(db)  # the same tables and indexes as Yangguang's
    db.dispose()
    con = connect(path, sync)
    driver = FloorDriver(
        run=con.execute,
        insert_case=lambda sql, params: int(con.execute(sql, params).lastrowid or 0),
        begin=lambda: con.execute("BEGIN IMMEDIATE") and None,
        commit=lambda: con.execute("COMMIT") and None,
        rollback=lambda: con.execute("ROLLBACK") and None,
    )
    rows = [e[5] for e in tpl.events]
    gc.collect()
    start = time.perf_counter()
    moment = START
    for i in range(n):
        moment = floor_case(tpl, rows, f"FLOOR{i:08d}", f"k{i}", moment, driver)
    seconds = time.perf_counter() - start
    con.close()
    return seconds


def floor_verifies(path: Path) -> bool:
    """The floor writes the real hash chain: ``audit.verify`` accepts it (a check of the floor itself)."""
    db = open_engine(path)
    try:
        return audit.verify(db).ok
    finally:
        db.dispose()


# ---------------------------------------------------------------------------------------
# SpiffWorkflow: the same process as BPMN, serialised to SQLite after every task
# ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Spiff:
    spec: Any
    serializer: Any
    workflow_cls: Any
    ready: Any
    version: str


def spiff() -> Spiff | None:
    try:
        from importlib.metadata import version

        from SpiffWorkflow.bpmn import BpmnWorkflow
        from SpiffWorkflow.bpmn.parser import BpmnParser
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
        from SpiffWorkflow.util.task import TaskState
    except ImportError:
        return None
    parser = BpmnParser()
    parser.add_bpmn_file(str(BPMN))
    return Spiff(
        parser.get_spec(PROCESS_ID),
        BpmnWorkflowSerializer(),
        BpmnWorkflow,
        TaskState.READY,
        version("SpiffWorkflow"),
    )


def run_spiff(
    sw: Spiff, world: World, assessment: Mapping[str, Any], path: Path, sync: str, n: int, reload: bool = False
) -> float:
    """SpiffWorkflow cases; ``reload`` reads and deserialises the workflow before every task, as a server
    handling each task in its own request would (Yangguang's ``act`` likewise rebuilds the case each time)."""
    con = connect(path, sync)
    con.execute(
        "CREATE TABLE workflows (id INTEGER PRIMARY KEY, number TEXT NOT NULL UNIQUE, version INTEGER NOT NULL,"
        " updated_at TEXT NOT NULL, state TEXT NOT NULL)"
    )
    task_data: dict[str, dict[str, Any]] = {
        "accept": {"application": world.data, "uploads": world.uploads, "accepted_by": "window@realestate"},
        "undertake": {"undertaken_by": "undertaker@realestate"},
        "review": {"reviewed_by": "reviewer@realestate"},
        "decide": {"assessment": dict(assessment), "outcome": "approve", "decided_by": "decider@realestate"},
        "complete": {"paid_fen": assessment["total_fen"], "completed_by": "window@realestate"},
    }
    order = list(task_data)
    gc.collect()
    start = time.perf_counter()
    moment = START
    for i in range(n):
        moment += TICK
        wf = sw.workflow_cls(sw.spec)
        wf.do_engine_steps()
        con.execute("BEGIN IMMEDIATE")
        cur = con.execute(
            "INSERT INTO workflows (number, version, updated_at, state) VALUES (?, 1, ?, ?)",
            (f"SPIFF{i:08d}", moment.isoformat(), sw.serializer.serialize_json(wf)),
        )
        con.execute("COMMIT")
        wf_id, version = cur.lastrowid, 1
        for name in order:
            moment += TICK
            if reload:
                (text,) = con.execute("SELECT state FROM workflows WHERE id = ?", (wf_id,)).fetchone()
                wf = sw.serializer.deserialize_json(text)
            ready = wf.get_tasks(state=sw.ready, manual=True)
            if len(ready) != 1 or ready[0].task_spec.name != name:
                raise Broken(f"SpiffWorkflow: expected task {name}, ready: {[t.task_spec.name for t in ready]}")
            task = ready[0]
            task.data.update(task_data[name])
            task.run()
            wf.do_engine_steps()
            state = sw.serializer.serialize_json(wf)
            con.execute("BEGIN IMMEDIATE")
            updated = con.execute(
                "UPDATE workflows SET state = ?, version = ?, updated_at = ? WHERE id = ? AND version = ?",
                (state, version + 1, moment.isoformat(), wf_id, version),
            ).rowcount
            con.execute("COMMIT")
            if updated != 1:
                raise Broken("SpiffWorkflow: version conflict")
            version += 1
        if not wf.is_completed():
            raise Broken("SpiffWorkflow: the workflow did not complete")
    seconds = time.perf_counter() - start
    con.close()
    return seconds


# ---------------------------------------------------------------------------------------
# Measuring and reporting
# ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Figure:
    label: str
    sync: str
    cases: int
    times: list[float]

    @property
    def rates(self) -> list[float]:
        return [self.cases / t for t in self.times]

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


def measure(
    world: World, tpl: Template, sw: Spiff | None, workdir: Path, cases: dict[str, int], repeat: int
) -> list[Figure]:
    assessment = next(e[3]["assessment"] for e in tpl.events if e[0] == "assess_fee")
    figures: list[Figure] = []
    for sync in SYNCS:
        n = cases[sync]
        labels = ("Yangguang", "SpiffWorkflow", "floor (raw sqlite3)", "SpiffWorkflow-reload per task")
        yg, sp, fl, spr = (Figure(label, sync, n, []) for label in labels)
        for r in range(repeat):  # the three alternate, so their ratios see the same machine load
            runs: list[tuple[Figure, Callable[[Path], float]]] = [
                (yg, partial(run_yangguang, world, sync=sync, n=n)),
                (fl, partial(run_floor, tpl, sync=sync, n=n)),
            ]
            if sw is not None:
                runs.insert(1, (sp, partial(run_spiff, sw, world, assessment, sync=sync, n=n)))
                runs.append((spr, partial(run_spiff, sw, world, assessment, sync=sync, n=n, reload=True)))
            for k, (fig, fn) in enumerate(runs):
                path = workdir / f"run{k}-{sync}-{r}.db"
                fig.times.append(fn(path))
                if fig is fl and r == 0 and not floor_verifies(path):
                    raise Broken("the floor's hash chain does not pass audit.verify (a bug in this benchmark)")
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(str(path) + suffix)
            print(
                f"  {sync:<6} run {r + 1}/{repeat}: "
                + ", ".join(f"{f.label.split()[0]} {f.rates[-1]:,.0f}/s" for f, _ in runs),
                flush=True,
            )
        figures += [yg, fl] + ([sp, spr] if sw is not None else [])
    return figures


def print_table(figures: list[Figure]) -> None:
    print(f"\n{'measurement':<34}{'sync':<8}{'cases':>6}{'runs':>5}{'cases/s':>10}  {'range':<14}{'ms/case':>8}")
    for f in figures:
        span = f"{min(f.rates):,.0f}–{max(f.rates):,.0f}"
        print(
            f"{f.label:<34}{f.sync:<8}{f.cases:>6}{len(f.times):>5}{f.median:>10,.0f}  {span:<14}"
            f"{1000 / f.median:>8.2f}"
        )


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_targets(figures: list[Figure]) -> None:
    """Issue 18's targets against SpiffWorkflow (in memory, its fastest); the floor and Spiff's reload
    variant are shown for reference only."""
    by = {(f.label.split()[0], f.sync): f for f in figures}
    print("\ntargets")
    for sync in SYNCS:
        yg = by[("Yangguang", sync)]
        sp = by.get(("SpiffWorkflow", sync))
        if sp is not None:
            ratio, limit = yg.median / sp.median, TARGET_VS_SPIFF[sync]
            target = f">= {limit:.1f}x"
            print(f"  {sync:<6} Yangguang / SpiffWorkflow {ratio:8.2f}x   target {target:<16}{verdict(ratio >= limit)}")
            reload = by.get(("SpiffWorkflow-reload", sync))
            if reload is not None:
                print(f"  {sync:<6} Yangguang / Spiff-reload  {yg.median / reload.median:8.2f}x   (informational)")
        else:
            print(f"  {sync:<6} Yangguang / SpiffWorkflow        —   SpiffWorkflow not installed: not measured")
        share = yg.median / by[("floor", sync)].median
        print(f"  {sync:<6} Yangguang / floor         {share:8.1%}   (informational)")


def profile(world: World, workdir: Path, n: int) -> None:
    prof = cProfile.Profile()
    seconds = run_yangguang(world, workdir / "profile.db", "NORMAL", n, prof)
    print(f"profiled Yangguang NORMAL: {n} cases in {seconds:.2f} s ({n / seconds:,.0f} cases/s under cProfile)")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(order).print_stats(25)
        print(f"\n--- cProfile of the Yangguang NORMAL run, top 25 by {order} ---")
        print(out.getvalue().split("\n\n", 1)[-1].strip())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--cases", type=int, help="cases per run (default 200 with NORMAL, 100 with FULL)")
    p.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is shown (default 3)")
    p.add_argument("--profile", action="store_true", help="print a cProfile of the Yangguang NORMAL run instead")
    p.add_argument("--dir", type=Path, help="where the databases go (default: a temporary directory)")
    p.add_argument(
        "--store",
        choices=("sqlite", "postgresql", "both"),
        default="both",
        help="which stores to measure (default both; PostgreSQL is skipped with a note when no server can be had)",
    )
    p.add_argument("--pg-cases", type=int, default=PG_CASES, help=f"cases per client on PostgreSQL ({PG_CASES})")
    args = p.parse_args(argv)
    cases = {s: args.cases or DEFAULT_CASES[s] for s in SYNCS}
    try:
        world = build_world()
        with tempfile.TemporaryDirectory(prefix="yangguang-bench-cases-", dir=args.dir) as tmp:
            workdir = Path(tmp)
            tpl = template(world, workdir / "template.db")
            if args.profile:
                profile(world, workdir, cases["NORMAL"])
                return 0
            if args.store != "postgresql":
                sqlite_section(world, tpl, workdir, cases, args.repeat)
            if args.store != "sqlite":
                postgresql_section(world, tpl, args.pg_cases, args.repeat)
    except Broken as exc:
        print(f"\nFAILED — the benchmark is meaningless: {exc}")
        return 1
    return 0


def sqlite_section(world: World, tpl: Template, workdir: Path, cases: dict[str, int], repeat: int) -> None:
    sw = spiff()
    print(
        f"item {CODE} with steps: standard, fee {tpl.events[4][3]['assessment']['total']}; "
        f"{ACTIONS_PER_CASE} transactions per case (SpiffWorkflow: 6); Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, SQLite {sqlite3.sqlite_version}, WAL; databases in {workdir}; "
        + (f"SpiffWorkflow {sw.version}" if sw else "SpiffWorkflow not installed: column skipped")
    )
    figures = measure(world, tpl, sw, workdir, cases, repeat)
    print_table(figures)
    print_targets(figures)
    print("\naudit.verify: ok after every Yangguang run; the floor's chain passes audit.verify too")


def postgresql_section(world: World, tpl: Template, cases: int, repeat: int) -> None:
    base, where = bench_cases_pg.server()
    if base is None:
        print(f"\nPostgreSQL: not measured, no server ({where}); set {bench_cases_pg.ENV} to a base URL")
        return
    print(f"\nPostgreSQL: {where}; {cases} cases per client, clients {', '.join(map(str, bench_cases_pg.CLIENTS))}")
    figures = bench_cases_pg.measure(sys.modules[__name__], world, tpl, base, cases, repeat)
    bench_cases_pg.report(figures, verdict)
    print("\naudit.verify: ok after every Yangguang run on PostgreSQL")


if __name__ == "__main__":
    sys.exit(main())
