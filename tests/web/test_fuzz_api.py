"""schemathesis over the whole JSON API (issue 15, "bad input never answers 500"): the real app
(engine.web.app.create_app: every middleware, the input guard, the error handlers) served by uvicorn on
127.0.0.1, driven by the document it serves at /openapi.json, once without credentials and once with
a staff (administrator) token. Every check schemathesis has is on: no 5xx, every status code,
content type, header and body as documented, schema-valid requests accepted and invalid ones refused,
405 with Allow for methods the document does not list.

Bounded for `make test` and CI: few examples per operation, a fixed seed (derandomize), no example
database, no shrinking; about half a minute on 2 cores. A failure prints the request to replay
(curl) and which check failed: fix the server where it is wrong, the document where it is wrong.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from argon2 import PasswordHasher, profiles
from hypothesis import HealthCheck, Phase, settings

from engine.rules.clock import SystemClock
from engine.service import auth
from engine.service.accounts import add_user
from engine.web.app import create_app
from engine.web.openapi import OPENAPI

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = 10  # per operation and generation mode: enough to cross every documented constraint once
PASSWORD = "fuzz-admin-secret"

Live = tuple[str, str, Callable[[], str]]  # base URL, a staff token, a way to open another session
BOUNDED = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, reference: Any) -> Iterator[Live]:
    """The real app on a free port of 127.0.0.1 (uvicorn in a thread of this process, so the
    password hasher can be the cheap test one), and an administrator's bearer token."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(auth, "HASHER", PasswordHasher.from_parameters(profiles.CHEAPEST))
        db = tmp_path_factory.mktemp("fuzz") / "yangguang.db"
        clock = SystemClock()
        app = create_app(REPO, db, reference.catalogue, clock=clock, sweep_seconds=0, reload_seconds=0)
        add_user(app.state.service.db, "fuzz.admin", "admin", password=PASSWORD)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 30
            while not server.started:
                assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.05)
            login = urllib.request.Request(
                base + "/api/session",
                data=b'{"username": "fuzz.admin", "password": "%s"}' % PASSWORD.encode(),
                headers={"content-type": "application/json"},
            )
            with urllib.request.urlopen(login, timeout=10) as r:
                token = json.loads(r.read())["token"]
            yield base, token, lambda: auth.login(app.state.service.db, "fuzz.admin", PASSWORD, clock.now())
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()


# Loaded from the module, not through a fixture: schemathesis' lazy (fixture) schemas break on pytest 9.2
# (they rename the test node through a private attribute). The served document is the same object,
# checked below and in tests/web/test_api.py.
schema = schemathesis.openapi.from_dict(OPENAPI)


def test_the_server_serves_the_document_fuzzed_here(live: Live) -> None:
    with urllib.request.urlopen(live[0] + "/openapi.json", timeout=10) as r:
        assert json.loads(r.read()) == OPENAPI


# Where a schema-valid request may rightly be refused, because the rule cannot be written in JSON Schema:
NOT_STATABLE = {
    # an upload's type is judged by its content (engine.service.uploads.sniff): random bytes are refused (415)
    "/api/uploads",
    # `to` must be after `from` and at most 366 days later: a relation between two parameters (400)
    "/api/supervision/summary",
    # `draft` must be a token the server issued and still holds (POST /api/drafts; 422 unknown_draft)
    "/api/cases",
    "/api/chains",
}


def _excluded(case: Any) -> list[Any]:
    return [schemathesis.checks.positive_data_acceptance] if case.operation.path in NOT_STATABLE else []


@schema.parametrize()
@BOUNDED
def test_the_api_without_credentials(case: Any, live: Live) -> None:
    """Hole 5: every operation, anonymous; 0 server errors, 0 mismatches with the document."""
    case.call_and_validate(base_url=live[0], excluded_checks=_excluded(case))


@schema.parametrize()
@BOUNDED
def test_the_api_with_a_staff_token(case: Any, live: Live) -> None:
    """Hole 5: every operation with an administrator's bearer token (reaches the supervision export).
    Logging out gets a session of its own, so the shared token stays valid for the other operations."""
    token = live[2]() if case.method == "DELETE" and case.path == "/api/session" else live[1]
    auth = {"Authorization": f"Bearer {token}"}
    case.call_and_validate(base_url=live[0], headers=auth, excluded_checks=_excluded(case))
