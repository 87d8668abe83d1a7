"""``yangguang user add|unlock`` and ``yangguang demo-users``: staff accounts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine.cli import common
from engine.cli.errors import EXIT_OK, UserError

ROLE_HELP = (
    "in a department (give --department): window 窗口受理 (receives applications), undertaker 承办 "
    "(examines them), reviewer 审核, decider 审批 (decides), issuer 制证发证 (issues the result), inspector "
    "现场核查 (site checks), head 部门负责人 (approves extensions, answers supervision); center-wide, no "
    "--department: frontdesk 综合受理 (accepts chain applications for every department), supervisor "
    "效能监察 (electronic supervision), admin 系统管理员 (the /admin pages)"
)


def cmd_user_add(args: argparse.Namespace) -> int:
    import getpass

    from engine.base import i18n, passwords
    from engine.ledger.migrations import migrate
    from engine.service.accounts import ROLES, add_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.username}: ")
    else:
        raise UserError("no terminal to ask for a password; pipe it in with --password-stdin")
    words = [args.username, args.department or "", *_center_words(args.catalog)]

    def problem() -> str:
        return passwords.password_problem(password, args.role, words) or ""

    if args.role in ROLES and problem():  # an unknown role is reported by add_user below
        # the operator may read either language: the problem in both, line by line (engine.base.i18n)
        raise UserError(
            f"{i18n.in_both(problem)}\nuser {args.username} not added; run the command again with a stronger password"
        )
    engine = common.open_db(args.db)
    migrate(engine)
    try:
        user_id = add_user(engine, args.username, args.role, args.department, password, args.backup_for)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    sys.stdout.write(
        f"user {args.username} added (id {user_id}, role {args.role}"
        + (f", department {args.department}" if args.department else "")
        + ")\n"
    )
    return EXIT_OK


def _center_words(catalog: Path) -> list[str]:
    """The center's and departments' names and ids from ``catalog``/center.yaml, as words a
    password must not lean on; best effort (no file, or one that does not parse, gives none)."""
    import yaml

    try:
        center = yaml.safe_load((catalog / common.CENTER_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    if not isinstance(center, dict):
        return []
    entries = [center, *(d for d in center.get("departments") or [] if isinstance(d, dict))]
    return [str(e[k]) for e in entries for k in ("id", "name", "short_name") if e.get(k)]


def cmd_user_unlock(args: argparse.Namespace) -> int:
    from engine.service.accounts import UnknownUser, unlock_user

    engine = common.open_db(args.db, existing=True)
    try:
        forgotten = unlock_user(engine, args.username)
    except UnknownUser as exc:
        raise UserError(str(exc)) from exc
    sys.stdout.write(
        f"user {args.username.strip()} unlocked: {forgotten} recent failed login(s) forgotten; "
        "it can sign in from every address again\n"
    )
    return EXIT_OK


def cmd_demo_users(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from engine.cli.progress import bar
    from engine.ledger.migrations import migrate
    from engine.service import demo_users
    from engine.service.accounts import DEMO_PASSWORD, ensure_users

    depts = demo_users.departments(common.checked(args.catalog))
    if not depts:
        raise UserError(f"{args.catalog} has no items, so no department to make demo accounts for; add an item first")
    try:
        engine = common.open_db(args.db)
        migrate(engine)
        with bar("demo accounts", "account") as progress:
            done = ensure_users(engine, demo_users.accounts(depts), DEMO_PASSWORD, progress)
    except (OSError, SQLAlchemyError) as exc:
        raise UserError(f"cannot write the demo accounts to {common.shown(args.db)}: {exc}") from exc
    sys.stdout.write(demo_users.table(common.shown(args.db), done, depts))
    return EXIT_OK


def add_parsers(sub: Any, catalog: argparse.ArgumentParser) -> None:
    """``user add|unlock``, then ``demo-users`` (registered together: they follow each other in --help)."""
    us = sub.add_parser("user", help="manage staff accounts")
    us_sub = us.add_subparsers(dest="user_command", required=True, metavar="WHAT")
    ua = us_sub.add_parser(
        "add", parents=[catalog], help="create a staff account (refuses a weak password, saying why)"
    )
    ua.add_argument("--username", required=True, help="login name")
    ua.add_argument("--role", required=True, help=ROLE_HELP)
    ua.add_argument("--department", help="department id from center.yaml")
    ua.add_argument("--backup-for", help="role this person stands in for (AB角)")
    ua.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    common.add_db(ua)
    # the catalogue gives only words a password must not lean on: anywhere else, the account is added all the same
    ua.set_defaults(func=cmd_user_add, catalog_optional=True)
    uu = us_sub.add_parser("unlock", help="forget an account's failed logins, so it can sign in again at once")
    uu.add_argument("username", help="login name")
    common.add_db(uu)
    uu.set_defaults(func=cmd_user_unlock)

    du = sub.add_parser(
        "demo-users",
        parents=[catalog],
        help="create demo staff accounts: every role in every department the catalogue's items and chains need, "
        "the center's front desk, supervisor and admin, and an AB backup; prints them as a table",
    )
    common.add_db(du)
    du.set_defaults(func=cmd_demo_users)
