"""Observability over real HTTP (issue 18): ``yangguang serve`` in subprocesses on one SQLite file — its JSON
log lines with the request id, /metrics read from the server's own host, and two server processes whose
requests one scrape sums (``PROMETHEUS_MULTIPROC_DIR``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from support import REPO, free_port

from engine.web import logs


@contextmanager
def serving(tmp_path: Path, name: str, *flags: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, Path]]:
    """``yangguang serve`` on a free port of 127.0.0.1; its base URL and the file its standard error goes to."""
    port, log = free_port(), tmp_path / f"{name}.log"
    settings = {**os.environ, "YANGGUANG_CACHE_DIR": str(tmp_path / "cache")}
    for name in ("YANGGUANG_METRICS_TOKEN", "PROMETHEUS_MULTIPROC_DIR", "YANGGUANG_WORKERS", "YANGGUANG_LOG_FORMAT"):
        settings.pop(name, None)
    settings.update(env or {})
    args = ["serve", "--db", str(tmp_path / "y.db"), "--port", str(port), "--reload-seconds", "0", *flags]
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "engine", *args], cwd=REPO, env=settings, stderr=out,
                                stdout=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"yangguang serve did not start:\n{log.read_text()}") from None
                time.sleep(0.2)
        yield base, log
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


def settled(url: str, key: tuple[str, tuple[tuple[str, str], ...]], expected: float) -> float | None:
    """The sample once it reaches ``expected`` (a request is counted just after its answer is sent, so a
    scrape right after it may come first), else what it was after a generous wait."""
    deadline = time.monotonic() + 30  # a wait, not a measurement
    while (value := samples(get(url)[1]).get(key)) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_json_log_lines_carry_the_request_id(tmp_path: Path) -> None:
    """Every line the server writes is one JSON object, uvicorn's own too; the request's line carries the
    id the proxy sent, the route template and the status, and the answer echoes the id."""
    with serving(tmp_path, "json", "--log-format", "json", "--sweep-seconds", "0") as (base, log):
        status, _, headers = get(base + "/items/QQ-HOUSING-XK-003?q=secret-words", {"X-Request-ID": "edge-42"})
        assert status == 200 and headers["x-request-id"] == "edge-42"
        status, metrics_text, _ = get(base + "/metrics")  # this host: no token needed
        assert status == 200 and "yangguang_http_requests_total" in metrics_text
        assert get(base + "/metrics", {"X-Forwarded-For": "198.51.100.7"})[0] == 403  # relayed: not local
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    request = next(line for line in lines if line.get("request_id") == "edge-42")
    assert set(logs.REQUEST_FIELDS) <= set(request)  # method, route, path, status, duration_ms
    assert request["logger"] == "yangguang.access" and request["route"] == "/items/{code}"
    assert request["status"] == 200 and request["method"] == "GET" and request["duration_ms"] > 0
    assert request["path"] == "/items/QQ-HOUSING-XK-003" and "secret-words" not in log.read_text()
    assert any(line["logger"] == "uvicorn.error" and "running on" in line["message"].lower() for line in lines)
    assert {"time", "level", "logger", "message"} <= set(lines[0])


def test_text_logs_for_a_person(tmp_path: Path) -> None:
    with serving(tmp_path, "text", "--log-format", "text", "--sweep-seconds", "0") as (base, log):
        get(base + "/", {"X-Request-ID": "desk-7"})
    line = next(x for x in log.read_text(encoding="utf-8").splitlines() if "[desk-7]" in x)
    assert " INFO " in line and "yangguang.access" in line and "GET / 200" in line


def test_two_server_processes_are_summed_by_one_scrape(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, whichever process answers the scrape reports the requests both
    served, and the sweep that ran in one of them."""
    shared = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus")}
    (tmp_path / "prometheus").mkdir()
    with (
        serving(tmp_path, "a", "--sweep-seconds", "3600", env=shared) as (a, log_a),
        serving(tmp_path, "b", "--sweep-seconds", "0", env=shared) as (b, log_b),
    ):

        def logs_of() -> str:
            return f"a:\n{log_a.read_text()[-3000:]}\nb:\n{log_b.read_text()[-3000:]}"

        for base, times in ((a, 3), (b, 2)):
            for _ in range(times):
                assert get(base + "/")[0] == 200, logs_of()
        key = ("yangguang_http_requests_total", (("method", "GET"), ("route", "/"), ("status", "200")))
        for base in (a, b):
            assert settled(base + "/metrics", key, 5) == 5, logs_of()
        deadline = time.monotonic() + 120  # a wait for server a's start-up sweep, not a measurement
        swept = ("yangguang_sweep_duration_seconds_count", ())
        while samples(get(b + "/metrics")[1]).get(swept, 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert samples(get(b + "/metrics")[1]).get(swept) == 1, logs_of()


def test_a_log_format_that_does_not_exist_stops_the_start(tmp_path: Path) -> None:
    env = {**os.environ, "YANGGUANG_LOG_FORMAT": "xml", "YANGGUANG_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "engine", "serve", "--db", str(tmp_path / "y.db")], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 1
    assert "YANGGUANG_LOG_FORMAT must be one of json, text, not 'xml'" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_workers_sums_every_worker_without_settings(tmp_path: Path) -> None:
    """`yangguang serve --workers 2` makes the multiprocess folder itself: every scrape, whichever worker
    answers it, counts the requests both served."""
    with serving(tmp_path, "workers", "--workers", "2", "--sweep-seconds", "0") as (base, log):
        for _ in range(10):
            assert get(base + "/")[0] == 200
        key = ("yangguang_http_requests_total", (("method", "GET"), ("route", "/"), ("status", "200")))
        assert settled(base + "/metrics", key, 10) == 10, log.read_text()[-3000:]
        seen = [samples(get(base + "/metrics")[1]).get(key) for _ in range(6)]  # whichever worker answers
        assert seen == [10] * 6, log.read_text()[-3000:]
