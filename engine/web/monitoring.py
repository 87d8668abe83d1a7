"""The routes for monitoring: ``/healthz`` for a load balancer and ``/metrics`` for Prometheus.

``/healthz`` says whether this server process can reach its database — 200 with a small JSON body when
it can, 503 when it cannot, so a load balancer stops sending it requests — and the catalogue it serves.

The check (:class:`Probe`) reads one row of the smallest table through the process's own pool (the
connections requests use) within :data:`TIMEOUT` seconds. One row, not a bare ``SELECT 1``: on SQLite
``SELECT 1`` never reads the file, so a file that went bad would still answer "ok". At most one check
runs at a time: asks that come while one runs wait for its answer, and while a check is stuck past its
timeout (a database host that stopped answering), further asks are 503 at once instead of piling
threads onto the pool. The body never holds the database's error (it
could name hosts or users); the log says what happened, once per change between up and down.

``/metrics`` answers engine.web.metrics' exposition to whom engine.service.access.may_scrape admits: a
program on the server's own host, or bearing the configured token (a 403 page otherwise).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field

import anyio
from sqlalchemy import Engine, literal, select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.base.i18n import N_
from engine.base.i18n import gettext as _
from engine.ledger import tables
from engine.ledger.db import read_only
from engine.service import access
from engine.web import metrics
from engine.web.deps import deps

TIMEOUT = 2.0
"""Seconds the database has to answer before /healthz says 503."""

REFUSED = N_("无权读取运行指标。")

log = logging.getLogger("yangguang.health")


@dataclass
class Probe:
    """The database check of one server process."""

    db: Engine
    timeout: float = TIMEOUT
    _busy: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _up: bool | None = field(default=None, init=False, repr=False)  # the last answer, for logging changes
    _running: asyncio.Task[str] | None = field(default=None, init=False, repr=False)  # the check under way

    def _read(self) -> bool:
        """In a worker thread: False when another check still holds the database's attention."""
        if not self._busy.acquire(blocking=False):
            return False
        try:
            with read_only(self.db) as conn:
                conn.execute(select(literal(1)).select_from(tables.schema_migrations).limit(1)).all()
        finally:
            self._busy.release()
        return True

    async def check(self) -> str:
        """``ok``, ``unreachable`` (the database refused or failed) or ``timeout``; asks that come while a
        check runs share its answer (two load balancers, or a person beside one, never get a 503 for
        asking at the same moment)."""
        task = self._running
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            task = self._running = asyncio.ensure_future(self._check())
        return await asyncio.shield(task)  # a client that goes away does not cancel the others' answer

    async def _check(self) -> str:
        if self._busy.locked():  # the last check is still waiting on the database: do not pile on
            return self._note("timeout", None)
        try:
            # the lock is taken in the thread, so a call abandoned before it started holds nothing
            with anyio.fail_after(self.timeout):
                answered = await anyio.to_thread.run_sync(self._read, abandon_on_cancel=True)
        except TimeoutError:  # the thread goes on and frees the lock when the database answers
            return self._note("timeout", None)
        except Exception as exc:  # any driver's error: this process cannot use its database
            return self._note("unreachable", exc)
        return self._note("ok" if answered else "timeout", None)

    def _note(self, result: str, exc: Exception | None) -> str:
        up = result == "ok"
        if up and self._up is False:
            log.info("the database answers again")
        elif not up and self._up is not False:  # the first failure of a spell; the next ones are not logged
            log.warning("the database does not answer (/healthz says 503): %s %s", result, exc or "")
        self._up = up
        return result


async def healthz(request: Request) -> Response:
    d = deps(request)
    probe: Probe = (d.extra or {})["health"]
    database = await probe.check()
    cat = d.service.catalogue
    return JSONResponse(
        {
            "status": "ok" if database == "ok" else "unavailable",
            "database": database,
            "catalogue_version": cat.version,
            "items": len(cat.items),
            # the files on disk are newer than this version and do not check clean
            "pending_errors": d.live.pending_errors if d.live is not None else 0,
            # whether this process runs the timed-rules sweep (one server process of a database does)
            "sweeper": d.live.sweeping if d.live is not None else False,
        },
        status_code=200 if database == "ok" else 503,
        headers={"Cache-Control": "no-store"},
    )


def _bearer(request: Request) -> str:
    scheme, _sep, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


async def scrape(request: Request) -> Response:
    endpoint: metrics.Endpoint = (deps(request).extra or {})["metrics"]
    client = request.client.host if request.client is not None else None
    relayed = "x-forwarded-for" in request.headers or "forwarded" in request.headers
    if not access.may_scrape(client, relayed, _bearer(request), endpoint.token):
        raise HTTPException(403, _(REFUSED))
    body = await run_in_threadpool(metrics.exposition, endpoint.store)  # the store read stays off the event loop
    return Response(body, media_type=metrics.CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


__all__ = ["REFUSED", "TIMEOUT", "Probe", "healthz", "scrape"]
