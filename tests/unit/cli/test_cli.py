from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import tamper

from engine.cli.main import main, parser

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "checks"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], cwd=REPO, capture_output=True, text=True, input=stdin, timeout=120
    )


def test_check_reference_catalogue_is_clean() -> None:
    proc = run("check")
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.startswith("ok: ")


def test_check_broken_catalogue_exits_1_with_locations() -> None:
    proc = run("check", str(FIXTURES / "unknown-department"))
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0].startswith("items/a.yaml:4:13: error[unknown-department]")
    assert "fix them and run `yangguang check` again" in proc.stdout


def test_check_missing_directory_is_a_clean_error() -> None:
    proc = run("check", "/nonexistent/catalogue")
    assert proc.returncode == 1
    assert "no-catalogue" in proc.stdout and "Traceback" not in proc.stdout + proc.stderr


def test_without_a_catalogue_named_the_current_folder_is_read() -> None:
    """An installed yangguang has no catalogue of its own: it reads the folder it runs in."""
    here = FIXTURES / "unknown-department"
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "check"], cwd=here, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0].startswith("items/a.yaml:4:13: error[unknown-department]")


def test_a_folder_that_is_no_catalogue_says_to_name_one(tmp_path: Path) -> None:
    def there(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "engine", *args]
        return subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, input=stdin, timeout=120)

    check = there("check")
    assert (check.returncode, check.stdout) == (1, "")
    assert check.stderr == (
        f"yangguang: no catalogue here: {tmp_path} has no center.yaml; run yangguang in the catalogue's folder, "
        "or name it with yangguang check DIR or --catalog DIR\n"
    )
    show = there("show", "QQ-PSB-BA-001")
    assert show.returncode == 1 and show.stderr.endswith("or name it with --catalog DIR\n")
    assert not list(tmp_path.iterdir())  # nothing written where nothing was found
    # user add reads center.yaml only for words a password must not lean on: it needs no catalogue
    added = there("user", "add", "--username", "li", "--role", "supervisor", "--password-stdin", "--db", "u.db",
                  stdin="tulip orbit cello quasar\n")  # fmt: skip
    assert added.returncode == 0 and "user li added" in added.stdout, added.stderr


def test_show_prints_the_one_time_notice() -> None:
    proc = run("show", "QQ-PSB-BA-001")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "一次性告知书 — 公章刻制备案" in out
    assert "授权委托书及经办人身份证 —— 是否委托代理人办理为是时必需；原件1份、复印件1份" in out
    assert "承诺时限：即办（当场办结）" in out
    assert "到现场次数：零跑动" in out


def test_show_unknown_code_suggests() -> None:
    proc = run("show", "QQ-PSB-BA-002")
    assert proc.returncode == 1
    assert "did you mean QQ-PSB-BA-001" in proc.stderr and "Traceback" not in proc.stderr


def test_show_refuses_a_broken_catalogue() -> None:
    proc = run("show", "QQ-A-001", "--catalog", str(FIXTURES / "enum"))
    assert proc.returncode == 1 and "error[enum]" in proc.stderr


def test_fee_for_a_free_item() -> None:
    proc = run("fee", "QQ-PSB-BA-001", "--data", "-", stdin="{}")
    assert proc.returncode == 0 and "不收费" in proc.stdout


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
    ],
)
def test_fee_bad_data_is_a_clean_error(data: str, message: str, reference) -> None:  # type: ignore[no-untyped-def]
    code = next(
        c
        for c, d in reference.catalogue.items.items()
        if isinstance(d.data["fee"], dict) and "schedule" in d.data["fee"]
    )
    proc = run("fee", code, "--data", "-", stdin=data)
    assert proc.returncode == 1
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_internal_errors_exit_3_with_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import engine.check.pipeline

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(engine.check.pipeline, "load", boom)
    assert main(["check"]) == 3
    err = capsys.readouterr().err
    assert "this is a bug in Yangguang" in err and "RuntimeError: boom" in err


def test_every_command_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    sub = next(a for a in parser()._actions if a.dest == "command")
    for name, cmd_parser in sub.choices.items():  # type: ignore[attr-defined]
        assert f"yangguang {name}" in readme, f"README does not document `yangguang {name}`"
        for action in cmd_parser._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    assert flag in readme, f"README does not document {name} {flag}"


def test_building_the_parser_imports_no_engine_library() -> None:
    """Every run builds the whole parser (bench/bench_check.py measures `yangguang check`'s cold start): the
    command modules import the engine, the web stack and ruamel.yaml only inside their commands."""
    code = (
        "import sys; from engine.cli.main import parser; parser(); "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('ruamel', 'uvicorn', 'starlette', 'sqlalchemy', 'jinja2', 'yaml', 'jsonschema', 'tqdm') "
        "or (m.startswith('engine.') and not m.startswith('engine.cli'))); "
        "assert not loaded, loaded"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_json_format_is_a_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(FIXTURES / "tab"), "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out) == [
        {
            "file": "items/b.yaml",
            "line": 3,
            "column": 1,
            "kind": "tab",
            "severity": "error",
            "message": "tab character in indentation; YAML indents with spaces only",
        }
    ]


def test_fee_prints_the_itemised_assessment_with_each_lines_basis(tmp_path: Path) -> None:
    data = tmp_path / "data.json"
    data.write_text(
        json.dumps(
            {"realestate": {"use": "residential", "certificate_copies": 3, "small_micro": False, "relief_case": "none"}}
        ),
        encoding="utf-8",
    )
    proc = run("fee", "QQ-REALESTATE-DJ-102", "--data", str(data), "--on", "2026-03-02")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    # 80 yuan per residential case + 2 extra certificates x 10 yuan = 100.00
    assert lines[-1].split() == ["合计：", "100.00", "元"]
    assert sum("依据：" in line for line in lines) >= 2
    assert "发改价格规〔2016〕2559号" in proc.stdout


def test_fee_missing_quantity_names_the_field() -> None:
    proc = run("fee", "QQ-REALESTATE-DJ-102", "--data", "-", stdin='{"realestate": {"use": "residential"}}')
    assert proc.returncode == 1
    assert "realestate.certificate_copies" in proc.stderr and "Traceback" not in proc.stderr


def test_simulate_then_audit_verify_detects_tampering(tmp_path: Path) -> None:
    db = tmp_path / "sim.db"
    proc = run(
        "simulate", "--db", str(db), "--days", "3", "--per-day", "3", "--items", "QQ-REALESTATE-DJ-102,QQ-PSB-BA-001"
    )
    assert proc.returncode == 0, proc.stderr
    assert "9 cases submitted" in proc.stdout
    ok = run("audit", "verify", "--db", str(db))
    assert ok.returncode == 0 and ok.stdout.startswith("ok: 9 cases")
    # as someone holding the file: drop the append-only triggers (migration 22), then edit
    tamper(db, "update events set at = '2026-01-01T00:00:00.000000+00:00' where seq = 1 and case_id = 2")
    bad = run("audit", "verify", "--db", str(db))
    assert bad.returncode == 1
    assert ":1: error[altered]" in bad.stdout


def test_audit_verify_without_a_database_is_a_clean_error(tmp_path: Path) -> None:
    proc = run("audit", "verify", "--db", str(tmp_path / "none.db"))
    assert proc.returncode == 1 and "no database" in proc.stderr


def test_simulate_unknown_item(tmp_path: Path) -> None:
    proc = run("simulate", "--db", str(tmp_path / "s.db"), "--items", "NOPE")
    assert proc.returncode == 1 and "unknown item code" in proc.stderr


def test_user_add(tmp_path: Path) -> None:
    db = str(tmp_path / "u.db")
    ok = run(
        "user",
        "add",
        "--username",
        "li",
        "--role",
        "window",
        "--department",
        "realestate",
        "--password-stdin",
        "--db",
        db,
        stdin="tulip orbit cello\n",
    )
    assert ok.returncode == 0, ok.stderr
    assert "user li added" in ok.stdout
    pw = "tulip orbit cello\n"
    again = run("user", "add", "--username", "li", "--role", "window", "--password-stdin", "--db", db, stdin=pw)
    assert again.returncode == 1 and "already exists" in again.stderr
    bad = run("user", "add", "--username", "wang", "--role", "boss", "--password-stdin", "--db", db, stdin="x\n")
    assert bad.returncode == 1 and "unknown role" in bad.stderr
    # an AB backup of a center role would grant nothing (engine.service.access): refused, saying what to do
    args = ("user", "add", "--username", "zhao", "--role", "window", "--department", "realestate")
    center = run(*args, "--backup-for", "supervisor", "--password-stdin", "--db", db, stdin=pw)
    assert center.returncode == 1 and "add the person with --role supervisor instead" in center.stderr
    nowhere = run("user", "add", "--username", "qian", "--role", "supervisor", "--backup-for", "head",
                  "--password-stdin", "--db", db, stdin=pw)  # fmt: skip
    assert nowhere.returncode == 1 and "give the person's --department too" in nowhere.stderr


def test_sweep_command_applies_the_timed_rules_once(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    missing = run("sweep", "--db", str(db))
    assert missing.returncode == 1 and "no database" in missing.stderr
    from engine.ledger.db import open_engine
    from engine.ledger.migrations import migrate

    engine = open_engine(db)
    migrate(engine)
    engine.dispose()
    first = run("sweep", "--db", str(db))
    assert first.returncode == 0 and first.stdout.startswith("deemed accepted: 0")
