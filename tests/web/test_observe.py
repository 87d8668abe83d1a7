"""Observability in-process (issue 18): /metrics, the request id and its log lines, /healthz — the real app
through TestClient on a real SQLite file or a real PostgreSQL database.

The metrics are the process's own (the client library's module-level counters, shared by every app a
test makes), so the request counts are compared before and after, never as totals.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from support import REPO

from engine.base.dates import TZ
from engine.ledger import db as ledger_db
from engine.rules.cases.model import Actor
from engine.rules.clock import ManualClock
from engine.service import access, uploads
from engine.service.samples import sample_application
from engine.web import logs, metrics, monitoring
from engine.web.app import create_app
from engine.web.middleware import Observe

TOKEN = "a-long-random-scrape-token"
PERMIT = "QQ-HOUSING-XK-003"


@pytest.fixture
def site(tmp_path: Path, reference: Any) -> Iterator[tuple[TestClient, Any]]:
    clk = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))
    app = create_app(REPO, tmp_path / "o.db", reference.catalogue, clock=clk, sweep_seconds=0, metrics_token=TOKEN)
    with TestClient(app, follow_redirects=False) as client:
        yield client, app


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def requests(figures: dict[Any, float], route: str, status: str, method: str = "GET") -> float:
    key = ("yangguang_http_requests_total", (("method", method), ("route", route), ("status", status)))
    return figures.get(key, 0.0)


def test_requests_are_counted_by_route_template_and_status(site: tuple[TestClient, Any]) -> None:
    client, app = site
    before = scrape(client)
    codes = list(app.state.catalogue.items)[:3]
    for code in codes:
        assert client.get(f"/items/{code}").status_code == 200
    assert client.get("/no-such-page/at-all").status_code == 404
    assert client.request("BREW", "/").status_code == 405  # a made-up method is not a label of its own
    after = scrape(client)
    assert requests(after, "/items/{code}", "200") - requests(before, "/items/{code}", "200") == 3
    assert requests(after, metrics.UNMATCHED, "404") - requests(before, metrics.UNMATCHED, "404") == 1
    assert requests(after, "/", "405", "OTHER") - requests(before, "/", "405", "OTHER") == 1
    latency = ("yangguang_http_request_duration_seconds_count", (("method", "GET"), ("route", "/items/{code}")))
    assert after[latency] - before.get(latency, 0) == 3
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert not any(code in text for code in codes)  # the template, never the path: the series stay few
    assert "no-such-page" not in text


def test_cases_by_state_and_light_and_the_upload_store(site: tuple[TestClient, Any], tmp_path: Path) -> None:
    client, app = site
    svc = app.state.service
    data, files = sample_application(svc.catalogue, svc.catalogue.items[PERMIT], {})
    pdf = b"%PDF-1.4\n" + b"x" * 1000 + b"\n%%EOF\n"
    stored = uploads.store(svc.db, tmp_path / "uploads", pdf, "合同.pdf", "application/pdf", svc.clock.now())
    files["construction_contract"] = [stored.id]
    numbers = [svc.submit(PERMIT, data, files, Actor("zhang", "applicant"), f"o{i}").number for i in range(3)]
    svc.act(numbers[0], "accept", Actor("w", "window", "housing"), {}, 1)
    figures = scrape(client)
    assert figures[("yangguang_open_cases", (("state", "submitted"),))] == 2
    assert figures[("yangguang_open_cases", (("state", "in_progress"),))] == 1
    assert figures[("yangguang_open_cases", (("state", "awaiting_supplement"),))] == 0  # every state, even with none
    assert figures[("yangguang_running_cases", (("light", "green"),))] == 1
    assert figures[("yangguang_running_cases", (("light", "violation"),))] == 0
    assert figures[("yangguang_upload_files", ())] == 1
    assert figures[("yangguang_upload_bytes", ())] == len(pdf)
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert not any(n in text for n in numbers) and "zhang" not in text  # nothing personal


def test_the_store_is_read_once_per_interval(site: tuple[TestClient, Any]) -> None:
    """Several scrapers cost one query per interval: the figures are kept, then read again."""
    _, app = site
    svc = app.state.service
    now = [100.0]
    store = metrics.Store(svc.db, seconds=15, upload_seconds=300, now=lambda: now[0])
    assert store.cases().states["submitted"] == 0 and store.uploads()[0] == (0, 0)
    data, files = sample_application(svc.catalogue, svc.catalogue.items[PERMIT], {})
    svc.submit(PERMIT, data, files, Actor("zhang", "applicant"), "kept")
    uploads.store(svc.db, svc_uploads(app), b"%PDF-1.4\n%%EOF\n", "a.pdf", "application/pdf", svc.clock.now())
    now[0] += 14
    assert store.cases().states["submitted"] == 0  # still the kept figures
    now[0] += 1
    assert store.cases().states["submitted"] == 1
    assert store.uploads()[0] == (0, 0)  # the uploads' pass is kept longer
    now[0] += 285
    assert store.uploads()[0] == (1, 15)


def svc_uploads(app: Any) -> Path:
    return Path(app.current.app.state.deps.uploads_dir)


def test_metrics_only_from_this_host_or_with_the_token(site: tuple[TestClient, Any]) -> None:
    client, app = site
    assert client.get("/metrics").status_code == 403  # the test client's address is not the loopback
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    english = client.get("/metrics?lang=en")
    assert english.status_code == 403 and "You may not read the metrics." in english.text  # the error page
    with TestClient(app, client=("127.0.0.1", 50000)) as local:
        assert local.get("/metrics").status_code == 200
        # a reverse proxy on this host relays outsiders from the loopback: what it relays is not local
        assert local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
        assert local.get("/metrics", headers={"Forwarded": "for=203.0.113.9"}).status_code == 403
    with TestClient(app, client=("::1", 50000)) as local6:
        assert local6.get("/metrics").status_code == 200


def test_the_scrape_rule_admits_no_person() -> None:
    """Signing in opens nothing on /metrics: staff of every role, even an administrator, are refused."""
    rule = access.rule_for("GET", "/metrics")
    for role in ("admin", "supervisor", "window"):
        assert not rule.allows(Actor("x", role, "housing"))
    assert access.may_scrape("127.0.0.1", False, "", "")
    assert access.may_scrape("::ffff:127.0.0.1", False, "", "")
    assert not access.may_scrape("10.0.0.8", False, "", "")  # no token configured: the loopback only
    assert not access.may_scrape("10.0.0.8", False, "", "")
    assert not access.may_scrape("10.0.0.8", False, "anything", "")  # an empty token opens nothing
    assert access.may_scrape("10.0.0.8", True, TOKEN, TOKEN)


# ------------------------------------------------------------------ the request id


def test_the_request_id_is_echoed_and_kept_only_when_well_formed(site: tuple[TestClient, Any]) -> None:
    client, _ = site
    assert client.get("/", headers={"X-Request-ID": "lb-7f3a:42"}).headers["x-request-id"] == "lb-7f3a:42"
    made = [client.get("/healthz", headers={"X-Request-ID": bad}).headers["x-request-id"]
            for bad in ("x" * 65, "two words", "a\tb", '"><script>', "")]  # fmt: skip
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in made) and len(set(made)) == len(made)
    assert re.fullmatch(r"[0-9a-f]{32}", client.get("/no-such-page").headers["x-request-id"])  # errors too


class Lines(logging.Handler):
    """Formats each record as it is emitted, in the emitting thread, as the server's handler does."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logs.JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


def test_every_line_logged_during_a_request_carries_its_id() -> None:
    """A line logged by a handler in a worker thread, and the request line, carry the request's id; the
    JSON line has every field the README lists."""
    worker = logging.getLogger("yangguang.test.worker")

    def handler(request: Request) -> PlainTextResponse:  # sync: Starlette runs it in a worker thread
        worker.warning("working on %s", request.path_params["n"])
        return PlainTextResponse("done")

    app = Starlette(routes=[Route("/work/{n}", handler)], middleware=[Middleware(Observe)])
    captured, root = Lines(), logging.getLogger()
    root.addHandler(captured)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        with TestClient(app) as client:
            assert client.get("/work/7?query_code=SECRET", headers={"X-Request-ID": "req-1"}).text == "done"
            worker.warning("after the request")
    finally:
        root.removeHandler(captured)
        root.setLevel(old_level)
    mine = [line for line in captured.lines if line.get("request_id") == "req-1"]
    assert [line["logger"] for line in mine] == ["yangguang.test.worker", "yangguang.access"]
    assert mine[0]["message"] == "working on 7" and mine[0]["level"] == "WARNING"
    request = mine[1]
    assert {k: request[k] for k in ("method", "route", "path", "status")} == {
        "method": "GET", "route": "/work/{n}", "path": "/work/7", "status": 200}  # fmt: skip
    assert isinstance(request["duration_ms"], float)
    assert datetime.fromisoformat(request["time"]).utcoffset() is not None  # ISO 8601 with its offset
    served = [line for line in captured.lines if not line["logger"].startswith("httpx")]  # not the client's
    assert "SECRET" not in json.dumps(served)  # the query string is never logged
    after = next(line for line in captured.lines if line["message"] == "after the request")
    assert "request_id" not in after  # nothing left behind once the request is answered


def test_log_lines_cannot_be_forged_through_the_path() -> None:
    record = logging.LogRecord("yangguang.access", logging.INFO, __file__, 1, "%s", (logs.printable("/a\nFAKE"),), None)
    assert "\n" not in logs.TextFormatter().format(record)
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.LogRecord("yangguang.web", logging.ERROR, __file__, 1, "bad", (), sys.exc_info())
    line = json.loads(logs.JsonFormatter().format(failed))
    assert "ValueError: boom" in line["exception"] and line["message"] == "bad"


# ------------------------------------------------------------------ /healthz


def test_healthz_says_ok_while_the_database_answers(site: tuple[TestClient, Any]) -> None:
    client, app = site
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["database"] == "ok"
    assert r.json()["catalogue_version"] == app.state.catalogue.version


def test_checks_asked_at_the_same_moment_share_one_answer(site: tuple[TestClient, Any]) -> None:
    """Two load balancers (or a person beside one) asking at once both hear "ok", from one read."""
    _, app = site
    probe = monitoring.Probe(app.state.service.db)

    async def together() -> list[str]:
        return list(await asyncio.gather(*(probe.check() for _ in range(5))))

    assert asyncio.run(together()) == ["ok"] * 5


@pytest.mark.sqlite_only
def test_healthz_is_503_when_the_sqlite_file_goes_bad(tmp_path: Path, reference: Any) -> None:
    """The file overwritten under the running server (a failed disk, a bad restore): the connections it
    holds now read garbage, and /healthz says so instead of "ok"."""
    path = tmp_path / "bad.db"
    app = create_app(REPO, path, reference.catalogue, sweep_seconds=0, reload_seconds=0)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        for part in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            size = part.stat().st_size
            with part.open("r+b") as f:  # same files, new content: the pool's open connections see it
                f.write(b"this is no longer a database" * (size // 28 + 1))
        r = client.get("/healthz")
        assert r.status_code == 503
        assert r.json()["status"] == "unavailable" and r.json()["database"] == "unreachable"
        assert "database" not in r.json()["status"]


def test_healthz_is_503_when_the_postgresql_database_goes_away(
    pg_url: str, tmp_path: Path, reference: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real PostgreSQL database dropped (its connections terminated) under the running server."""
    import engine.web.app as web_app

    real = ledger_db.open_engine
    monkeypatch.setattr(web_app, "open_engine", lambda _path, *a, **k: real(pg_url, *a, **k))
    app = create_app(REPO, tmp_path / "pg.db", reference.catalogue, sweep_seconds=0, reload_seconds=0)
    with TestClient(app) as client:
        assert client.get("/healthz").json()["database"] == "ok"
        base, name = pg_url.rsplit("/", 1)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        r = client.get("/healthz")
        assert r.status_code == 503 and r.json()["database"] == "unreachable"


def test_healthz_is_503_while_the_database_does_not_answer(
    pg_url: str, tmp_path: Path, reference: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database that hangs (here: a table locked by another session) is a 503 after the probe's
    timeout, not a load balancer's request waiting for ever; when it answers again, so does /healthz."""
    import engine.web.app as web_app

    real = ledger_db.open_engine
    monkeypatch.setattr(web_app, "open_engine", lambda _path, *a, **k: real(pg_url, *a, **k))
    app = create_app(REPO, tmp_path / "pg.db", reference.catalogue, sweep_seconds=0, reload_seconds=0)
    probe: monitoring.Probe = app.current.app.state.deps.extra["health"]
    probe.timeout = 0.5
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        with psycopg.connect(pg_url) as locker:
            locker.execute("LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE")
            r = client.get("/healthz")
            assert r.status_code == 503 and r.json()["database"] == "timeout"
            assert client.get("/healthz").status_code == 503  # the stuck check is not joined by another
            locker.rollback()  # the lock goes; the stuck check ends
        deadline = time.monotonic() + 30  # a wait for the first check's thread, not a measurement
        while client.get("/healthz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.get("/healthz").json()["database"] == "ok"
