"""``yangguang serve`` and ``yangguang sweep``: the catalogue over HTTP, and the timed rules and supervision
lights applied once (the server runs them every ``--sweep-seconds``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from engine.cli import common, notify
from engine.cli.errors import EXIT_OK, UserError


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from engine.ledger.db import is_url
    from engine.service.upload_limits import limits_from_env
    from engine.web import logs, reload
    from engine.web.app import create_app

    try:  # --reload-seconds, else $YANGGUANG_RELOAD_SECONDS, else 2; the per-address upload limits
        reload_seconds = reload.seconds_from_env() if args.reload_seconds is None else args.reload_seconds
        upload_limits = limits_from_env(os.environ)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    if not reload_seconds >= 0:  # also refuses nan
        raise UserError("--reload-seconds must be 0 (off) or more")
    log_format = args.log_format or os.environ.get(logs.ENV, "").strip() or logs.default_format(sys.stderr)
    if log_format not in logs.FORMATS:
        raise UserError(f"{logs.ENV} must be one of {', '.join(logs.FORMATS)}, not {log_format!r}")
    checked = common.checked_result(args.catalog)  # refuse to serve a catalogue that does not check clean
    if checked.warnings:  # served all the same; /admin lists them
        sys.stderr.write(
            f"note: the catalogue has {len(checked.warnings)} warning(s) (e.g. elements a published guide does not "
            "state); they are listed on /admin and by `yangguang check`\n"
        )
    if args.sweep_seconds < 0:
        raise UserError("--sweep-seconds must be 0 (off) or more")
    if not args.notify_seconds >= 0:
        raise UserError("--notify-seconds must be 0 (off) or more")
    notify.apply_sender_options(args)  # the app (and every --workers process) reads the channels from the environment
    notify.worker_settings(args.db)  # a bad channel setting is a message now, not a failing server
    if is_url(args.db):  # a server that cannot be reached is a message, not a traceback (a new SQLite file is made)
        common.open_db(args.db, existing=True).dispose()
    if args.workers is None:
        raw = os.environ.get("YANGGUANG_WORKERS", "").strip() or "1"
        args.workers = int(raw) if raw.isascii() and raw.isdigit() else 0
    if args.workers < 1:
        raise UserError("--workers (or YANGGUANG_WORKERS) must be a whole number, 1 or more")
    db_read = _read_db(args.db_read)
    if db_read:  # for --workers too: they build the app from the environment (engine.web.app.from_env)
        os.environ["YANGGUANG_DB_READ"] = db_read
    if args.workers > 1:
        return _serve_workers(args, reload_seconds, log_format)
    app = create_app(
        catalog=args.catalog,
        db=args.db,
        catalogue=checked.catalogue,
        warnings=tuple(checked.warnings),
        sweep_seconds=args.sweep_seconds,
        notify_seconds=args.notify_seconds,
        reload_seconds=reload_seconds,
        upload_limits=upload_limits,
        uploads=args.uploads,
        db_read=db_read,
        metrics_token=args.metrics_token,
    )
    # X-Forwarded-For/-Proto count only from --forwarded-allow-ips: the client address that login
    # throttling counts, and https (HSTS, Secure cookies) behind a TLS-terminating proxy
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        # our handler and format in every process uvicorn runs; uvicorn's access log is replaced by the
        # app's own request line (engine.web.middleware.Observe: route template, request id, no query string)
        log_config=logs.config(log_format),
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
    )
    return EXIT_OK


def _read_db(value: str) -> str | None:
    """``--db-read``'s database, once it is known to be a Yangguang database this process can read (None: none)."""
    if not value:
        return None
    if "://" not in value and not Path(value).is_file():  # opening it would create an empty SQLite file
        raise UserError(f"--db-read: no database at {value}")
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from engine.ledger.db import open_engine

    engine = open_engine(value)
    try:
        if not inspect(engine).has_table("cases"):
            raise UserError(f"--db-read: {value} holds no Yangguang cases; is it a replica of --db?")
    except SQLAlchemyError as exc:
        raise UserError(f"--db-read: cannot read {value}: {str(exc).splitlines()[0]}") from exc
    finally:
        engine.dispose()
    return value


def _serve_workers(args: argparse.Namespace, reload_seconds: float, log_format: str) -> int:
    """``--workers N``: uvicorn's worker processes, each building the app from the environment
    (engine.web.app.from_env). The database is migrated (and its server key made) here first, once,
    so the workers start on a ready database instead of racing to migrate it. Without
    ``PROMETHEUS_MULTIPROC_DIR`` a fresh folder is made for it (and removed at the end), so whichever
    worker answers /metrics reports the requests of them all (engine.web.metrics)."""
    import shutil
    import tempfile

    import uvicorn

    from engine.ledger.db import open_engine
    from engine.ledger.migrations import migrate
    from engine.web import logs, metrics

    db = open_engine(args.db)
    try:
        migrate(db)
    finally:
        db.dispose()
    os.environ.update(
        {
            "YANGGUANG_CATALOG": str(Path(args.catalog).resolve()),
            "YANGGUANG_DB": str(args.db),
            "YANGGUANG_SWEEP_SECONDS": repr(args.sweep_seconds),
            "YANGGUANG_NOTIFY_SECONDS": repr(args.notify_seconds),
            "YANGGUANG_RELOAD_SECONDS": repr(reload_seconds),
            **({"YANGGUANG_UPLOADS": str(Path(args.uploads).resolve())} if args.uploads is not None else {}),
            **({metrics.TOKEN_ENV: args.metrics_token} if args.metrics_token is not None else {}),
        }
    )
    made = None
    if not os.environ.get(metrics.MULTIPROCESS_ENV):  # set before the workers start: they read it on import
        made = tempfile.mkdtemp(prefix="yangguang-metrics-")
        os.environ[metrics.MULTIPROCESS_ENV] = made
    try:
        uvicorn.run(
            "engine.web.app:from_env",
            factory=True,
            workers=args.workers,
            host=args.host,
            port=args.port,
            log_level="info",
            log_config=logs.config(log_format),  # applied in every worker
            access_log=False,
            proxy_headers=True,
            forwarded_allow_ips=args.forwarded_allow_ips,
        )
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
    return EXIT_OK


def cmd_sweep(args: argparse.Namespace) -> int:
    from engine.cli.progress import bar
    from engine.supervision import sweep as supervision

    common.open_db(args.db, existing=True)  # sweeping makes no database: UserError when there is none

    service = common.service(args.catalog, args.db)
    with bar("sweeping", "phase") as progress:
        report = supervision.sweep(service, progress)
    sys.stdout.write(
        f"deemed accepted: {len(report.deemed_accepted)}\n"
        + "".join(f"{kind}: {n}\n" for kind, n in sorted({**report.lights, **report.other}.items()))
    )
    return EXIT_OK


def add_parsers(sub: Any, catalog: argparse.ArgumentParser) -> None:
    sv = sub.add_parser("serve", parents=[catalog], help="serve the catalogue over HTTP")
    common.add_db(sv)
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    sv.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    sv.add_argument(
        "--sweep-seconds",
        type=float,
        default=float(os.environ.get("YANGGUANG_SWEEP_SECONDS", "60")),
        help="how often the timed rules and supervision lights run (default 60; 0 turns them off; "
        "env YANGGUANG_SWEEP_SECONDS)",
    )
    sv.add_argument(
        "--notify-seconds",
        type=float,
        default=float(os.environ.get("YANGGUANG_NOTIFY_SECONDS", "10")),
        help="how often notifications are queued and sent (default 10; 0 turns the worker off; "
        "env YANGGUANG_NOTIFY_SECONDS)",
    )
    sv.add_argument(
        "--reload-seconds",
        type=float,
        default=None,
        help="how often to look for edited catalogue files and put a version that checks clean live "
        "(default 2; 0 turns live reload off; env YANGGUANG_RELOAD_SECONDS)",
    )
    sv.add_argument(
        "--db-read",
        default=os.environ.get("YANGGUANG_DB_READ", ""),
        metavar="URL",
        help="a read replica of --db (a URL, or an SQLite file) that the public and supervision pages read "
        "from; whatever writes reads --db (default: none; env YANGGUANG_DB_READ)",
    )
    sv.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="comma-separated addresses of the reverse proxies whose X-Forwarded-For and X-Forwarded-Proto "
        "headers are believed ('*' any: only when nothing else can reach the port; default: "
        "$FORWARDED_ALLOW_IPS, else 127.0.0.1,::1)",
    )
    sv.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server processes sharing the port and the database (default 1; env YANGGUANG_WORKERS): any "
        "process serves any request, one of them runs the sweep",
    )
    sv.add_argument(
        "--uploads",
        type=Path,
        default=os.environ.get("YANGGUANG_UPLOADS") or None,
        help="the folder of uploaded files (default: uploads/ beside the SQLite file, else var/uploads; env "
        "YANGGUANG_UPLOADS); servers on several machines need one folder they all mount at this path",
    )
    sv.add_argument(
        "--log-format",
        choices=("json", "text"),
        default=None,
        help="json: one JSON object per line (time, level, logger, message, request_id, and method, route, "
        "status, duration_ms for each request); text: the same as readable lines (default: text when standard "
        "error is a terminal, json otherwise; env YANGGUANG_LOG_FORMAT)",
    )
    sv.add_argument(
        "--metrics-token",
        default=None,
        help="a bearer token that opens /metrics from other hosts (default: env YANGGUANG_METRICS_TOKEN, which "
        "other users cannot read from the process list; without one only this host may read /metrics)",
    )
    notify.add_sender_options(sv)
    sv.set_defaults(func=cmd_serve)
    sw = sub.add_parser("sweep", parents=[catalog], help="apply the timed rules and supervision lights once")
    common.add_db(sw)
    sw.set_defaults(func=cmd_sweep)
