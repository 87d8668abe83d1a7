"""``yangguang simulate``: synthetic cases driven through the engine on a virtual clock."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from engine.cli import common
from engine.cli.errors import EXIT_OK, UserError


def cmd_simulate(args: argparse.Namespace) -> int:
    from datetime import datetime

    from engine.base.dates import TZ
    from engine.rules.clock import ManualClock
    from engine.service.simulate import simulate

    try:
        start = datetime.fromisoformat(args.start).replace(tzinfo=TZ)
    except ValueError as exc:
        raise UserError(f"--start {args.start!r} is not a date (YYYY-MM-DD)") from exc
    clock = ManualClock(start.replace(hour=9))
    service = common.service(args.catalog, args.db, clock)
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


def add_parsers(sub: Any, catalog: argparse.ArgumentParser) -> None:
    sm = sub.add_parser(
        "simulate", parents=[catalog], help="drive synthetic cases through the engine on a virtual clock"
    )
    common.add_db(sm)
    sm.add_argument("--items", help="comma-separated item codes (default: every item)")
    sm.add_argument("--days", type=int, default=20, help="working days to simulate (default: 20)")
    sm.add_argument("--per-day", type=int, default=10, help="new cases per working day (default: 10)")
    sm.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    sm.add_argument("--start", default="2026-03-02", help="first simulated day YYYY-MM-DD (default: 2026-03-02)")
    sm.add_argument("--late-rate", type=float, default=0.15, help="chance staff leave a case for a day (0.15)")
    sm.add_argument("--supplement-rate", type=float, default=0.1, help="chance the window asks for a supplement (0.1)")
    sm.set_defaults(func=cmd_simulate)
