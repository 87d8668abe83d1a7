"""Fixtures for the tests of the web app (tests/web); the pages' and the API's helpers are in
tests/support/ (``support.portal``, ``support.desk``, ``support.api``).

``_cheap_web_hashes``  autouse: every test here signs in with Argon2id's cheapest parameters.
``portal``             the whole app on the reference catalogue: (client, service, clock), Friday 2026-03-06 09:00.
``desk``               the same with the staff accounts of ``support.desk.STAFF``: (app, service, clock).
``make_api``           ``make_api(**limits)``: the JSON API alone with those upload limits (the defaults
                       otherwise) on one database with an account for each role: ``support.api.World``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pytest
from starlette.testclient import TestClient
from support import REPO
from support.api import ROLES, Client, World
from support.desk import PASSWORD, STAFF

from engine.base.dates import TZ
from engine.rules.clock import ManualClock
from engine.service.accounts import add_user
from engine.service.cases import CaseService
from engine.service.upload_limits import Limits
from engine.web import api
from engine.web.app import create_app


@pytest.fixture(autouse=True)
def _cheap_web_hashes(cheap_hashes: None) -> None:
    """Web tests sign in often; what the hash costs is tests/unit/service/test_auth.py's subject."""


@pytest.fixture
def portal(tmp_path: Path, reference: Any) -> Iterator[tuple[TestClient, Any, ManualClock]]:
    clk = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))
    app = create_app(REPO, tmp_path / "portal.db", reference.catalogue, clock=clk, sweep_seconds=0)
    with TestClient(app, follow_redirects=False) as client:
        yield client, app.state.service, clk


@pytest.fixture
def desk(tmp_path: Path, reference: Any) -> Iterator[tuple[Any, Any, ManualClock]]:
    clk = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))  # a Friday
    app = create_app(REPO, tmp_path / "desk.db", reference.catalogue, clock=clk, sweep_seconds=0)
    svc = app.state.service
    for username, role, dept in STAFF:
        add_user(svc.db, username, role, dept, PASSWORD)
    with TestClient(app, follow_redirects=False):
        yield app, svc, clk


@pytest.fixture
def make_api(case_service: CaseService, tmp_path: Path) -> Callable[..., World]:
    """An API app on one database with the given upload limits (the defaults otherwise)."""
    svc = case_service
    for role in ROLES:
        add_user(svc.db, role, role, "realestate", password=f"{role}-secret")
    add_user(svc.db, "culture-window", "window", "culture", password="culture-window-secret")

    def build(**limits: Any) -> World:
        app = api.standalone(svc, tmp_path / "uploads", Limits(**limits))
        return Client(app), svc, cast(ManualClock, svc.clock), tmp_path / "uploads"

    return build
