"""The ``yangguang`` command.

Exit codes (as pre-commit does): 0 success; 1 an expected user error (a catalogue
that does not check, an unknown item, bad input data) with a clean message; 3 a bug
in Yangguang, with a traceback to put in a bug report.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from engine import __version__

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CATALOG = REPO_ROOT
DEFAULT_DB = Path("var/yangguang.db")

EXIT_OK, EXIT_USER, EXIT_BUG = 0, 1, 3


class UserError(Exception):
    """An expected problem: the message says what to do; no traceback."""


def _load(catalog: Path, use_cache: bool = True, full: bool = True, args=None):  # type: ignore[no-untyped-def]
    from engine.catalogue.cache import FileCache
    from engine.catalogue.model import load
    from engine.cli.progress import bar

    cache = FileCache(catalog) if use_cache else None
    with bar("checking the catalogue", "file", args) as progress:
        return load(catalog, cache, full=full, progress=progress)


def _checked(catalog: Path):  # type: ignore[no-untyped-def]
    return _checked_result(catalog).catalogue


def _checked_result(catalog: Path):  # type: ignore[no-untyped-def]
    """The check of a catalogue that has no errors (warnings allowed); UserError with its report otherwise."""
    from engine.check import report

    result = _load(catalog)
    if not result.ok:
        raise UserError(report.text(result).rstrip("\n"))
    return result


def _item(cat, code: str):  # type: ignore[no-untyped-def]
    import difflib

    doc = cat.items.get(code)
    if doc is None:
        by_name = [d for d in cat.items.values() if d.data["name"] == code]
        if by_name:
            return by_name[0]
        close = difflib.get_close_matches(code, list(cat.items), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `yangguang list` shows every item"
        raise UserError(f"no item with code {code!r}{hint}")
    return doc


def cmd_check(args: argparse.Namespace) -> int:
    from engine.check import report

    result = _load(args.catalog, use_cache=not args.no_cache, full=False, args=args)
    sys.stdout.write(report.as_json(result) if args.format == "json" else report.text(result, strict=args.strict))
    return EXIT_OK if result.clean(strict=args.strict) else EXIT_USER


def cmd_list(args: argparse.Namespace) -> int:
    cat = _checked(args.catalog)
    for code in sorted(cat.items):
        d = cat.items[code].data
        promised = d["time_limit"]["promised"]
        limit = "即办" if promised["value"] == 0 else f"{promised['value']} {promised['unit']}"
        sys.stdout.write(f"{code}\t{d['department']}\t{limit}\t{d['name']}\n")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from engine.rules import notice

    if args.explain:
        return _explain(args)
    cat = _checked(args.catalog)
    if args.code in cat.chains and args.code not in cat.items:
        sys.stdout.write(_chain_text(cat, cat.chains[args.code].data))
        return EXIT_OK
    _refuse_withdrawn(cat, args.code)
    item = _item(cat, args.code)
    sys.stdout.write(notice.render_text(notice.build(cat, item)))
    return EXIT_OK


def _explain(args: argparse.Namespace) -> int:
    """``show CODE --explain`` works on what loaded even when the catalogue has problems: it is the
    tool for finding out which layer set a value that now breaks a rule."""
    from engine.check.explain import explain

    result = _load(args.catalog)
    cat = result.catalogue
    _refuse_withdrawn(cat, args.code)

    def refuse(file: str, why: str) -> None:  # with the problems of the file to fix
        raise UserError("\n".join([*(p.render() for p in result.problems if p.file == file), why]))

    if args.code in cat.broken_items and args.code not in cat.items:
        file = cat.broken_items[args.code]
        refuse(file, f"item {args.code} is left out of the catalogue: {file} has problems; fix them first")
    cut = next((layer for layer in cat.layers if layer.cut), None)
    if cut is not None and args.code not in cat.items:
        refuse(
            cut.center_file,
            f"{cut.center_file} cannot be followed to its parent, so nothing this catalogue inherits is loaded; "
            "fix it first (`yangguang check` lists the problems)",
        )
    item = _item(cat, args.code)
    if not result.ok:
        sys.stderr.write(
            f"note: the catalogue has {len(result.problems)} problem(s) (`yangguang check` lists them); "
            "this is the item as it loaded\n"
        )
    sys.stdout.write(explain(cat, item.data["code"]))
    return EXIT_OK


def _refuse_withdrawn(cat, code: str) -> None:  # type: ignore[no-untyped-def]
    if code in cat.withdrawn and code not in cat.items:
        reason, where = cat.withdrawn[code]
        raise UserError(f"item {code} is withdrawn here by {where}: {reason}")


def _chain_text(cat, chain) -> str:  # type: ignore[no-untyped-def]
    """A chain's stages, members and critical path of promised limits."""
    from engine.rules import chains

    modes = {"serial": "串联", "parallel": "并联", "joint_review": "联审联验"}
    path = chains.critical_path(cat, chain)
    lines = [f"{chain['name']}（{chain['id']}）"]
    for stage, timing in zip(chain["stages"], path.stages, strict=True):
        optional = "（可选）" if "when" in stage else ""
        lines.append(
            f"  {stage['id']} {stage['name']} — {modes[stage['mode']]}{optional}, {chains.days_text(timing.minutes)}"
        )
        for code in stage["items"]:
            item = cat.items.get(code)
            lines.append(f"    {code} {item.data['name'] if item else '(missing)'}")
    promised = chains.days_text(path.promised_minutes) if path.promised_minutes is not None else "none"
    lines.append(f"critical path: {path.render()}")
    lines.append(f"promised: {promised} — {'fits' if path.fits else 'DOES NOT FIT'}")
    return "\n".join(lines) + "\n"


def cmd_fee(args: argparse.Namespace) -> int:
    from engine.rules import forms
    from engine.rules.fees.assessment import assess
    from engine.rules.fees.schedule import FeeDataError
    from engine.rules.fees.text import render_assessment

    cat = _checked(args.catalog)
    item = _item(cat, args.code)
    fee = item.data["fee"]
    if fee == "not_stated":
        raise UserError(
            f"{item.data['code']} {item.data['name']}: the published guide does not state its fee (收费情况未说明); "
            "no assessment is possible — ask the department, then write the fee in the item"
        )
    if not isinstance(fee, dict) or "schedule" not in fee:
        sys.stdout.write(f"{item.data['name']}: 不收费 (free of charge)\n")
        return EXIT_OK
    try:
        raw = sys.stdin.read() if args.data == "-" else Path(args.data).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read --data {args.data}: {exc.strerror}") from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"--data {args.data} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    if not isinstance(data, dict):
        raise UserError('--data must hold a JSON object of form sections, e.g. {"realestate": {"use": "residential"}}')
    from datetime import date

    on = date.fromisoformat(args.on) if args.on else None
    try:
        sections = {k: cat.data(d) for k, d in cat.forms.items()}
        units = forms.money_units(item.data, sections)  # --data gives amounts in the units the form asks
        assessment = assess(cat.fees[fee["schedule"]].data, data, on=on, money_units=units)
    except FeeDataError as exc:
        raise UserError(str(exc)) from exc
    sys.stdout.write(render_assessment(assessment))
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from engine.service import reload
    from engine.service.upload_limits import limits_from_env
    from engine.web.app import create_app

    try:  # --reload-seconds, else $YANGGUANG_RELOAD_SECONDS, else 2; the per-address upload limits
        reload_seconds = reload.seconds_from_env() if args.reload_seconds is None else args.reload_seconds
        upload_limits = limits_from_env(os.environ)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    if not reload_seconds >= 0:  # also refuses nan
        raise UserError("--reload-seconds must be 0 (off) or more")
    checked = _checked_result(args.catalog)  # refuse to serve a catalogue that does not check clean
    if checked.warnings:  # served all the same; /admin lists them
        sys.stderr.write(
            f"note: the catalogue has {len(checked.warnings)} warning(s) (e.g. elements a published guide does not "
            "state); they are listed on /admin and by `yangguang check`\n"
        )
    if args.sweep_seconds < 0:
        raise UserError("--sweep-seconds must be 0 (off) or more")
    app = create_app(
        catalog=args.catalog,
        db=args.db,
        catalogue=checked.catalogue,
        warnings=tuple(checked.warnings),
        sweep_seconds=args.sweep_seconds,
        reload_seconds=reload_seconds,
        upload_limits=upload_limits,
    )
    # X-Forwarded-For/-Proto count only from --forwarded-allow-ips: the client address that login
    # throttling counts, and https (HSTS, Secure cookies) behind a TLS-terminating proxy
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
    )
    return EXIT_OK


def cmd_sweep(args: argparse.Namespace) -> int:
    from engine.supervision import sweep as supervision

    if not Path(args.db).is_file():
        raise UserError(f"no database at {args.db}; pass --db PATH")
    from engine.cli.progress import bar

    service = _service(args.catalog, args.db)
    with bar("sweeping", "phase") as progress:
        report = supervision.sweep(service, progress)
    sys.stdout.write(
        f"deemed accepted: {len(report.deemed_accepted)}\n"
        + "".join(f"{kind}: {n}\n" for kind, n in sorted({**report.lights, **report.other}.items()))
    )
    return EXIT_OK


def _service(catalog: Path, db: Path, clock=None):  # type: ignore[no-untyped-def]
    from engine.ledger import ledger
    from engine.rules.calendar import WorkCalendar
    from engine.rules.clock import SystemClock
    from engine.service.cases import CaseService

    cat = _checked(catalog)
    cal = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
    engine = ledger.open_engine(db)
    ledger.migrate(engine)
    return CaseService(cat, engine, clock or SystemClock(), cal)


def cmd_user_add(args: argparse.Namespace) -> int:
    import getpass

    from engine.base import passwords
    from engine.ledger import ledger
    from engine.service.accounts import ROLES, add_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.username}: ")
    else:
        raise UserError("no terminal to ask for a password; pipe it in with --password-stdin")
    words = [args.username, args.department or "", *_center_words(args.catalog)]
    problem = passwords.password_problem(password, args.role, words) if args.role in ROLES else None
    if problem:  # an unknown role is reported by add_user below
        raise UserError(f"{problem}\nuser {args.username} not added; run the command again with a stronger password")
    engine = ledger.open_engine(args.db)
    ledger.migrate(engine)
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
        center = yaml.safe_load((catalog / "center.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    if not isinstance(center, dict):
        return []
    entries = [center, *(d for d in center.get("departments") or [] if isinstance(d, dict))]
    return [str(e[k]) for e in entries for k in ("id", "name", "short_name") if e.get(k)]


def cmd_user_unlock(args: argparse.Namespace) -> int:
    from engine.ledger import ledger
    from engine.service.accounts import UnknownUser, unlock_user

    if not Path(args.db).is_file():
        raise UserError(f"no database at {args.db}; pass --db PATH")
    try:
        forgotten = unlock_user(ledger.open_engine(args.db), args.username)
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
    from engine.ledger import ledger
    from engine.service import demo_users
    from engine.service.accounts import DEMO_PASSWORD, ensure_users

    depts = demo_users.departments(_checked(args.catalog))
    if not depts:
        raise UserError(f"{args.catalog} has no items, so no department to make demo accounts for; add an item first")
    try:
        engine = ledger.open_engine(args.db)
        ledger.migrate(engine)
        with bar("demo accounts", "account") as progress:
            done = ensure_users(engine, demo_users.accounts(depts), DEMO_PASSWORD, progress)
    except (OSError, SQLAlchemyError) as exc:
        raise UserError(f"cannot write the demo accounts to {args.db}: {exc}") from exc
    sys.stdout.write(demo_users.table(str(args.db), done, depts))
    return EXIT_OK


def cmd_simulate(args: argparse.Namespace) -> int:
    from datetime import datetime

    from engine.rules.clock import TZ, ManualClock
    from engine.service.simulate import simulate

    try:
        start = datetime.fromisoformat(args.start).replace(tzinfo=TZ)
    except ValueError as exc:
        raise UserError(f"--start {args.start!r} is not a date (YYYY-MM-DD)") from exc
    clock = ManualClock(start.replace(hour=9))
    service = _service(args.catalog, args.db, clock)
    codes = args.items.split(",") if args.items else sorted(service.catalogue.items)
    unknown = [c for c in codes if c not in service.catalogue.items]
    if unknown:
        raise UserError(f"unknown item code(s): {', '.join(unknown)}; `yangguang list` shows them")
    from engine.cli.progress import bar

    with bar("simulating", "day") as progress:
        report = simulate(
            service,
            clock,
            codes,
            days=args.days,
            per_day=args.per_day,
            seed=args.seed,
            late_rate=args.late_rate,
            supplement_rate=args.supplement_rate,
            progress=progress,
        )
    sys.stdout.write(report.render())
    return EXIT_OK


def _date(text: str) -> str:
    from datetime import date

    try:
        date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from exc
    return text


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="yangguang", description="阳光 Yangguang: check and serve an approval catalogue.")
    p.add_argument("--version", action="version", version=f"yangguang {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--catalog",
        type=Path,
        default=DEFAULT_CATALOG,
        help="catalogue directory (default: the repository's own reference catalogue)",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("check", parents=[common], help="validate a whole catalogue and report every problem")
    c.add_argument("dir", nargs="?", type=Path, help="catalogue directory (same as --catalog)")
    c.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    c.add_argument("--no-cache", action="store_true", help="re-read every file instead of using the content cache")
    c.add_argument(
        "--strict", action="store_true", help="treat warnings (e.g. elements a guide does not state) as errors: exit 1"
    )
    c.set_defaults(func=cmd_check)

    s = sub.add_parser(
        "show",
        parents=[common],
        help="print an item's one-time notice (一次告知), or a chain's stages and critical path",
    )
    s.add_argument("code", help="item code (or exact item name), or chain id")
    s.add_argument(
        "--explain",
        action="store_true",
        help="print the resolved item with the layer and file:line each value comes from",
    )
    s.set_defaults(func=cmd_show)

    ls = sub.add_parser("list", parents=[common], help="list every item: code, department, promised limit, name")
    ls.set_defaults(func=cmd_list)

    f = sub.add_parser("fee", parents=[common], help="print an item's itemised fee assessment for application data")
    f.add_argument("code", help="item code")
    f.add_argument("--data", required=True, help="JSON file of application data ('-' for standard input)")
    f.add_argument("--on", type=_date, help="assessment date YYYY-MM-DD (default: today)")
    f.set_defaults(func=cmd_fee)

    from engine.cli.audit import add_parsers as add_audit_parsers  # audit verify, key create|rotate|public

    add_audit_parsers(sub, common)

    sm = sub.add_parser(
        "simulate", parents=[common], help="drive synthetic cases through the engine on a virtual clock"
    )
    sm.add_argument("--db", type=Path, default=DEFAULT_DB, help="SQLite database file (default: var/yangguang.db)")
    sm.add_argument("--items", help="comma-separated item codes (default: every item)")
    sm.add_argument("--days", type=int, default=20, help="working days to simulate (default: 20)")
    sm.add_argument("--per-day", type=int, default=10, help="new cases per working day (default: 10)")
    sm.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    sm.add_argument("--start", default="2026-03-02", help="first simulated day YYYY-MM-DD (default: 2026-03-02)")
    sm.add_argument("--late-rate", type=float, default=0.15, help="chance staff leave a case for a day (0.15)")
    sm.add_argument("--supplement-rate", type=float, default=0.1, help="chance the window asks for a supplement (0.1)")
    sm.set_defaults(func=cmd_simulate)

    us = sub.add_parser("user", help="manage staff accounts")
    us_sub = us.add_subparsers(dest="user_command", required=True, metavar="WHAT")
    ua = us_sub.add_parser("add", parents=[common], help="create a staff account (refuses a weak password, saying why)")
    ua.add_argument("--username", required=True, help="login name")
    ua.add_argument(
        "--role",
        required=True,
        help="in a department (give --department): window 窗口受理 (receives applications), undertaker 承办 "
        "(examines them), reviewer 审核, decider 审批 (decides), issuer 制证发证 (issues the result), inspector "
        "现场核查 (site checks), head 部门负责人 (approves extensions, answers supervision); center-wide, no "
        "--department: frontdesk 综合受理 (accepts chain applications for every department), supervisor "
        "效能监察 (electronic supervision), admin 系统管理员 (the /admin pages)",
    )
    ua.add_argument("--department", help="department id from center.yaml")
    ua.add_argument("--backup-for", help="role this person stands in for (AB角)")
    ua.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    ua.add_argument("--db", type=Path, default=DEFAULT_DB, help="SQLite database file (default: var/yangguang.db)")
    ua.set_defaults(func=cmd_user_add)
    uu = us_sub.add_parser("unlock", help="forget an account's failed logins, so it can sign in again at once")
    uu.add_argument("username", help="login name")
    uu.add_argument("--db", type=Path, default=DEFAULT_DB, help="SQLite database file (default: var/yangguang.db)")
    uu.set_defaults(func=cmd_user_unlock)

    du = sub.add_parser(
        "demo-users",
        parents=[common],
        help="create demo staff accounts: every role in every department the catalogue's items and chains need, "
        "the center's front desk, supervisor and admin, and an AB backup; prints them as a table",
    )
    du.add_argument("--db", type=Path, default=DEFAULT_DB, help="SQLite database file (default: var/yangguang.db)")
    du.set_defaults(func=cmd_demo_users)

    sv = sub.add_parser("serve", parents=[common], help="serve the catalogue over HTTP")
    sv.add_argument("--db", type=Path, default=DEFAULT_DB, help="SQLite database file (default: var/yangguang.db)")
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
        "--reload-seconds",
        type=float,
        default=None,
        help="how often to look for edited catalogue files and put a version that checks clean live "
        "(default 2; 0 turns live reload off; env YANGGUANG_RELOAD_SECONDS)",
    )
    sv.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="comma-separated addresses of the reverse proxies whose X-Forwarded-For and X-Forwarded-Proto "
        "headers are believed ('*' any: only when nothing else can reach the port; default: "
        "$FORWARDED_ALLOW_IPS, else 127.0.0.1,::1)",
    )
    sv.set_defaults(func=cmd_serve)
    sw = sub.add_parser("sweep", parents=[common], help="apply the timed rules and supervision lights once")
    sw.add_argument("--db", type=Path, default=DEFAULT_DB, help="SQLite database file (default: var/yangguang.db)")
    sw.set_defaults(func=cmd_sweep)
    from engine.cli import diff as cli_diff  # imported here: those modules import UserError from this one

    cli_diff.add_parser(sub, common)
    from engine.cli.edit import add_parsers as add_edit_parsers

    add_edit_parsers(sub, common)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "dir", None) is not None:
        args.catalog = args.dir
    try:
        code: int = args.func(args)
        return code
    except UserError as exc:
        sys.stderr.write(f"yangguang: {exc}\n")
        return EXIT_USER
    except KeyboardInterrupt:
        return 130
    except Exception:
        sys.stderr.write(
            "yangguang: internal error — this is a bug in Yangguang, not in your catalogue.\n"
            "Please report it with the traceback below.\n"
        )
        traceback.print_exc()
        return EXIT_BUG


if __name__ == "__main__":
    # `python -m engine.cli.main` runs this file as __main__; the commands raise engine.cli.main's UserError,
    # so run that module's main, or an expected error would be reported as a bug
    from engine.cli.main import main as _main

    sys.exit(_main())
