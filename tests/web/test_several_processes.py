"""Two real server processes (uvicorn subprocesses on 127.0.0.1, as each worker of ``yangguang serve
--workers N`` runs: engine.web.app.from_env) on one database — one SQLite file, and one PostgreSQL
database — and one uploads folder: a person signed in on one acts on the other with a form of the
first, a file uploaded to one is filed and fetched on the other, both serve a catalogue edited on disk,
and exactly one of them sweeps until it is killed, when the other takes the sweep over.
``yangguang serve --workers 2`` answers from two processes, one of them sweeping."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx2 as httpx
import pytest
import support
from support import REPO, copy_catalogue, free_port, postgres
from support.api import RESALE
from support.portal import PDF

from engine.ledger.db import open_engine
from engine.ledger.migrations import migrate
from engine.service.accounts import add_user
from engine.service.samples import sample_application

SEAL, SEAL_FILE, SEAL_NAME = "QQ-PSB-BA-001", "items/psb/seal-engraving-filing.yaml", "公章刻制备案"
WINDOW, PASSWORD = "window.realestate", "correct horse battery"
TIMEOUT = 20.0  # every wait below is bounded by this
T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = TIMEOUT) -> T:
    return support.wait_for(what, probe, timeout)


@dataclass
class Server:
    base: str
    proc: subprocess.Popen[bytes]
    log: Path

    def health(self) -> dict[str, Any]:
        return httpx.get(self.base + "/healthz", timeout=5).json()  # type: ignore[no-any-return]

    def up(self) -> bool:
        try:
            return httpx.get(self.base + "/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            if self.proc.poll() is not None:
                pytest.fail(f"the server stopped:\n{self.log.read_text(errors='replace')[-3000:]}")
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # uvicorn's orderly shutdown: the sweep lease is given back
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start(command: list[str], env: dict[str, str], log: Path, port: int) -> Server:
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Server(f"http://127.0.0.1:{port}", proc, log)


def settings(tmp: Path, db: str, catalogue: Path, name: str) -> dict[str, str]:
    return {
        **os.environ,
        "YANGGUANG_CATALOG": str(catalogue),
        "YANGGUANG_DB": db,
        "YANGGUANG_UPLOADS": str(tmp / "uploads"),  # the one folder every process sees
        "YANGGUANG_SWEEP_SECONDS": "0.3",
        "YANGGUANG_RELOAD_SECONDS": "0.3",
        "YANGGUANG_CACHE_DIR": str(tmp / f"cache-{name}"),
    }


def database(store: str, tmp: Path) -> str:
    if store == "sqlite":
        return str(tmp / "var" / "yangguang.db")
    base = postgres.server()
    if base is None:
        if os.environ.get(postgres.REQUIRE_ENV):
            pytest.fail(f"{postgres.REQUIRE_ENV} is set but no PostgreSQL server: {postgres.why_not()}")
        pytest.skip(f"no PostgreSQL server: {postgres.why_not()}")
    return postgres.fresh_database(base)


@dataclass
class Pair:
    one: Server
    other: Server
    catalogue: Path


@pytest.fixture(
    scope="module", params=[pytest.param("sqlite", marks=pytest.mark.sqlite_only), "postgresql"]
)  # fmt: skip
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp(f"two-{request.param}")
    db = database(request.param, tmp)
    engine = open_engine(db)
    migrate(engine)
    add_user(engine, WINDOW, "window", "realestate", PASSWORD)
    engine.dispose()
    catalogue = copy_catalogue(tmp / "catalogue")
    servers = []
    for name in ("one", "other"):
        port = free_port()
        command = [sys.executable, "-m", "uvicorn", "--factory", "engine.web.app:from_env", "--port", str(port)]
        servers.append(start(command, settings(tmp, db, catalogue, name), tmp / f"{name}.log", port))
    try:
        for server in servers:
            wait_for("the server to start", server.up, timeout=60)
        yield Pair(servers[0], servers[1], catalogue)
    finally:
        for server in servers:
            server.stop()


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "every form carries a CSRF token"
    return found.group(1)


def test_a_file_uploaded_to_one_process_is_filed_and_fetched_on_the_other_by_staff_signed_in_on_either(
    pair: Pair, reference: Any
) -> None:
    one, other = pair.one.base, pair.other.base
    api = httpx.Client(timeout=10)
    draft = api.post(one + "/api/drafts").json()["draft"]
    data, needed = sample_application(reference.catalogue, reference.catalogue.items[RESALE], {})
    files = {}
    for material in needed:
        sent = api.post(one + "/api/uploads", files={"file": ("a.pdf", PDF)}, headers={"X-Draft-Token": draft})
        assert sent.status_code == 201, sent.text
        files[material] = [sent.json()["upload_id"]]
    body = {"item": RESALE, "data": data, "uploads": files, "idempotency_key": "two", "draft": draft}
    filed = api.post(other + "/api/cases", json=body)  # the other process finds the uploads of the first
    assert filed.status_code == 201, filed.text
    number = filed.json()["number"]
    assert api.post(one + "/api/cases", json=body).status_code == 200  # the same application, not a second

    browser = httpx.Client(follow_redirects=False, timeout=10)  # one browser: its cookies go to both
    form = browser.get(one + "/desk/login")
    login = {"username": WINDOW, "password": PASSWORD, "csrf": csrf(form.text)}
    signed = browser.post(other + "/desk/login", data=login)
    assert signed.status_code == 303, signed.text  # the login form of one process, posted to the other
    page = browser.get(one + f"/desk/cases/{number}")  # the session the other process began
    assert page.status_code == 200, page.text
    upload = next(iter(files.values()))[0]
    fetched = browser.get(other + f"/desk/cases/{number}/files/{upload}")
    assert fetched.status_code == 200 and fetched.content == PDF  # stored by one, read by the other
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version
    act = {"csrf": csrf(page.text), "version": version.group(1), "action": "accept"}
    done = browser.post(other + f"/desk/cases/{number}/act", data=act)  # the form of one, posted to the other
    assert done.status_code == 303, done.text
    session = api.post(one + "/api/session", json={"username": WINDOW, "password": PASSWORD}).json()["token"]
    view = api.get(other + f"/api/cases/{number}", headers={"Authorization": f"Bearer {session}"}).json()
    assert view["version"] == int(version.group(1)) + 1 and view["events"][-1]["action"] == "accept"


def test_both_processes_serve_a_catalogue_edited_on_disk(pair: Pair) -> None:
    before = pair.one.health()["catalogue_version"]
    path = pair.catalogue / SEAL_FILE
    text = path.read_text(encoding="utf-8")
    assert SEAL_NAME in text
    tmp = pair.catalogue.parent / ".edit"
    tmp.write_text(text.replace(SEAL_NAME, SEAL_NAME + "（新版）", 1), encoding="utf-8")
    os.replace(tmp, path)  # as editors save: never half-written
    for server in (pair.one, pair.other):
        wait_for("the new version live", lambda s=server: s.health()["catalogue_version"] != before)
        page = httpx.get(server.base + f"/items/{SEAL}", timeout=10)
        assert SEAL_NAME + "（新版）" in page.text
    assert pair.one.health()["catalogue_version"] == pair.other.health()["catalogue_version"]


def test_one_process_sweeps_and_when_it_is_killed_the_other_takes_over(pair: Pair) -> None:
    def sweeper() -> tuple[Server, Server] | None:
        flags = [(s, s.health()["sweeper"]) for s in (pair.one, pair.other)]
        held = [s for s, f in flags if f]
        assert len(held) <= 1, "two processes sweep at once"
        return (held[0], next(s for s in (pair.one, pair.other) if s is not held[0])) if held else None

    holder, survivor = wait_for("a sweeper", sweeper)
    for _ in range(5):  # several sweeps later: still exactly one
        assert sweeper() is not None
        time.sleep(0.1)
    holder.proc.send_signal(signal.SIGKILL)  # no orderly shutdown: nothing gives the lease back
    holder.proc.wait(timeout=10)
    wait_for("the other process to take the sweep over", lambda: survivor.health()["sweeper"])


@pytest.mark.sqlite_only
def test_serve_with_two_workers_answers_from_two_processes_one_of_them_sweeping(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "YANGGUANG_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "engine", "serve", "--catalog", str(REPO), "--db", str(tmp_path / "y.db"),
               "--port", str(port), "--workers", "2", "--sweep-seconds", "0.3", "--reload-seconds", "0"]  # fmt: skip
    server = start(command, env, tmp_path / "serve.log", port)
    try:
        wait_for("the server to start", server.up, timeout=60)
        seen: set[bool] = set()  # each request on a new connection: the kernel hands it to either worker

        def both() -> bool:
            seen.add(server.health()["sweeper"])
            return len(seen) == 2

        wait_for("answers from the sweeping worker and the other one", both)
    finally:
        server.stop()
