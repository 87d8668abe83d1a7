"""The web app over a real HTTP server (uvicorn in a subprocess) and a real SQLite file."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    db = tmp_path_factory.mktemp("db") / "yangguang.db"
    port = free_port()
    env = {**os.environ, "YANGGUANG_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", "serve", "--db", str(db), "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read().decode() if proc.stdout else ""
                    pytest.fail(f"server did not start:\n{out}")
                time.sleep(0.2)
        yield base, db
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_home_lists_items_by_department(server: tuple[str, Path], reference) -> None:  # type: ignore[no-untyped-def]
    status, html = get(server[0] + "/")
    assert status == 200
    assert "齐齐哈尔市政务服务中心" in html
    for doc in reference.catalogue.items.values():
        assert f'href="/items/{doc.data["code"]}"' in html


def test_search_finds_chinese_words(server: tuple[str, Path]) -> None:
    status, html = get(server[0] + "/?q=" + urllib.parse.quote("刻章"))
    assert status == 200
    assert "公章刻制备案" in html


def test_search_ranks_the_item_named_by_the_words_first(server: tuple[str, Path]) -> None:
    status, html = get(server[0] + "/?q=" + urllib.parse.quote("施工"))
    assert status == 200
    links = re.findall(r'<li><a href="/items/([A-Z0-9-]+)">(.*?)</a>', html)
    assert links[0][0] == "QQ-HOUSING-XK-003" and "<mark>施工</mark>" in links[0][1]
    assert "共找到" in html
    status, html = get(server[0] + "/?q=" + urllib.parse.quote('"NEAR(*'))  # hostile input: no error
    assert status == 200 and "没有找到相关事项" in html


def test_item_guide_shows_the_one_time_notice(server: tuple[str, Path], reference) -> None:  # type: ignore[no-untyped-def]
    doc = reference.catalogue.items["QQ-PSB-BA-001"]
    status, html = get(server[0] + "/items/QQ-PSB-BA-001")
    assert status == 200
    for mat in doc.data["materials"]:
        assert mat["name"] in html
    assert "即办" in html
    assert "印章遗失登报声明" in html and "刻制原因为遗失补刻时必需" in html


def test_errors_have_one_shape(server: tuple[str, Path]) -> None:
    status, body = get(server[0] + "/api/items/NOPE")
    assert status == 404
    assert json.loads(body) == {"error": {"status": 404, "code": "not_found", "message": "没有这个事项：NOPE"}}
    status, body = get(server[0] + "/api/items/NOPE?lang=en")
    assert json.loads(body) == {"error": {"status": 404, "code": "not_found", "message": "No item with code NOPE"}}
    status, html = get(server[0] + "/items/NOPE")
    assert status == 404 and "没有这个事项" in html and "Traceback" not in html


def test_api_lists_every_item(server: tuple[str, Path], reference) -> None:  # type: ignore[no-untyped-def]
    status, body = get(server[0] + "/api/items")
    data = json.loads(body)
    assert status == 200
    assert data["version"] == reference.catalogue.version
    assert {i["code"] for i in data["items"]} == set(reference.catalogue.items)


def test_sqlite_file_records_the_served_catalogue_version(server: tuple[str, Path], reference) -> None:  # type: ignore[no-untyped-def]
    with sqlite3.connect(server[1]) as conn:
        rows = conn.execute("select version, items from catalogue_versions").fetchall()
    assert rows == [(reference.catalogue.version, len(reference.catalogue.items))]


def test_serve_refuses_a_broken_catalogue(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine.cli.main",
            "serve",
            "--catalog",
            str(REPO / "tests/fixtures/checks/enum"),
            "--db",
            str(tmp_path / "x.db"),
            "--port",
            str(free_port()),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "items/a.yaml:3:7: error[enum]" in proc.stderr
    assert not (tmp_path / "x.db").exists()


def post(url: str, body: dict) -> tuple[int, str]:  # type: ignore[type-arg]
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_case_api_over_http(server: tuple[str, Path]) -> None:
    status, body = get(server[0] + "/openapi.json")
    assert status == 200 and "/api/cases" in json.loads(body)["paths"]
    status, body = post(server[0] + "/api/session", {"username": "nobody", "password": "x"})
    assert status == 401 and json.loads(body)["error"]["status"] == 401
    status, body = post(
        server[0] + "/api/cases", {"item": "QQ-PSB-BA-001", "data": {}, "uploads": {}, "idempotency_key": "t-1"}
    )
    err = json.loads(body)["error"]
    assert status == 422 and err["fields"] and all({"field", "code", "message"} <= set(f) for f in err["fields"])


def test_openapi_documents_every_api_route_of_the_app(tmp_path: Path) -> None:
    from starlette.routing import Route

    from engine.web.app import create_app
    from engine.web.openapi import OPENAPI

    app = create_app(catalog=REPO, db=tmp_path / "x.db")
    served = {
        (r.path, m.lower())
        for r in app.routes
        if isinstance(r, Route) and r.path.startswith("/api/")
        for m in (r.methods or set()) - {"HEAD"}
    }
    documented = {(path, m) for path, ops in OPENAPI["paths"].items() for m in ops if path.startswith("/api/")}
    assert served == documented


def test_the_server_applies_deemed_acceptance_by_itself(tmp_path: Path, reference) -> None:  # type: ignore[no-untyped-def]
    """Nobody acts on an application for five working days: the running server records it as
    accepted as of the day of receipt (Art. 32), without any request arriving."""
    import time as _time
    from datetime import datetime

    from starlette.testclient import TestClient

    from engine.base.dates import TZ
    from engine.rules.clock import ManualClock
    from engine.service.samples import sample_application
    from engine.web.app import create_app

    clk = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))  # a Friday
    app = create_app(REPO, tmp_path / "s.db", reference.catalogue, clock=clk, sweep_seconds=0.05)
    code = "QQ-CULTURE-XK-101"
    data, uploads = sample_application(reference.catalogue, reference.catalogue.items[code], {})
    with TestClient(app) as client:
        svc = app.state.service
        number = svc.submit(code, data, uploads, svc_applicant(), "sweep-1").number
        # the fifth working day after Friday 03-06 is Friday 03-13; on Monday 03-16 it has passed
        clk.set(datetime(2026, 3, 16, 9, 0, tzinfo=TZ))
        deadline = _time.monotonic() + 10
        while _time.monotonic() < deadline:
            view = client.get(f"/api/cases/{number}", params={"query_code": svc_query_code(svc, number)}).json()
            if view["state"] != "submitted":
                break
            _time.sleep(0.05)
        case, _ = svc.load(number)
    assert case.state == "in_progress" and case.deemed_accepted
    assert case.accepted_at == case.received_at  # dated back to the day of receipt


def svc_applicant():  # type: ignore[no-untyped-def]
    from engine.rules.cases.model import Actor

    return Actor("zhang", "applicant")


def svc_query_code(svc, number: str) -> str:  # type: ignore[no-untyped-def]
    from engine.ledger.cases import get_case
    from engine.ledger.db import read_only

    with read_only(svc.db) as conn:
        row = get_case(conn, number)
    assert row is not None
    return str(row["query_code"])


def test_item_guide_draws_its_steps_as_a_flowchart(server: tuple[str, Path], reference) -> None:  # type: ignore[no-untyped-def]
    import xml.etree.ElementTree as ET

    status, html = get(server[0] + "/items/QQ-NR-XK-001")
    assert status == 200
    svg = html[html.index("<svg") : html.index("</svg>") + len("</svg>")]
    root = ET.fromstring(svg)
    text = "".join(root.itertext())
    for step in reference.catalogue.items["QQ-NR-XK-001"].data["steps"]:
        assert step["name"] in text
    assert "不计入办理时限" in text and root.get("role") == "img"


def test_every_response_carries_the_security_headers(server: tuple[str, Path]) -> None:
    import urllib.request

    for path in ("/", "/items/QQ-PSB-BA-001", "/api/items", "/nope"):
        try:
            with urllib.request.urlopen(server[0] + path) as r:
                headers = r.headers
        except urllib.error.HTTPError as exc:
            headers = exc.headers
        assert "script-src 'self'" in headers["Content-Security-Policy"], path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"


def test_every_page_route_is_documented_in_the_readme(tmp_path: Path) -> None:
    """Docs tested against the code: each route prefix of the web app appears in README.md."""
    from starlette.routing import Mount, Route

    from engine.web.app import create_app

    app = create_app(catalog=REPO, db=tmp_path / "x.db", sweep_seconds=0)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = []
    for route in app.routes:
        if isinstance(route, Route | Mount):
            prefix = "/" + route.path.strip("/").split("/")[0].split("{")[0]
            if prefix not in ("/",) and f"`{prefix}" not in readme and f"{prefix}/" not in readme:
                missing.append(route.path)
    assert not missing, f"document these routes in README.md: {missing}"


def test_a_chain_page_lists_its_stages_and_one_set_of_materials(server: tuple[str, Path], reference) -> None:  # type: ignore[no-untyped-def]
    status, html = get(server[0] + "/chains/organization")
    assert status == 200
    chain = reference.catalogue.chains["organization"].data
    stages = html.split('id="stages"')[1].split("</ol>")[0]
    for stage in chain["stages"]:
        assert stage["name"] in stages
    materials = html.split('id="materials"')[1].split("</ol>")[0]
    assert "营业执照" not in materials  # issued by the first stage, never asked for again
    assert "关键路径" in html and "/chains/organization" in get(server[0] + "/")[1]
    assert "承诺总时限：3个工作日" in html and "working day" not in html  # said "3 working days" on Chinese pages
    assert get(server[0] + "/chains/nope")[0] == 404
