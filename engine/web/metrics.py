"""Prometheus metrics at ``/metrics``: requests by route and status with their latencies, the store's
cases by state and light, upload sizes and the sweep's duration, through the official client library.

What each process counts itself (module-level metrics, the client's idiom): every request by method,
route *template* (``/desk/cases/{number}``, never the raw path: the series stay few, and no case number
or query code enters a metric) and status, with a latency histogram (engine.web.middleware.Observe
calls :func:`observe_request`); every sweep's duration and failures (engine.web.reload's sweeper).

What is read from the database when scraped (:class:`Store`): the open cases by state (submitted,
awaiting a supplement, in progress) and the running ones by light and abnormal mark — one grouped query
over the open states' range of the covering index ``ix_cases_state_department_light``, so it costs what
the open cases number, not the whole history (about 17 ms for 80,000 open among 1,000,000 cases on SQLite;
the same query over every state took 140 ms and grows by the year: finished cases are not counted here) —
kept :data:`STORE_SECONDS`; and the upload store's files and bytes, a pass over its rows (about 200 ms
for 1,000,000 files), kept :data:`UPLOAD_SECONDS`. Several scrapers, or a scrape storm, cost one read
per interval; ``yangguang_store_read_seconds`` says what the last read took. No metric holds personal
data: names, numbers and codes never become labels.

Several server processes: with ``PROMETHEUS_MULTIPROC_DIR`` set (to an empty folder every process can
write) before the processes start, the client keeps each process's counters in files there and
whichever process answers a scrape sums them all (:func:`exposition`); without it, each process
reports its own requests and sweeps only (the store's figures are the same from any process).
There is no outbox yet, so no outbox size.

The route is engine.web.monitoring's; who may scrape is decided in engine.service.access
(``GET /metrics``: :func:`engine.service.access.may_scrape`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess as multiprocess_mode
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from engine.ledger import tables
from engine.ledger.db import read_only
from engine.service.worklist import OPEN_STATES
from engine.supervision.sweep import SEVERITY

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"  # the client library's own name for it
TOKEN_ENV = "YANGGUANG_METRICS_TOKEN"
STORE_SECONDS = 15.0
"""How long the open cases' figures are kept before a scrape reads them again."""
UPLOAD_SECONDS = 300.0
"""How long the upload store's figures are kept (their read is a pass over every upload's row)."""
UNMATCHED = "(unmatched)"
"""The route label of a request no route answered (404s, and input refused before routing)."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "yangguang_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "yangguang_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
SWEEP = Histogram(
    "yangguang_sweep_duration_seconds",
    "Time one run of the timed rules and supervision sweep took in this server",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
)
SWEEP_FAILURES = Counter("yangguang_sweep_failures", "Sweeps that stopped on an error (the server logs it)")


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request (an unknown method is ``OTHER``: a client cannot grow the series)."""
    method = method if method in METHODS else "OTHER"
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def observe_sweep(seconds: float) -> None:
    SWEEP.observe(seconds)


def observe_sweep_failure() -> None:
    SWEEP_FAILURES.inc()


# ------------------------------------------------------------------ figures read from the store


@dataclass(frozen=True, slots=True)
class Cases:
    """The open cases at one moment."""

    states: dict[str, int]  # open state -> cases
    lights: dict[str, int]  # light -> running cases
    abnormal: int  # running cases past an open step's own limit
    seconds: float  # how long reading them took


def read_cases(db: Engine) -> Cases:
    """One grouped read of the open states' range of the covering index (its column order, so no sort)."""
    c = tables.cases
    started = time.perf_counter()
    states: dict[str, int] = dict.fromkeys(OPEN_STATES, 0)  # every open state, found or not
    lights: dict[str, int] = dict.fromkeys(SEVERITY, 0)  # every light, so a series never vanishes
    abnormal = 0
    with read_only(db) as conn:
        rows = conn.execute(
            select(c.c.state, c.c.light, c.c.step_overdue, func.count())
            .where(c.c.state.in_(OPEN_STATES))
            .group_by(c.c.state, c.c.department, c.c.light, c.c.step_overdue)
        ).all()
    for state, light, overdue, n in rows:
        states[state] += n
        if state == "in_progress":
            lights[light] = lights.get(light, 0) + n
            abnormal += n if overdue else 0
    return Cases(states, lights, abnormal, time.perf_counter() - started)


def read_uploads(db: Engine) -> tuple[int, int]:
    """(files, bytes) of the upload store, from its rows."""
    u = tables.uploads
    with read_only(db) as conn:
        files, size = conn.execute(select(func.count(), func.coalesce(func.sum(u.c.size), 0))).one()
    return int(files), int(size)


@dataclass(eq=False)  # a registry keeps its collectors in a dict: hashed by identity
class Store(Collector):
    """The store's figures as gauges, each read again only when older than its interval (the
    monotonic clock: this is about cost, not the law's time)."""

    db: Engine
    seconds: float = STORE_SECONDS
    upload_seconds: float = UPLOAD_SECONDS
    now: Callable[[], float] = time.monotonic
    _cases: tuple[float, Cases] | None = field(default=None, init=False, repr=False)
    _uploads: tuple[float, tuple[int, int], float] | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def cases(self) -> Cases:
        with self._lock:  # concurrent scrapes wait for one read instead of each reading
            kept = self._cases
            if kept is None or self.now() - kept[0] >= self.seconds:
                kept = self._cases = (self.now(), read_cases(self.db))
            return kept[1]

    def uploads(self) -> tuple[tuple[int, int], float]:
        """((files, bytes), seconds the read took)."""
        with self._lock:
            kept = self._uploads
            if kept is None or self.now() - kept[0] >= self.upload_seconds:
                started = time.perf_counter()
                figures = read_uploads(self.db)
                kept = self._uploads = (self.now(), figures, time.perf_counter() - started)
            return kept[1], kept[2]

    def collect(self) -> Iterator[Metric]:
        c = self.cases()
        (files, size), upload_seconds = self.uploads()
        states = GaugeMetricFamily("yangguang_open_cases", "Open cases by state", labels=["state"])
        for state, n in sorted(c.states.items()):
            states.add_metric([state], n)
        lights = GaugeMetricFamily(
            "yangguang_running_cases", "Running cases (in_progress) by supervision light", labels=["light"]
        )
        for light, n in sorted(c.lights.items()):
            lights.add_metric([light], n)
        yield states
        yield lights
        yield GaugeMetricFamily(
            "yangguang_running_cases_abnormal", "Running cases past an open step's own limit", value=c.abnormal
        )
        yield GaugeMetricFamily("yangguang_upload_files", "Files in the upload store", value=files)
        yield GaugeMetricFamily("yangguang_upload_bytes", "Bytes in the upload store", value=size)
        read = GaugeMetricFamily(
            "yangguang_store_read_seconds", "How long the last read of these store figures took", labels=["figures"]
        )
        read.add_metric(["cases"], c.seconds)
        read.add_metric(["uploads"], upload_seconds)
        yield read


def exposition(store: Store) -> bytes:
    """The text a scrape answers: this process's metrics (or every process's, in multiprocess mode),
    then the store's figures."""
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess_mode.MultiProcessCollector(registry)
        processes = generate_latest(registry)
    else:
        processes = generate_latest(REGISTRY)  # with the client's process and Python collectors
    figures = CollectorRegistry(auto_describe=False)
    figures.register(store)
    return processes + generate_latest(figures)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What /metrics needs of its server: the store's gauges and the token that opens it from afar."""

    store: Store
    token: str = ""  # empty: loopback only

    @classmethod
    def of(cls, db: Engine, token: str | None = None) -> Endpoint:
        """``token`` None: ``$YANGGUANG_METRICS_TOKEN`` (so every worker process of a server has it)."""
        return cls(Store(db), (os.environ.get(TOKEN_ENV, "") if token is None else token).strip())


__all__ = [
    "CONTENT_TYPE_LATEST",
    "LATENCY",
    "MULTIPROCESS_ENV",
    "REQUESTS",
    "STORE_SECONDS",
    "SWEEP",
    "SWEEP_FAILURES",
    "TOKEN_ENV",
    "UNMATCHED",
    "UPLOAD_SECONDS",
    "Cases",
    "Endpoint",
    "Store",
    "exposition",
    "observe_request",
    "observe_sweep",
    "observe_sweep_failure",
    "read_cases",
    "read_uploads",
]
