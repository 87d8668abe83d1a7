"""The import contracts make lint checks (pyproject.toml [tool.importlinter], scripts/import_contracts.py):
each one fails on a tiny throwaway package that breaks it, passes once that is fixed, and engine/ keeps
them all."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

CONFIG = """
[tool.importlinter]
root_package = "toy"
contract_types = [
    "acyclic_modules: scripts.import_contracts.AcyclicModulesContract",
    "lazy_imports: scripts.import_contracts.LazyImportsContract",
    "private_names: scripts.import_contracts.PrivateNamesContract",
]

[[tool.importlinter.contracts]]
id = "layers"
name = "layers"
type = "layers"
containers = ["toy"]
layers = ["high", "low"]

[[tool.importlinter.contracts]]
id = "cycles"
name = "cycles"
type = "acyclic_modules"

[[tool.importlinter.contracts]]
id = "lazy"
name = "lazy"
type = "lazy_imports"
allowed = ["toy.high.cli"]

[[tool.importlinter.contracts]]
id = "private"
name = "private"
type = "private_names"
"""

#: a package that keeps every contract: toy.high uses toy.low, toy.high.cli imports lazily (allowed)
CLEAN = {
    "toy/__init__.py": "",
    "toy/low/__init__.py": "",
    "toy/low/a.py": "def shared() -> int:\n    return 1\n",
    "toy/low/b.py": "from toy.low import a\n\nVALUE = a.shared()\n",
    "toy/high/__init__.py": "",
    "toy/high/c.py": "from toy.low.a import shared\n\nTOTAL = shared()\n",
    "toy/high/cli.py": "def main() -> int:\n    from toy.high import c\n\n    return c.TOTAL\n",
}


def lint(tmp_path: Path, files: dict[str, str], contract: str, extra: str = "") -> subprocess.CompletedProcess[str]:
    for name, text in {**CLEAN, **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    (tmp_path / "contracts.toml").write_text(CONFIG + extra)
    # the toy package is found from the working directory; the contract types from the repository
    # (and a wide console, so no message is wrapped)
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "400"}
    command = [str(LINT_IMPORTS), "--no-cache", "--no-logo", "--contract", contract, "contracts.toml"]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("contract", ["layers", "cycles", "lazy", "private"])
def test_the_clean_toy_keeps_every_contract(tmp_path: Path, contract: str) -> None:
    result = lint(tmp_path, {}, contract)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_layers(tmp_path: Path) -> None:
    result = lint(tmp_path, {"toy/low/b.py": "from toy.high import c\n"}, "layers")
    assert result.returncode == 1
    assert "toy.low is not allowed to import toy.high" in result.stdout
    assert "toy.low.b -> toy.high.c (l.1)" in result.stdout


def test_a_cycle_hidden_in_a_function_is_reported_whole(tmp_path: Path) -> None:
    files = {"toy/low/a.py": "def shared() -> int:\n    from toy.low import b\n\n    return b.VALUE\n"}
    result = lint(tmp_path, files, "cycles")
    assert result.returncode == 1
    assert "1 import cycle between modules" in result.stdout
    assert "toy.low.a -> toy.low.b (l.2)" in result.stdout
    assert "toy.low.b -> toy.low.a (l.1)" in result.stdout
    assert "hides a cycle" in result.stdout


def test_a_type_checking_import_counts_for_cycles(tmp_path: Path) -> None:
    files = {
        "toy/low/a.py": """\
            from typing import TYPE_CHECKING

            if TYPE_CHECKING:
                from toy.low.b import VALUE
        """
    }
    result = lint(tmp_path, files, "cycles")
    assert result.returncode == 1
    assert "toy.low.a -> toy.low.b (l.4)" in result.stdout


def test_every_module_of_a_tangle_is_on_a_reported_cycle(tmp_path: Path) -> None:
    files = {
        "toy/high/c.py": "from toy.high import cli, d\n",
        "toy/high/d.py": "from toy.high import c\n",
        "toy/high/cli.py": "from toy.high import c\n",
    }
    result = lint(tmp_path, files, "cycles")
    assert result.returncode == 1
    assert "2 import cycles between modules" in result.stdout
    assert "toy.high.cli -> toy.high.c" in result.stdout
    assert "toy.high.d -> toy.high.c" in result.stdout


def test_an_import_inside_a_function_is_refused_outside_the_allowed_modules(tmp_path: Path) -> None:
    files = {"toy/high/c.py": "def total() -> int:\n    from toy.low.a import shared\n\n    return shared()\n"}
    result = lint(tmp_path, files, "lazy")
    assert result.returncode == 1
    assert "toy.high.c -> toy.low.a (l.2)" in result.stdout
    assert "toy.high.cli" not in result.stdout  # its lazy import is allowed


@pytest.mark.parametrize(
    "source",
    [
        "from toy.low.a import _hidden\n",
        "from toy.low import a\n\nX = a._hidden\n",
        "import toy.low.a\n\nX = toy.low.a._hidden()\n",
        "from ..low import a as other\n\nX = other._hidden\n",
    ],
)
def test_another_modules_private_name_is_refused(tmp_path: Path, source: str) -> None:
    files = {"toy/low/a.py": "def _hidden() -> int:\n    return 1\n", "toy/high/c.py": source}
    result = lint(tmp_path, files, "private")
    assert result.returncode == 1
    assert "toy.high.c uses toy.low.a._hidden" in result.stdout
    assert "drop the underscore" in result.stdout


def test_a_modules_own_private_names_and_dunders_are_its_business(tmp_path: Path) -> None:
    files = {
        "toy/low/a.py": "def _hidden() -> int:\n    return 1\n\n\nX = _hidden()\n",
        "toy/high/c.py": "from toy.low import a\n\nNAME = a.__name__\n",
    }
    assert lint(tmp_path, files, "private").returncode == 0


def test_an_ignore_entry_lets_a_known_use_pass_until_it_is_gone(tmp_path: Path) -> None:
    files = {"toy/low/a.py": "def _hidden() -> int:\n    return 1\n", "toy/high/c.py": "from toy.low.a import _hidden"}
    extra = 'ignore = ["toy.high.c -> toy.low.a._hidden"]\n'
    assert lint(tmp_path, files, "private", extra).returncode == 0
    fixed = lint(tmp_path, {**files, "toy/high/c.py": ""}, "private", extra)
    assert fixed.returncode == 1
    assert "ignore entry matches nothing, remove it: toy.high.c -> toy.low.a._hidden" in fixed.stdout



def test_engine_keeps_every_contract() -> None:
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken" in result.stdout
