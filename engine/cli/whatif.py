"""``yangguang simulate --what-if DIR|REV``: the current and a changed catalogue under the same recorded or
synthetic load, compared per item, department, role and chain stage (engine.supervision.foresight)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from engine.cli import common
from engine.cli.errors import EXIT_OK, UserError

#: the synthetic load's bound: days × per-day arrivals (the model takes about a second per 10,000 under both
#: catalogues on one core; a recorded load is bounded by --last instead)
MOST_ARRIVALS = 50_000


def item_codes(text: str | None) -> list[str] | None:
    """``--items``: the codes it names (None: not given, every item); UserError when it names none."""
    if text is None:
        return None
    codes = [c.strip() for c in text.split(",") if c.strip()]
    if not codes:
        raise UserError(f"--items {text!r} names no item code; leave it out for every item")
    return codes


def check_bounds(args: argparse.Namespace) -> None:
    """UserError for an option outside its range (argparse checks only that it is a number)."""
    whole = [("--days", args.days), ("--per-day", args.per_day)]
    shares = [("--late-rate", args.late_rate), ("--supplement-rate", args.supplement_rate)]
    if args.what_if is not None:
        whole += [("--staff", args.staff), ("--last", args.last)]
        shares += [("--chains-per-day", args.chains_per_day)]
    for option, value in whole:
        if value < 1:
            raise UserError(f"{option} {value}: must be at least 1")
    for option, share in shares:
        if not 0 <= share <= 1:
            raise UserError(f"{option} {share:g}: a chance, from 0 to 1")


def _load(args: argparse.Namespace, current: Any, cal: Any) -> tuple[Any, dict[str, Any]]:
    """The load both catalogues run under, and how the report describes it."""
    from engine.supervision import foresight

    if args.db is not None:
        db = common.open_db(args.db, existing=True)
        try:
            since, until = common.date_option("--since", args.since), common.date_option("--until", args.until)
            window = foresight.window_of(db, cal, args.last, since, until)
            if window is None:
                raise UserError(f"no cases recorded in {common.shown(args.db)}; leave out --db for a synthetic load")
            load = foresight.recorded_load(db, current, cal, window)
        finally:
            db.dispose()
        about: dict[str, Any] = {"kind": "recorded", "since": window.since.isoformat()}
        about["until"] = window.until.isoformat()
    else:
        codes = item_codes(args.items)
        unknown = [c for c in codes or () if c not in current.items]
        if unknown:
            raise UserError(f"unknown item code(s): {', '.join(unknown)}; `yangguang list` shows them")
        if args.days * args.per_day > MOST_ARRIVALS:
            raise UserError(
                f"--days {args.days} × --per-day {args.per_day} is {args.days * args.per_day:,} cases; the what-if "
                f"simulates at most {MOST_ARRIVALS:,}: fewer days or fewer a day"
            )
        start = common.date_option("--start", args.start)
        assert start is not None
        load = foresight.synthetic_load(
            current, cal, start, args.days, args.per_day, args.seed, codes, args.chains_per_day, args.staff
        )
        about = {"kind": "synthetic", "per_day": args.per_day, "staff": args.staff}
    about.update(start=load.start.isoformat(), days=load.days, arrivals=len(load.arrivals))
    about["chain_arrivals"] = len(load.chain_arrivals)
    return load, about


def cmd_what_if(args: argparse.Namespace) -> int:
    from engine.rules import foresight_report
    from engine.rules.calendar import CalendarYearMissing, WorkCalendar
    from engine.supervision import foresight

    check_bounds(args)
    cat = common.checked(args.catalog)
    cal = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
    current = foresight.catalog_of(cat)
    from engine.check import report
    from engine.cli.diff import open_side

    # a directory, or a git revision of the catalogue's repository, read as `yangguang diff` reads one
    with open_side(args.what_if, args.catalog, allow_errors=True) as side:
        if not side.result.ok:
            raise UserError(f"--what-if {args.what_if}:\n" + report.text(side.result).rstrip("\n"))
        other = side.catalogue
        changed = foresight.catalog_of(other)
        changed_cal = WorkCalendar.from_documents([d.data for d in other.calendars.values()])
    try:
        load, about = _load(args, current, cal)
        result = foresight.what_if(current, changed, load, cal, args.seed, changed_cal=changed_cal)
    except CalendarYearMissing as exc:  # a day of the load, or a deadline after it, in a year with no calendar
        raise UserError(str(exc)) from exc
    comparison = foresight_report.compare(result.current, result.changed, args.all)
    if args.json:
        out = {"current": str(args.catalog), "changed": args.what_if, "seed": args.seed, "load": about,
               "cases": result.cases, **comparison}  # fmt: skip
        sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
        return EXIT_OK
    source = (
        f"recorded {about['since']} to {about['until']}"
        if about["kind"] == "recorded"
        else f"synthetic, {args.per_day} a day, {args.staff} staff per role"
    )
    heading = (
        f"what-if: {args.catalog} (current) → {args.what_if} (changed); {result.cases} cases and "
        f"{about['chain_arrivals']} chain cases over {load.days} working days from {about['start']} "
        f"({source}), seed {args.seed}"
    )
    sys.stdout.write(foresight_report.render(comparison, heading))
    return EXIT_OK
