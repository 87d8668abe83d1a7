"""Bad input never answers 500 (issue 15): deep JSON, text that is not text, 405 with Allow, and an
OpenAPI document that states what the server enforces. The real app (create_app) on a real SQLite
file, through Starlette's TestClient."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from engine.base import input_guard
from engine.web.app import create_app
from engine.web.openapi import OPENAPI

REPO = Path(__file__).resolve().parents[2]
RESALE = "QQ-REALESTATE-DJ-102"


@pytest.fixture
def client(tmp_path: Path, reference: Any) -> Iterator[TestClient]:
    app = create_app(REPO, tmp_path / "y.db", reference.catalogue, sweep_seconds=0, reload_seconds=0)
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as c:
        yield c


def post_raw(client: TestClient, path: str, body: bytes, language: str = "") -> Any:
    """POST ``body`` as JSON; ``language`` as the browser's Accept-Language (the API answers in it)."""
    headers = {"content-type": "application/json"} | ({"accept-language": language} if language else {})
    return client.post(path, content=body, headers=headers)


def api_error(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["status"] == status
    return dict(body["error"])


# ------------------------------------------------------------------ hole 1: deep JSON


@pytest.mark.parametrize("opener,closer", [(b"[", b"]"), (b'{"a":', b"}")])
@pytest.mark.parametrize("path", ["/api/session", "/api/cases", "/api/chains", "/api/cases/X/actions"])
def test_a_100000_deep_body_is_refused_with_400(client: TestClient, path: str, opener: bytes, closer: bytes) -> None:
    """Hole 1: a 100,000-deep array or object answered 500 (RecursionError in json.loads)."""
    deep = opener * 100_000 + b"1" + closer * 100_000
    err = api_error(post_raw(client, path, b'{"x": ' + deep + b"}"), 400)
    assert err["code"] == "bad_request" and "32" in err["message"] and "嵌套过深" in err["message"]
    err = api_error(post_raw(client, path, b'{"x": ' + deep + b"}", "en"), 400)
    assert err["code"] == "bad_request" and "32" in err["message"] and "too deep" in err["message"]


def test_the_depth_limit_is_exact_and_ignores_brackets_in_strings(client: TestClient) -> None:
    """Hole 1: 32 levels (the body's own object counts as one) pass, 33 do not; brackets inside a
    string are text, so a username of 10,000 '[' is judged by its length (422), not as nesting."""
    assert not input_guard.too_deep(b"[" * 32 + b"]" * 32)
    assert input_guard.too_deep(b"[" * 33 + b"]" * 33)
    assert not input_guard.too_deep(b'{"a": "' + b"[{" * 5000 + b'\\"]"}')
    ok = b'{"item": "X", "idempotency_key": "k", "data": ' + b'{"a":' * 31 + b"1" + b"}" * 31 + b"}"
    assert api_error(post_raw(client, "/api/cases", ok), 404)["code"] == "not_found"  # depth 32: read on
    deeper = b'{"item": "X", "idempotency_key": "k", "data": ' + b'{"a":' * 32 + b"1" + b"}" * 32 + b"}"
    assert "too deep" in api_error(post_raw(client, "/api/cases", deeper, "en"), 400)["message"]
    bracketed = json.dumps({"username": "[" * 10_000, "password": "x"}).encode()
    assert api_error(post_raw(client, "/api/session", bracketed), 422)["fields"][0]["field"] == "username"


# ------------------------------------------------------------------ hole 2: text that is not text


@pytest.mark.parametrize(
    "path,body,field",
    [
        ("/api/session", b'{"username": "\\ud800", "password": "x"}', "username"),
        ("/api/session", b'{"username": "w", "password": "a\\udfffb"}', "password"),
        ("/api/cases", b'{"item": "%s", "idempotency_key": "\\ud800", "data": {}}' % RESALE.encode(),
         "idempotency_key"),
        ("/api/cases", b'{"item": "X", "idempotency_key": "k", "data": {"applicant": {"name": "\\ud83d"}}}',
         "data.applicant.name"),
        ("/api/cases", b'{"item": "X", "idempotency_key": "k", "data": {"\\ud800": 1}}', "data"),
        ("/api/cases", b'{"item": "X", "idempotency_key": "k", "data": {}, "uploads": {"m": ["\\udc00"]}}',
         "uploads.m[0]"),
        ("/api/chains", b'{"chain": "\\ud800", "idempotency_key": "k", "data": {}}', "chain"),
        ("/api/cases/X/actions", b'{"action": "evaluate", "version": 1, "query_code": "\\ud800"}', "query_code"),
    ],
)  # fmt: skip
def test_a_lone_surrogate_in_a_json_string_is_a_400_naming_the_field(
    client: TestClient, path: str, body: bytes, field: str
) -> None:
    """Hole 2: "\\ud800" parsed to a str that raised UnicodeEncodeError (500) when hashed or stored."""
    err = api_error(post_raw(client, path, body), 400)
    assert [f["field"] for f in err["fields"]] == [field] and err["fields"][0]["code"] == "invalid_text"
    assert err["message"].startswith(field) and "UTF-8" in err["message"]


@pytest.mark.parametrize(
    "url,field",
    [
        ("/api/cases/ABC?query_code=%ED%A0%80", "query_code"),  # a surrogate, UTF-8-encoded: not UTF-8
        ("/api/chains/ABC?query_code=%FF", "query_code"),
        ("/api/cases/%FF", "path"),
        ("/api/supervision/summary?from=2026-01-01&to=%C3", "to"),
    ],
)
def test_urls_that_are_not_utf8_are_refused_not_rewritten(client: TestClient, url: str, field: str) -> None:
    """Hole 2: percent-encoded bytes that are not UTF-8 became U+FFFD, so a query code silently
    became another one; now the request is refused with the field named."""
    err = api_error(client.get(url), 400)
    assert err["fields"][0]["field"] == field


def test_forms_and_page_urls_that_are_not_utf8_get_the_error_page(client: TestClient) -> None:
    """Hole 2, pages: desk login, the progress lookup and a portal page refuse a form field whose
    bytes are not UTF-8 with the 400 page (in the reader's language), before any handler reads it."""
    form = {"content-type": "application/x-www-form-urlencoded"}
    r = client.post("/desk/login", content=b"csrf=x&username=%ED%A0%80&password=pw", headers=form)
    assert r.status_code == 400 and "“username”含有无法识别的字符" in r.text and "Traceback" not in r.text
    r = client.post("/progress", content=b"number=A&query_code=%FF%FE", headers=form)
    assert r.status_code == 400 and "“query_code”" in r.text
    r = client.post(f"/apply/{RESALE}/applicant", content=b"applicant.name=%E7%8E", headers=form)
    assert r.status_code == 400 and "“applicant.name”" in r.text
    r = client.get("/items/%FF?lang=en")
    assert r.status_code == 400 and "contains characters that cannot be read" in r.text
    assert "含有" not in r.text  # English pages have no Chinese
    ok = client.post("/progress", content="number=A&query_code=中文".encode(), headers=form)
    assert ok.status_code != 400  # good UTF-8 passes through to the handler (here: its CSRF check)


# ------------------------------------------------------------------ hole 3: 405 with Allow


def test_405_answers_say_which_methods_the_path_has(client: TestClient) -> None:
    """Hole 3: engine/web/app.py dropped the router's Allow header, and a path with one route per method
    (POST and DELETE /api/session, GET and POST /desk/login) named only the first."""
    r = client.put("/api/session")
    assert api_error(r, 405)["code"] == "method_not_allowed" and r.headers["allow"] == "DELETE, POST"
    r = client.delete("/api/cases")
    assert api_error(r, 405)["message"].endswith("请使用 POST。") and r.headers["allow"] == "POST"
    r = client.delete("/api/cases", headers={"accept-language": "en"})
    assert api_error(r, 405)["message"].endswith("use POST") and r.headers["allow"] == "POST"
    r = client.put("/desk/login")
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD, POST"
    assert "此网址不支持这种请求方法" in r.text


# ------------------------------------------------------------------ hole 4: the document states the rules


def _string_limits() -> set[tuple[str, int]]:
    """Every ``string(body, "key", N)`` call in engine/web/api/ (engine.web.api.common.string), read from its source."""
    found = set()
    for source in sorted((REPO / "engine" / "web" / "api").glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "string":
                key, limit = node.args[1], node.args[2]
                assert isinstance(key, ast.Constant) and isinstance(limit, ast.Constant), ast.unparse(node)
                found.add((key.value, limit.value))
    return found


def _request_properties() -> dict[str, list[dict[str, Any]]]:
    props: dict[str, list[dict[str, Any]]] = {}
    for ops in OPENAPI["paths"].values():
        for op in ops.values():
            schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            for name, prop in (schema or {}).get("properties", {}).items():
                props.setdefault(name, []).append(prop | {"_required": name in schema.get("required", [])})
    return props


def test_every_text_limit_of_the_api_is_in_the_openapi_document() -> None:
    """Hole 4: the document said only "string" where the server refuses blank or over-long text."""
    limits = _string_limits()
    assert ("username", 64) in limits and ("idempotency_key", 200) in limits  # the reading works
    props = _request_properties()
    for key, limit in limits:
        assert key in props, f"{key} is checked by the API but not documented"
        for prop in props[key]:
            assert prop["maxLength"] == limit and prop["minLength"] == 1 and prop["_required"], (key, prop)
            assert prop.get("pattern") == r"\S" or "enum" in prop, (key, prop)


def test_every_operation_documents_its_error_answers() -> None:
    """Hole 4: 400 (bad text or JSON), 405 with Allow, 413 for JSON bodies, 429 where logins and query
    codes are limited, each with the one error schema."""
    for path, ops in OPENAPI["paths"].items():
        for method, op in ops.items():
            responses = op["responses"]
            for code in ("400", "405", "500"):
                assert responses[code]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"
                }, (path, method, code)
            assert responses["405"]["headers"]["Allow"]["required"], (path, method)
            if "requestBody" in op and "application/json" in op["requestBody"]["content"]:
                assert "413" in responses, (path, method)
    assert "429" in OPENAPI["paths"]["/api/session"]["post"]["responses"]
    assert "Retry-After" in OPENAPI["paths"]["/api/session"]["post"]["responses"]["429"]["headers"]
    action = OPENAPI["paths"]["/api/cases/{number}/actions"]["post"]
    assert action["requestBody"]["content"]["application/json"]["schema"]["properties"]["action"]["maxLength"] == 64


# ------------------------------------------------------------------ found by the review of issue 15


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e999"])
def test_numbers_json_has_not_are_refused_with_400(client: TestClient, number: bytes) -> None:
    """NaN, Infinity and 1e999 were parsed by Python (not JSON: RFC 8259 §6) and answered 500 when
    the case was stored; now the body is refused as not valid JSON, in the one error shape."""
    body = b'{"item": "' + RESALE.encode() + b'", "idempotency_key": "k", "data": {"applicant": {"name": '
    err = api_error(post_raw(client, "/api/cases", body + number + b"}}}"), 400)
    assert err["code"] == "bad_request" and "不是有效的 JSON" in err["message"]
    err = api_error(post_raw(client, "/api/cases", body + number + b"}}}", "en"), 400)
    assert err["code"] == "bad_request" and "not valid JSON" in err["message"]
    ok = post_raw(client, "/api/cases", body + b'1.5e3}}, "uploads": {}}')
    assert ok.status_code == 422  # an ordinary number is read on (and judged by the form)


def test_a_cookie_that_is_not_ascii_is_no_grant_and_no_500(client: TestClient) -> None:
    """A progress-page grant cookie with a non-ASCII character answered 500 (compare_digest on text)."""
    cookie = "yg_browser=" + "a" * 24 + "; yg_case_QQ20260101000001=\u00e9abc"
    r = client.get("/progress/QQ20260101000001", headers=[(b"cookie", cookie.encode("latin-1"))])
    assert r.status_code == 303 and r.headers["location"].startswith("/progress?number=")


@pytest.mark.parametrize("number", ["\u00b2", "\u0661", "1" + "0" * 5000])
@pytest.mark.parametrize(
    "path", ["/transparency/checkpoints?limit={}", "/announcements?page={}", "/announcements.json?limit={}"]
)
def test_digits_python_reads_but_int_refuses_are_no_500(client: TestClient, path: str, number: str) -> None:
    """Review of issue 15: str.isdigit takes ² and ١, and int() refuses 4,300 digits or more: both
    answered 500 on public pages; now a number is ASCII digits, at most 12 of them."""
    r = client.get(path.format(number))
    assert r.status_code in (200, 400), (path, r.status_code)


def test_a_grant_cookie_with_odd_digits_is_no_grant(client: TestClient) -> None:
    for expires in ("\u00b2\u00b2", "9" * 5001):
        cookie = "yg_browser=" + "a" * 24 + f"; yg_case_QQ20260101000001={expires}.abc"
        r = client.get("/progress/QQ20260101000001", headers=[(b"cookie", cookie.encode("latin-1"))])
        assert r.status_code == 303
