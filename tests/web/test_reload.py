"""Live reload over a real HTTP server (uvicorn in a thread, on 127.0.0.1) serving a copy of the
reference catalogue: a good edit goes live within seconds, a broken one never takes the site
down (requests keep succeeding while it is re-loaded), /admin and /healthz report it, fixing it
goes live, and a case filed before a switch keeps the item it was filed under."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx2 as httpx
import pytest
import support
import uvicorn
from markupsafe import escape
from support import copy_catalogue, postgres

from engine.base.dates import TZ
from engine.check.pipeline import load
from engine.rules import clock
from engine.rules.cases.model import Actor
from engine.rules.clock import ManualClock
from engine.service.accounts import add_user
from engine.service.samples import sample_application
from engine.web import reload
from engine.web.app import create_app

REPO = Path(__file__).resolve().parents[2]
SEAL, SEAL_FILE, SEAL_NAME = "QQ-PSB-BA-001", "items/psb/seal-engraving-filing.yaml", "公章刻制备案"
CULTURE, CULTURE_FILE = "QQ-CULTURE-XK-101", "items/culture/entertainment-venue-licence.yaml"
CULTURE_NAME = "娱乐场所经营许可（内资，新办）"
CULTURE_PROMISED = "  promised:\n    value: 10\n"  # legal is 20 working days
PASSWORD = "reload-me-please"
TIMEOUT = 15.0  # every wait below is bounded by this
T = TypeVar("T")


def edit(root: Path, rel: str, *changes: tuple[str, str]) -> None:
    """Make each (old, new) replacement in one file and save it atomically, as editors do: a poll
    never sees a half-written file. The temporary file is outside the catalogue (no stray file)."""
    path = root / rel
    text = path.read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text, f"{old!r} not in {rel}"
        text = text.replace(old, new, 1)
    fd, tmp = tempfile.mkstemp(dir=root.parent, prefix=".edit-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = TIMEOUT) -> T:
    return support.wait_for(what, probe, timeout)


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` under a real uvicorn server in a thread, on a socket bound here first (no port race)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for("the server to start", lambda: server.started or not thread.is_alive())
        assert thread.is_alive(), "the server stopped during start-up"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=TIMEOUT)
        sock.close()
    assert not thread.is_alive(), "the server did not stop"


@dataclass
class Site:
    base: str
    app: Any
    root: Path
    db: Path
    clock: ManualClock

    def get(self, path: str, client: httpx.Client | None = None) -> httpx.Response:
        return (client or httpx).get(self.base + path, timeout=10)  # type: ignore[no-any-return]

    def health(self) -> dict[str, Any]:
        return self.get("/healthz").json()  # type: ignore[no-any-return]

    def signed_in(self, username: str) -> httpx.Client:
        client = httpx.Client(base_url=self.base, follow_redirects=False, timeout=10)
        page = client.get("/desk/login")
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)  # type: ignore[union-attr]
        done = client.post("/desk/login", data={"username": username, "password": PASSWORD, "csrf": token})
        assert done.status_code == 303, done.text
        return client


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.setenv("YANGGUANG_CACHE_DIR", str(tmp_path / "cache"))
    root = copy_catalogue(tmp_path / "catalogue")
    clk = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))  # a Friday
    db = tmp_path / "var" / "yangguang.db"
    db.parent.mkdir()
    app = create_app(root, db, clock=clk, sweep_seconds=0, reload_seconds=0.2)
    for username, role, dept in (("admin", "admin", None), ("window.culture", "window", "culture")):
        add_user(app.state.service.db, username, role, dept, PASSWORD)
    with serving(app) as base:
        yield Site(base, app, root, db, clk)


def test_a_good_edit_goes_live_within_seconds(site: Site) -> None:
    before = site.health()
    assert before["pending_errors"] == 0 and SEAL_NAME in site.get(f"/items/{SEAL}").text
    edit(site.root, SEAL_FILE, (f"name: {SEAL_NAME}", f"name: {SEAL_NAME}（已改名）"))
    wait_for("the renamed item on its guide page", lambda: "（已改名）" in site.get(f"/items/{SEAL}").text)
    after = site.health()
    assert after["catalogue_version"] != before["catalogue_version"] and after["pending_errors"] == 0
    assert after["catalogue_version"] == load(site.root).catalogue.version
    assert site.app.state.catalogue.version == after["catalogue_version"]  # app.state follows the switch
    assert "（已改名）" in site.get("/").text  # the home page and search index are the new version's too
    # every switch is in the record, as start-up is
    rows = postgres.query(site.db, "select version from catalogue_versions order by id")
    assert rows == [(before["catalogue_version"],), (after["catalogue_version"],)]


@dataclass
class Hammer:
    """Requests sent without pause from another thread; every answer must be a good page."""

    site: Site
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(base_url=self.site.base, timeout=10) as client:
            while not self.stop.is_set():
                try:
                    page = client.get(f"/items/{SEAL}")
                    health = client.get("/healthz")
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                    continue
                if page.status_code != 200 or health.status_code != 200 or health.json()["status"] != "ok":
                    self.failures.append(f"{page.status_code} {health.status_code}")
                    continue
                self.names.update(re.findall(r"<h1>(.*?)</h1>", page.text))
                self.ok += 1


def problems_on_admin(client: httpx.Client, root: Path) -> tuple[str, list[str]]:
    """The admin page and the problems ``yangguang check`` finds now, as the page must list them."""
    return client.get("/admin").text, [str(escape(p.render())) for p in load(root).problems]


def test_a_broken_edit_keeps_the_last_good_version_live(site: Site) -> None:
    live = site.health()["catalogue_version"]
    admin = site.signed_in("admin")
    hammer = Hammer(site)
    thread = threading.Thread(target=hammer.run, daemon=True)
    thread.start()
    try:
        wait_for("the first requests", lambda: hammer.ok >= 5)
        # 1. a YAML syntax error
        edit(site.root, SEAL_FILE, (f"\nname: {SEAL_NAME}", f"\nname: [{SEAL_NAME}"))
        health = wait_for("pending errors on /healthz", lambda: (h := site.health())["pending_errors"] and h)
        assert health["catalogue_version"] == live
        page, expected = problems_on_admin(admin, site.root)
        assert expected and any("yaml-syntax" in p for p in expected)
        for problem in expected:  # file:line:column: kind: message, each one
            assert problem in page, problem
        assert re.search(r"items/psb/seal-engraving-filing\.yaml:\d+:\d+: error\[yaml-syntax\]", page)
        assert f"<h1>{SEAL_NAME}</h1>" in site.get(f"/items/{SEAL}").text  # the last good version

        # 2. another item promises more than the law allows; then the first is fixed, renamed
        # (in this order, so the catalogue on disk never checks clean in between)
        edit(site.root, CULTURE_FILE, (CULTURE_PROMISED, "  promised:\n    value: 30\n"))
        edit(site.root, SEAL_FILE, (f"\nname: [{SEAL_NAME}", f"\nname: {SEAL_NAME}（新）"))

        def only_time_limit() -> str | None:
            text = admin.get("/admin").text
            return text if "error[time-limit]" in text and "error[yaml-syntax]" not in text else None

        page = wait_for("only the time-limit error on /admin", only_time_limit)
        assert CULTURE_FILE in page
        assert site.health()["catalogue_version"] == live and site.health()["pending_errors"] >= 1
        assert f"<h1>{SEAL_NAME}</h1>" in site.get(f"/items/{SEAL}").text

        # 3. fixed: the new version goes live
        edit(site.root, CULTURE_FILE, ("  promised:\n    value: 30\n", CULTURE_PROMISED))
        renamed = f"<h1>{SEAL_NAME}（新）</h1>"
        wait_for("the fixed catalogue to go live", lambda: renamed in site.get(f"/items/{SEAL}").text)
        health = site.health()
        assert health["pending_errors"] == 0 and health["catalogue_version"] != live
        assert 'id="clean"' in admin.get("/admin").text
        wait_for("requests on the new version", lambda: f"{SEAL_NAME}（新）" in hammer.names)
    finally:
        hammer.stop.set()
        thread.join(timeout=TIMEOUT)
        admin.close()
    assert not hammer.failures, hammer.failures[:5]
    assert hammer.ok > 20 and hammer.names == {SEAL_NAME, f"{SEAL_NAME}（新）"}


def test_a_case_filed_before_a_switch_keeps_its_item(site: Site) -> None:
    old = site.app.state.service
    data, uploads = sample_application(old.catalogue, old.catalogue.items[CULTURE], {})
    number = old.submit(CULTURE, data, uploads, Actor("zhang", "applicant"), "before-switch").number

    edit(
        site.root,
        CULTURE_FILE,
        (CULTURE_PROMISED, "  promised:\n    value: 12\n"),
        (f"name: {CULTURE_NAME}", "name: 娱乐场所经营许可（改版）"),
    )
    wait_for("the edited item to go live", lambda: "（改版）" in site.get(f"/items/{CULTURE}").text)
    assert site.app.state.service is not old

    # the window clerk accepts the old case over the API, on the new version's service
    token = httpx.post(site.base + "/api/session", json={"username": "window.culture", "password": PASSWORD}).json()
    auth_header = {"Authorization": f"Bearer {token['token']}"}
    done = httpx.post(
        f"{site.base}/api/cases/{number}/actions",
        json={"action": "accept", "version": 1, "payload": {}},
        headers=auth_header,
    )
    assert done.status_code == 200, done.text
    view = done.json()
    assert view["state"] == "in_progress" and view["item"]["name"] == CULTURE_NAME  # its pinned item
    svc = site.app.state.service
    case, snap = svc.load(number)
    assert snap["item"]["time_limit"]["promised"]["value"] == 10
    accepted = case.accepted_at
    assert accepted is not None
    promised = clock.due(accepted, {"value": 10, "unit": "working_day"}, svc.calendar)
    assert view["deadlines"]["promised"] == promised.isoformat()

    # a new application uses the new version
    fresh = svc.submit(CULTURE, data, uploads, Actor("li", "applicant"), "after-switch").number
    _, fresh_snap = svc.load(fresh)
    assert fresh_snap["item"]["name"] == "娱乐场所经营许可（改版）"
    assert fresh_snap["item"]["time_limit"]["promised"]["value"] == 12


def test_live_reload_can_be_turned_off(tmp_path: Path, reference: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(reload.ENV, "0")
    root = copy_catalogue(tmp_path / "catalogue")
    app = create_app(root, tmp_path / "off.db", reference.catalogue, sweep_seconds=0)
    assert app.reload_seconds == 0
    with serving(app) as base:
        edit(root, SEAL_FILE, (f"name: {SEAL_NAME}", f"name: {SEAL_NAME}（不应上线）"))
        time.sleep(0.5)  # nothing to wait for: showing that nothing happens needs a pause
        assert "（不应上线）" not in httpx.get(f"{base}/items/{SEAL}").text and app.last is None
    monkeypatch.setenv(reload.ENV, "soon")
    with pytest.raises(ValueError, match=reload.ENV):
        reload.seconds_from_env()


def test_serve_refuses_a_bad_reload_interval(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.cli.main import main

    assert main(["serve", "--db", str(tmp_path / "x.db"), "--reload-seconds", "-1"]) == 1
    assert "--reload-seconds must be 0 (off) or more" in capsys.readouterr().err
    monkeypatch.setenv(reload.ENV, "-3")
    assert main(["serve", "--db", str(tmp_path / "x.db")]) == 1
    assert reload.ENV in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened


def test_a_county_server_follows_its_parents_edits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A five-level stack is watched layer by layer: the city's edit reaches the county's site, and a
    county override that breaks the city's rule stays off the site while /healthz reports it."""
    monkeypatch.setenv("YANGGUANG_CACHE_DIR", str(tmp_path / "cache"))
    city = copy_catalogue(tmp_path / "city")
    county = tmp_path / "county"
    shutil.copytree(REPO / "examples" / "county", county)
    edit(county, "center.yaml", ("extends: ../..", "extends: ../city"))
    db = tmp_path / "var" / "county.db"
    db.parent.mkdir()
    app = create_app(county, db, sweep_seconds=0, reload_seconds=0.2)
    with serving(app) as base:
        site = Site(base, app, county, db, ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ)))
        assert SEAL_NAME in site.get(f"/items/{SEAL}").text
        edit(city, SEAL_FILE, (f"name: {SEAL_NAME}", f"name: {SEAL_NAME}（市里改名）"))
        wait_for("the city's edit on the county's guide", lambda: "（市里改名）" in site.get(f"/items/{SEAL}").text)
        live = site.health()["catalogue_version"]
        # the county promises more than the legal limit: refused by the check, never served
        override = county / "overrides" / "QQ-REALESTATE-DJ-101.yaml"
        override.write_text(override.read_text(encoding="utf-8").replace("{value: 3,", "{value: 40,"), "utf-8")
        wait_for("the pending error", lambda: site.health()["pending_errors"] == 1)
        assert site.health()["catalogue_version"] == live
        assert "承诺时限3个工作日" in site.get("/items/QQ-REALESTATE-DJ-101").text
