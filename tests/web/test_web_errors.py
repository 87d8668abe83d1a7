"""The one error mapper (engine.web.errors): every error type once under /api (JSON in the one shape)
and once on an HTML page (the error page), each in Chinese by default and in English on request, with
its status, machine code and headers, and never a traceback.

The errors are raised by a small app wired as the site is (engine.web.errors.HANDLERS, LastResort, the
input guard and the locale middleware); the last tests check that the site itself (create_app) is.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from engine.base.dates import TZ
from engine.base.i18n import gettext
from engine.ledger.db import open_engine
from engine.ledger.errors import VersionConflict
from engine.ledger.migrations import migrate
from engine.rules import forms
from engine.rules.calendar import WorkCalendar
from engine.rules.cases.actions import NO_FEE_STATED
from engine.rules.cases.model import ActionRefused, FeeMismatch
from engine.rules.clock import ManualClock
from engine.service import auth, drafts, filing_limits, query_codes
from engine.service.cases import CaseService, ItemUnavailable, SubmissionInvalid, UnknownCase
from engine.service.upload_limits import LIMITS, NO_ROOM, TOO_OFTEN, Refused
from engine.web import csrf, errors, home
from engine.web.deps import Deps
from engine.web.errors import ApiError
from engine.web.middleware import InputGuard, LocaleMiddleware
from engine.web.render import renderer

REPO = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")


def _csrf_refused(request: Request) -> Exception:
    """What engine.web.csrf.check raises for a form without its token (every HTML form's CSRF refusal)."""
    try:
        csrf.check(request, FormData(), b"k" * 32, csrf.APPLY, "browser-cookie")
    except HTTPException as exc:
        return exc
    raise AssertionError("csrf.check let a form without a token through")


MONTH = "月份格式为 YYYY-MM，例如 2026-03。"  # a handler's own words, translated where it raises
MULTIPART = "请以 multipart/form-data 上传，文件放在字段 file 中。"
NO_MATERIAL = "本事项没有“%(material)s”这项材料，请删除该上传后重新提交"
TOO_MANY = "too_many_requests"
ACCEPT_ONLY = "只有待受理的申请可以受理"  # catalogue messages of the rules (engine.rules.cases.actions)


def _invalid(request: Request) -> Exception:
    return SubmissionInvalid([forms.field_error("materials.x", "unknown_field", NO_MATERIAL, material="x")])


def _disk_full(request: Request) -> Exception:
    return Refused(507, "insufficient_storage", gettext(NO_ROOM))  # said in the request's language as it is raised


#: (name, the exception, status, code, headers it must carry)
ERRORS: list[tuple[str, Callable[[Request], Exception], int, str, dict[str, str]]] = [
    ("http-404", lambda r: HTTPException(404), 404, "not_found", {}),
    ("http-detail", lambda r: HTTPException(400, gettext(MONTH)), 400, "bad_request", {}),
    ("csrf", _csrf_refused, 403, "forbidden", {}),
    ("api-error", lambda r: ApiError(415, "bad_type", gettext(MULTIPART)), 415, "bad_type", {}),
    ("throttled", lambda r: query_codes.Throttled(timedelta(minutes=15)), 429, TOO_MANY, {"retry-after": "900"}),
    ("filings", lambda r: filing_limits.TooMany(timedelta(minutes=50)), 429, TOO_MANY, {"retry-after": "3000"}),
    ("logins", lambda r: auth.LoginThrottled(timedelta(seconds=30)), 429, TOO_MANY, {"retry-after": "30"}),
    ("auth", lambda r: auth.AuthError(gettext(auth.LOGIN_FAILED)), 401, "unauthorized", {}),
    ("draft-filed", lambda r: drafts.Filed("QQ20260306000001", False), 409, "draft_filed", {}),
    ("disk-full", _disk_full, 507, "insufficient_storage", {}),
    ("uploads", lambda r: Refused(429, TOO_MANY, gettext(TOO_OFTEN) % {"seconds": 42}, 42), 429, TOO_MANY,
     {"retry-after": "42"}),
    ("invalid", _invalid, 422, "invalid", {}),
    ("unknown-case", lambda r: UnknownCase("no case with number 'QQ20260306000009'"), 404, "not_found", {}),
    ("unavailable", lambda r: ItemUnavailable("QQ-PSB-BA-001", "suspended", "D01", "12345"), 409,
     "item_unavailable", {}),
    ("conflict", lambda r: VersionConflict("QQ20260306000001", 1, 2), 409, "version_conflict", {}),
    ("forbidden", lambda r: ActionRefused("forbidden", NO_FEE_STATED), 403,
     "forbidden", {}),
    ("refused", lambda r: ActionRefused("conflict", ACCEPT_ONLY), 409, "conflict", {}),
    ("fee", lambda r: FeeMismatch(NO_FEE_STATED, None), 422,  # type: ignore[arg-type]
     "fee_mismatch", {}),
    ("internal", lambda r: RuntimeError("secret internals /srv/db"), 500, "internal_error", {}),
]  # fmt: skip
BY_NAME = {name: make for name, make, *_ in ERRORS}


async def _raise(request: Request) -> Response:
    raise BY_NAME[request.path_params["kind"]](request)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, reference: Any) -> Iterator[TestClient]:
    """An app with the site's error wiring and Deps on the reference catalogue, raising on request."""
    tmp = tmp_path_factory.mktemp("errors")
    cat = reference.catalogue
    db = open_engine(tmp / "cases.db")
    migrate(db)
    calendar = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
    service = CaseService(cat, db, ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ)), calendar)
    app = Starlette(
        routes=[Route("/api/raise/{kind}", _raise, methods=["GET"]), Route("/raise/{kind}", _raise, methods=["GET"])],
        exception_handlers=errors.HANDLERS,
        middleware=[
            Middleware(LocaleMiddleware),
            Middleware(InputGuard, errors.bad_text),
            Middleware(errors.LastResort),
        ],
    )
    app.state.deps = Deps(service, renderer(cat, calendar), b"k" * 32, tmp / "uploads", LIMITS, lambda r: None)
    with TestClient(app, raise_server_exceptions=True) as c:  # the mapper answers: nothing reaches the client raw
        yield c


def _api(client: TestClient, path: str, status: int, code: str, english: bool) -> tuple[dict[str, Any], Any]:
    r = client.get(path, headers={"Accept-Language": "en"} if english else {})
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"error"} and body["error"]["status"] == status and body["error"]["code"] == code
    assert set(body["error"]) <= {"status", "code", "message", "fields"}
    assert "Traceback" not in r.text and "secret" not in r.text
    return dict(body["error"]), r


def _page(client: TestClient, path: str, status: int, english: bool) -> tuple[str, Any]:
    r = client.get(path, headers={"Accept-Language": "en"} if english else {})
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert f'<html lang="{"en" if english else "zh-CN"}">' in r.text
    assert "Traceback" not in r.text and "secret" not in r.text
    shown = re.search(r"<h1>(\d+)</h1><p>(.*?)</p>", r.text, re.DOTALL)
    assert shown is not None and shown.group(1) == str(status)
    return shown.group(2), r


@pytest.mark.parametrize(("name", "status", "code", "headers"), [(n, s, c, h) for n, _, s, c, h in ERRORS])
def test_every_error_under_api_is_json_in_the_one_shape(
    client: TestClient, name: str, status: int, code: str, headers: dict[str, str]
) -> None:
    error, r = _api(client, f"/api/raise/{name}", status, code, english=False)
    assert CJK.search(error["message"]), error  # Chinese by default …
    assert all(r.headers[k] == v for k, v in headers.items())
    english, r = _api(client, f"/api/raise/{name}", status, code, english=True)
    assert not CJK.search(english["message"]), english  # … English on request, with nothing Chinese left
    assert all(r.headers[k] == v for k, v in headers.items())
    if name == "invalid":
        assert english["fields"] == [
            {"field": "materials.x", "code": "unknown_field", "message": english["fields"][0]["message"]}
        ]
        assert "“x”" in error["fields"][0]["message"] and not CJK.search(english["fields"][0]["message"])


@pytest.mark.parametrize(("name", "status", "headers"), [(n, s, h) for n, _, s, _, h in ERRORS])
def test_every_error_on_a_page_is_the_error_page(
    client: TestClient, name: str, status: int, headers: dict[str, str]
) -> None:
    chinese, r = _page(client, f"/raise/{name}", status, english=False)
    assert CJK.search(chinese), chinese
    assert all(r.headers[k] == v for k, v in headers.items())
    english, r = _page(client, f"/raise/{name}", status, english=True)
    assert english and not CJK.search(english), english
    assert all(r.headers[k] == v for k, v in headers.items())


def test_input_that_is_not_text_is_refused_before_routing(client: TestClient) -> None:
    """engine.web.middleware.InputGuard's refusal (errors.BadText): a 400 naming the field, JSON or the page."""
    error, _ = _api(client, "/api/raise/internal?q=%FF", 400, "bad_request", english=False)
    assert error["fields"] == [{"field": "q", "code": "invalid_text", "message": error["message"]}]
    assert error["message"].startswith("q ") and CJK.search(error["message"])
    english, _ = _api(client, "/api/raise/internal?q=%FF", 400, "bad_request", english=True)
    assert english["message"] == "q is not valid text (UTF-8 without lone surrogates)."
    shown, _ = _page(client, "/raise/internal?q=%FF", 400, english=False)
    assert "“q”含有无法识别的字符" in shown
    shown, _ = _page(client, "/raise/internal?q=%FF", 400, english=True)
    assert "“q” contains characters that cannot be read" in shown


def test_a_method_the_path_does_not_take_is_405_with_allow(client: TestClient) -> None:
    r = client.post("/api/raise/internal")
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
    assert r.json()["error"]["code"] == "method_not_allowed" and r.json()["error"]["message"].endswith("GET, HEAD。")
    r = client.post("/raise/internal", headers={"Accept-Language": "en"})
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD" and "does not accept" in r.text


def test_the_unexpected_is_logged_with_its_traceback(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="yangguang.web"):
        client.get("/api/raise/internal")
    (record,) = [r for r in caplog.records if r.name == "yangguang.web"]
    assert "GET /api/raise/internal" in record.getMessage() and record.exc_info is not None


def test_the_site_answers_through_the_mapper(tmp_path: Path, reference: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """create_app's versions are wired the same way: the router's 404, and a bug in a page or an API handler."""
    from engine.rules import notice
    from engine.web.app import create_app

    app = create_app(REPO, tmp_path / "site.db", reference.catalogue, sweep_seconds=0, reload_seconds=0)
    with TestClient(app) as site:
        missing = site.get("/api/no-such-thing", headers={"Accept-Language": "en"}).json()["error"]
        assert missing == {"status": 404, "code": "not_found", "message": "There is nothing at this address."}
        assert "没有这个网址" in site.get("/no-such-page").text

        def boom(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("secret internals /srv/db")

        monkeypatch.setattr(home, "departments", boom)  # the home page's own helper
        monkeypatch.setattr(notice, "build", boom)  # the guide of GET /api/items/CODE
        page = site.get("/")
        assert page.status_code == 500 and "服务器内部错误" in page.text and "secret" not in page.text
        api = site.get("/api/items/QQ-PSB-BA-001")
        assert api.status_code == 500 and api.json()["error"]["code"] == "internal_error"
        assert "secret" not in api.text and "Traceback" not in api.text
