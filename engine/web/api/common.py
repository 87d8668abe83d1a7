"""What every resource of the JSON API shares: reading a JSON body, checking its fields, who is
asking (a staff bearer token or a query code), and the words of its refusals.

Every refusal is raised (engine.web.errors.ApiError, or a service's own exception) and answered by
engine.web.errors in the one shape, in the request's language.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from starlette.requests import Request

from engine.base import addresses, input_guard, wording
from engine.base.i18n import N_
from engine.base.i18n import gettext as _
from engine.rules.cases.model import Actor
from engine.rules.forms import FieldError
from engine.service import access, auth, query_codes
from engine.service.cases import CaseService, UnknownCase
from engine.web.deps import deps
from engine.web.errors import ApiError, BadText

MAX_JSON = 1024 * 1024
APPLICANT = Actor("applicant", "applicant")
APPLICANT_ACTIONS = frozenset({"supplement", "evaluate"})
SYSTEM_ACTIONS = frozenset({"deemed_accept"})  # the engine's timed rules only (CaseService.sweep)

NOT_FOUND_FOR_APPLICANT = N_("没有与此编号和查询码相符的办件。")
NEED_CREDENTIALS = N_("请登录（发送工作人员的登录令牌）或提供办件的查询码。")
#: a case this member of staff may not see gets the answer of a case that does not exist (engine.service.access)
NOT_FOUND_FOR_STAFF = N_("没有这个办件。")
SESSION_EXPIRED = N_("登录已过期或无效，请重新登录。")
TOO_DEEP = N_("JSON 嵌套过深（至多 {depth} 层）。")
TOO_LARGE_JSON = N_("JSON 请求体过大（上限 {kb} KB）。")
NOT_JSON = N_("请求体不是有效的 JSON：{error}")
NOT_OBJECT = N_("请求体须为 JSON 对象。")
FIELDS = N_("请求缺少或含有无效的字段。")
REQUIRED = N_("请提供 {key}（1 至 {max_len} 个字符的文本）。")
UPLOADS_MAP = N_("{key} 须为从材料编号到上传编号列表的对象。")
DATA_OBJECT = N_("data 须为按表单分组的对象。")


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object: 413 past MAX_JSON, 400 when it is not JSON, not an object, nested too
    deep or holds text that is not text (engine.base.input_guard)."""
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > MAX_JSON:
            raise ApiError(413, "too_large", _(TOO_LARGE_JSON).format(kb=MAX_JSON // 1024))
    if input_guard.too_deep(bytes(raw)):
        raise ApiError(400, "bad_request", _(TOO_DEEP).format(depth=input_guard.MAX_DEPTH))
    try:
        body = json.loads(bytes(raw) or b"{}", parse_constant=_not_json, parse_float=_finite)
    except RecursionError:  # the depth scan should have caught it; never a 500 all the same
        raise ApiError(400, "bad_request", _(TOO_DEEP).format(depth=input_guard.MAX_DEPTH)) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_request", _(NOT_JSON).format(error=exc)) from exc
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", _(NOT_OBJECT))
    field = input_guard.bad_text(body)  # one walk: no handler ever holds a string it cannot encode
    if field is not None:
        raise BadText(field)
    return body


def _not_json(name: str) -> Any:
    """``NaN``, ``Infinity`` and ``-Infinity`` are not JSON (RFC 8259 §6); Python's parser takes them."""
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    """A JSON number too large for a float (``1e999``) would be stored as infinity, which no JSON
    writer can write back: refused as the body's error, not a 500 at the store."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is out of range")
    return value


def field_errors(*errors: tuple[str, str, str]) -> ApiError:
    """422 naming each (field, code, message) of ``errors``."""
    return ApiError(422, "invalid", _(FIELDS), [FieldError(field, message, code) for field, code, message in errors])


def string(body: Mapping[str, Any], key: str, max_len: int = 200) -> str:
    """The text ``body[key]``: 1 to ``max_len`` characters, not only spaces (engine.web.openapi says the same)."""
    value = body.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise field_errors((key, "required", _(REQUIRED).format(key=key, max_len=max_len)))
    return value


def uploads_map(value: Any, key: str) -> dict[str, list[str]]:
    """``{material id: [upload id, …]}`` as sent in ``key`` (none: empty)."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(u, str) for u in v) for k, v in value.items()
    ):
        raise field_errors((key, "invalid", _(UPLOADS_MAP).format(key=key)))
    return {k: list(v) for k, v in value.items()}


def application(body: Mapping[str, Any]) -> tuple[str, dict[str, Any], dict[str, list[str]]]:
    """(idempotency key, form data, uploads) of a submission body, or 422 for each bad part."""
    key = string(body, "idempotency_key", 200)
    data = body.get("data", {})
    if not isinstance(data, dict):
        raise field_errors(("data", "invalid", _(DATA_OBJECT)))
    return key, data, uploads_map(body.get("uploads"), "uploads")


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")  # engine/web/openapi.py states the same pattern


def full_date(value: str) -> date:
    """An RFC 3339 full-date (``fromisoformat`` alone also takes 20260101); ValueError otherwise."""
    if not _DATE.fullmatch(value):
        raise ValueError(value)
    return date.fromisoformat(value)


def bearer(request: Request) -> str | None:
    scheme, _sep, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def iso(value: datetime | None) -> str | None:
    return wording.iso_local(value)  # local time with its offset (+08:00), as a person reads it


def staff_of(request: Request) -> Actor | None:
    """The member of staff whose bearer token the request sends (None without one); 401 for a token
    that is unknown or expired. Reads the database: call it in a worker thread."""
    token = bearer(request)
    if token is None:
        return None
    service = deps(request).service
    actor = auth.actor_for_token(service.db, token, service.clock.now())
    if actor is None:
        raise ApiError(401, "unauthorized", _(SESSION_EXPIRED))
    return actor


def check_query_code(request: Request, number: str, query_code: str) -> None:
    """404 for a wrong code or an unknown number alike; 429 (query_codes.Throttled) past the limits."""
    service = deps(request).service
    if not query_codes.check(service.db, number, query_code, addresses.of(request), service.clock.now()):
        raise ApiError(404, "not_found", _(NOT_FOUND_FOR_APPLICANT))


def staff_may_see(service: CaseService, staff: Actor | None, number: str) -> bool:
    """engine.service.access decides; an unknown number is simply not seen (the same answer)."""
    if staff is None:
        return False
    try:
        case, _snap = service.load(number)
    except UnknownCase:
        return False
    return access.may_see(staff, case)


def refuse(staff: Actor | None) -> ApiError:
    """Neither staff allowed to see it nor a query code: the answer to a stranger's request."""
    if staff is None:
        return ApiError(403, "forbidden", _(NEED_CREDENTIALS))
    return ApiError(404, "not_found", _(NOT_FOUND_FOR_STAFF))  # as if it did not exist: nothing to probe
