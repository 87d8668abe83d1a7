"""``yangguang notify``: the notification outbox from the command line — send what is due once (or every few
seconds), list the messages, put failed ones back in the queue, and set where a staff member's digest goes.

The channel settings are options here and in ``yangguang serve`` (:func:`add_sender_options`); each
falls back to its environment variable, so the password need never be on a command line."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from engine.cli import common
from engine.cli.errors import EXIT_OK, UserError

#: option -> environment variable (engine.service.notification_senders reads the variables)
SENDER_OPTIONS = {
    "smtp_host": "YANGGUANG_SMTP_HOST",
    "smtp_port": "YANGGUANG_SMTP_PORT",
    "smtp_from": "YANGGUANG_SMTP_FROM",
    "smtp_tls": "YANGGUANG_SMTP_TLS",
    "smtp_user": "YANGGUANG_SMTP_USER",
    "sms_url": "YANGGUANG_SMS_URL",
    "sms_file": "YANGGUANG_SMS_FILE",
    "notify_max_attempts": "YANGGUANG_NOTIFY_MAX_ATTEMPTS",
    "notify_backoff_seconds": "YANGGUANG_NOTIFY_BACKOFF_SECONDS",
    "notify_reminder_hour": "YANGGUANG_NOTIFY_REMINDER_HOUR",
}
STATUS_WORDS = {"queued": "待发送", "sending": "发送中", "sent": "已发送", "failed": "失败待重试", "dead": "已放弃"}


def add_sender_options(p: argparse.ArgumentParser) -> None:
    """The channels' settings; each defaults to its environment variable (none given: that variable's own default)."""
    g = p.add_argument_group("notification channels")
    g.add_argument(
        "--smtp-host", help="SMTP server for e-mail notifications (env YANGGUANG_SMTP_HOST; none: no e-mail)"
    )
    g.add_argument("--smtp-port", help="its port (env YANGGUANG_SMTP_PORT; default 25, 465 with --smtp-tls ssl)")
    g.add_argument("--smtp-from", help="the sender address (env YANGGUANG_SMTP_FROM; default noreply@localhost)")
    g.add_argument(
        "--smtp-tls", choices=("none", "starttls", "ssl"), help="encryption (env YANGGUANG_SMTP_TLS; default none)"
    )
    g.add_argument(
        "--smtp-user",
        help="SMTP login (env YANGGUANG_SMTP_USER; the password only from env YANGGUANG_SMTP_PASSWORD)",
    )
    g.add_argument("--sms-url", help="an HTTP SMS gateway: each SMS is POSTed as JSON (env YANGGUANG_SMS_URL)")
    g.add_argument(
        "--sms-file",
        help="without a gateway, SMS are written one JSON line each to this file, '-' standard output (env "
        "YANGGUANG_SMS_FILE; default notifications-sms.log beside an SQLite database, else in var/)",
    )
    g.add_argument(
        "--notify-max-attempts", help="tries before a message is given up (env YANGGUANG_NOTIFY_MAX_ATTEMPTS; 8)"
    )
    g.add_argument(
        "--notify-backoff-seconds",
        help="wait after the first failed try, doubled after each (env YANGGUANG_NOTIFY_BACKOFF_SECONDS; 60)",
    )
    g.add_argument(
        "--notify-reminder-hour",
        help="local hour of the working day before an appointment from which its reminder is sent, 0-23 "
        "(env YANGGUANG_NOTIFY_REMINDER_HOUR; 16)",
    )


def apply_sender_options(args: argparse.Namespace) -> None:
    """Options given override their environment variables, in this process and the ones it starts."""
    for option, env in SENDER_OPTIONS.items():
        value = getattr(args, option, None)
        if value is not None:
            os.environ[env] = str(value)


def worker_settings(db: str | Path) -> tuple[Any, Any]:
    """(senders, settings) from the environment; a bad setting is a UserError."""
    from engine.ledger.db import place
    from engine.service.notification_senders import senders_from_env
    from engine.service.notification_worker import settings_from_env

    where = place(db)
    try:
        return senders_from_env(os.environ, where.parent if where is not None else Path("var")), settings_from_env(
            os.environ
        )
    except ValueError as exc:
        raise UserError(str(exc)) from exc


def cmd_send(args: argparse.Namespace) -> int:
    from engine.service.notification_worker import Runner

    apply_sender_options(args)
    common.open_db(args.db, existing=True)
    senders, settings = worker_settings(args.db)
    if "email" not in senders:
        sys.stderr.write("note: no SMTP server is set (--smtp-host); e-mail notifications stay queued\n")
    service = common.service(args.catalog, args.db)
    runner = Runner(senders, settings)
    while True:
        report = runner(service)
        sys.stdout.write(
            f"queued: {report.queued}  sent: {report.sent}  failed: {report.failed}  given up: {report.dead}\n"
            + "".join(f"  {line}\n" for line in report.errors)
        )
        sys.stdout.flush()
        if not args.every:
            return EXIT_OK
        time.sleep(args.every)


def cmd_list(args: argparse.Namespace) -> int:
    from datetime import datetime

    from sqlalchemy import select

    from engine.base.dates import TZ
    from engine.ledger.db import read_only
    from engine.ledger.migrations import migrate
    from engine.ledger.outbox import outbox

    db = common.open_db(args.db, existing=True)
    migrate(db)
    o = outbox
    query = select(o.c.id, o.c.status, o.c.attempts, o.c.channel, o.c.address, o.c.kind, o.c.ref, o.c.created_at,
                   o.c.last_error).order_by(o.c.id.desc()).limit(args.limit)  # fmt: skip
    if args.status:
        query = query.where(o.c.status == args.status)
    with read_only(db) as conn:
        rows = conn.execute(query).all()
    for r in reversed(rows):
        error = f"  {r.last_error}" if r.last_error and r.status != "sent" else ""
        sys.stdout.write(
            f"{r.id}\t{STATUS_WORDS.get(r.status, r.status)}\t{r.attempts}\t{r.channel}\t{r.address}\t{r.kind}\t"
            f"{r.ref or '-'}\t{datetime.fromisoformat(r.created_at).astimezone(TZ):%Y-%m-%d %H:%M}{error}\n"
        )
    if not rows:
        sys.stdout.write("no messages\n")
    return EXIT_OK


def cmd_retry(args: argparse.Namespace) -> int:
    from engine.ledger.db import utc_now
    from engine.ledger.migrations import migrate
    from engine.ledger.outbox import retry

    db = common.open_db(args.db, existing=True)
    migrate(db)
    with db.begin() as conn:
        n = retry(conn, args.ids, utc_now())
    sys.stdout.write(f"{n} message(s) queued again\n")
    return EXIT_OK


def cmd_staff_email(args: argparse.Namespace) -> int:
    from engine.ledger.migrations import migrate
    from engine.service.notifications import set_staff_email

    db = common.open_db(args.db, existing=True)
    migrate(db)
    email = None if args.email == "-" else args.email
    try:
        found = set_staff_email(db, args.username, email)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    if not found:
        raise UserError(f"no staff account {args.username!r}; `yangguang user list` shows them")
    sys.stdout.write(f"{args.username}: daily digest to {email or 'nobody'}\n")
    return EXIT_OK


def add_parsers(sub: Any, catalog: argparse.ArgumentParser) -> None:
    nt = sub.add_parser("notify", help="notifications to applicants and staff: send, list, retry")
    nsub = nt.add_subparsers(dest="notify_command", required=True, metavar="ACTION")
    send = nsub.add_parser(
        "send", parents=[catalog], help="queue what is due (case events, staff digests) and send the due messages"
    )
    common.add_db(send)
    send.add_argument(
        "--every",
        type=float,
        default=0,
        metavar="SECONDS",
        help="keep running, one round every SECONDS (default: once)",
    )
    add_sender_options(send)
    send.set_defaults(func=cmd_send)
    ls = nsub.add_parser("list", help="the newest messages of the outbox with their status, attempts and last error")
    common.add_db(ls)
    ls.add_argument("--status", choices=("queued", "sending", "sent", "failed", "dead"), help="only these")
    ls.add_argument("--limit", type=int, default=50, help="how many (default 50)")
    ls.set_defaults(func=cmd_list, catalog_optional=True)
    rt = nsub.add_parser("retry", help="queue failed or given-up messages again, by id (from `notify list`)")
    common.add_db(rt)
    rt.add_argument("ids", type=int, nargs="+", metavar="ID")
    rt.set_defaults(func=cmd_retry, catalog_optional=True)
    se = nsub.add_parser("staff-email", help="where a staff member's daily digest goes ('-': nowhere)")
    common.add_db(se)
    se.add_argument("username")
    se.add_argument("email")
    se.set_defaults(func=cmd_staff_email, catalog_optional=True)
