"""Every error kind has a tiny catalogue under tests/fixtures/checks/<case>/ with the exact
lines ``yangguang check`` must print in expected.txt. Adding a case needs no Python:
make a folder with the files and an expected.txt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.check.pipeline import load
from engine.cli.main import main

CASES = Path(__file__).resolve().parents[1] / "fixtures" / "checks"
CASE_DIRS = sorted(p for p in CASES.iterdir() if p.is_dir())


def expected(case: Path) -> list[str]:
    return [line for line in (case / "expected.txt").read_text(encoding="utf-8").splitlines() if line]


def has_errors(case: Path) -> bool:
    """Warnings (``warning[kind]``) do not fail a check; errors do."""
    return any("error[" in line for line in expected(case))


def kind_of(line: str) -> str:
    return line.split("[", 1)[1].split("]", 1)[0]


def test_there_are_cases_for_every_error_kind() -> None:
    kinds = {kind_of(line) for case in CASE_DIRS for line in expected(case)}
    must = {
        "yaml-syntax",
        "tab",
        "duplicate-key",
        "yaml-1.1",
        "empty-file",
        "encoding",
        "alias-bomb",
        "wrong-folder",
        "unknown-key",
        "missing-key",
        "enum",
        "type",
        "duplicate-code",
        "unknown-department",
        "unknown-fee-schedule",
        "unknown-form-section",
        "unknown-item",
        "duplicate-material",
        "unknown-field",
        "time-limit",
        "step-limits",
        "calendar-date",
        "calendar-conflict",
        "not-stated",
        "service-objects",
        "licence-decider",
        "step-role",
        "natural-days",
        "note-contradiction",
        "unknown-region",
        "placeholder",
    }
    assert must <= kinds, f"no fixture for {sorted(must - kinds)}"


@pytest.mark.parametrize("case", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_case_reports_exactly_the_expected_lines(case: Path) -> None:
    result = load(case)
    assert [p.render() for p in result.problems] == expected(case)
    assert result.ok == (not has_errors(case))
    assert result.clean(strict=True) == (not expected(case))


@pytest.mark.parametrize("case", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_command_exit_code_and_json(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(case), "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == (1 if has_errors(case) else 0)
    lines = [f"{p['file']}:{p['line']}:{p['column']}: {p['severity']}[{p['kind']}]: {p['message']}" for p in out]
    assert lines == expected(case)
    assert main(["check", str(case), "--strict"]) == (1 if expected(case) else 0)  # --strict: warnings fail too


def test_other_files_are_still_checked_next_to_a_broken_one(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(CASES / "yaml-syntax", tmp_path / "c")
    (tmp_path / "c" / "items" / "a.yaml").write_text(
        (CASES / "type" / "items" / "a.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    kinds = sorted(p.kind for p in load(tmp_path / "c").problems)
    assert kinds == ["type", "yaml-syntax"]
