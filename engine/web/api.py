"""The case JSON API: sessions, uploads, submission, reading and acting on cases, item forms.

``api_routes(service, upload_dir)`` returns Starlette routes to mount in any app; every
handler maps its errors itself, so the shape is the same wherever they are mounted::

    {"error": {"status": 422, "code": "invalid", "message": "...", "fields": [{"field", "code", "message"}]}}

(``fields`` only for field errors). A failure the code did not expect is logged and
answered with a generic 500; no traceback reaches the client.

Access: staff send ``Authorization: Bearer <token>`` from ``POST /api/session``.
Applicants have no accounts: they submit without a token and reach their case with its
query code. Reading a case without a token and without ``query_code`` is 403; an unknown
number and a wrong query code both answer the same 404, so numbers cannot be probed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.base import addresses, input_guard, stated, wording
from engine.base.dates import TZ
from engine.base.i18n import gettext
from engine.base.money import YUAN, amounts
from engine.catalogue.fields import item_fields
from engine.ledger.db import dumps, read_only
from engine.ledger.errors import VersionConflict
from engine.ledger.events import events_of
from engine.rules import forms
from engine.rules.cases.model import ActionRefused, Actor, FeeMismatch
from engine.rules.cases.steps import open_steps
from engine.rules.forms import FieldError
from engine.service import access, auth, drafts, filing_limits, provisional, query_codes, upload_limits
from engine.service import chains as chain_service
from engine.service import uploads as uploads_
from engine.service.cases import CaseService, ItemUnavailable, SubmissionInvalid, UnknownCase
from engine.service.upload_limits import LIMITS, Limits, Owner, Refused, check_quota, check_room
from engine.service.uploads import MAX_UPLOAD
from engine.supervision import corrections, rankings
from engine.supervision.counts import anomaly_counts, event_counts, labels, max_visits_of, open_counts
from engine.web.openapi import OPENAPI

log = logging.getLogger("yangguang.api")

MAX_JSON = 1024 * 1024
APPLICANT = Actor("applicant", "applicant")
APPLICANT_ACTIONS = frozenset({"supplement", "evaluate"})
SYSTEM_ACTIONS = frozenset({"deemed_accept"})  # the engine's timed rules only (CaseService.sweep)
NOT_FOUND_FOR_APPLICANT = "没有与此编号和查询码相符的办件 / no case with this number and query code"
NEED_CREDENTIALS = "请登录或提供查询码 / send a staff bearer token or the case's query_code"
#: a case this member of staff may not see gets the answer of a case that does not exist (engine.service.access)
NOT_FOUND_FOR_STAFF = "没有这个办件 / no case with this number"
TOO_DEEP = (
    f"JSON 嵌套过深（至多 {input_guard.MAX_DEPTH} 层）/ JSON nested too deep (at most {input_guard.MAX_DEPTH} levels)"
)
INTERNAL = "服务器内部错误，请稍后再试 / internal error; please try again later"
NEED_DRAFT = "请先用 POST /api/drafts 取得草稿令牌，在 X-Draft-Token 中发送 / send X-Draft-Token from POST /api/drafts"
DRAFT_FILED = (
    "此草稿已提交为申请 {number}；补正材料请以 ?case= 上传，新申请请另开草稿 / this draft filed application "
    "{number}: upload a supplement with ?case=, or open a new draft for another application"
)
UNKNOWN_DRAFT = "草稿令牌无效或已过期，请重新取得 / unknown or expired draft token; get a new one"

_STATUS_CODE = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "too_many_requests",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields


class _TooLarge(Exception):
    pass


def error_response(status: int, code: str, message: str, fields: list[FieldError] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"status": status, "code": code, "message": message}
    if fields is not None:
        body["fields"] = [{"field": f.field, "code": f.code, "message": f.message} for f in fields]
    return JSONResponse({"error": body}, status_code=status)


def _refused_status(exc: ActionRefused) -> int:
    return {"forbidden": 403, "conflict": 409}.get(exc.code, 422)


Handler = Callable[[Request], Awaitable[Response]]


def _guarded(fn: Handler) -> Handler:
    """The one place that turns exceptions into the error shape."""

    @functools.wraps(fn)
    async def endpoint(request: Request) -> Response:
        try:
            return await fn(request)
        except ApiError as e:
            return error_response(e.status, e.code, e.message, e.fields)
        except query_codes.Throttled as e:  # too many wrong query codes (engine.service.query_codes)
            response = error_response(429, "too_many_requests", str(e))
            response.headers["Retry-After"] = str(e.seconds)
            return response
        except filing_limits.TooMany as e:  # this address filed its hour's or day's applications
            response = error_response(429, "too_many_requests", str(e))
            response.headers["Retry-After"] = str(e.seconds)
            return response
        except drafts.Filed as e:  # the draft filed the other kind of application meanwhile
            return error_response(409, "draft_filed", DRAFT_FILED.format(number=e.number))
        except _TooLarge:
            return error_response(413, "too_large", f"请求过大，上限 {MAX_UPLOAD // 2**20} MB / request too large")
        except Refused as e:  # an upload past a limit (413, 429) or a nearly full disk (507)
            response = error_response(e.status, e.code, e.message)
            if e.retry_after is not None:
                response.headers["Retry-After"] = str(e.retry_after)
            return response
        except auth.LoginThrottled as e:
            response = error_response(429, "too_many_requests", str(e))
            response.headers["Retry-After"] = str(math.ceil(e.retry_after.total_seconds()))
            return response
        except auth.AuthError as e:
            return error_response(401, "unauthorized", str(e))
        except SubmissionInvalid as e:
            return error_response(422, "invalid", f"申请有 {len(e.errors)} 处需要修改 / fix the fields", e.errors)
        except UnknownCase as e:
            return error_response(404, "not_found", str(e))
        except ItemUnavailable as e:
            return error_response(409, "item_unavailable", str(e))
        except VersionConflict as e:
            msg = f"the case changed since you read it (version {e.expected}, now {e.actual}); reload it"
            return error_response(409, "version_conflict", f"办件已被他人更新 / {msg}")
        except FeeMismatch as e:
            return error_response(422, "fee_mismatch", e.message)
        except ActionRefused as e:
            return error_response(_refused_status(e), e.code, e.message)
        except HTTPException as e:
            response = error_response(e.status_code, _STATUS_CODE.get(e.status_code, "error"), str(e.detail))
            response.headers.update(e.headers or {})  # e.g. Allow on a 405
            return response
        except Exception:
            log.exception("unexpected error in %s %s", request.method, request.url.path)
            return error_response(500, "internal_error", INTERNAL)

    return endpoint


# ------------------------------------------------------------------------------ helpers


async def _json_body(request: Request) -> dict[str, Any]:
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > MAX_JSON:
            raise ApiError(413, "too_large", f"JSON 请求体上限 {MAX_JSON // 1024} KB / JSON body too large")
    if input_guard.too_deep(bytes(raw)):
        raise ApiError(400, "bad_request", TOO_DEEP)
    try:
        body = json.loads(bytes(raw) or b"{}", parse_constant=_not_json, parse_float=_finite)
    except RecursionError:  # the depth scan should have caught it; never a 500 all the same
        raise ApiError(400, "bad_request", TOO_DEEP) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_request", f"请求体不是有效的 JSON / body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "请求体须为 JSON 对象 / the body must be a JSON object")
    field = input_guard.bad_text(body)  # one walk: no handler ever holds a string it cannot encode
    if field is not None:
        raise bad_text_error(field)
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


def bad_text_error(field: str) -> ApiError:
    """400 naming ``field``: its text has a lone surrogate or is not UTF-8 (engine.base.input_guard)."""
    message = f"{field} {input_guard.BAD_TEXT}"
    return ApiError(400, "bad_request", message, [FieldError(field, message, "invalid_text")])


def _field_errors(*errors: tuple[str, str, str]) -> ApiError:
    fields = [FieldError(field, message, code) for field, code, message in errors]
    return ApiError(422, "invalid", "请求缺少或含有无效的字段 / missing or invalid fields", fields)


def _string(body: Mapping[str, Any], key: str, max_len: int = 200) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise _field_errors((key, "required", f"请提供 {key}（1 至 {max_len} 个字符的文本）/ {key} is required"))
    return value


def _uploads_map(value: Any, key: str) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(u, str) for u in v) for k, v in value.items()
    ):
        raise _field_errors((key, "invalid", f"{key} 须为 {{材料编号: [上传编号…]}} / {key} must map ids to lists"))
    return {k: list(v) for k, v in value.items()}


def _application(body: Mapping[str, Any]) -> tuple[str, dict[str, Any], dict[str, list[str]]]:
    """(idempotency key, form data, uploads) of a submission body, or 422 for each bad part."""
    key = _string(body, "idempotency_key", 200)
    data = body.get("data", {})
    if not isinstance(data, dict):
        raise _field_errors(("data", "invalid", "data 须为按表单分组的对象 / data must be an object"))
    return key, data, _uploads_map(body.get("uploads"), "uploads")


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")  # engine/web/openapi.py states the same pattern


def _full_date(value: str) -> date:
    if not _DATE.fullmatch(value):
        raise ValueError(value)
    return date.fromisoformat(value)


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _iso(value: datetime | None) -> str | None:
    return wording.iso_local(value)  # local time with its offset (+08:00), as a person reads it


# ------------------------------------------------------------------------------ the routes


def api_routes(
    service: CaseService, upload_dir: Path, limits: Limits = LIMITS, key: bytes | None = None
) -> list[Route]:
    """``limits``: the upload limits and the free-space floor (engine.service.uploads); ``key``: the server
    key that signs API draft tokens (engine.base.keys; without one, a key of this process: tokens then
    end with it)."""
    db, cat = service.db, service.catalogue
    draft_key = key if key is not None else secrets.token_bytes(32)

    def staff_of(request: Request) -> Actor | None:
        token = _bearer(request)
        if token is None:
            return None
        actor = auth.actor_for_token(db, token, service.clock.now())
        if actor is None:
            raise ApiError(
                401, "unauthorized", "登录已过期或无效，请重新登录 / session unknown or expired; log in again"
            )
        return actor

    def check_query_code(request: Request, number: str, query_code: str) -> None:
        """404 for a wrong code or an unknown number alike; 429 (query_codes.Throttled) past the limits."""
        client = addresses.of(request)
        if not query_codes.check(db, number, query_code, client, service.clock.now()):
            raise ApiError(404, "not_found", NOT_FOUND_FOR_APPLICANT)

    def upload_errors(
        materials: Sequence[Mapping[str, Any]], uploads: Mapping[str, list[str]], owner: Owner
    ) -> list[FieldError]:
        return uploads_.material_errors(db, materials, uploads, owner)

    def claimed(
        body: Mapping[str, Any], files: Mapping[str, list[str]], chain: bool = False
    ) -> tuple[Owner, str | None]:
        """(the owner whose uploads ``files`` may name, the draft's idempotency key): uploads are
        claimed only by the application filed with the draft (``draft``) they were uploaded into,
        and a draft files one application: a repeat answers it, another kind is refused (409)."""
        token = body.get("draft")
        if token is None:
            return Owner(), None  # no draft: naming any upload is a field error
        draft = drafts.find_api(db, draft_key, token, service.clock.now()) if isinstance(token, str) else None
        if draft is None:
            raise _field_errors(("draft", "unknown_draft", UNKNOWN_DRAFT))
        if draft.filed is not None and draft.filed[1] != chain:  # filed as the other kind of application
            raise ApiError(409, "draft_filed", DRAFT_FILED.format(number=draft.filed[0]))
        return Owner(draft=draft.id), drafts.key(draft.id)

    def view(number: str, staff: bool) -> dict[str, Any]:
        case, snap = service.load(number)
        item = snap["item"]
        with read_only(db) as conn:
            records = events_of(conn, number)
        try:
            dl = service.deadlines(case, snap)
            dates = {"completeness": dl.completeness, "promised": dl.promised, "legal": dl.legal}
            dates["delivery"] = dl.delivery  # Art. 44: issue or deliver a granted licence by then
            # the dates counted by the provisional holiday rule (暂定: next year's notice is not out yet)
            marked = [k for k, v in dates.items() if dl.is_provisional(v)]
            deadlines: dict[str, Any] = {k: _iso(v) for k, v in dates.items()} | {"provisional": marked}
        except LookupError:  # a year no rule counts (before the first calendar file); say so in the log
            log.warning("no calendar for a deadline of case %s", number, exc_info=True)
            deadlines = {"completeness": None, "promised": None, "legal": None, "delivery": None, "provisional": []}
        plain = "state version deemed_accepted paused missing assessment paid_fen decision decision_reason "
        plain += "refusal_reason extended evaluation"
        out: dict[str, Any] = {
            "number": case.number,
            "item": {"code": item["code"], "name": item["name"], "department": item["department"]},
            **{k: getattr(case, k) for k in plain.split()},
            "received_at": _iso(case.received_at),
            "accepted_at": _iso(case.accepted_at),
            "open_steps": [{k: s.get(k) for k in ("id", "name", "role")} for s in open_steps(case, item)],
            "deadlines": deadlines,
            "events": [
                {"action": r.action, "at": _iso(r.at_datetime), "role": r.role} | ({"actor": r.actor} if staff else {})
                for r in records
            ],
        }
        if staff:
            out.update(data=case.data, uploads=case.uploads, fee_anomalies=case.fee_anomalies)
            out["money"] = amounts(case.data, forms.money_units(item, snap.get("forms", {})))
            out["areas"] = forms.area_answers(case.data, item, snap.get("forms", {}))  # a name beside each code
        return json.loads(json.dumps(out, ensure_ascii=False, default=str))  # type: ignore[no-any-return]

    # ---------------------------------------------------------------- sessions

    async def session_create(request: Request) -> Response:
        body = await _json_body(request)
        username, password = _string(body, "username", 64), _string(body, "password", 1024)
        client = addresses.of(request)
        start = functools.partial(auth.start_session, client=client)
        s = await run_in_threadpool(start, db, username, password, service.clock.now())
        a = s.actor
        session = {"token": s.token, "username": a.username, "role": a.role, "department": a.department}
        return JSONResponse(session | {"backup_for": a.backup_role, "expires_at": _iso(s.expires_at)})

    async def session_delete(request: Request) -> Response:
        token = _bearer(request)
        if token is None:
            raise ApiError(401, "unauthorized", "no bearer token")
        await run_in_threadpool(staff_of, request)  # an unknown or expired token: 401, as everywhere
        await run_in_threadpool(auth.logout, db, token)
        return Response(status_code=204)

    async def session(request: Request) -> Response:
        return await (session_delete if request.method == "DELETE" else session_create)(request)

    # ---------------------------------------------------------------- drafts and uploads

    async def draft_create(request: Request) -> Response:
        # nothing is written: the token is signed, and the draft's row begins with its first file
        token, expires = drafts.issue_api(draft_key, service.clock.now())
        return JSONResponse({"draft": token, "expires_at": _iso(expires)}, status_code=201)

    def upload_owner(request: Request) -> Owner:
        """Whose upload this is, from the headers alone (so a refusal reads no body): a draft
        (``X-Draft-Token``), or a case (``?case=``) with its query code or a staff token."""
        number, now = request.query_params.get("case"), service.clock.now()
        if number is None:
            token = request.headers.get("x-draft-token", "")
            draft = drafts.find_api(db, draft_key, token, now) if token else None
            if draft is None:
                raise ApiError(401, "unauthorized", UNKNOWN_DRAFT if token else NEED_DRAFT)
            if draft.filed is not None:  # its application claimed what it needed; nothing more may pile up
                raise ApiError(409, "draft_filed", DRAFT_FILED.format(number=draft.filed[0]))
            return Owner(draft=draft.id, client=upload_limits.client(request))
        staff = staff_of(request)
        if staff is None:
            check_query_code(request, number, request.headers.get("x-query-code", ""))
            return Owner(case=number, client=upload_limits.client(request))
        try:
            case, _ = service.load(number)
        except UnknownCase:
            raise ApiError(404, "not_found", NOT_FOUND_FOR_APPLICANT) from None
        if not access.may_upload_for(staff, case):  # as for a case one may not see: nothing to probe
            raise ApiError(404, "not_found", NOT_FOUND_FOR_STAFF)
        return Owner(case=number)

    async def upload(request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise ApiError(415, "unsupported_media_type", "请以 multipart/form-data 上传，字段名 file / use multipart")
        owner = await run_in_threadpool(upload_owner, request)
        length = request.headers.get("content-length", "")
        expected = min(input_guard.whole(length, 19) or 0, MAX_UPLOAD)

        def admit() -> None:  # the disk and the limits before a large body is read
            check_room(upload_dir, expected, limits)
            with read_only(db) as conn:
                check_quota(conn, owner, 0, service.clock.now(), limits)

        # a small body costs less to read than to check twice: store() checks in its own write
        if expected > uploads_.CHECK_BEFORE_READING:
            await run_in_threadpool(admit)
        limited = uploads_.limited(request, MAX_UPLOAD + 64 * 1024, _TooLarge)
        form = await limited.form(max_files=1, max_fields=4)
        try:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                raise _field_errors(("file", "required", "请在字段 file 中上传文件 / send the file in field 'file'"))
            content = await file.read(MAX_UPLOAD + 1)
            client_name = uploads_.safe_name(file.filename)
            material = form.get("material")
        finally:
            await form.close()
        if len(content) > MAX_UPLOAD:
            raise _TooLarge
        if not content:
            raise ApiError(422, "empty_file", "文件是空的 / the file is empty")
        content_type = uploads_.sniff(content, client_name)
        if content_type is None and uploads_.has_markup(content):
            raise ApiError(415, "unsupported_media_type", gettext(uploads_.MARKUP_REFUSED))
        if content_type is None:
            raise ApiError(
                415,
                "unsupported_media_type",
                uploads_.NOT_ACCEPTED + " / accepted: PDF, OFD, JPEG, PNG, "
                "DOC/DOCX, XLS/XLSX (judged by content, not the name)",
            )
        row = await run_in_threadpool(
            uploads_.store, db, upload_dir, content, client_name, content_type, service.clock.now(), owner, limits
        )
        upload_id, digest = row.id, row.sha256
        body = {"upload_id": upload_id, "size": len(content), "sha256": digest, "content_type": content_type}
        if isinstance(material, str) and material:
            body["material"] = material
        return JSONResponse(body, status_code=201)

    # ---------------------------------------------------------------- cases

    async def case_create(request: Request) -> Response:
        body = await _json_body(request)
        item_code = _string(body, "item", 128)
        key, data, uploads = _application(body)

        def work() -> Any:  # one worker thread for the whole request: each hop costs under load
            actor = (staff_of(request) if _bearer(request) else None) or APPLICANT
            owner, draft_key = claimed(body, uploads)
            doc = cat.items.get(item_code)
            if doc is None:
                raise UnknownCase(f"没有这个事项 / no item with code {item_code!r}")
            service.ensure_available(item_code)  # suspended, cancelled, or its materials not stated: 409
            bad = upload_errors(stated.materials(cat.data(doc)), uploads, owner)
            if bad:
                _, errors = forms.validate(cat, doc, data, uploads)
                raise SubmissionInvalid([*errors, *bad])
            # the key is scoped to the request: a retry finds its case, nobody else's key reveals one;
            # a draft files one application, under its own key (the sweep keeps a filed draft's files)
            scope = dumps({"key": key, "item": item_code, "data": data, "up": uploads, "by": actor.username})
            scoped = draft_key or "api:" + hashlib.sha256(scope.encode()).hexdigest()
            filer = filing_limits.of(request, limits) if actor is APPLICANT else None  # staff: not limited
            return service.submit(item_code, data, uploads, actor, scoped, filer=filer)

        done = await run_in_threadpool(work)
        return JSONResponse(
            {"number": done.number, "query_code": done.query_code, "version": done.version},
            status_code=201 if done.created else 200,
        )

    # ---------------------------------------------------------------- approval chains

    async def chain_create(request: Request) -> Response:
        body = await _json_body(request)
        chain_id = _string(body, "chain", 64)
        key, data, files = _application(body)  # chain uploads are keyed by material name

        def work() -> Any:
            actor = (staff_of(request) if _bearer(request) else None) or APPLICANT
            owner, draft_key = claimed(body, files, chain=True)
            if chain_id not in cat.chains:
                raise UnknownCase(f"没有这个审批链条 / no approval chain {chain_id!r}")
            bad = upload_errors([{"id": k, "name": k} for k in files], files, owner)
            if bad:
                raise SubmissionInvalid(bad)
            scope = dumps({"key": key, "chain": chain_id, "by": actor.username})
            scoped = draft_key or hashlib.sha256(scope.encode()).hexdigest()
            filer = filing_limits.of(request, limits) if actor is APPLICANT else None  # staff: not limited
            return chain_service.submit(service, chain_id, data, files, actor, scoped, filer)

        done = await run_in_threadpool(work)
        return JSONResponse(
            {"number": done.number, "query_code": done.query_code, "members": list(done.members)}, status_code=201
        )

    def staff_may_see(staff: Actor | None, number: str) -> bool:
        """engine.service.access decides; an unknown number is simply not seen (the same answer)."""
        if staff is None:
            return False
        try:
            case, _ = service.load(number)
        except UnknownCase:
            return False
        return access.may_see(staff, case)

    def refuse(staff: Actor | None) -> ApiError:
        """Neither staff allowed to see it nor a query code: the answer to a stranger's request."""
        if staff is None:
            return ApiError(403, "forbidden", NEED_CREDENTIALS)
        return ApiError(404, "not_found", NOT_FOUND_FOR_STAFF)  # as if it did not exist: nothing to probe

    async def chain_get(request: Request) -> Response:
        number = request.path_params["number"]
        staff = await run_in_threadpool(staff_of, request)

        def work() -> dict[str, Any]:
            code = request.query_params.get("query_code", "")
            if not access.may_see_chain(staff):
                if not code:
                    raise refuse(staff)
                check_query_code(request, number, code)  # before the look-up: numbers cannot be probed
            try:
                st = chain_service.state(service, number)
            except UnknownCase:  # the same answer as a wrong query code: numbers cannot be probed
                raise ApiError(404, "not_found", NOT_FOUND_FOR_APPLICANT) from None
            return {
                "number": st.number,
                "chain": st.chain_id,
                "state": st.state,
                "stage": st.stage,
                "due": _iso(st.due),
                "provisional": ["due"] if provisional.is_provisional(st.due, service.calendar.provisional_from) else [],
                "light": st.light,
                "holding_stage": st.holding,
                "stages": [
                    {"id": sid, "cases": [{"item": c, "number": n, "state": s} for c, n, s in members]}
                    for sid, members in st.members.items()
                ],
            }

        return JSONResponse(await run_in_threadpool(work))

    async def case_get(request: Request) -> Response:
        number = request.path_params["number"]
        staff = await run_in_threadpool(staff_of, request)
        query_code = request.query_params.get("query_code")

        def work() -> dict[str, Any]:
            if staff_may_see(staff, number):
                return view(number, True)
            if not query_code:  # staff of another department: as if there were no such case
                raise refuse(staff)
            check_query_code(request, number, query_code)  # whoever holds the code reads the applicant's view
            return view(number, False)

        return JSONResponse(await run_in_threadpool(work))

    async def case_action(request: Request) -> Response:
        number = request.path_params["number"]
        body = await _json_body(request)
        action = _string(body, "action", 64)
        version = body.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise _field_errors(("version", "required", "请提供读取时的 version（整数）/ send the version you read"))
        payload = body.get("payload", {})
        if not isinstance(payload, dict):
            raise _field_errors(("payload", "invalid", "payload 须为对象 / payload must be an object"))
        found = await run_in_threadpool(staff_of, request)
        # staff act only on cases they may see (engine.service.access); cases.decide judges the action itself
        staff = found if await run_in_threadpool(staff_may_see, found, number) else None
        if action in SYSTEM_ACTIONS:
            raise ApiError(
                403, "forbidden", "视为受理由系统按时限自动作出 / deemed acceptance is applied by the system"
            )
        if staff is None:
            query_code = body.get("query_code")
            if not isinstance(query_code, str) or not query_code:
                raise refuse(found)
            await run_in_threadpool(check_query_code, request, number, query_code)
            if action not in APPLICANT_ACTIONS:
                raise ApiError(403, "forbidden", "申请人只能补正或评价 / applicants may only supplement or evaluate")
        actor = staff or APPLICANT

        def work() -> dict[str, Any]:
            p = dict(payload)
            if action == "supplement":
                p = checked_supplement(number, p)
            chain_service.after_member_action(service, service.act(number, action, actor, p, version))
            return view(number, staff is not None)

        return JSONResponse(await run_in_threadpool(work))

    def checked_supplement(number: str, payload: dict[str, Any]) -> dict[str, Any]:
        extra = sorted(set(payload) - {"uploads", "note", "data"})
        if extra:
            raise _field_errors(
                *(
                    (
                        f"payload.{k}",
                        "unknown_field",
                        "补正只能提交材料（uploads）、更正的表单（data）和说明（note）/ only uploads, data and note",
                    )
                    for k in extra
                )
            )
        uploads = _uploads_map(payload.get("uploads"), "payload.uploads")
        _, snap = service.load(number)
        materials = stated.materials(snap["item"])
        known = {m["id"] for m in materials}
        errors = [
            FieldError(f"{forms.MATERIALS}.{k}", f"本事项没有“{k}”这项材料", "unknown_field")
            for k in uploads
            if k not in known
        ]
        errors += upload_errors(materials, uploads, Owner(case=number))  # uploaded for this case
        if errors:
            raise SubmissionInvalid(errors)
        return {
            "uploads": uploads,
            **({"note": str(payload["note"])} if "note" in payload else {}),
            **({"data": payload["data"]} if "data" in payload else {}),
        }

    # ---------------------------------------------------------------- forms

    async def item_form(request: Request) -> Response:
        code = request.path_params["code"]
        doc = cat.items.get(code)
        if doc is None:
            raise ApiError(404, "not_found", f"没有这个事项 / no item with code {code!r}")
        item = cat.data(doc)
        sections = []
        for entry in item.get("form", {}).get("sections", []):
            section = cat.data(cat.forms[entry]) if isinstance(entry, str) and entry in cat.forms else entry
            if isinstance(section, Mapping):
                sections.append({k: section.get(k) for k in ("id", "title", "hint", "when")})
        keys = ("label", "type", "when", "options", "hint", "unit", "min", "max", "max_length", "default")
        fields = [
            {"name": name, "required": info.spec.get("required", False)}
            | ({"unit": YUAN} if info.spec["type"] == "money" else {})  # an amount's unit is always said
            | {k: info.spec[k] for k in keys if k in info.spec}
            for name, info in item_fields(doc, cat.forms).items()
        ]
        mkeys = ("formats", "max_size_mb", "kind", "originals", "copies", "paper", "note")
        materials = [
            {
                "id": m["id"],
                "name": m["name"],
                "required": m["required"],
                "shared": bool(m.get("shared", False)),
                "produced_by": m.get("produced_by"),
            }
            | {k: m[k] for k in mkeys if k in m}
            for m in stated.materials(item)
        ]
        out = {"item": code, "name": item["name"], "sections": sections, "fields": fields, "materials": materials}
        return JSONResponse(json.loads(json.dumps(out, ensure_ascii=False, default=str)))

    # ---------------------------------------------------------------- supervision export

    async def supervision_summary(request: Request) -> Response:
        staff = await run_in_threadpool(staff_of, request)
        if staff is None:
            raise ApiError(401, "unauthorized", "请提供监察人员的令牌 / send a supervisor's bearer token")
        if not access.rule_for("GET", "/api/supervision/summary").allows(staff):  # the one decision
            raise ApiError(
                403, "forbidden", "只有监察人员和管理员可以导出监察数据 / supervisors and administrators only"
            )
        try:  # RFC 3339 full-date only, as the document says (fromisoformat alone also takes 20260101)
            start, end = (_full_date(request.query_params.get(k, "")) for k in ("from", "to"))
        except ValueError:
            raise ApiError(400, "bad_request", "from 和 to 须为 YYYY-MM-DD 日期 / from and to must be dates") from None
        if not start < end or (end - start).days > 366:
            raise ApiError(400, "bad_request", "期间须从 from 到 to（不含），至多一年 / from < to, at most a year")
        month = request.query_params.get("month") or f"{start.year:04d}-{start.month:02d}"
        try:
            if not _MONTH.fullmatch(month):
                raise ValueError(month)
            rankings.month_bounds(month)
        except ValueError:
            raise ApiError(400, "bad_request", "month 须为 YYYY-MM / month must be YYYY-MM") from None

        def work() -> dict[str, Any]:
            lo = datetime(start.year, start.month, start.day, tzinfo=TZ)
            hi = datetime(end.year, end.month, end.day, tzinfo=TZ)
            ranked = rankings.month(db, service.calendar, cat.center, month)
            return {
                "center": (cat.center or {}).get("name", ""),
                "generated_at": _iso(service.clock.now()),
                "period": {"from": start.isoformat(), "to": end.isoformat()},
                "open": open_counts(db),
                "lights": event_counts(db, lo, hi),
                "anomalies": anomaly_counts(db, lo, hi, max_visits_of(cat)),
                "labels": labels(),
                "corrections": corrections.rate(db, lo, hi),
                "rankings": {"month": month, **{k: [r.as_dict() for r in v] for k, v in ranked.items()}},
            }

        return JSONResponse(await run_in_threadpool(work))

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    g = _guarded
    return [
        # one route per path, so a 405 answers Allow with every method the path has
        Route("/api/session", g(session), methods=["POST", "DELETE"]),
        Route("/api/drafts", g(draft_create), methods=["POST"]),
        Route("/api/uploads", g(upload), methods=["POST"]),
        Route("/api/cases", g(case_create), methods=["POST"]),
        Route("/api/cases/{number}", g(case_get), methods=["GET"]),
        Route("/api/chains", g(chain_create), methods=["POST"]),
        Route("/api/chains/{number}", g(chain_get), methods=["GET"]),
        Route("/api/cases/{number}/actions", g(case_action), methods=["POST"]),
        Route("/api/items/{code}/form", g(item_form), methods=["GET"]),
        Route("/api/supervision/summary", g(supervision_summary), methods=["GET"]),
        Route("/openapi.json", g(openapi), methods=["GET"]),
    ]
