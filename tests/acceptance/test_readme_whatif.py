"""README's what-if example ("promised limit of one item from 10 to 5 working days"): its shell commands
still make the changed copy, and the command prints exactly the output pasted in README."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def example() -> tuple[list[str], str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("**Worked example: the promised limit of one item from 10 to 5 working days.**", 1)[1]
    commands = section.split("```sh\n", 1)[1].split("```", 1)[0].strip().splitlines()
    output = section.split("<!-- whatif-example -->\n```text\n", 1)[1].split("```\n<!-- /whatif-example -->", 1)[0]
    return commands, output


@pytest.mark.skipif(shutil.which("git") is None or shutil.which("sed") is None, reason="needs git and sed")
def test_the_readme_example_prints_what_readme_shows(tmp_path: Path) -> None:
    commands, shown = example()
    changed = str(tmp_path / "changed")
    *make_copy, command = (c.replace("/tmp/changed", changed) for c in commands)
    for line in make_copy:
        subprocess.run(["bash", "-c", line], cwd=REPO, check=True, capture_output=True)
    assert "value: 5" in (tmp_path / "changed/items/transport/road-passenger-operation-licence.yaml").read_text()
    args = command.split()[1:]
    assert command.startswith("yangguang simulate --catalog . --what-if ")
    done = subprocess.run(
        [sys.executable, "-m", "engine", *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.replace(changed, "/tmp/changed") == shown
