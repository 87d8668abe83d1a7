"""Warnings are a severity of their own: listed and counted, but they fail a check only under --strict."""

from __future__ import annotations

from pathlib import Path

from engine.base.result import Problem
from engine.catalogue.model import CheckResult
from engine.check import report
from engine.check.pipeline import load

REPO = Path(__file__).resolve().parents[3]


def _with(problems: list[Problem]) -> CheckResult:
    clean = load(REPO / "tests" / "fixtures" / "checks" / "clean-subfolders")
    return CheckResult(clean.catalogue, problems, clean.files_checked)


def test_a_warning_renders_as_a_warning_and_does_not_fail() -> None:
    result = _with([Problem("items/a.yaml", 3, 5, "not-stated", "the guide does not state the fee")])
    assert result.ok and not result.clean(strict=True)
    out = report.text(result)
    assert "items/a.yaml:3:5: warning[not-stated]: the guide does not state the fee" in out
    assert out.splitlines()[1].startswith("ok: ")
    assert "1 warning(s) in 1 file(s) (1 not-stated)" in out and "--strict" in out


def test_strict_counts_warnings_as_failures_and_errors_always_fail() -> None:
    warning = Problem("items/a.yaml", 3, 5, "not-stated", "x")
    error = Problem("items/b.yaml", 1, 1, "tab", "y")
    strict = report.text(_with([warning]), strict=True)
    assert "0 error(s) and 1 warning(s) (errors under --strict)" in strict and "ok:" not in strict
    both = _with([warning, error])
    assert not both.ok and both.errors == [error] and both.warnings == [warning]
    assert report.text(both).splitlines()[-1].startswith("1 error(s) and 1 warning(s) in 1 file(s)")
