"""``yangguang serve --db-read``: a read database that is missing, empty or unreachable stops the start
with a clean message (exit 1) before anything is served. Serving from a real replica: tests/web/test_read_replica.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine.cli.main import main

REPO = Path(__file__).resolve().parents[3]


def serve(tmp_path: Path, read: str) -> list[str]:
    return ["serve", "--catalog", str(REPO), "--db", str(tmp_path / "y.db"), "--db-read", read, "--port", "1"]


@pytest.mark.sqlite_only  # about SQLite files given as the read database
def test_a_read_database_that_is_missing_or_holds_no_cases_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(serve(tmp_path, str(tmp_path / "none.db"))) == 1
    assert "--db-read: no database at" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()  # not created by looking
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x)").connection.commit()
    assert main(serve(tmp_path, str(tmp_path / "other.db"))) == 1
    assert "holds no Yangguang cases" in capsys.readouterr().err


def test_an_unreachable_read_server_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from support import free_port

    assert main(serve(tmp_path, f"postgresql://nobody@127.0.0.1:{free_port()}/none")) == 1
    err = capsys.readouterr().err
    assert "--db-read: cannot read" in err and "Traceback" not in err
