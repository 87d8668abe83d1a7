"""Live reload: the server picks up edited catalogue YAML without a restart, and never serves a
catalogue that does not check clean.

Everything that depends on the catalogue — the case service, the ``engine.web.deps.Deps`` its
handlers read (the guide pages rendered once, the search index …), the routes — is built once per catalogue version
by a factory (``engine.web.app``) into a :class:`Version`, an inner Starlette app. :class:`LiveApp` is
the ASGI app the server runs: it owns what outlives a version (the database engine, the lifespan,
the sweeper and the watcher) and hands every request to the current version. A switch is one
attribute assignment, so a request runs wholly against the version it started on — nothing it
holds changes under it — and an old version is dropped when its last request ends. Per request
this costs one attribute read and one extra call; the watcher never touches the request path.

The watcher polls :func:`engine.catalogue.discover.fingerprint` (stat calls only) of every directory the
catalogue was built from, every ``reload_seconds``, in a worker thread. When the fingerprint
changes it loads the catalogue again through the content cache (an edit to one file re-reads
that file) and switches only if the load checks clean. Otherwise the last good version stays
live, and the failed :class:`Attempt` — its problems, and the catalogue as loaded, whose valid
documents an administrator can still preview — is kept for ``/admin`` and ``/healthz`` and
logged once. Cases pin a snapshot of their item when filed (engine.service.cases), so a switch never
changes a running case: the new version's service reads the old snapshot from the record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from engine.base.result import Problem
from engine.catalogue.cache import FileCache
from engine.catalogue.discover import fingerprint
from engine.catalogue.model import Catalogue
from engine.check.pipeline import load
from engine.ledger import leases
from engine.ledger.db import read_only
from engine.ledger.snapshots import newest_catalogue, record_catalogue
from engine.rules.clock import Clock, SystemClock
from engine.service import recount
from engine.service.cases import CaseService
from engine.supervision import sweep as supervision
from engine.web import metrics

RELOAD_SECONDS = 2.0
"""How often the server looks for edited catalogue files (``yangguang serve --reload-seconds``)."""
ENV = "YANGGUANG_RELOAD_SECONDS"
#: problems written to the log for one failed reload (the administrator page shows them all)
LOG_PROBLEMS = 20
SWEEP_LEASE = "sweep"  # engine.ledger.leases: one process of a database sweeps at a time
#: a sweeper that stops renewing (killed) is taken over this many sweep intervals after its last renewal
LEASE_INTERVALS = 3

log = logging.getLogger("yangguang.reload")


def seconds_from_env(default: float = RELOAD_SECONDS) -> float:
    """``$YANGGUANG_RELOAD_SECONDS``, else ``default``; raises ValueError for a bad value."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{ENV} must be a number of seconds (0 turns live reload off), not {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{ENV} must be 0 (off) or a positive number of seconds, not {raw!r}")
    return value


@dataclass(frozen=True, slots=True)
class Version:
    """One catalogue version being served: everything built from it."""

    catalogue: Catalogue
    service: CaseService
    app: Starlette
    live_since: datetime


@dataclass(frozen=True, slots=True)
class Attempt:
    """The outcome of one re-load from disk. Immutable: readers see one consistent attempt."""

    at: datetime
    #: ``switched`` (a new version is live), ``unchanged`` (the files check clean and are the
    #: live version), ``failed`` (the files do not check clean), ``error`` (a bug in Yangguang)
    result: str
    version: str  # of the catalogue loaded; "" when it could not be loaded
    problems: tuple[Problem, ...] = ()
    #: the catalogue as loaded when it did not check clean: its valid documents, for preview
    pending: Catalogue | None = None

    @property
    def failing(self) -> bool:
        return self.result in ("failed", "error")


Build = Callable[[Catalogue, "LiveApp"], Version]


@dataclass(frozen=True, slots=True)
class Job:
    """Background work every process may do at the same time (its own claims keep it safe): ``run`` with the
    live version's service every ``seconds`` in a worker thread (the notification worker)."""

    name: str
    seconds: float
    run: Callable[[CaseService], object]


def record(db: Engine, cat: Catalogue, root: Path) -> None:
    """Note in the database that ``cat`` is now served (engine.ledger.snapshots' catalogue history)."""
    with db.begin() as conn:
        # wall time, as at start-up: the history says when a version really went live, even when
        # the engine runs on a simulated clock
        record_catalogue(conn, cat.version, str(Path(root).resolve()), len(cat.items), SystemClock().now())


class LiveState(State):
    """``app.state`` whose ``catalogue`` and ``service`` are always the live version's."""

    _live: LiveApp

    def __init__(self, live: LiveApp) -> None:
        super().__init__()
        object.__setattr__(self, "_live", live)  # State keeps other attributes in its own dict

    @property
    def catalogue(self) -> Catalogue:
        return self._live.current.catalogue

    @property
    def service(self) -> CaseService:
        return self._live.current.service


class LiveApp:
    """The server's ASGI app: the lifespan, the timed-rules sweeper, the catalogue watcher, and
    every request handed to the current :class:`Version`."""

    def __init__(
        self,
        catalogue: Catalogue,
        *,
        root: Path,
        db: Engine,
        clock: Clock,
        build: Build,
        sweep_seconds: float,
        reload_seconds: float,
        warnings: tuple[Problem, ...] = (),
        jobs: tuple[Job, ...] = (),
    ) -> None:
        self.root = Path(root)
        self.jobs = jobs
        #: the live catalogue's warnings (engine.base.result.WARNING_KINDS: elements not stated, data-quality
        #: rules): they never stop it from serving, and /admin lists them
        self.warnings = warnings
        self.db = db
        self.clock = clock
        self.sweep_seconds = sweep_seconds
        self.reload_seconds = reload_seconds
        self.last: Attempt | None = None
        self._build = build
        self._lock = threading.Lock()  # one re-load at a time (the watcher, or reload_now)
        self._logged = ""  # the fingerprint whose failure was last logged
        # several server processes on one database: one sweeps at a time (renewed every sweep and after
        # each of its phases), and a version another process recorded is looked for on disk here too
        ttl = timedelta(seconds=max(LEASE_INTERVALS * sweep_seconds, 1.0))
        self.sweep_lease: leases.Lease = leases.lease(db, SWEEP_LEASE, ttl)
        self.sweeping = False  # whether this process holds the sweep lease (/healthz says so)
        self._recorded = self._newest_recorded()
        # Taken before the first version is built: an edit made from here on is seen by the
        # first poll. (The catalogue itself may have been loaded a moment earlier by the caller.)
        roots = self._watched(catalogue)
        self._seen = (roots, fingerprint(roots) if reload_seconds > 0 else "")
        self.current: Version = build(catalogue, self)
        self.state = LiveState(self)

    # -- what the rest of the site reads ------------------------------------------------------
    @property
    def routes(self) -> list[BaseRoute]:
        """The live version's routes (the same for every version: they are built by one factory)."""
        return self.current.app.routes

    @property
    def pending_errors(self) -> int:
        """How many problems the newest files on disk have while they fail to load (else 0)."""
        last = self.last
        return len(last.problems) if last is not None and last.failing else 0

    def preview(self) -> Catalogue:
        """The newest catalogue loaded from disk: while a reload fails, the failing one (its items
        whose own file is valid are in it), else the live one — what an administrator previews."""
        last = self.last
        if last is not None and last.failing and last.pending is not None:
            return last.pending
        return self.current.catalogue

    # -- ASGI ----------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        await self.current.app(scope, receive, send)  # read once: the request stays on this version

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        tasks: list[asyncio.Task[None]] = []
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.sweep_seconds > 0:
                    tasks.append(asyncio.create_task(self._sweeper()))
                if self.reload_seconds > 0:
                    tasks.append(asyncio.create_task(self._watcher()))
                tasks.extend(asyncio.create_task(self._every(job)) for job in self.jobs if job.seconds > 0)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for task in tasks:
                    task.cancel()
                for task in tasks:  # a sweep or re-load running in a thread is waited for
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                if self.sweeping:  # another process takes the sweep over now, not when the lease expires
                    with contextlib.suppress(Exception):
                        await run_in_threadpool(self.sweep_lease.release)
                    self.sweeping = False
                self.db.dispose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _sweeper(self) -> None:
        """Every ``sweep_seconds`` (and once at start-up, for what fell due while the server was
        down) the engine's timed rules run in a worker thread, with the live version's service —
        in the one process of the database that holds the sweep lease (the others ask again each time)."""
        while True:
            try:
                if await run_in_threadpool(self._hold_sweep_lease):
                    report = await run_in_threadpool(supervision.sweep, self.current.service, self._renew)
                    metrics.observe_sweep(report.seconds)
                    if report.deemed_accepted:
                        log.info("deemed accepted (Art. 32): %s", ", ".join(report.deemed_accepted))
                    if report.lights or report.other:
                        log.info("supervision: %s %s", report.lights, report.other)
            except Exception:  # keep sweeping; a bug here must not stop the timed rules for good
                metrics.observe_sweep_failure()
                log.exception("the timed-rules sweep failed; retrying in %s s", self.sweep_seconds)
            await asyncio.sleep(self.sweep_seconds)

    async def _every(self, job: Job) -> None:
        """``job`` every ``job.seconds``; a failure is logged and the next round comes all the same."""
        while True:
            try:
                await run_in_threadpool(job.run, self.current.service)
            except Exception:
                log.exception("%s failed; trying again in %s s", job.name, job.seconds)
            await asyncio.sleep(job.seconds)

    def _hold_sweep_lease(self) -> bool:
        held = self.sweep_lease.hold()
        if held != self.sweeping:
            log.info("this process %s the timed-rules sweep", "now runs" if held else "no longer runs")
        self.sweeping = held
        return held

    def _renew(self, done: int, total: int) -> None:
        """After each phase of a sweep: a long sweep keeps its lease (engine.supervision.sweep's progress)."""
        self.sweeping = self.sweep_lease.hold()

    async def _watcher(self) -> None:
        while True:
            await asyncio.sleep(self.reload_seconds)
            try:
                await run_in_threadpool(self.poll)  # stat calls and loading stay off the event loop
            except Exception:  # keep watching; the live version is untouched
                log.exception("live reload failed; still serving %s", self.current.catalogue.version)

    # -- re-loading ----------------------------------------------------------------------------
    def _watched(self, newest: Catalogue | None = None) -> tuple[Path, ...]:
        """Every directory the live and the newest loaded catalogue were built from (an overlay
        lists each layer), else the root."""
        cats = [self.current.catalogue] if newest is None else [newest]
        if newest is None and self.last is not None and self.last.pending is not None:
            cats.append(self.last.pending)
        roots = [Path(p) for c in cats for p in c.sources]
        return tuple(dict.fromkeys(roots)) or (self.root,)

    def poll(self) -> Attempt | None:
        """Re-load if a catalogue file changed since the last look, or another server process of the
        database recorded a version this one does not serve (its files may have changed where this
        process cannot see it yet, say a shared folder's cached attributes); the attempt, or None."""
        roots = self._watched()
        fp = fingerprint(roots)
        recorded, self._recorded = self._recorded, self._newest_recorded()
        elsewhere = self._recorded[0] > recorded[0] and self._recorded[1] != self.current.catalogue.version
        if (roots, fp) == self._seen and not elsewhere:
            return None
        return self._reload(roots, fp)

    def _newest_recorded(self) -> tuple[int, str]:
        """The newest row of the database's catalogue history: (its id, the version); one indexed read."""
        with read_only(self.db) as conn:
            return newest_catalogue(conn) or (0, "")

    def reload_now(self) -> Attempt:
        """Re-load from disk whether or not anything changed (tests, and a future admin button)."""
        roots = self._watched()
        return self._reload(roots, fingerprint(roots))

    def _reload(self, roots: tuple[Path, ...], fp: str) -> Attempt:
        with self._lock:
            at = self.clock.now()
            live = self.current
            try:
                attempt = self._attempt(at, live)
            except Exception as exc:  # a bug while loading or building: keep serving, say so once
                if fp != self._logged:
                    log.exception("catalogue reload failed inside Yangguang; still serving %s", live.catalogue.version)
                message = f"the catalogue could not be re-loaded: {type(exc).__name__}: {exc} (a bug in Yangguang)"
                attempt = Attempt(at, "error", "", (Problem(str(self.root), 1, 1, "internal", message),))
            if attempt.result == "failed" and fp != self._logged:
                shown = "\n".join(p.render() for p in attempt.problems[:LOG_PROBLEMS])
                more = len(attempt.problems) - LOG_PROBLEMS
                log.warning(
                    "the catalogue on disk has %d problem(s); still serving %s:\n%s%s",
                    len(attempt.problems),
                    live.catalogue.version,
                    shown,
                    f"\n… and {more} more (see /admin)" if more > 0 else "",
                )
            if attempt.failing:
                self._logged = fp
            self.last = attempt
            # Also after a failure: the same broken files are not loaded again every poll. Files
            # changed while this load ran have a newer fingerprint and are loaded next time.
            self._seen = (roots, fp)
            return attempt

    def _attempt(self, at: datetime, live: Version) -> Attempt:
        result = load(self.root, FileCache(self.root))
        cat = result.catalogue
        if not result.ok:
            return Attempt(at, "failed", cat.version, tuple(result.errors), cat)
        if cat.version == live.catalogue.version:
            self.warnings = tuple(result.warnings)
            return Attempt(at, "unchanged", cat.version)
        version = self._build(cat, self)  # in this worker thread: requests go on meanwhile
        record(self.db, cat, self.root)
        self.current = version  # the switch: requests from now on see the new version
        self.warnings = tuple(result.warnings)
        log.info("catalogue %s is live (%d items), replacing %s", cat.version, len(cat.items), live.catalogue.version)
        try:  # a new calendar file: provisional deadlines are counted again now, not at the next sweep
            recount.provisional_deadlines(version.service)
        except Exception:  # the sweep tries again; the new version is live either way
            log.exception("counting provisional deadlines again failed; the next sweep retries")
        return Attempt(at, "switched", cat.version)
