"""Benchmark ``yangguang check`` on a large generated catalogue (``make bench``).

Every figure is measured side by side in one run on the same files, repeated
``--repeat`` times; the table shows the median (and the range). The page cache is
warm for every measurement. Nothing here asserts a time: the targets are reported
as PASS/MISS and the exit status is 0 either way. The exit status is 1 only when
Yangguang does not report the generated catalogue as clean (then the figures mean
nothing) or the reference validator does not work.

    .venv/bin/python bench/bench_check.py [--items N] [--repeat R] [--profile]

A catalogue in bench/out/catalog-N (``python bench/generate.py bench/out/catalog-N
--items N``) is reused when it holds N items; otherwise one is generated into a
temporary directory.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import os
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from inspect import signature
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # import the engine from this checkout, however the venv was installed

from generate import generate  # noqa: E402

from engine.catalogue.cache import FileCache, engine_fingerprint  # noqa: E402
from engine.catalogue.model import CheckResult  # noqa: E402
from engine.catalogue.yaml_policy import parse  # noqa: E402
from engine.check.pipeline import load  # noqa: E402

BIN = Path(sys.executable).parent
SCHEMA = REPO / "schema" / "item.schema.json"
GNU_TIME = Path("/usr/bin/time")
TARGET_COLD_RATIO = 1.5  # cold check / C loader only
TARGET_RECHECK_IN_PROCESS = 0.3  # seconds
TARGET_RECHECK_COMMAND = 1.0  # seconds


class Unclean(Exception):
    """A Yangguang run did not report the generated catalogue as clean."""


@dataclass(slots=True)
class Run:
    seconds: float
    returncode: int
    output: str
    max_rss_mb: float | None  # peak resident memory of the command, if known


def run(cmd: list[str], env: dict[str, str] | None = None, cwd: Path = REPO) -> Run:
    """Run a command to completion: wall time, output and peak RSS (through GNU time when installed).

    Not ru_maxrss from os.wait4: Linux carries the RSS of this large process into the child across
    fork and exec, so the child would report at least our size.
    """
    with tempfile.TemporaryDirectory() as tmp:
        rss_file = Path(tmp) / "rss"
        prefix = [str(GNU_TIME), "-f", "%M", "-o", str(rss_file)] if GNU_TIME.exists() else []
        start = time.perf_counter()
        proc = subprocess.run(prefix + cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        seconds = time.perf_counter() - start
        lines = rss_file.read_text().split() if rss_file.exists() else []
        rss = int(lines[-1]) / 1024 if lines and lines[-1].isdigit() else None
        return Run(seconds, proc.returncode, proc.stdout.decode("utf-8", "replace"), rss)


@dataclass(slots=True)
class Figure:
    label: str
    times: list[float]
    note: str = ""
    rss_mb: float | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def command_figure(label: str, runs: list[Run], note: str = "") -> Figure:
    peaks = [r.max_rss_mb for r in runs if r.max_rss_mb is not None]
    return Figure(label, [r.seconds for r in runs], note, max(peaks) if peaks else None)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def ensure_clean(result: CheckResult, what: str) -> None:
    if not result.ok:
        shown = "\n".join(p.render() for p in result.problems[:20])
        raise Unclean(f"{what}: {len(result.problems)} problem(s) in the generated catalogue:\n{shown}")


def ensure_clean_run(r: Run, what: str) -> None:
    if r.returncode != 0 or not r.output.startswith("ok:"):
        shown = "\n".join(r.output.splitlines()[:20])
        raise Unclean(f"{what} exited {r.returncode}:\n{shown}")


@contextlib.contextmanager
def edited(path: Path) -> Iterator[Callable[[int], None]]:
    """Yield ``edit(n)``, which changes the item's name text to a new version n; restore the file after."""
    original = path.read_bytes()
    text = original.decode("utf-8")

    def edit(n: int) -> None:
        path.write_text(re.sub(r"^name: (.*)$", rf"name: \1（修订{n}）", text, count=1, flags=re.M), encoding="utf-8")

    try:
        yield edit
    finally:
        path.write_bytes(original)


def catalogue(n_items: int, stack: contextlib.ExitStack) -> Path:
    kept = REPO / "bench" / "out" / f"catalog-{n_items}"
    if kept.is_dir() and sum(1 for _ in (kept / "items").rglob("*.yaml")) == n_items:
        print(f"reusing {kept}")
        return kept
    dest = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="yangguang-bench-"))) / "catalog"
    start = time.perf_counter()
    generate(dest, n_items)
    print(f"generated {n_items} items into {dest} in {time.perf_counter() - start:.1f} s")
    return dest


def yangguang_env() -> tuple[dict[str, str], str]:
    """Environment for the ``yangguang`` console script, and a note when it needs a workaround."""
    env = dict(os.environ)
    if run([str(BIN / "yangguang"), "--version"], env).returncode == 0:
        return env, ""
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    note = (
        "NOTE: `.venv/bin/yangguang --version` fails here (stale editable install: engine/ was installed "
        "as a namespace package); the commands run with PYTHONPATH=<repo>. Fix: pip install -e . again."
    )
    return env, note


def check_jsonschema_cmd(files: list[str]) -> list[str]:
    # The schemas have no $id, so common.schema.json / form.schema.json resolve next to the schema file
    # from any working directory (tests/unit/catalogue/test_schema_tools.py).
    return [str(BIN / "check-jsonschema"), "--schemafile", str(SCHEMA), *files]


def validator_works(sample: Path) -> bool:
    """check-jsonschema must accept a good item and reject a broken copy (bad code pattern, extra key)."""
    with tempfile.TemporaryDirectory() as tmp:
        bad = Path(tmp) / "broken.yaml"
        text = re.sub(r"^code: .*$", 'code: "?"', sample.read_text(encoding="utf-8"), count=1, flags=re.M)
        bad.write_text(text + "bogus_key: 1\n", encoding="utf-8")
        good = run(check_jsonschema_cmd([str(sample)]))
        broken = run(check_jsonschema_cmd([str(bad)]))
    ok = good.returncode == 0 and broken.returncode == 1 and "bogus_key" in broken.output
    if not ok:
        print(f"check-jsonschema does not validate as expected:\n{good.output}\n{broken.output}")
    return ok


def measure(dest: Path, repeat: int, cjs_repeat: int) -> None:
    files = sorted(str(p.relative_to(dest)) for p in (dest / "items").rglob("*.yaml"))
    paths = [dest / f for f in files]
    target = paths[len(paths) // 2]
    env, note = yangguang_env()
    if note:
        print(note)
    yg = str(BIN / "yangguang")
    figures: list[Figure] = []

    # untimed warm-up: page cache, lazy imports; and the catalogue must be clean
    for p in paths:
        p.read_bytes()
    ensure_clean(load(dest, None), "load(dest, None)")

    def c_loader() -> None:
        for p in paths:
            yaml.load(p.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)

    def policy_parse() -> None:
        for p in paths:
            parse(p.read_bytes())

    def cold_in_process() -> None:
        ensure_clean(load(dest, None), "load(dest, None)")

    def recheck(cache: FileCache, **kw: bool) -> None:
        ensure_clean(load(dest, cache, **kw), "re-check after one edit")

    def recheck_new_cache(cache_dir: Path, **kw: bool) -> None:
        recheck(FileCache(dest, directory=cache_dir), **kw)

    def command(what: str, extra: list[str], run_env: dict[str, str]) -> Run:
        r = run([yg, "check", str(dest), *extra], run_env)
        ensure_clean_run(r, what)
        return r

    # a and c alternate, so that their ratio sees the same machine load
    a_times, parse_times, c_times = [], [], []
    for _ in range(repeat):
        a_times.append(timed(c_loader))
        parse_times.append(timed(policy_parse))
        c_times.append(timed(cold_in_process))
    base = Figure("a. PyYAML CSafeLoader only (items, no validation)", a_times, "reference")
    figures += [base, Figure("   yaml_policy.parse only (items)", parse_times, "informational")]

    cjs_runs = [run(check_jsonschema_cmd(files), cwd=dest) for _ in range(cjs_repeat)]
    if any(r.returncode != 0 for r in cjs_runs):
        print("check-jsonschema reported errors on the generated items:\n" + cjs_runs[0].output[:3000])
    cjs = command_figure(
        "b. check-jsonschema, item schema only (command)",
        cjs_runs,
        "items only; no YAML policy, no cross-checks",
    )
    cold = Figure("c. load(dest, cache=None) in-process", c_times, "includes schema compile; runs alternate with a")
    nocache = [command("yangguang check --no-cache", ["--no-cache"], env) for _ in range(repeat)]
    cold_cmd = command_figure("d. yangguang check --no-cache (command)", nocache)
    writes = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as fresh:
            writes.append(command("yangguang check (empty cache)", [], {**env, "YANGGUANG_CACHE_DIR": fresh}))
    figures += [
        cjs,
        cold,
        cold_cmd,
        command_figure("   yangguang check, empty cache dir (command)", writes, "writes the cache"),
    ]

    fingerprint = engine_fingerprint()
    rechecks: list[tuple[Figure, float | None]] = []
    # load(root, cache, full=False) is what `yangguang check` runs: unchanged items' data stay in the cache
    for how, kw in [("", {})] + ([(", full=False", {"full": False})] if "full" in signature(load).parameters else []):
        with tempfile.TemporaryDirectory() as tmpcache, edited(target) as edit:
            cache_dir = Path(tmpcache)
            cache = FileCache(dest, directory=cache_dir)
            ensure_clean(load(dest, cache), "load(dest, cache) warm-up")
            same, fresh_cache = [], []
            for i in range(repeat):
                edit(i)
                same.append(timed(partial(recheck, cache, **kw)))
            del cache  # the next variant stands for a new process: nothing else alive
            gc.collect()
            for i in range(repeat):
                edit(repeat + i)
                fresh_cache.append(timed(partial(recheck_new_cache, cache_dir, **kw)))
        rechecks += [
            (
                Figure(f"e. re-check 1 file changed, same FileCache{how}", same, "in-process"),
                TARGET_RECHECK_IN_PROCESS,
            ),
            (
                Figure(
                    f"   re-check 1 file changed, new FileCache{how}",
                    fresh_cache,
                    "a new process" + ("; loads every item's data, as a server start does" if not kw else ""),
                ),
                # With full=True a new process must bring all 5,000 documents back into memory: that is a
                # server's start-up, not the in-process re-check the target is about.
                TARGET_RECHECK_IN_PROCESS if kw else None,
            ),
        ]
    figures += [f for f, _ in rechecks]

    with tempfile.TemporaryDirectory() as warm, edited(target) as edit:
        warm_env = {**env, "YANGGUANG_CACHE_DIR": warm}
        command("yangguang check (warming the cache)", [], warm_env)
        runs = []
        for i in range(repeat):
            edit(100 + i)
            runs.append(command("yangguang check (1 file changed)", [], warm_env))
        recheck_cmd = command_figure("f. yangguang check, 1 file changed, warm cache", runs)
        nochange = [command("yangguang check (nothing changed)", [], warm_env) for _ in range(repeat)]
        figures += [recheck_cmd, command_figure("   yangguang check, nothing changed, warm cache", nochange)]
        rechecks.append((recheck_cmd, TARGET_RECHECK_COMMAND))
    if engine_fingerprint() != fingerprint:
        print("WARNING: engine files changed during the run; the figures mix engine versions")

    print_table(figures)
    print_targets(base, cjs, cold, cold_cmd, rechecks)


def print_table(figures: list[Figure]) -> None:
    print(f"\n{'measurement':<56}{'runs':>5}{'median s':>10}  {'range s':<15}{'peak RSS':>9}  note")
    for f in figures:
        span = f"{min(f.times):.3f}–{max(f.times):.3f}"
        rss = f"{f.rss_mb:.0f} MB" if f.rss_mb is not None else ""
        print(f"{f.label:<56}{len(f.times):>5}{f.median:>10.3f}  {span:<15}{rss:>9}  {f.note}")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_targets(
    base: Figure, cjs: Figure, cold: Figure, cold_cmd: Figure, rechecks: list[tuple[Figure, float | None]]
) -> None:
    cold_ratio, cmd_ratio = cold.median / base.median, cold_cmd.median / base.median
    vs_cjs = cjs.median / cold_cmd.median
    print("\ntargets")
    rows = [
        (
            "cold check (c) / C loader only (a)",
            f"{cold_ratio:7.2f}x",
            f"<= {TARGET_COLD_RATIO}x",
            cold_ratio <= TARGET_COLD_RATIO,
            f"[command d / a: {cmd_ratio:.2f}x]",
        ),
        ("check-jsonschema (b) / cold command (d)", f"{vs_cjs:7.2f}x", "> 1x (faster)", vs_cjs > 1, ""),
    ]
    rows += [
        (f.label[3:], f"{f.median:7.3f}s", f"<= {limit}s", f.median <= limit, "")
        for f, limit in rechecks
        if limit is not None
    ]
    for label, value, target, ok, extra in rows:
        print(f"  {label:<56}{value}  target {target:<14}{verdict(ok)}  {extra}")


def profile(dest: Path) -> None:
    ensure_clean(load(dest, None), "load(dest, None)")
    prof = cProfile.Profile()
    prof.enable()
    result = load(dest, None)
    prof.disable()
    ensure_clean(result, "load(dest, None)")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(order).print_stats(25)
        print(f"--- cProfile of load(dest, None), top 25 by {order} ---")
        print(out.getvalue().split("\n\n", 1)[-1].strip(), "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--items", type=int, default=5000, help="items in the catalogue (default 5000)")
    p.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is shown (default 3)")
    p.add_argument(
        "--cjs-repeat",
        type=int,
        default=1,
        help="runs of check-jsonschema, which takes minutes on 5000 items (default 1)",
    )
    p.add_argument("--profile", action="store_true", help="print a cProfile of the cold check instead")
    args = p.parse_args(argv)
    with contextlib.ExitStack() as stack:
        dest = catalogue(args.items, stack)
        files = sum(1 for _ in dest.rglob("*.yaml"))
        size = sum(f.stat().st_size for f in (dest / "items").rglob("*.yaml"))
        print(
            f"catalogue: {args.items} items ({size / 1e6:.1f} MB), {files} YAML files; "
            f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; median of {args.repeat} run(s) each "
            f"({args.cjs_repeat} for check-jsonschema); engine fingerprint {engine_fingerprint()}"
        )
        try:
            if args.profile:
                profile(dest)
                return 0
            sample = next((dest / "items").rglob("*.yaml"))
            if not validator_works(sample):
                return 1
            measure(dest, args.repeat, args.cjs_repeat)
        except Unclean as exc:
            print(f"\nFAILED — the benchmark is meaningless: {exc}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
