"""The servers the browser tests drive and where they leave what a person looks at afterwards:
``serve`` starts ``yangguang serve`` with its own settings (the session's live server in conftest.py,
and test_filing's server with a low filing limit); screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import free_port

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"


@contextlib.contextmanager
def serve(tmp: Path, db: Path, **settings: str) -> Iterator[str]:
    """``yangguang serve`` on 127.0.0.1 with a fresh SQLite file ``db`` and the environment settings
    ``settings`` (e.g. YANGGUANG_FILINGS_PER_HOUR_PER_ADDRESS="1"); yields its base URL once /healthz
    answers, stops it on exit. Its log is ``live_server.log`` in ``tmp`` (the tail is shown if it fails)."""
    log_path = tmp / "live_server.log"
    port = free_port()
    env = {**os.environ, "YANGGUANG_CACHE_DIR": str(tmp / "cache"), **settings}
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:  # a file, not a pipe: an unread pipe would block uvicorn's access log
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine", "serve", "--db", str(db), "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
                    pytest.fail(f"the server did not start on {base}:\n{tail}", pytrace=False)
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
