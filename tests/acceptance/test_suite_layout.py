"""The test suite's own layout (README "Architecture": tests mirror the packages), so that every folder runs
alone (`pytest tests/unit`, `tests/web`, `tests/acceptance`, `tests/browser`):

- no test module imports another test module, nor a conftest.py: a fixture two modules share lives in the
  conftest.py of the narrowest folder holding both, a plain helper in tests/support/ (or, for the browser
  tests alone, beside them in tests/browser/);
- test files live in tests/unit/ (the whole engine), tests/unit/<package>/ (only for a real package of
  engine/, and the file names it), tests/web/ (over HTTP: it names engine.web or asks for a fixture of
  tests/web/conftest.py), tests/acceptance/ and tests/browser/;
- the modules pytest imports by their bare name (every folder that is not a package is put on sys.path) are
  named once, so no two of them can shadow each other."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
FOLDERS = ("unit", "web", "acceptance", "browser")  # where test files live (unit/ also one folder per package)


def python_files() -> list[Path]:
    """Every Python file of the suite, its data (tests/fixtures/) left out."""
    return sorted(p for p in TESTS.rglob("*.py") if "fixtures" not in p.relative_to(TESTS).parts)


def the_test_files() -> list[Path]:
    return [p for p in python_files() if p.name.startswith("test_")]


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, name) for each import in ``path``, at the top or inside a function: the module, and for
    ``from m import n`` also ``m.n`` (``n`` may be a module: ``from . import test_x``); relative ones keep
    their dots."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            dot = "" if module.endswith(".") else "."
            found += [(node.lineno, module)] + [(node.lineno, f"{module}{dot}{alias.name}") for alias in node.names]
    return found


def fixture_names(conftest: Path) -> set[str]:
    tree = ast.parse(conftest.read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and any("fixture" in ast.unparse(d) for d in node.decorator_list)
    }


def parameters(path: Path) -> set[str]:
    """The parameter names of every function in ``path``: the fixtures its tests and fixtures ask for."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {a.arg for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) for a in node.args.args}


def test_no_test_module_imports_another_test_module_or_a_conftest() -> None:
    wrong = sorted(
        {
            f"{path.relative_to(REPO)}:{line}: {path.read_text(encoding='utf-8').splitlines()[line - 1].strip()}"
            for path in python_files()
            for line, module in imported(path)
            if any(part.startswith("test_") or part == "conftest" for part in module.lstrip(".").split("."))
        }
    )
    hint = "a fixture two modules share goes in a conftest.py, a helper in tests/support/ (or tests/browser/):"
    assert wrong == [], "\n".join([hint, *wrong])


def test_test_files_live_in_the_folder_of_their_package() -> None:
    packages = {p.parent.name for p in (REPO / "engine").glob("*/__init__.py")}
    unit_folders = {p.name for p in (TESTS / "unit").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert unit_folders <= packages, f"tests/unit/ folders that are no package of engine/: {unit_folders - packages}"
    web_fixtures = fixture_names(TESTS / "web" / "conftest.py")
    wrong = []
    for path in the_test_files():
        where = path.parent.relative_to(TESTS).parts
        text = path.read_text(encoding="utf-8")
        if where[:1] == ("unit",) and len(where) == 2 and f"engine.{where[1]}" not in text:
            wrong.append(f"{path.relative_to(REPO)} never names engine.{where[1]}, the package of its folder")
        elif where == ("web",) and "engine.web" not in text and not parameters(path) & web_fixtures:
            wrong.append(f"{path.relative_to(REPO)} neither names engine.web nor asks for a fixture serving it")
        elif where not in {(f,) for f in FOLDERS} and not (where[:1] == ("unit",) and len(where) == 2):
            wrong.append(f"{path.relative_to(REPO)} is outside {', '.join(f'tests/{f}/' for f in FOLDERS)}")
    assert wrong == [], "\n".join(wrong)


def test_modules_imported_by_their_bare_name_are_named_once() -> None:
    # pytest's default import mode puts the first folder above a test file (or conftest.py) that is not a
    # package on sys.path and imports the file by its bare name: two test_x.py in two such folders collide
    bare = Counter(
        path.stem
        for path in python_files()
        if not (path.parent / "__init__.py").exists() and path.name not in ("conftest.py", "__init__.py")
    )
    bare.update(p.name for p in TESTS.iterdir() if (p / "__init__.py").exists())  # support, browser
    twice = [name for name, n in bare.items() if n > 1]
    assert twice == [], f"modules pytest would import by the same bare name (rename one): {twice}"
