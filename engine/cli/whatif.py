"""``yangguang simulate --what-if DIR|REV``: the current and a changed catalogue under the same recorded or
synthetic load, compared per item, department, role and chain stage (engine.supervision.foresight)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from engine.cli import common
from engine.cli.errors import EXIT_OK, UserError


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise UserError("--what-if REV needs git, which is not installed; pass a directory instead") from exc


@contextlib.contextmanager
def changed_catalogue(catalog: Path, what_if: str) -> Iterator[Path]:
    """The changed catalogue's root: ``what_if`` when it is a directory, else the catalogue as it is at
    the git revision ``what_if`` (its tree read with ``git archive`` into a temporary directory)."""
    as_dir = Path(what_if)
    if as_dir.is_dir():
        yield as_dir
        return
    top = _git(catalog, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise UserError(
            f"--what-if {what_if}: no directory of that name, and {catalog} is not in a git repository "
            "to read a revision from"
        )
    root = Path(top.stdout.decode().strip())
    if _git(root, "rev-parse", "--verify", "--quiet", f"{what_if}^{{commit}}").returncode != 0:
        raise UserError(f"--what-if {what_if}: no directory of that name, and no such revision in {root}")
    prefix = catalog.resolve().relative_to(root.resolve()).as_posix()
    archive = _git(root, "archive", "--format=tar", what_if, *([prefix] if prefix != "." else []))
    if archive.returncode != 0:
        raise UserError(f"--what-if {what_if}: git archive failed: {archive.stderr.decode().strip()}")
    with tempfile.TemporaryDirectory(prefix="yangguang-whatif-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp) / prefix


def _day(option: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise UserError(f"{option} {text!r} is not a date (YYYY-MM-DD)") from exc


def _load(args: argparse.Namespace, current: Any, cal: Any) -> tuple[Any, dict[str, Any]]:
    """The load both catalogues run under, and how the report describes it."""
    from engine.supervision import foresight

    if args.db is not None:
        db = common.open_db(args.db, existing=True)
        try:
            window = foresight.window_of(db, cal, args.last, _day("--since", args.since), _day("--until", args.until))
            if window is None:
                raise UserError(f"no cases recorded in {common.shown(args.db)}; leave out --db for a synthetic load")
            load = foresight.recorded_load(db, current, cal, window)
        finally:
            db.dispose()
        about: dict[str, Any] = {"kind": "recorded", "since": window.since.isoformat()}
        about["until"] = window.until.isoformat()
    else:
        codes = args.items.split(",") if args.items else None
        unknown = [c for c in codes or () if c not in current.items]
        if unknown:
            raise UserError(f"unknown item code(s): {', '.join(unknown)}; `yangguang list` shows them")
        start = _day("--start", args.start)
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
    from engine.rules.calendar import WorkCalendar
    from engine.supervision import foresight

    cat = common.checked(args.catalog)
    cal = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
    current = foresight.catalog_of(cat)
    with changed_catalogue(args.catalog, args.what_if) as root:
        changed = foresight.catalog_of(common.checked(root))
    load, about = _load(args, current, cal)
    result = foresight.what_if(current, changed, load, cal, args.seed)
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
