"""The hand-written OpenAPI 3.1 document of the JSON API (engine/web/api/).

tests/web/test_web.py checks that every /api route the app serves is documented here and
nothing else is.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

_TYPES: dict[str, dict[str, Any]] = {
    "s": {"type": "string"},
    "i": {"type": "integer"},
    "b": {"type": "boolean"},
    "o": {"type": "object"},
    "t": {"type": ["string", "null"], "format": "date-time"},
    "ns": {"type": ["string", "null"]},
    "ni": {"type": ["integer", "null"]},
    "no": {"type": ["object", "null"]},
    "a": {"type": "array", "items": {"type": "object"}},
}


def _o(props: str, required: str = "", **nested: Any) -> dict[str, Any]:
    """An object schema from ``"name:type …"`` (types in ``_TYPES``); ``nested`` adds or overrides."""
    properties = {name: dict(_TYPES[kind]) for name, _, kind in (p.partition(":") for p in props.split())}
    out: dict[str, Any] = {"type": "object", "properties": properties | nested}
    if required:
        out["required"] = required.split()
    return out


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON request body: required (an empty body is read as {} and refused for its missing fields)."""
    return {"required": True, **_json(schema)}


def _text(max_len: int) -> dict[str, Any]:
    """A required text field as engine.web.api.common.string checks it: 1 to ``max_len`` characters, not only spaces."""
    return {"type": "string", "minLength": 1, "maxLength": max_len, "pattern": r"\S"}


_ERROR_TEXT = {
    400: "malformed request: the body is not a JSON object, is nested more than 32 levels deep, or a text "
    "(body, path or query) is not UTF-8 text (a lone surrogate such as \\ud800, or bytes like %FF); "
    "`fields` names the field",
    401: "bad credentials, or an unknown or expired token",
    403: "no credentials, or the rules do not let this actor act (ActionRefused forbidden), or a role without access",
    404: "unknown item or case; also a wrong query code (indistinguishable on purpose)",
    409: "version conflict: the case changed since you read it; for a submission (item_unavailable): the item "
    "is suspended or cancelled, or its published guide does not list its materials (apply at the window); "
    "draft_filed: the draft already filed an application (uploads and other applications need a new draft)",
    405: "method not allowed; the Allow header lists the methods of this path",
    413: "too large (uploads: 20 MB a file, 200 MB and 60 files a draft or case; JSON bodies: 1 MB)",
    415: "not an accepted file type (judged by content)",
    422: "field errors (`fields`), or an action the rules refuse (invalid, not_allowed, fee_mismatch)",
    429: "too many attempts (failed logins; wrong query codes from this client or for this case; uploads or "
    "drafts from this client, draft or case; applications filed from this client without a staff token, "
    "10 an hour and 30 a day by default); Retry-After says how many seconds to wait",
    507: "insufficient storage: the server takes no files while its disk is nearly full; try later",
    500: "internal error (generic message, logged on the server)",
}
_AUTH: dict[str, list[dict[str, list[str]]]] = {
    "none": [],
    "bearer": [{"bearer": []}],
    "optional": [{}, {"bearer": []}],
}
_NUMBER = {"name": "number", "in": "path", "required": True, "schema": _TYPES["s"]}
ACTIONS = (
    "accept refuse request_supplement supplement complete_step assess_fee record_payment extend "
    "start_special_procedure end_special_procedure decide complete evaluate"
).split()


#: the applicant's query code as sent: new codes are 10 characters, e.g. 7KQM-3XPA-9W (case, spaces and dashes
#: do not matter); codes made before are 6 digits
_QUERY_CODE = {
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "pattern": "^[0-9A-Za-z -]+$",
    "description": "the case's query code (查询码), as shown when it was submitted: 10 characters such as "
    "7KQM-3XPA-9W (upper or lower case, dashes and spaces optional), or 6 digits for codes made before. A wrong "
    "code answers 404; too many wrong codes from one client or for one case answer 429 with Retry-After.",
}
_QUERY_CODE_MADE = {"type": "string", "description": "the applicant's query code, grouped for reading: 7KQM-3XPA-9W"}
_RETRY_AFTER = {"description": "seconds until the limit lets this client or case try again", "schema": _TYPES["i"]}


def _op(summary: str, ok: str, schema: str | None, errors: str, auth: str, **extra: Any) -> dict[str, Any]:
    """One operation: ``ok`` is "status[,status]" answered with ``schema``; ``errors`` "401 422 …".
    Every operation can also answer 400 (engine.web.middleware.InputGuard: a URL that is not UTF-8 text), 405
    and 500."""
    body = _json({"$ref": f"#/components/schemas/{schema}"}) if schema else {}
    responses: dict[str, Any] = {code: {"description": summary, **body} for code in ok.split(",")}
    for code in sorted({*errors.split(), "400", "405", "500"}):
        responses[code] = {"description": _ERROR_TEXT[int(code)], **_json({"$ref": "#/components/schemas/Error"})}
        if code == "405":
            responses[code]["headers"] = {"Allow": {"required": True, "schema": _TYPES["s"]}}
        if code == "429":
            responses[code]["headers"] = {"Retry-After": {"required": True, **_RETRY_AFTER}}
    return {"summary": summary, "security": _AUTH[auth], "responses": responses, **extra}


_UPLOAD_FORM = {
    "multipart/form-data": {"schema": _o("material:s", "file", file={"type": "string", "format": "binary"})}
}
_UPLOADS = {
    "type": "object",
    "description": "material id (chains: material name) → upload ids from POST /api/uploads",
    "additionalProperties": {"type": "array", "items": _TYPES["s"]},
}
_DRAFT_TOKEN = {"type": "string", "minLength": 1, "maxLength": 128}
_UPLOAD_OWNER = [  # one of: a draft's token; a case with its query code or a staff token
    {"name": "X-Draft-Token", "in": "header", "schema": _DRAFT_TOKEN,
     "description": "the token from POST /api/drafts: the file goes into that draft (for a new application)"},
    {"name": "case", "in": "query", "schema": {"type": "string", "minLength": 1, "maxLength": 32},
     "description": "instead of a draft: the case the file is for (a supplement), with X-Query-Code or a staff "
     "token of the case's department"},
    {"name": "X-Query-Code", "in": "header", "schema": _QUERY_CODE, "description": "the case's query code"},
]  # fmt: skip
_DRAFT_FIELD = dict(_DRAFT_TOKEN, description="the draft the uploads were uploaded into; only its application "
                    "claims them, and a draft files one application (a repeat answers that case)")  # fmt: skip
_SUBMISSION = _o(
    "data:o",
    "item data idempotency_key",
    item=_text(128),
    idempotency_key=_text(200),
    uploads=_UPLOADS,
    draft=_DRAFT_FIELD,
)
_PROVISIONAL = {
    "type": "array",
    "items": {"type": "string"},
    "description": "the deadline fields beside it that are provisional (暂定): counted from the statutory holidays "
    "of 《全国年节及纪念日放假办法》 because the State Council has not yet published that year's holiday "
    "arrangement (no calendar/<year>.yaml); counted again automatically when the file is added. Empty when "
    "every date is exact.",
}
_CASE = _o(
    "number:s version:i received_at:t accepted_at:t deemed_accepted:b paused:b missing:a assessment:no paid_fen:ni "
    "decision:ns decision_reason:ns refusal_reason:ns extended:b evaluation:no data:o uploads:o fee_anomalies:a",
    "number item state version events",
    item=_o("code:s name:s department:s"),
    state={"enum": ["submitted", "awaiting_supplement", "in_progress", "refused", "completed"]},
    open_steps={"type": "array", "items": _o("id:s name:s role:s")},
    deadlines=_o("completeness:t promised:t legal:t delivery:t", provisional=_PROVISIONAL),
    events={"type": "array", "items": _o("action:s at:s role:s actor:s", "action at role")},
    money={
        "type": "object",
        "description": "staff only: each money answer in data as filed, in the unit its form field asks it in "
        "(元 or 万元), and exactly in fen, e.g. project.investment: {value: '1200.00', unit: 万元, fen: 1200000000}",
        "additionalProperties": _o("value:s unit:s fen:i", "value unit fen"),
    },
    areas={
        "type": "object",
        "description": "staff only: each region (area) answer in data with its name beside the code, e.g. "
        "abstraction.intake_area: {code: '230202', name: 黑龙江省齐齐哈尔市龙沙区}",
        "additionalProperties": _o("code:s name:s", "code name"),
    },
)

_MONTH = {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"}
_ACTION = _o(
    "version:i payload:o",
    "action version",
    action={"type": "string", "minLength": 1, "maxLength": 64, "enum": ACTIONS},
    query_code=_QUERY_CODE,
)

# fmt: off
_PATHS: dict[str, Any] = {
    "/api/session": {
        "post": _op("log in (staff); the token lasts 8 hours", "200", "Session", "400 401 413 422 429",
                    "none", requestBody=_body(_o("", "username password", username=_text(64),
                                                 password=_text(1024)))),
        "delete": _op("log out", "204", None, "401", "bearer"),
    },
    "/api/drafts": {
        "post": _op("open a draft: its token (X-Draft-Token) uploads files that only the application filed with "
                    "it (`draft`) claims. The token is signed, not stored: a draft begins with its first file (an "
                    "address may begin 60 an hour: 429 on that upload); an unused token ends 7 days after it was "
                    "issued, a used one 7 days after its last file, when files no application claimed are deleted",
                    "201", "Draft", "", "none"),
    },
    "/api/uploads": {
        "post": _op("upload one file (PDF, OFD, JPEG, PNG, DOC/DOCX, XLS/XLSX by content, no web-page markup; at "
                    "most 20 MB) into a draft or for a case", "201", "Upload", "401 403 404 409 413 415 422 429 507",
                    "optional", parameters=_UPLOAD_OWNER, requestBody={"required": True, "content": _UPLOAD_FORM}),
    },
    "/api/cases": {
        "post": _op("submit an application (with a staff token: a proxy submission, 代办); 200 for a repeat",
                    "201,200", "Submitted", "400 401 404 409 413 422 429", "optional",
                    requestBody=_body(_SUBMISSION)),
    },
    "/api/chains": {
        "post": _op("apply for a whole approval chain: the merged form's data and one set of materials "
                    "(uploads by material name); files the first stage's cases", "201", "ChainSubmitted",
                    "400 401 404 409 413 422 429", "optional",
                    requestBody=_body(_o("data:o", "chain data idempotency_key", chain=_text(64),
                                         idempotency_key=_text(200), uploads=_UPLOADS, draft=_DRAFT_FIELD))),
    },
    "/api/chains/{number}": {
        "get": _op("a chain application's stages and member cases, with a staff token or ?query_code=", "200",
                   "Chain", "401 403 404 429", "optional",
                   parameters=[_NUMBER, {"name": "query_code", "in": "query", "schema": _QUERY_CODE}]),
    },
    "/api/cases/{number}": {
        "get": _op("read a case with a staff token or ?query_code=", "200", "Case", "401 403 404 429", "optional",
                   parameters=[_NUMBER, {"name": "query_code", "in": "query", "schema": _QUERY_CODE}]),
    },
    "/api/cases/{number}/actions": {
        "post": _op("act on a case; without a token, query_code in the body allows supplement and evaluate",
                    "200", "Case", "400 401 403 404 409 413 422 429", "optional", parameters=[_NUMBER],
                    requestBody=_body(_ACTION)),
    },
    "/api/items": {
        "get": _op("every item of the catalogue: code, name, department, type, promised limit", "200", None, "",
                   "none"),
    },
    "/api/items/{code}": {
        "get": _op("one item's full YAML data as JSON (`item`) and its whole guide as the guide page and the "
                   "one-time notice word it (`guide`: every element of the implementation list, 未说明 where the "
                   "published guide does not state one, `unavailable` when it cannot be applied for), with its "
                   "catalogue version", "200", "ItemGuide", "404", "none",
                   parameters=[{"name": "code", "in": "path", "required": True, "schema": _TYPES["s"]}]),
    },
    "/api/items/{code}/form": {
        "get": _op("an item's form fields and materials checklist, from the catalogue", "200", "ItemForm", "404",
                   "none", parameters=[{"name": "code", "in": "path", "required": True, "schema": _TYPES["s"]}]),
    },
    "/api/supervision/summary": {
        "get": _op("supervision figures for a period, for a higher-level supervision system (supervisor or "
                   "administrator token)", "200", "SupervisionSummary", "400 401 403", "bearer",
                   parameters=[{"name": "from", "in": "query", "required": True,
                                "schema": {"type": "string", "format": "date"}},
                               {"name": "to", "in": "query", "required": True,
                                "schema": {"type": "string", "format": "date"},
                                "description": "exclusive; after from, at most 366 days later (else 400)"},
                               {"name": "month", "in": "query", "schema": _MONTH,
                                "description": "rankings of this month (default: the month of from)"}]),
    },
    "/openapi.json": {"get": _op("this document", "200", None, "", "none")},
}
# fmt: on

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "阳光 Yangguang case API",
        "version": "1",
        "description": "Staff authenticate with a bearer token from POST /api/session; applicants use the case's "
        "query code. Every error is {error: {status, code, message, fields?}}: messages are in the request's "
        "language (?lang=en or Accept-Language: en for English; Chinese by default), codes never change. "
        "Case fields data, uploads, "
        "fee_anomalies and events[].actor are shown to staff only.",
    },
    "paths": _PATHS,
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": _o(
                "",
                "error",
                error=_o(
                    "status:i code:s message:s",
                    "status code message",
                    fields={"type": "array", "items": _o("field:s code:s message:s", "field code message")},
                ),
            ),
            "Session": _o(
                "token:s username:s role:s department:ns backup_for:ns",
                "token role expires_at",
                expires_at={"type": "string", "format": "date-time"},
            ),
            "Upload": _o("upload_id:s size:i sha256:s content_type:s material:s", "upload_id size sha256 content_type"),
            "Draft": _o("draft:s", "draft expires_at", expires_at={"type": "string", "format": "date-time"}),
            "Submitted": _o("number:s version:i", "number query_code version", query_code=_QUERY_CODE_MADE),
            "Case": _CASE,
            "ItemGuide": _o(
                "version:s file:s item:o",
                "version file item guide",
                guide=_o(
                    "code:s name:s type:s department:s window:s level:s conditions_stated:b applicants:s "
                    "legal_limit:s promised_limit:s extension:s visits:s online:s materials_stated:b "
                    "materials_incomplete:s closing:s fee_stated:b result:s location:s hours:s accepting_body:s "
                    "deciding_body:s unavailable:s handling_forms:s",
                    "code name materials closing fee",
                    bases={
                        "type": "array",
                        "description": "[heading, references]: 设定依据, 实施依据, 办理依据, 受理条件依据",
                    },
                    identity={
                        "type": "array",
                        "description": "[label, value]: 基本编码, 清单事项, 版本, 状态, 实施主体性质",
                    },
                    conditions={"type": "array", "items": _TYPES["s"]},
                    issued={"type": "string", "description": "the local date the guide was built for (YYYY-MM-DD)"},
                    fee_not_in_force={
                        "type": "array",
                        "items": _TYPES["s"],
                        "description": "fee reliefs lapsed or not yet begun on that date (已于…失效 / 自…起施行)",
                    },
                    materials={
                        "type": "array",
                        "items": _o(
                            "name:s required:s originals:ni copies:ni paper:s source:s signs:b note:s blank_form:no "
                            "sample:no",
                            "name required paper",
                            description="originals / copies are null when the guide does not state them (never 0)",
                        ),
                    },
                    fee={"type": "array", "items": _TYPES["s"]},
                    contact=_TYPES["a"],
                    complaint=_TYPES["a"],
                    flows={"type": "array", "description": "[title, steps]: 线下办理流程, 线上办理流程"},
                    guide={"type": "array", "description": "[label, {text, href}]: 指南来源, 发布日期, 索引号"},
                ),
            ),
            "ItemForm": _o("item:s name:s sections:a fields:a materials:a", "item fields materials"),
            "ChainSubmitted": _o(
                "number:s",
                "number query_code members",
                members={"type": "array", "items": _TYPES["s"]},
                query_code=_QUERY_CODE_MADE,
            ),
            "Chain": _o(
                "number:s chain:s stage:i due:t light:s holding_stage:ns",
                "number chain state stage stages",
                state={"enum": ["open", "completed", "stopped"]},
                stages=_TYPES["a"],
                provisional=_PROVISIONAL,
            ),
            "SupervisionSummary": _o(
                "center:s generated_at:s",
                "center period open lights anomalies labels corrections rankings",
                period=_o("from:s to:s", "from to"),
                open={
                    "type": "object",
                    "description": "running cases by department: green, warning, abnormal, violation",
                    "additionalProperties": {"type": "object", "additionalProperties": _TYPES["i"]},
                },
                lights={
                    "type": "object",
                    "description": "supervision events in the period by department and kind",
                    "additionalProperties": {"type": "object", "additionalProperties": _TYPES["i"]},
                },
                anomalies={
                    "type": "object",
                    "description": "anomalies in the period by department and kind",
                    "additionalProperties": {"type": "object", "additionalProperties": _TYPES["i"]},
                },
                labels={
                    "type": "object",
                    "description": "the label of every kind in lights and anomalies (e.g. deemed_consent: "
                    "a department silent past a joint review's deadline, deemed to consent), in the request's language",
                    "additionalProperties": _TYPES["s"],
                },
                corrections=_o("corrections:i cases:i", "corrections cases", rate={"type": ["number", "null"]}),
                rankings=_o("month:s", "month department staff", department=_TYPES["a"], staff=_TYPES["a"]),
            ),
        },
    },
}


async def serve(request: Request) -> Response:
    """``GET /openapi.json``: the document above."""
    return JSONResponse(OPENAPI)
