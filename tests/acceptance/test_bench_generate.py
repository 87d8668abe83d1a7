"""The benchmarks measure a generated catalogue; it must check clean (no warnings either), or every
figure in `make bench` measures an error path. A schema change that the generator does not follow
fails here, not hours later in a benchmark run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from engine.check.pipeline import load

REPO = Path(__file__).resolve().parents[2]


def test_a_small_generated_catalogue_checks_clean_and_strict(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_generate", REPO / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_generate"] = module
    spec.loader.exec_module(module)
    module.generate(tmp_path / "catalog", n_items=300, seed=7)
    result = load(tmp_path / "catalog")
    assert result.clean(strict=True), "\n".join(p.render() for p in result.problems[:20])


def test_every_benchmark_starts(tmp_path: Path) -> None:
    """Each `make bench` script gets past its imports and argument parsing (--help): a module the
    engine moved or a test helper a bench borrows would otherwise fail only in a benchmark run."""
    import subprocess

    scripts = sorted((REPO / "bench").glob("bench_*.py"))
    assert len(scripts) >= 6
    for script in scripts:
        proc = subprocess.run(
            [sys.executable, str(script), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, f"{script.name}: {proc.stderr[-2000:]}"
