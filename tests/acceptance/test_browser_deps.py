"""scripts/check-browser-deps, which `make test` runs before any test: silent when Chromium and a
CJK font are there; otherwise it installs them (as root with apt-get, as .ci/run does) or stops at
once with the one command to run. PATH is set to a folder of stand-in commands, so each case is the
machine it describes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "check-browser-deps"
BASH = "/bin/bash"
INSTALL = "sudo apt-get install -y chromium fonts-noto-cjk"


def command(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)


def run(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(folder), "HOME": str(folder)}  # nothing else on PATH: no apt-get, dpkg or chromium
    return subprocess.run([BASH, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def test_chromium_and_a_cjk_font_present_is_silent(tmp_path: Path) -> None:
    command(tmp_path, "chromium", "exit 0")
    command(tmp_path, "fc-list", 'echo "Noto Sans CJK SC"')
    done = run(tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_missing_both_stops_at_once_with_the_one_command_to_run(tmp_path: Path) -> None:
    done = run(tmp_path)  # no chromium, no fc-list, no dpkg, no apt-get
    assert done.returncode == 1 and done.stdout == ""
    assert "lacks Chromium (no `chromium` on PATH) and a CJK font (no fc-list to look for one)" in done.stderr
    assert INSTALL in done.stderr.splitlines()[3]


def test_missing_only_the_font_names_only_the_font(tmp_path: Path) -> None:
    command(tmp_path, "chromium", "exit 0")
    command(tmp_path, "fc-list", "exit 0")  # fontconfig finds no font covering Chinese
    done = run(tmp_path)
    assert done.returncode == 1
    assert "lacks a CJK font (fc-list :lang=zh finds none)." in done.stderr and "Chromium (no" not in done.stderr
    assert INSTALL in done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the script installs only as root; this run is not root")
def test_as_root_with_apt_get_it_installs_them_non_interactively(tmp_path: Path) -> None:
    log = tmp_path / "apt.log"
    # a stand-in apt-get that logs how it was called and "installs" both (makes the commands exist)
    command(
        tmp_path,
        "apt-get",
        f'echo "$DEBIAN_FRONTEND $*" >> {log}\n'
        f'[ "$1" = update ] && exit 0\n'
        f'printf "#!/bin/sh\\nexit 0\\n" > {tmp_path}/chromium\n'
        f'printf "#!/bin/sh\\necho Noto Sans CJK SC\\n" > {tmp_path}/fc-list\n'
        f"/bin/chmod 755 {tmp_path}/chromium {tmp_path}/fc-list",
    )
    done = run(tmp_path)
    assert done.returncode == 0 and done.stdout == ""
    assert "installing chromium fonts-noto-cjk with apt-get" in done.stderr
    assert log.read_text().splitlines() == [
        "noninteractive update -qq",
        "noninteractive install -y -qq chromium fonts-noto-cjk",
    ]


@pytest.mark.skipif(os.geteuid() != 0, reason="the script installs only as root; this run is not root")
def test_a_failed_install_still_stops_with_the_command(tmp_path: Path) -> None:
    command(tmp_path, "apt-get", "exit 100")  # e.g. no network
    done = run(tmp_path)
    assert done.returncode == 1 and INSTALL in done.stderr


def test_make_test_runs_the_check_before_any_test() -> None:
    # run as `make test` runs it (CI): a parent make's MAKEFLAGS/MAKELEVEL would add "Entering directory"
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    recipe = subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", ".venv/.installed", "test"],
        cwd=REPO, capture_output=True, text=True, timeout=60, env=env,
    ).stdout.splitlines()
    assert recipe[0] == "bash scripts/check-browser-deps" and "pytest" in recipe[1]
