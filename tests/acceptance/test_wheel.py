"""An installed yangguang works outside a checkout (issue 17): ``pip install .`` (not editable) into a fresh
virtual environment, then ``yangguang check DIR`` and ``yangguang serve --catalog DIR`` run from another folder,
and the server answers /healthz and a guide page in both languages over real HTTP.

Offline and quick (a few seconds): the fresh environment sees exactly the distributions ``pyproject.toml``
asks for — its dependencies and its build requirement, with what they require in turn — linked from this
test run's own environment into one folder that a ``.pth`` file puts on its path; nothing else of that
environment (not the editable install of this checkout, not the test tools) is visible. So pip resolves
every declared dependency without an index, an undeclared import fails the commands, and a data file the
wheel does not ship (schemas, templates, static files, translations) fails them too. The build runs
without isolation on the same setuptools the build requirement names, and must print no warning.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
#: what of the reference catalogue a county's repository would hold (no engine, no schema/)
CATALOGUE_PARTS = ("center.yaml", "items", "fees", "forms", "chains", "calendar", "search")
GUIDE = "QQ-PSB-BA-001"  # 公章刻制备案
WARNING = re.compile(r"warn", re.IGNORECASE)


@dataclass(frozen=True)
class Installed:
    bin: Path  # the fresh environment's scripts folder: python, yangguang
    log: str  # pip's verbose output, setuptools' build output included
    env: dict[str, str]  # for running the installed commands


def closure(requirements: list[str]) -> list[metadata.Distribution]:
    """The installed distributions that satisfy ``requirements``, with everything they require in turn
    (extras and environment markers honoured); a missing or too old one fails the test with what to do."""
    found: dict[str, tuple[metadata.Distribution, set[str]]] = {}
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            pytest.fail(f"{req} is not installed in this environment; run `make .venv/.installed`")
        if not req.specifier.contains(dist.version, prereleases=True):
            pytest.fail(f"{req} is needed but {dist.version} is installed; run `make .venv/.installed`")
        key = canonicalize_name(req.name)
        seen_extras = found[key][1] if key in found else None
        if seen_extras is not None and req.extras <= seen_extras:
            continue
        extras = set(req.extras) | (seen_extras or set())
        found[key] = (dist, extras)
        for text in dist.requires or []:
            sub = Requirement(text)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in extras | {""}):
                todo.append(Requirement(str(sub).split(";")[0]))
    return [dist for dist, _ in found.values()]


def link_distributions(dists: list[metadata.Distribution], into: Path) -> None:
    """Each distribution's top-level files and folders (its packages, modules and .dist-info), linked."""
    into.mkdir()
    for dist in dists:
        if dist.files is None:
            pytest.fail(f"{dist.metadata['Name']} was installed without a RECORD; reinstall it with pip")
        base = Path(str(dist.locate_file("")))
        for top in sorted({f.parts[0] for f in dist.files if f.parts and f.parts[0] != ".."}):
            if not (into / top).exists() and (base / top).exists():
                (into / top).symlink_to(base / top)


def quiet_env(**extra: str) -> dict[str, str]:
    """This process's environment without what would change pip or the build: pip settings, a Python path,
    and PYTHONDONTWRITEBYTECODE (setuptools warns that byte-compiling is disabled)."""
    drop = ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONHOME", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k not in drop}
    return {**env, **extra}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"  # the project as a checkout has it, without the build state of this one
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "engine", src / "engine", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = [*project["project"]["dependencies"], *project["build-system"]["requires"]]
    link_distributions(closure(wanted), root / "deps")
    venv.EnvBuilder(with_pip=False).create(root / "venv")
    bin_dir = root / "venv" / "bin"
    purelib = subprocess.run(
        [str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    Path(purelib, "_yangguang_test_deps.pth").write_text(f"{root / 'deps'}\n", encoding="utf-8")

    # pip of this environment drives the fresh one (--python); --isolated: no pip configuration or PIP_ variables
    pip = [sys.executable, "-m", "pip", "--isolated", "--python", str(bin_dir / "python"), "install"]
    flags = ["--no-index", "--no-build-isolation", "--check-build-dependencies", "--verbose"]
    done = subprocess.run([*pip, *flags, "."], cwd=src, capture_output=True, text=True, env=quiet_env(), timeout=300)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    cache = root / "cache"
    return Installed(bin_dir, log, quiet_env(YANGGUANG_CACHE_DIR=str(cache)))


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference catalogue's files, copied away from the checkout."""
    dest = tmp_path_factory.mktemp("county") / "catalogue"
    dest.mkdir()
    for part in CATALOGUE_PARTS:
        if (REPO / part).is_dir():
            shutil.copytree(REPO / part, dest / part)
        else:
            shutil.copy2(REPO / part, dest / part)
    return dest


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A folder with neither the engine nor a catalogue in it: commands run here."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def test_the_build_warns_about_nothing(installed: Installed) -> None:
    assert "Successfully installed yangguang-" in installed.log
    warnings = [line for line in installed.log.splitlines() if WARNING.search(line)]
    assert warnings == [], "\n".join(warnings)


def test_the_engine_runs_from_the_installed_package_with_its_data(installed: Installed, elsewhere: Path) -> None:
    code = (
        "import engine, engine.catalogue.schemas as s, engine.base.i18n as i, engine.base.regions as r; "
        "print(engine.__file__); print(s.SCHEMA_DIR); print(i.LOCALE_DIR); print(r.DATA)"
    )
    done = subprocess.run(
        [str(installed.bin / "python"), "-c", code], cwd=elsewhere, capture_output=True, text=True,
        env=installed.env, check=True,
    )  # fmt: skip
    package, schemas, locale, regions = map(Path, done.stdout.split("\n")[:4])
    site = installed.bin.parent / "lib"
    assert all(p.is_relative_to(site) for p in (package, schemas, locale, regions)), done.stdout
    shipped = {p.name: p.read_bytes() for p in schemas.glob("*.json")}
    assert shipped == {p.name: p.read_bytes() for p in (REPO / "schema").glob("*.json")}
    assert (locale / "en" / "LC_MESSAGES" / "messages.po").is_file() and regions.is_file()


def test_check_a_catalogue_from_another_folder(installed: Installed, catalogue: Path, elsewhere: Path) -> None:
    yangguang = str(installed.bin / "yangguang")
    done = subprocess.run(
        [yangguang, "check", str(catalogue)], cwd=elsewhere, capture_output=True, text=True, env=installed.env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("ok: ") and " items, " in done.stdout
    inside = subprocess.run([yangguang, "check"], cwd=catalogue, capture_output=True, text=True, env=installed.env)
    assert (inside.returncode, inside.stdout) == (0, done.stdout)  # no DIR: the folder it runs in
    nowhere = subprocess.run([yangguang, "check"], cwd=elsewhere, capture_output=True, text=True, env=installed.env)
    assert nowhere.returncode == 1 and "has no center.yaml" in nowhere.stderr and "--catalog DIR" in nowhere.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


@pytest.fixture
def served(installed: Installed, catalogue: Path, elsewhere: Path) -> Iterator[str]:
    port = _free_port()
    argv = [str(installed.bin / "yangguang"), "serve", "--catalog", str(catalogue), "--db", "var/y.db"]
    argv += ["--port", str(port), "--sweep-seconds", "0", "--reload-seconds", "0"]
    (elsewhere / "var").mkdir()
    log = elsewhere / "serve.log"
    with log.open("wb") as out:  # a file, not a pipe: an unread pipe would block uvicorn's access log
        proc = subprocess.Popen(argv, cwd=elsewhere, env=installed.env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"yangguang serve exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
            try:
                if _get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"yangguang serve did not answer within 90 s:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_serve_a_catalogue_from_another_folder(served: str) -> None:
    status, health = _get(f"{served}/healthz")
    assert status == 200 and json.loads(health)["status"] == "ok" and json.loads(health)["items"] > 0
    status, page = _get(f"{served}/items/{GUIDE}")  # a template of the package, the catalogue's item
    assert status == 200 and "<title>公章刻制备案 — 办事指南</title>" in page
    status, english = _get(f"{served}/items/{GUIDE}?lang=en")  # the shipped translations
    assert status == 200 and "<title>公章刻制备案 — Service guide</title>" in english
    status, regions = _get(f"{served}/static/regions.tsv")  # a static file of the package
    assert status == 200 and "230202" in regions


def test_the_repository_schema_folder_is_the_package_s() -> None:
    """Catalogue files and editors name ``schema/*.json``; the package (and so the wheel) holds them in
    engine/catalogue/schema. schema/ is a link there, so the two can never differ: a copy in its place fails."""
    link = REPO / "schema"
    assert link.is_symlink() and os.readlink(link) == "engine/catalogue/schema"
    assert link.resolve() == (REPO / "engine" / "catalogue" / "schema").resolve()
    assert sorted(p.name for p in link.glob("*.schema.json")) == sorted(
        p.name for p in (REPO / "engine" / "catalogue" / "schema").glob("*.schema.json")
    )
