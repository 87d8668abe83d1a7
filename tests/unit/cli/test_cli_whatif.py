"""``yangguang simulate --what-if``: a changed directory or a git revision, synthetic or recorded load,
text and JSON, the same bytes for the same seed, and clean errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support import copy_catalogue
from support.whatif import ITEM, shorter_promise

from engine.cli.whatif import MOST_ARRIVALS

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
    assert "neither a catalogue directory nor a revision git knows" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_a_folder_outside_git_and_not_a_directory_is_a_clean_error(tmp_path: Path) -> None:
    plain = shorter_promise(tmp_path / "plain")
    done = run("simulate", "--what-if", "HEAD~1", cwd=plain)
    assert done.returncode == 1
    assert "is not inside a git repository" in done.stderr and "Traceback" not in done.stderr


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


def test_options_out_of_range_exit_1_with_a_clean_message(tmp_path: Path) -> None:
    what_if = ("simulate", "--what-if", ".", "--days", "2", "--per-day", "2")
    for extra, said in (
        (("--staff", "0"), "--staff 0: must be at least 1"),
        (("--staff", "-1"), "--staff -1: must be at least 1"),
        (("--days", "-5"), "--days -5: must be at least 1"),
        (("--per-day", "-3"), "--per-day -3: must be at least 1"),
        (("--last", "0"), "--last 0: must be at least 1"),
        (("--chains-per-day", "5"), "--chains-per-day 5: a chance, from 0 to 1"),
        (("--chains-per-day", "-1"), "--chains-per-day -1: a chance, from 0 to 1"),
        (("--items", ""), "names no item code"),
        (("--items", " , "), "names no item code"),
        (("--days", "100", "--per-day", "1000"), f"100,000 cases; the what-if simulates at most {MOST_ARRIVALS:,}"),
    ):
        done = run(*what_if, *extra)
        assert done.returncode == 1 and said in done.stderr, (extra, done.stderr)
        assert "Traceback" not in done.stderr and done.stdout == ""
    plain = run("simulate", "--db", str(tmp_path / "s.db"), "--days", "0")
    assert plain.returncode == 1 and "--days 0: must be at least 1" in plain.stderr
    assert run("simulate", "--db", str(tmp_path / "s.db"), "--late-rate", "1.5").returncode == 1


def test_a_year_without_a_calendar_exits_1_with_the_calendars_message(tmp_path: Path) -> None:
    early = run("simulate", "--what-if", ".", "--start", "2019-01-01", "--days", "2")
    assert early.returncode == 1 and "Traceback" not in early.stderr
    assert "no working-day calendar for 2019" in early.stderr and "add calendar/2019.yaml" in early.stderr
    # a database recorded in 2025, replayed under a catalogue whose calendars begin in 2026
    db = tmp_path / "s.db"
    filled = run("simulate", "--db", str(db), "--start", "2025-03-03", "--days", "2", "--per-day", "2",
                 "--items", "QQ-PSB-BA-001")  # fmt: skip
    assert filled.returncode == 0, filled.stderr
    cat = copy_catalogue(tmp_path / "cat")
    (cat / "calendar/2025.yaml").unlink()
    done = run("simulate", "--catalog", str(cat), "--what-if", str(cat), "--db", str(db))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "no working-day calendar for 2025" in done.stderr


def test_the_changed_catalogue_counts_its_deadlines_over_its_own_calendar(tmp_path: Path) -> None:
    changed = copy_catalogue(tmp_path / "changed")
    path = changed / "calendar/2026.yaml"
    text = path.read_text(encoding="utf-8")
    week_off = "  - name: 清明节\n    from: 2026-03-09\n    to: 2026-04-06\n"
    path.write_text(text.replace("  - name: 清明节\n    from: 2026-04-04\n    to: 2026-04-06\n", week_off), "utf-8")
    done = run("simulate", "--what-if", str(changed), "--per-day", "20", "--days", "5", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["items"]
    assert rows and all(r["difference"]["mean_days"] == 0 for r in rows)  # the same work, counted in working days
    assert any(r["difference"]["on_time"] != 0 or r["difference"]["yellow"] != 0 for r in rows)
