"""Drafts and uploads: ``POST /api/drafts`` (a signed draft token) and ``POST /api/uploads`` (one file
into a draft, or a supplement into a case), and the claim an application makes on its draft's files.

Uploads are claimed only by the application filed with the draft they were uploaded into, and a
draft files one application: a repeat answers it, another kind is refused (409 draft_filed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.base import input_guard
from engine.base.i18n import N_
from engine.base.i18n import gettext as _
from engine.ledger.db import read_only
from engine.service import access, drafts
from engine.service import uploads as uploads_
from engine.service.cases import UnknownCase
from engine.service.upload_limits import Owner, check_quota, check_room, client
from engine.service.uploads import MAX_UPLOAD
from engine.web.api.common import (
    NOT_FOUND_FOR_APPLICANT,
    NOT_FOUND_FOR_STAFF,
    check_query_code,
    field_errors,
    iso,
    staff_of,
)
from engine.web.deps import deps
from engine.web.errors import DRAFT_FILED, ApiError

NEED_DRAFT = N_("请先用 POST /api/drafts 取得草稿令牌，在 X-Draft-Token 中发送。")
UNKNOWN_DRAFT = N_("草稿令牌无效或已过期，请重新取得。")
MULTIPART = N_("请以 multipart/form-data 上传，文件放在字段 file 中。")
NO_FILE = N_("请在字段 file 中上传文件。")
TOO_LARGE = N_("请求过大，上限 {mb} MB。")
EMPTY = N_("文件是空的。")


def _too_large() -> ApiError:
    return ApiError(413, "too_large", _(TOO_LARGE).format(mb=MAX_UPLOAD // 2**20))


def claimed(
    request: Request, body: Mapping[str, Any], files: Mapping[str, list[str]], chain: bool = False
) -> tuple[Owner, str | None]:
    """(the owner whose uploads ``files`` may name, the draft's idempotency key) for the draft a
    submission ``body`` names; no draft: naming any upload is a field error. Reads the database."""
    token = body.get("draft")
    if token is None:
        return Owner(), None
    d = deps(request)
    draft = drafts.find_api(d.service.db, d.key, token, d.service.clock.now()) if isinstance(token, str) else None
    if draft is None:
        raise field_errors(("draft", "unknown_draft", _(UNKNOWN_DRAFT)))
    if draft.filed is not None and draft.filed[1] != chain:  # filed as the other kind of application
        raise drafts.Filed(draft.filed[0], draft.filed[1])
    return Owner(draft=draft.id), drafts.key(draft.id)


async def draft_create(request: Request) -> Response:
    # nothing is written: the token is signed, and the draft's row begins with its first file
    d = deps(request)
    token, expires = drafts.issue_api(d.key, d.service.clock.now())
    return JSONResponse({"draft": token, "expires_at": iso(expires)}, status_code=201)


def upload_owner(request: Request) -> Owner:
    """Whose upload this is, from the headers alone (so a refusal reads no body): a draft
    (``X-Draft-Token``), or a case (``?case=``) with its query code or a staff token."""
    d = deps(request)
    service = d.service
    number, now = request.query_params.get("case"), service.clock.now()
    if number is None:
        token = request.headers.get("x-draft-token", "")
        draft = drafts.find_api(service.db, d.key, token, now) if token else None
        if draft is None:
            raise ApiError(401, "unauthorized", _(UNKNOWN_DRAFT if token else NEED_DRAFT))
        if draft.filed is not None:  # its application claimed what it needed; nothing more may pile up
            raise ApiError(409, "draft_filed", _(DRAFT_FILED).format(number=draft.filed[0]))
        return Owner(draft=draft.id, client=client(request))
    staff = staff_of(request)
    if staff is None:
        check_query_code(request, number, request.headers.get("x-query-code", ""))
        return Owner(case=number, client=client(request))
    try:
        case, _snap = service.load(number)
    except UnknownCase:
        raise ApiError(404, "not_found", _(NOT_FOUND_FOR_APPLICANT)) from None
    if not access.may_upload_for(staff, case):  # as for a case one may not see: nothing to probe
        raise ApiError(404, "not_found", _(NOT_FOUND_FOR_STAFF))
    return Owner(case=number)


async def _admit(request: Request, owner: Owner) -> None:
    """The disk and the limits before a large body is read (a small body costs less to read than to
    check twice: store() checks in its own write)."""
    d = deps(request)
    length = request.headers.get("content-length", "")
    expected = min(input_guard.whole(length, 19) or 0, MAX_UPLOAD)
    if expected <= uploads_.CHECK_BEFORE_READING:
        return

    def admit() -> None:
        check_room(d.uploads_dir, expected, d.limits)
        with read_only(d.service.db) as conn:
            check_quota(conn, owner, 0, d.service.clock.now(), d.limits)

    await run_in_threadpool(admit)


async def upload(request: Request) -> Response:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(415, "unsupported_media_type", _(MULTIPART))
    d = deps(request)
    owner = await run_in_threadpool(upload_owner, request)
    await _admit(request, owner)
    limited = uploads_.limited(request, MAX_UPLOAD + 64 * 1024, _too_large)
    form = await limited.form(max_files=1, max_fields=4)
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise field_errors(("file", "required", _(NO_FILE)))
        content = await file.read(MAX_UPLOAD + 1)
        client_name = uploads_.safe_name(file.filename)
        material = form.get("material")
    finally:
        await form.close()
    if len(content) > MAX_UPLOAD:
        raise _too_large()
    if not content:
        raise ApiError(422, "empty_file", _(EMPTY))
    content_type = uploads_.sniff(content, client_name)
    if content_type is None and uploads_.has_markup(content):
        raise ApiError(415, "unsupported_media_type", _(uploads_.MARKUP_REFUSED))
    if content_type is None:
        raise ApiError(415, "unsupported_media_type", _(uploads_.NOT_ACCEPTED))
    now = d.service.clock.now()
    row = await run_in_threadpool(
        uploads_.store, d.service.db, d.uploads_dir, content, client_name, content_type, now, owner, d.limits
    )
    body = {"upload_id": row.id, "size": len(content), "sha256": row.sha256, "content_type": content_type}
    if isinstance(material, str) and material:
        body["material"] = material
    return JSONResponse(body, status_code=201)
