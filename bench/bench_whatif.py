"""Benchmark the what-if simulation (``yangguang simulate --what-if``, ``make bench``): the reference
catalogue and a copy whose QQ-TRANSPORT-XK-102 promises 5 working days instead of 10, both run under the
same synthetic load, and the whole command (both catalogues checked and run, the report printed).

Target: 3,000 cases × 2 catalogues in at most 5 seconds for the model, and the command within 10 seconds
— PASS/MISS, measured ``--repeat`` times (median and range); the exit status is 0 either way.

    .venv/bin/python bench/bench_whatif.py [--per-day 150] [--days 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # import the engine from this checkout, however the venv was installed

from engine.check.pipeline import load  # noqa: E402
from engine.rules.calendar import WorkCalendar  # noqa: E402
from engine.rules.foresight import Catalog  # noqa: E402
from engine.supervision import foresight  # noqa: E402

TARGET_MODEL = 5.0  # seconds for 3,000 cases under both catalogues
TARGET_COMMAND = 10.0  # seconds for the whole command
PARTS = ("center.yaml", "items", "fees", "forms", "chains", "calendar", "appointments.yaml")
ITEM, FILE = "QQ-TRANSPORT-XK-102", "items/transport/road-passenger-operation-licence.yaml"


def changed_copy(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for part in PARTS:
        (shutil.copytree if (REPO / part).is_dir() else shutil.copy2)(REPO / part, dest / part)
    path = dest / FILE
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("  promised:\n    value: 10\n", "  promised:\n    value: 5\n", 1), encoding="utf-8")
    return dest


def figure(name: str, times: list[float], target: float) -> None:
    med = statistics.median(times)
    verdict = "PASS" if med <= target else "MISS"
    print(f"{name:<52} {med:6.2f} s  (range {min(times):.2f}–{max(times):.2f})  target ≤ {target:g} s  {verdict}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--per-day", type=int, default=150)
    ap.add_argument("--days", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cat = load(REPO).catalogue
    cal = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
    current = foresight.catalog_of(cat)
    items = dict(current.items)
    shorter = {**items[ITEM]["time_limit"], "promised": {"value": 5, "unit": "working_day"}}
    items[ITEM] = {**items[ITEM], "time_limit": shorter}
    changed = Catalog(items, current.chains, current.thresholds, current.completeness_days)
    model, command, cases = [], [], 0
    with tempfile.TemporaryDirectory() as tmp:
        copy = changed_copy(Path(tmp) / "changed")
        for _ in range(args.repeat):
            t = time.perf_counter()
            load_ = foresight.synthetic_load(current, cal, date(2026, 3, 2), args.days, args.per_day, 1)
            cases = foresight.what_if(current, changed, load_, cal, 1).cases
            model.append(time.perf_counter() - t)
            t = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "engine", "simulate", "--catalog", str(REPO), "--what-if", str(copy),
                 "--per-day", str(args.per_day), "--days", str(args.days)],
                check=True, capture_output=True, cwd=REPO,
            )  # fmt: skip
            command.append(time.perf_counter() - t)
    print(f"what-if: {cases:,} cases ({args.per_day} a day × {args.days} working days) under 2 catalogues")
    figure(f"model: {cases:,} cases × 2 catalogues", model, TARGET_MODEL)
    figure("command: check both catalogues, run, print", command, TARGET_COMMAND)
    return 0


if __name__ == "__main__":
    sys.exit(main())
