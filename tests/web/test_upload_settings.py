"""Issue 15, the server's per-address upload limits: a center whose applicants all arrive through
one proxy or an intranet NAT address shares one client address, so the per-address limits are
settings (environment variables read by engine.service.uploads.limits_from_env, passed by create_app to
every upload route); a bad value stops the start with a message, never a traceback. Real SQLite
file, real HTTP via the whole app."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from engine.base.dates import TZ
from engine.cli import main as cli
from engine.cli.errors import EXIT_USER
from engine.rules.clock import ManualClock
from engine.service.upload_limits import DRAFT_FILES_PER_MINUTE, LIMITS, limits_from_env
from engine.web.app import create_app

REPO = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
FILES = "YANGGUANG_UPLOAD_FILES_PER_MINUTE_PER_ADDRESS"


def uploads_in_one_minute(tmp_path: Path, reference: Any, name: str) -> list[int]:
    """75 uploads from one address within one minute (the clock stands still), 25 into each of
    three drafts (under the 30 a minute one draft may take); the answers' statuses."""
    clk = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))
    app = create_app(REPO, tmp_path / name, reference.catalogue, clock=clk, sweep_seconds=0, reload_seconds=0)
    statuses = []
    with TestClient(app) as client:
        for d in range(3):
            r = client.post("/api/drafts")
            assert r.status_code == 201, r.text
            token = r.json()["draft"]
            for i in range(25):
                content = PDF + f"%{d}-{i}\n".encode()
                r = client.post("/api/uploads", files={"file": ("a.pdf", content)}, headers={"X-Draft-Token": token})
                statuses.append(r.status_code)
    return statuses


def test_a_raised_per_address_limit_takes_more_than_60_files_a_minute(
    tmp_path: Path, reference: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hole: the per-address limits were fixed at 60 files a minute, so a center behind one NAT
    address (or the web bench) could take no more; now a setting raises them."""
    monkeypatch.delenv(FILES, raising=False)
    default = uploads_in_one_minute(tmp_path, reference, "default.db")
    assert default[:60] == [201] * 60 and set(default[60:]) == {429}  # the 61st file of the minute
    monkeypatch.setenv(FILES, "200")
    assert uploads_in_one_minute(tmp_path, reference, "raised.db") == [201] * 75


def test_limits_from_env_reads_the_three_settings() -> None:
    limits = limits_from_env(
        {FILES: " 600 ", "YANGGUANG_UPLOAD_MB_PER_DAY_PER_ADDRESS": "10", "YANGGUANG_DRAFTS_PER_HOUR_PER_ADDRESS": "5"}
    )
    assert (limits.client_files_per_minute, limits.client_bytes_per_day, limits.client_drafts_per_hour) == (
        600,
        10 * 2**20,
        5,
    )
    assert limits.draft_files_per_minute == DRAFT_FILES_PER_MINUTE  # per draft: not a setting
    assert limits_from_env({}) == LIMITS


@pytest.mark.parametrize("raw", ["abc", "0", "-5", "1.5", "1e3", "１２", "9" * 13])
def test_a_bad_value_is_refused_naming_the_variable(raw: str) -> None:
    with pytest.raises(ValueError) as e:
        limits_from_env({"YANGGUANG_DRAFTS_PER_HOUR_PER_ADDRESS": raw})
    assert str(e.value) == (
        "YANGGUANG_DRAFTS_PER_HOUR_PER_ADDRESS must be a whole number of drafts, at least 1 "
        f"(default 60; at most 12 digits), not {raw!r}"
    )


def test_a_bad_value_stops_the_server_with_a_message_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both ways to start a server: `yangguang serve` and `uvicorn server:app` (server.py)."""
    monkeypatch.setenv(FILES, "lots")
    message = f"{FILES} must be a whole number of files, at least 1 (default 60; at most 12 digits), not 'lots'"
    assert cli.main(["serve", "--db", str(tmp_path / "y.db"), "--port", "1"]) == EXIT_USER
    assert capsys.readouterr().err == f"yangguang: {message}\n"
    env = {**os.environ, FILES: "lots", "YANGGUANG_DB": str(tmp_path / "s.db")}
    out = subprocess.run(
        [sys.executable, "-c", "import server"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 1
    assert out.stderr == f"server: {message}\n"
    assert not (tmp_path / "s.db").exists()  # stopped before anything was created
