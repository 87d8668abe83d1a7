"""The HTML pages' handlers stand alone: each is a module-level function that reaches its catalogue
version only through ``request.app.state.deps`` (engine.web.deps). Here one handler of each module is
imported and called directly, with a request on a bare test app (no routes, no middleware) that holds
nothing but the ``Deps`` of a real server's live version; staff handlers are given the signed-in person
the guard (engine.web.desk.staff) would have given them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from engine.base.dates import TZ
from engine.rules.cases.model import Actor
from engine.rules.clock import ManualClock
from engine.service import access, auth
from engine.service.accounts import add_user
from engine.web import admin, supervision
from engine.web.app import create_app
from engine.web.deps import Deps
from engine.web.desk import cases as desk_cases
from engine.web.desk import chains as desk_chains
from engine.web.desk import login
from engine.web.desk.staff import STAFF_COOKIE, Staff, staff_route
from engine.web.portal import apply, progress

REPO = Path(__file__).resolve().parents[2]
PERMIT = "QQ-HOUSING-XK-003"  # 建筑工程施工许可证核发 (tests/web/test_portal.py)
ADMIN = Staff(Actor("admin", "admin"), "an-admin-session")
SUPERVISOR = Staff(Actor("supervisor", "supervisor"), "a-supervisor-session")
FRONT_DESK = Staff(Actor("desk", access.FRONT_DESK, "service"), "a-front-desk-session")
WINDOW = Staff(Actor("window.housing", "window", "housing"), "a-window-session")


@pytest.fixture
def bare(tmp_path: Path, reference: Any) -> Iterator[Starlette]:
    """A test app holding only the live version's Deps, taken from a real server."""
    clk = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))
    live = create_app(REPO, tmp_path / "handlers.db", reference.catalogue, clock=clk, sweep_seconds=0, reload_seconds=0)
    app = Starlette()
    app.state.deps = live.current.app.state.deps
    assert isinstance(app.state.deps, Deps)
    yield app


def request(
    app: Starlette, path: str, params: dict[str, str] | None = None, *, query: str = "", cookie: str = ""
) -> Request:
    """A GET of ``path`` on ``app``, as the router would hand it to the endpoint."""
    headers = [(b"host", b"testserver")] + ([(b"cookie", cookie.encode())] if cookie else [])
    scope = {
        "type": "http", "app": app, "method": "GET", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": query.encode(), "path_params": params or {}, "headers": headers, "scheme": "http",
        "server": ("testserver", 80), "client": ("127.0.0.1", 50000), "http_version": "1.1",
    }  # fmt: skip

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    return Request(scope, receive)


def call(handler: Callable[..., Awaitable[Response]], *args: Any) -> Response:
    return asyncio.run(handler(*args))


def text(response: Response) -> str:
    return bytes(response.body).decode("utf-8")


def test_the_portal_starts_an_application(bare: Starlette) -> None:
    response = call(apply.start, request(bare, f"/apply/{PERMIT}", {"code": PERMIT}))
    assert response.status_code == 303 and response.headers["location"].startswith(f"/apply/{PERMIT}/")


def test_the_progress_page_asks_for_the_number_and_code(bare: Starlette) -> None:
    response = call(progress.find, request(bare, "/progress"))
    assert response.status_code == 200 and 'name="query_code"' in text(response)
    assert response.headers["cache-control"] == "no-store" and "yg_browser=" in response.headers["set-cookie"]


def test_the_login_page_carries_its_csrf_token(bare: Starlette) -> None:
    response = call(login.login_page, request(bare, "/desk/login", query="next=/desk"))
    assert response.status_code == 200 and 'name="csrf" value="' in text(response)


def test_the_worklist_and_a_proxy_filing(bare: Starlette) -> None:
    page = call(desk_cases.worklist_page, request(bare, "/desk"), WINDOW)
    assert page.status_code == 200 and 'class="staff-nav"' in text(page) and page.headers["cache-control"] == "no-store"
    proxy = call(desk_cases.proxy, request(bare, "/desk/proxy", query=f"item={PERMIT}"), WINDOW)
    assert proxy.status_code == 303 and proxy.headers["location"] == f"/apply/{PERMIT}"


def test_the_chain_applications_waiting(bare: Starlette) -> None:
    response = call(desk_chains.chain_list, request(bare, "/desk/chains"), FRONT_DESK)
    assert response.status_code == 200 and "<h1>链条申请统一受理</h1>" in text(response)


def test_the_supervision_case_list(bare: Starlette) -> None:
    response = call(supervision.case_list, request(bare, "/supervision/cases", query="light=violation"), SUPERVISOR)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"


def test_admin_and_its_preview_of_a_form(bare: Starlette) -> None:
    page = call(admin.index, request(bare, "/admin"), ADMIN)
    assert page.status_code == 200 and f'href="/admin/items/{PERMIT}/form"' in text(page)
    form = call(admin.form_preview, request(bare, f"/admin/items/{PERMIT}/form", {"code": PERMIT}), ADMIN)
    assert form.status_code == 200 and "preview-not-submittable" in text(form)


def test_the_one_guard_of_staff_pages(bare: Starlette) -> None:
    """staff_route: no session, to the login page; a session of a role the rule does not name, 403."""
    endpoint = staff_route("GET", "/supervision/cases", supervision.case_list).endpoint
    anonymous = call(endpoint, request(bare, "/supervision/cases"))
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/desk/login?next=/supervision/cases"
    deps: Deps = bare.state.deps
    db, password = deps.service.db, "a-password-of-theirs"
    add_user(db, "window.housing", "window", "housing", password)
    token = auth.start_session(db, "window.housing", password, deps.service.clock.now()).token
    with pytest.raises(HTTPException) as refused:  # the app's error page says it (tests/web/test_access.py)
        call(endpoint, request(bare, "/supervision/cases", cookie=f"{STAFF_COOKIE}={token}"))
    assert refused.value.status_code == 403
