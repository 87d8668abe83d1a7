"""``yangguang simulate --what-if``: a changed directory or a git revision, synthetic or recorded load,
text and JSON, the same bytes for the same seed, and clean errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support.whatif import ITEM, shorter_promise

from engine.cli.whatif import changed_catalogue

REPO = Path(__file__).resolve().parents[3]


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        check=True, capture_output=True,
    )  # fmt: skip


def test_a_changed_directory_shows_the_item_and_its_department(tmp_path: Path) -> None:
    changed = shorter_promise(tmp_path / "changed")
    done = run("simulate", "--catalog", ".", "--what-if", str(changed), "--per-day", "60", "--days", "10")
    assert done.returncode == 0, done.stderr
    items = done.stdout.split("Items:", 1)[1].split("Departments:", 1)[0]
    assert ITEM in items and "100→" in items
    assert [line.split()[0] for line in items.splitlines()[2:] if line.strip()] == [ITEM]  # only what changed


def test_json_is_the_same_bytes_for_the_same_seed_and_lists_every_row_with_all(tmp_path: Path) -> None:
    changed = shorter_promise(tmp_path / "changed")
    args = ("simulate", "--catalog", ".", "--what-if", str(changed), "--per-day", "40", "--days", "5", "--json")
    first, again = run(*args), run(*args)
    assert first.returncode == 0, first.stderr
    assert first.stdout == again.stdout
    data = json.loads(first.stdout)
    (row,) = data["items"]
    assert row["key"] == ITEM and row["difference"]["on_time"] < 0 and row["difference"]["red"] > 0
    assert data["load"]["kind"] == "synthetic" and data["cases"] > 150
    every = json.loads(run(*args, "--all").stdout)
    assert len(every["items"]) > 20
    assert run(*args, "--seed", "2").stdout != first.stdout


def test_a_git_revision_is_read_from_the_catalogues_repository(tmp_path: Path) -> None:
    repo = shorter_promise(tmp_path / "repo")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "shorter promise")
    git(repo, "branch", "shorter")
    (repo / "items/transport/road-passenger-operation-licence.yaml").write_text(
        (REPO / "items/transport/road-passenger-operation-licence.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    git(repo, "commit", "-qam", "back to 10")
    done = run("simulate", "--what-if", "shorter", "--per-day", "40", "--days", "5", "--json", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert [r["key"] for r in json.loads(done.stdout)["items"]] == [ITEM]
    unknown = run("simulate", "--what-if", "no-such-branch", cwd=repo)
    assert unknown.returncode == 1
    assert "no such revision" in unknown.stderr and "Traceback" not in unknown.stderr


def test_a_folder_outside_git_and_not_a_directory_is_a_clean_error(tmp_path: Path) -> None:
    plain = shorter_promise(tmp_path / "plain")
    done = run("simulate", "--what-if", "HEAD~1", cwd=plain)
    assert done.returncode == 1
    assert "not in a git repository" in done.stderr and "Traceback" not in done.stderr


def test_a_broken_changed_catalogue_is_reported_as_the_check_reports_it(tmp_path: Path) -> None:
    changed = shorter_promise(tmp_path / "changed", value=0)  # fewer days than its steps need: a check error
    path = changed / "items/transport/road-passenger-operation-licence.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("time_limit:", "time_limits:", 1), encoding="utf-8")
    done = run("simulate", "--catalog", ".", "--what-if", str(changed))
    assert done.returncode == 1 and "error[" in done.stderr and "Traceback" not in done.stderr


def test_the_recorded_load_of_a_database_the_engine_filled(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    filled = run("simulate", "--db", str(db), "--days", "4", "--per-day", "5", "--items", f"{ITEM},QQ-PSB-BA-001")
    assert filled.returncode == 0, filled.stderr
    changed = shorter_promise(tmp_path / "changed", value=1)
    done = run("simulate", "--what-if", str(changed), "--db", str(db), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["load"]["kind"] == "recorded" and data["load"]["arrivals"] == 20
    assert data["load"]["since"] == "2026-03-02" and data["load"]["until"] == "2026-03-05"
    assert [r["key"] for r in data["items"]] == [ITEM]
    empty = run("simulate", "--what-if", str(changed), "--db", str(tmp_path / "none.db"))
    assert empty.returncode == 1 and "no database" in empty.stderr


def test_what_if_options_need_what_if() -> None:
    done = run("simulate", "--json")
    assert done.returncode == 1 and "--json goes with --what-if" in done.stderr


def test_a_directory_is_the_changed_catalogue_as_it_is(tmp_path: Path) -> None:
    with changed_catalogue(REPO, str(tmp_path)) as root:
        assert root == tmp_path
