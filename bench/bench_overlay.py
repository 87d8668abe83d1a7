"""Five-level stack benchmark (issue 7): checking a village that extends township → county →
city → province, where the province has N items, against checking the province alone.

``.venv/bin/python bench/bench_overlay.py [--items 5000] [--repeat 3]`` (also run by ``make bench``).
The province is bench/generate.py's realistic catalogue; each lower layer adds a center.yaml
with local departments, a few overrides (promised limits, locations, an added material), a few
local items (copies of province items under new codes) and one withdrawal. Both sides are
measured in the same run, alternating, in-process (``engine.check.pipeline.load``), cold (no cache)
and warm (the content cache after one edit in the village). Target: village ≤ 2× province.
Nothing is asserted in tests; the figures are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from generate import generate  # noqa: E402

from engine.catalogue.cache import FileCache  # noqa: E402
from engine.check.pipeline import load  # noqa: E402

LEVELS = [("city", "230200"), ("county", "230223"), ("township", "230223"), ("village", "230223")]


def build_stack(province: Path, root: Path) -> Path:
    """Write four layers over ``province``; return the village."""
    center = province / "center.yaml"
    center.write_text(center.read_text(encoding="utf-8").replace("level: city", "level: province"), encoding="utf-8")
    items = sorted((province / "items").rglob("*.yaml"))
    texts = {path: path.read_text(encoding="utf-8") for path in items}
    everything = "\n".join(texts.values())
    codes = []
    for path in items:  # items no other item names (produced_by), so withdrawing one breaks nothing
        code = next(ln for ln in texts[path].splitlines() if ln.startswith("code: ")).removeprefix("code: ")
        code = code.strip().strip('"')
        if everything.count(code) == 1:
            codes.append((path, code))
        if len(codes) == 40:
            break
    parent = province
    for n, (level, region) in enumerate(LEVELS):
        layer = root / level
        (layer / "overrides").mkdir(parents=True)
        (layer / "items").mkdir()
        rel = Path("..") / parent.name if parent.parent == root else Path(parent).resolve()
        withdrawn = codes[30 + n][1]
        (layer / "center.yaml").write_text(
            f'id: {level}\nname: 测试{level}政务服务中心\nlevel: {level}\nregion: "{region}"\nextends: {rel}\n'
            f"withdraw:\n  - {{code: {withdrawn}, reason: 本级不办理该事项（基准测试）。}}\n",
            encoding="utf-8",
        )
        for i in range(5):  # overrides touch the same few items at every level: they stack
            path, code = codes[i + n]
            (layer / "overrides" / f"{code}.yaml").write_text(
                f"code: {code}\nreason: 本级的窗口和地址（基准测试）。\n"
                f'location: {{address: 测试{level}大厅, window: "{n}{i}"}}\n',
                encoding="utf-8",
            )
        for i in range(3):  # local items: province items under this level's own codes
            path, code = codes[10 + n * 3 + i]
            text = path.read_text(encoding="utf-8").replace(code, f"L{n}-{code}"[:48])
            (layer / "items" / f"local-{i}.yaml").write_text(text, encoding="utf-8")
        parent = layer
    return parent


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--items", type=int, default=5000, help="province items (default 5000)")
    p.add_argument("--repeat", type=int, default=3, help="runs of each measurement (default 3)")
    args = p.parse_args(argv)
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="yangguang-overlay-")))
        province = tmp / "province"
        start = time.perf_counter()
        generate(province, args.items)
        print(f"province: generated {args.items} items in {time.perf_counter() - start:.1f} s")
        village = build_stack(province, tmp)
        for name, root in (("province", province), ("village", village)):
            result = load(root)
            if not result.ok:
                print(f"{name} does not check clean:\n" + "\n".join(p.render() for p in result.problems[:20]))
                return 1
        cat = load(village).catalogue
        print(f"village: {len(cat.items)} items in {len(cat.layers)} layers, {len(cat.patches)} overridden")
        cache_dir = tmp / "cache"
        figures: dict[str, list[float]] = {"province cold": [], "village cold": [], "province warm": [],
                                           "village warm": []}
        edited = village / "overrides"
        for _ in range(args.repeat):
            figures["province cold"].append(timed(lambda: load(province, None, full=False)))
            figures["village cold"].append(timed(lambda: load(village, None, full=False)))
        for name, root in (("province", province), ("village", village)):
            cache = FileCache(root, cache_dir)
            load(root, cache, full=False)
            for i in range(args.repeat):
                target = next(edited.glob("*.yaml")) if name == "village" else next((root / "items").rglob("*.yaml"))
                if name == "village":  # one edit in the village layer between runs
                    target.write_text(target.read_text(encoding="utf-8") + f"# edit {i}\n", encoding="utf-8")
                figures[f"{name} warm"].append(timed(lambda r=root: load(r, FileCache(r, cache_dir), full=False)))
        print(f"\n{'measurement':<36}{'runs':>5}{'median s':>10}  range s")
        for label, runs in figures.items():
            print(f"{label:<36}{len(runs):>5}{statistics.median(runs):>10.3f}  {min(runs):.3f}–{max(runs):.3f}")
        cold = statistics.median(figures["village cold"]) / statistics.median(figures["province cold"])
        warm = statistics.median(figures["village warm"]) / statistics.median(figures["province warm"])
        print("\ntargets")
        verdict = "PASS" if cold <= 2 else "MISS"
        print(f"  village check / province check, cold   {cold:5.2f}x   target <= 2x   {verdict}")
        print(f"  village check / province check, warm   {warm:5.2f}x   (informational: one village edit)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
