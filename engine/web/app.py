"""The web app: one Starlette app per catalogue version, its routes, middleware and error answers.

``create_app`` returns an ``engine.web.reload.LiveApp``: it owns the database, the key, the lifespan
and the background tasks, and dispatches each request to the app built by ``_version`` for the
live catalogue version. Everything that depends on the catalogue is built there, once per
version, into the ``engine.web.deps.Deps`` the handlers read (``app.state.deps``), so live reload
swaps it whole (see engine.web.reload).

Handlers are module-level functions in their own modules (engine.web.home, engine.web.api, …);
every error they raise is answered by engine.web.errors: JSON ``{"error": {"status", "code",
"message"}}`` under /api/, the HTML error page elsewhere; never a traceback.
"""

from __future__ import annotations

import functools
import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from engine.base import keys
from engine.base.result import Problem
from engine.catalogue.cache import FileCache
from engine.catalogue.model import Catalogue
from engine.check.pipeline import load
from engine.ledger.db import open_engine, place
from engine.ledger.migrations import migrate
from engine.ledger.server_key import shared_key
from engine.rules.calendar import WorkCalendar
from engine.rules.clock import Clock, SystemClock
from engine.service.cases import CaseService
from engine.service.notification_senders import senders_from_env
from engine.service.notification_worker import Runner, settings_from_env
from engine.service.upload_limits import Limits, limits_from_env
from engine.supervision.search import ItemIndex
from engine.web import admin, api, errors, home, metrics, monitoring, public, reload, supervision, transparency
from engine.web.admin import PreviewKit
from engine.web.deps import Deps
from engine.web.desk import appeals as desk_appeals
from engine.web.desk import bookings as desk_bookings
from engine.web.desk import cases as desk_cases
from engine.web.desk import chains as desk_chains
from engine.web.desk import login as desk_login
from engine.web.desk.staff import signed_in
from engine.web.middleware import InputGuard, LocaleMiddleware, Observe
from engine.web.outbox import ROUTES as OUTBOX_ROUTES
from engine.web.portal import appeals as portal_appeals
from engine.web.portal import apply, booking, progress
from engine.web.reload import Job, LiveApp, Version
from engine.web.render import renderer
from engine.web.security import SecurityHeaders

_STATIC = Path(str(files("engine.web") / "static"))  # package data, as the /static mount reads it


async def favicon(request: Request) -> Response:
    """Browsers ask /favicon.ico whatever a page links (base.html links static/favicon.svg)."""
    return FileResponse(_STATIC / "favicon.ico", media_type="image/x-icon", headers={"Cache-Control": "max-age=86400"})


class CatalogueNotClean(RuntimeError):
    pass


def site_folder(db: Path | str) -> Path:
    """The folder of the server's own files (open-data/, and uploads/ by default): an SQLite file's
    folder, else ``$YANGGUANG_DATA_DIR`` (default ``var`` in the working directory; engine.ledger.db.place),
    where the commands find the database's signing key too."""
    where = place(db)
    return where.parent if where is not None else Path(".")


SWEEP_SECONDS = 60.0
"""How often the server applies the timed rules: Art. 32 deemed acceptance and supervision's
lights, overruns, follow-ups and escalations (engine.supervision.sweep.sweep)."""

log = logging.getLogger("yangguang.web")


def create_app(
    catalog: Path | str,
    db: Path | str,
    catalogue: Catalogue | None = None,
    *,
    clock: Clock | None = None,
    sweep_seconds: float = SWEEP_SECONDS,
    notify_seconds: float = 0.0,
    reload_seconds: float | None = None,
    warnings: tuple[Problem, ...] = (),
    upload_limits: Limits | None = None,
    uploads: Path | str | None = None,
    db_read: str | Path | None = None,
    metrics_token: str | None = None,
) -> LiveApp:
    """The web app. ``clock`` defaults to the system clock (tests pass a ManualClock);
    every ``sweep_seconds`` (and once at start-up, for what fell due while the server was
    down) the engine's timed rules run in a worker thread; 0 turns that off. Every
    ``reload_seconds`` (default ``$YANGGUANG_RELOAD_SECONDS``, else 2; 0 off) the catalogue
    files are looked at, and an edit that checks clean goes live (engine.web.reload). ``warnings`` are the
    given ``catalogue``'s check warnings (/admin lists them); a catalogue loaded here brings its own.
    ``upload_limits`` default to the environment's (engine.service.upload_limits.limits_from_env: ValueError
    naming a bad variable). ``uploads`` is the folder of uploaded files (default: ``uploads/`` beside an
    SQLite file, else ``var/uploads``): several server processes must all see the same one. ``db_read``
    (serve --db-read) is a replica the public and supervision pages read from (engine.web.deps.REPLICA_ROUTES);
    never migrated or written here. ``metrics_token`` opens /metrics from afar (default
    ``$YANGGUANG_METRICS_TOKEN``; empty: the server's own host only, engine.service.access.may_scrape).
    Every ``notify_seconds`` (0: never) the notification worker queues and sends notifications through the
    channels the environment sets (engine.service.notification_senders; ValueError naming a bad setting)."""
    root = Path(catalog)
    if reload_seconds is None:
        reload_seconds = reload.seconds_from_env()
    if upload_limits is None:
        upload_limits = limits_from_env(os.environ)
    if catalogue is None:
        result = load(root, FileCache(root))  # the cache makes the watcher's first re-load cheap
        if not result.ok:
            raise CatalogueNotClean(f"catalogue {catalog} has {len(result.errors)} error(s); run yangguang check")
        catalogue, warnings = result.catalogue, tuple(result.warnings)
    var = site_folder(db)
    cases_db = open_engine(db)
    migrate(cases_db)
    # in the database, so every server process of it signs cookies and forms alike; an older server's
    # secret.key beside the database is adopted once
    key = shared_key(cases_db, adopt=lambda: keys.read_existing(var / "secret.key"))
    reload.record(cases_db, catalogue, root)  # the store keeps every catalogue version it served
    uploads_dir = Path(uploads) if uploads is not None else var / "uploads"
    read_db = open_engine(db_read) if db_read else None
    observed = {"metrics": metrics.Endpoint.of(cases_db, metrics_token), "health": monitoring.Probe(cases_db)}
    site = _Site(var, uploads_dir, key, cases_db, clock or SystemClock(), upload_limits, observed, read_db)
    jobs: tuple[Job, ...] = ()
    if notify_seconds > 0:
        runner = Runner(senders_from_env(os.environ, var), settings_from_env(os.environ))
        jobs = (Job("the notification worker", notify_seconds, runner),)
    return LiveApp(
        catalogue,
        root=root,
        db=cases_db,
        clock=site.clock,
        build=functools.partial(_version, site),
        sweep_seconds=sweep_seconds,
        reload_seconds=reload_seconds,
        warnings=warnings,
        jobs=jobs,
    )


ENV_CATALOG, ENV_DB, ENV_SWEEP, ENV_UPLOADS = (
    "YANGGUANG_CATALOG", "YANGGUANG_DB", "YANGGUANG_SWEEP_SECONDS", "YANGGUANG_UPLOADS",
)  # fmt: skip
ENV_NOTIFY = "YANGGUANG_NOTIFY_SECONDS"  # the notification worker (default 0 here: off; serve's default is 10)


def from_env(environ: Mapping[str, str] | None = None, default_catalog: Path | None = None) -> LiveApp:
    """The web app with its settings from the environment: what every process of ``uvicorn --workers N``
    (``yangguang serve --workers N``) and ``uvicorn server:app`` builds. ``$YANGGUANG_CATALOG`` (default
    ``default_catalog``, else the working directory), ``$YANGGUANG_DB`` (an SQLite file or a database URL;
    default var/yangguang.db), ``$YANGGUANG_SWEEP_SECONDS`` (default 60), ``$YANGGUANG_UPLOADS`` (the
    uploads folder), ``$YANGGUANG_DB_READ`` (a read replica, serve --db-read) and the variables ``create_app``
    reads itself. A bad value: ValueError naming it."""
    env = os.environ if environ is None else environ
    raw_sweep = env.get(ENV_SWEEP, "").strip() or str(SWEEP_SECONDS)
    try:
        sweep_seconds = float(raw_sweep)
    except ValueError:
        sweep_seconds = math.nan
    if not sweep_seconds >= 0 or not math.isfinite(sweep_seconds):
        raise ValueError(f"{ENV_SWEEP} must be 0 (off) or a number of seconds, not {raw_sweep!r}")
    raw_notify = env.get(ENV_NOTIFY, "").strip() or "0"
    try:
        notify_seconds = float(raw_notify)
    except ValueError:
        notify_seconds = math.nan
    if not notify_seconds >= 0 or not math.isfinite(notify_seconds):
        raise ValueError(f"{ENV_NOTIFY} must be 0 (off) or a number of seconds, not {raw_notify!r}")
    return create_app(
        catalog=env.get(ENV_CATALOG) or default_catalog or Path.cwd(),
        db=env.get(ENV_DB) or "var/yangguang.db",
        sweep_seconds=sweep_seconds,
        notify_seconds=notify_seconds,
        upload_limits=limits_from_env(env),
        uploads=env.get(ENV_UPLOADS) or None,
        db_read=env.get("YANGGUANG_DB_READ") or None,
    )


@dataclass(frozen=True, slots=True)
class _Site:
    """What every catalogue version of one server shares."""

    var: Path  # the database's directory (var/ for a database URL): open-data/
    uploads: Path  # the folder of uploaded files: every process of the database must see the same one
    key: bytes
    db: Engine
    clock: Clock
    limits: Limits  # uploads per draft, case and client address (engine.service.upload_limits)
    observed: dict[str, object]  # /metrics' and /healthz's own state (engine.web.monitoring)
    read_db: Engine | None = None  # the replica (--db-read) that engine.web.deps.reader may choose


def _version(site: _Site, cat: Catalogue, live: LiveApp) -> Version:
    """Everything built from one catalogue version: its service, caches and routes, as one app.
    Runs at start-up and, for a re-loaded catalogue, in the watcher's worker thread."""
    calendar = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
    service = CaseService(cat, site.db, site.clock, calendar)
    render = renderer(cat, calendar)
    uploads_dir = site.uploads
    for private in (uploads_dir, site.var / "open-data"):  # applicants' files: owner only (files are 0600)
        private.mkdir(mode=0o700, parents=True, exist_ok=True)
    index = ItemIndex(cat)  # FTS5, built once per catalogue version
    kit = PreviewKit(renderer=renderer, guide=home.guide_page)
    app = Starlette(
        routes=[
            *api.ROUTES,
            *apply.ROUTES,
            *progress.ROUTES,
            *desk_login.ROUTES,
            *desk_cases.ROUTES,
            *desk_chains.ROUTES,
            *desk_appeals.ROUTES,
            *portal_appeals.ROUTES,
            *booking.ROUTES,
            *desk_bookings.ROUTES,
            *supervision.ROUTES,
            *public.ROUTES,
            Route("/transparency/checkpoints", transparency.checkpoints),
            *admin.ROUTES,
            *OUTBOX_ROUTES,
            Mount("/static", StaticFiles(packages=[("engine.web", "static")]), name="static"),
            Route("/", home.home),
            Route("/items/{code}", home.item_page),
            Route("/chains/{chain}", home.chain_page),
            Route("/healthz", monitoring.healthz),
            Route("/metrics", monitoring.scrape),
            Route("/favicon.ico", favicon),
        ],
        exception_handlers=errors.HANDLERS,
        middleware=[
            Middleware(Observe),  # outermost: the request id, its metrics and log line cover every answer
            Middleware(SecurityHeaders),
            Middleware(LocaleMiddleware),
            Middleware(InputGuard, errors.bad_text),
            Middleware(errors.LastResort),  # innermost: in the request's language, with the security headers
        ],
    )
    app.state.deps = Deps(
        service=service,
        render=render,
        key=site.key,
        uploads_dir=uploads_dir,
        limits=site.limits,
        staff_of=signed_in,
        index=index,
        open_data_dir=site.var / "open-data",
        extra={"live": live, "kit": kit, **site.observed},
        live=live,
        replica=CaseService(cat, site.read_db, site.clock, calendar) if site.read_db is not None else None,
    )
    # built here (in the watcher's thread on a re-load), not on the version's first request
    app.middleware_stack = app.build_middleware_stack()
    return Version(cat, service, app, site.clock.now())
