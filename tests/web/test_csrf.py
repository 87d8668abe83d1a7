"""One keyed CSRF scheme for every form (engine.web.csrf): issue 15, "Query codes and the applicant's
side", hole 3 — the portal's token was sha256 of a cookie the client may choose, so anyone could
compute it for a cookie they planted. On the real app and a real SQLite file."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from support import REPO
from support.portal import PERMIT, csrf, submit

from engine.ledger.server_key import shared_key
from engine.service.accounts import add_user
from engine.web import csrf as csrf_
from engine.web.app import create_app
from engine.web.portal.browser import BROWSER_COOKIE

CHOSEN = "a" * 32  # a browser cookie the client picked itself (any 20–64 letters or digits are taken)
OLD_TOKEN = hashlib.sha256(f"csrf:{CHOSEN}".encode()).hexdigest()[:32]  # the unkeyed token of before


@pytest.fixture
def site(tmp_path: Path, reference: Any) -> Iterator[tuple[Any, TestClient, Any, bytes]]:
    app = create_app(REPO, tmp_path / "csrf.db", reference.catalogue, sweep_seconds=0)
    key = shared_key(app.db)  # the server's key, kept in its database (engine.ledger.server_key)
    with TestClient(app, follow_redirects=False) as client:
        yield app, client, app.state.service, key


def chosen_browser(app: Any) -> TestClient:
    return TestClient(app, follow_redirects=False, cookies={BROWSER_COOKIE: CHOSEN})


def test_a_token_computed_from_a_chosen_cookie_is_refused_everywhere(site: Any) -> None:
    """Hole 3: with the cookie chosen, the old unkeyed token was accepted by the portal, the
    progress pages and the staff login; the keyed token cannot be computed without the key."""
    app, _, _, key = site
    browser = chosen_browser(app)
    posted = {
        f"/apply/{PERMIT}/applicant": {"applicant.type": "natural_person"},
        "/progress": {"number": "QQ20260306000001", "query_code": "2222-2222-22"},
        "/desk/login": {"username": "nobody", "password": "nothing-at-all"},
    }
    for path, data in posted.items():
        r = browser.post(path, data={"csrf": OLD_TOKEN, **data})
        assert r.status_code == 403 and "表单已失效" in r.text, path
    # the server's own token for that cookie is keyed, and differs per purpose
    page = browser.get(f"/apply/{PERMIT}/applicant")
    assert csrf(page.text) == csrf_.token(key, csrf_.APPLY, CHOSEN) != OLD_TOKEN
    assert csrf_.token(key, csrf_.APPLY, CHOSEN) != csrf_.token(bytes(32), csrf_.APPLY, CHOSEN)
    assert not csrf_.valid(bytes(32), csrf_.token(key, csrf_.APPLY, CHOSEN), csrf_.APPLY, CHOSEN)


def test_a_token_serves_its_own_purpose_only(site: Any) -> None:
    """Hole 3: a portal form's token opens neither the progress lookup nor the staff login."""
    _, client, _, _ = site
    portal_token = csrf(client.get(f"/apply/{PERMIT}/applicant").text)
    progress_token = csrf(client.get("/progress").text)
    login_token = csrf(client.get("/desk/login").text)
    assert len({portal_token, progress_token, login_token}) == 3
    lookup = {"number": "QQ20260306000001", "query_code": "2222-2222-22"}
    assert client.post("/progress", data={"csrf": portal_token, **lookup}).status_code == 403
    assert client.post("/progress", data={"csrf": progress_token, **lookup}).status_code == 404  # its own: checked
    login = {"username": "nobody", "password": "nothing-at-all"}
    assert client.post("/desk/login", data={"csrf": progress_token, **login}).status_code == 403
    assert client.post("/desk/login", data={"csrf": login_token, **login}).status_code == 401


def test_a_form_sent_from_another_site_is_refused_even_with_its_token(site: Any) -> None:
    """Hole 3: a browser that says the form came from another site (or a neighbouring subdomain,
    which could also have planted the cookie) is refused before the token is looked at."""
    _, client, _, _ = site
    token = csrf(client.get("/progress").text)
    lookup = {"csrf": token, "number": "QQ20260306000001", "query_code": "2222-2222-22"}
    for where in ("cross-site", "same-site"):
        assert client.post("/progress", data=lookup, headers={"Sec-Fetch-Site": where}).status_code == 403
    assert client.post("/progress", data=lookup, headers={"Sec-Fetch-Site": "same-origin"}).status_code == 404


def test_staff_forms_carry_the_sessions_own_keyed_token(site: Any) -> None:
    """Hole 3: staff pages (desk, supervision, admin) use the same scheme, bound to the session:
    another session's token, or a login form's, is refused."""
    app, _, svc, key = site
    add_user(svc.db, "sup", "supervisor", None, password="supervisor-secret-1")
    sessions = []
    for _ in range(2):
        staff = TestClient(app, follow_redirects=False)
        login = staff.get("/desk/login")
        form = {"csrf": csrf(login.text), "username": "sup", "password": "supervisor-secret-1"}
        r = staff.post("/desk/login", data=form)
        assert r.status_code == 303
        sessions.append(staff)
    first, second = sessions
    page = first.get("/supervision/corrections")
    token = csrf(page.text)
    assert token == csrf_.token(key, csrf_.STAFF, first.cookies["yg_staff"])
    assert csrf(second.get("/supervision/corrections").text) != token
    body = {"department": "housing", "card": "", "reason": "", "days": "5"}
    assert second.post("/supervision/corrections", data={"csrf": token, **body}).status_code == 403
    assert first.post("/supervision/corrections", data={"csrf": token, **body}).status_code == 422  # checked
    login_token = csrf(first.get("/desk/login").text)
    assert first.post("/supervision/corrections", data={"csrf": login_token, **body}).status_code == 403


def test_the_applicants_own_forms_still_work(site: Any) -> None:
    """Hole 3: the portal and the progress pages accept their own tokens (submit, find, rate)."""
    _, client, svc, _ = site
    number, code = submit(client, svc)
    page = client.get("/progress")
    r = client.post("/progress", data={"csrf": csrf(page.text), "number": number, "query_code": code})
    assert r.status_code == 303 and r.headers["location"] == f"/progress/{number}"
