"""Benchmark the home page search (engine/supervision/search.py): index build and query time.

    .venv/bin/python bench/bench_search.py [--items N] [--repeat R]

Measures the reference catalogue and a large generated one (bench/generate.py; a catalogue in
bench/out/catalog-N holding N items is reused). The index is built once per catalogue version, so
the build is what a reload costs; a query is what every search request costs. The query mix is the
everyday table of tests/acceptance/test_search_everyday.py (Chinese words, keywords, synonyms, pinyin, initials)
plus the generated catalogue's own words. Nothing here asserts a time; the exit status is 1 only when
a catalogue does not load clean.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # import the engine from this checkout, however the venv was installed
sys.path.insert(0, str(REPO / "tests" / "acceptance"))

from bench_check import catalogue  # noqa: E402
from test_search_everyday import EVERYDAY  # noqa: E402

from engine.check.pipeline import load  # noqa: E402
from engine.supervision.search import ItemIndex  # noqa: E402

#: words the generated catalogue's names are made of (bench/generate.py SUBJECTS, ACTIONS), and pinyin
GENERATED = ["食品经营", "建设工程规划", "施工", "许可证核发", "登记", "jianzhu", "spjy", "xkz", "审批"]


def measure(label: str, root: Path, repeat: int) -> bool:
    result = load(root)
    if not result.ok:
        print(f"{label}: the catalogue has errors; run yangguang check {root}")
        return False
    cat = result.catalogue
    builds = []
    for _ in range(repeat):
        start = time.perf_counter()
        index = ItemIndex(cat)
        builds.append(time.perf_counter() - start)
        if _ < repeat - 1:
            index.close()
    queries = [q for q, _ in EVERYDAY] + GENERATED
    times: list[float] = []
    for _ in range(repeat):
        for q in queries:
            start = time.perf_counter()
            index.search(q)
            times.append(time.perf_counter() - start)
    index.close()
    times.sort()
    p50 = statistics.median(times) * 1000
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))] * 1000
    print(
        f"{label:<34}{len(cat.items):>7} items {len(cat.chains):>3} chains  build {statistics.median(builds):6.2f} s"
        f"  query p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  max {times[-1] * 1000:6.2f} ms  ({len(times)} queries)"
    )
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000, help="items in the generated catalogue (default 5000)")
    parser.add_argument("--repeat", type=int, default=3, help="builds and query rounds (default 3)")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        ok = measure("reference catalogue", REPO, args.repeat)
        ok = measure(f"generated catalogue ({args.items})", catalogue(args.items, stack), args.repeat) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
