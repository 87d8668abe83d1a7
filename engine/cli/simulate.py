"""``yangguang simulate``: synthetic cases driven through the engine on a virtual clock, or with
``--what-if`` the fast what-if model of a changed catalogue against the current one."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from engine.cli import common
from engine.cli.errors import EXIT_OK, UserError


def cmd_simulate(args: argparse.Namespace) -> int:
    from engine.cli import whatif

    if args.what_if is not None:
        return whatif.cmd_what_if(args)
    whatif.check_bounds(args)
    for option in ("json", "all", "since", "until"):
        if getattr(args, option):
            raise UserError(f"--{option} goes with --what-if")
    from datetime import datetime

    from engine.base.dates import TZ
    from engine.rules.clock import ManualClock
    from engine.service.simulate import simulate

    start = common.date_option("--start", args.start)
    assert start is not None
    clock = ManualClock(datetime.combine(start, datetime.min.time(), TZ).replace(hour=9))
    service = common.service(args.catalog, args.db or common.default_db(), clock)
    codes = whatif.item_codes(args.items) or sorted(service.catalogue.items)
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


def add_parsers(sub: Any, catalog: argparse.ArgumentParser) -> None:
    sm = sub.add_parser(
        "simulate",
        parents=[catalog],
        help="drive synthetic cases through the engine on a virtual clock, or compare a changed catalogue (--what-if)",
    )
    sm.add_argument(
        "--db",
        type=common.db_value,
        default=None,
        help=f"{common.DB_HELP}; with --what-if, the database whose recorded load is replayed (synthetic without it)",
    )
    sm.add_argument("--items", help="comma-separated item codes (default: every item)")
    sm.add_argument("--days", type=int, default=20, help="working days to simulate (default: 20)")
    sm.add_argument("--per-day", type=int, default=10, help="new cases per working day (default: 10)")
    sm.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    sm.add_argument("--start", default="2026-03-02", help="first simulated day YYYY-MM-DD (default: 2026-03-02)")
    sm.add_argument("--late-rate", type=float, default=0.15, help="chance staff leave a case for a day (0.15)")
    sm.add_argument("--supplement-rate", type=float, default=0.1, help="chance the window asks for a supplement (0.1)")
    what = sm.add_argument_group("what-if (a changed catalogue against the current one)")
    what.add_argument(
        "--what-if",
        metavar="DIR|REV",
        help="the changed catalogue: a directory, or a git revision of the catalogue's repository",
    )
    what.add_argument("--json", action="store_true", help="print the comparison as JSON")
    what.add_argument("--all", action="store_true", help="show every row, not only the rows that changed")
    what.add_argument("--since", help="recorded load: first day YYYY-MM-DD (with --db)")
    what.add_argument("--until", help="recorded load: last day YYYY-MM-DD (default: the newest case received)")
    what.add_argument(
        "--last", type=int, default=20, help="recorded load: the last N working days up to --until (default: 20)"
    )
    what.add_argument("--staff", type=int, default=2, help="synthetic load: staff per department and role (2)")
    what.add_argument(
        "--chains-per-day", type=float, default=0.2, help="synthetic load: chance a chain starts a case each day (0.2)"
    )
    sm.set_defaults(func=cmd_simulate)
