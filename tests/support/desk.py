"""The staff desk as the tests drive it: the accounts the ``desk`` fixture (tests/web/conftest.py) creates,
their one password, a browser signed in as one of them, and an action taken on a case's page."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from .portal import csrf

PASSWORD = "correct horse battery"  # every account the desk fixture creates
STAFF = [
    ("window.housing", "window", "housing"),
    ("undertaker.housing", "undertaker", "housing"),
    ("reviewer.housing", "reviewer", "housing"),
    ("decider.housing", "decider", "housing"),
    ("issuer.housing", "issuer", "housing"),
    ("head.housing", "head", "housing"),
    ("window.realestate", "window", "realestate"),
    ("decider.realestate", "decider", "realestate"),
    ("undertaker.realestate", "undertaker", "realestate"),
    ("reviewer.realestate", "reviewer", "realestate"),
    ("issuer.realestate", "issuer", "realestate"),
    ("supervisor", "supervisor", None),
]


def browser(app: Any, username: str | None = None, password: str = PASSWORD) -> TestClient:
    """A fresh browser (its own cookies) on ``app``, signed in as ``username`` (with ``password``) if given."""
    client = TestClient(app, follow_redirects=False)
    if username:
        r = login(client, username, password)
        assert r.status_code == 303, r.text
    return client


def login(client: TestClient, username: str, password: str, **extra: str) -> Any:
    """The desk's login form posted with its CSRF token; the answer (303 when signed in)."""
    page = client.get("/desk/login")
    data = {"username": username, "password": password, "csrf": csrf(page.text), **extra}
    return client.post("/desk/login", data=data)


def act(client: TestClient, number: str, action: str, **fields: str) -> Any:
    """The case page's form for ``action`` posted with its version and CSRF token; the answer (303 when done)."""
    page = client.get(f"/desk/cases/{number}")
    assert page.status_code == 200, page.text
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version, f"no action form on the page for {action}"
    body = {"csrf": csrf(page.text), "version": version.group(1), "action": action, **fields}
    return client.post(f"/desk/cases/{number}/act", data=body)
