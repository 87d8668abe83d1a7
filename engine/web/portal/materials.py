"""Files an applicant sends: the materials page's POST (files added to a draft, each checked and stored
by engine.service.uploads, files removed, and the page again with what is wrong or missing) and a
case's supplement (补正) from its progress page.

A file that is right is kept even when another is wrong. The files count against the draft's
limits and the client address's; a signed-in member of staff filing for an applicant (代办) is not
limited by address: the whole office shares one.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from engine.base import i18n, stated
from engine.base.i18n import N_
from engine.catalogue.model import Document
from engine.rules import forms
from engine.rules.forms import FieldError
from engine.service import drafts, uploads
from engine.service.upload_limits import Owner, Refused, client, page_message
from engine.web.deps import deps
from engine.web.portal.form_view import MATERIALS_PAGE
from engine.web.portal.pages import errors_by_field, next_url, render_page

FILE_PROBLEM = N_("文件“%(name)s”：%(why)s")
UPLOAD_MISSING = N_("请上传补正的%(name)s")
DEFAULT_SUPPLEMENT_REASON = N_("材料不齐全或不符合法定形式")
"""Why a material is asked for again when the desk writes no reason (engine.web.desk.actions): recorded
in the source text, as the one-time notice prints it, and shown in the reader's language (:func:`reason_text`)."""


def reason_text(reason: str) -> str:
    """Why a missing material is asked for, as the applicant reads it: the desk's default reason in the
    page's language; a reason the clerk wrote, as written."""
    return i18n.gettext(reason) if reason == DEFAULT_SUPPLEMENT_REASON else reason


def file_error(field: str, name: str, content: bytes, spec: dict[str, Any]) -> FieldError | str:
    """What is wrong with one uploaded file for material ``spec``, or its sniffed content type."""
    if not content:
        return forms.field_error(field, "empty_file", N_("文件“%(name)s”是空的，请重新选择"), name=name)
    if len(content) > uploads.MAX_UPLOAD:
        too_large = N_("文件“%(name)s”超过 %(mb)s MB")
        return forms.field_error(field, "file_too_large", too_large, name=name, mb=uploads.MAX_UPLOAD // 2**20)
    content_type = uploads.sniff(content, name)
    if content_type is None:
        why = i18n.gettext(uploads.NOT_ACCEPTED)
        return forms.field_error(field, "unsupported_type", FILE_PROBLEM, name=name, why=why)
    problem = uploads.file_problem(spec, content_type, len(content))
    if problem is not None:
        return forms.field_error(field, problem[0], FILE_PROBLEM, name=name, why=problem[1])
    return content_type


async def store_files(
    request: Request, doc: Document, draft: drafts.Draft, form: FormData
) -> tuple[list[FieldError], Refused | None]:
    """Store the form's files in ``draft`` (and drop those it asks to remove): the problems, and the
    refusal that stopped it (a limit reached, the disk nearly full: no later file is tried)."""
    d = deps(request)
    service = d.service
    specs = {m["id"]: m for m in stated.materials(service.catalogue.data(doc))}
    staff = await run_in_threadpool(d.staff_of, request)
    owner = Owner(draft=draft.id, client=None if staff is not None else client(request))
    removed = {str(v) for v in form.getlist("remove")}
    for material_id in list(draft.uploads):
        draft.uploads[material_id] = [u for u in draft.uploads[material_id] if u not in removed]
    problems: list[FieldError] = []
    for key, value in form.multi_items():
        if not key.startswith("file-") or not isinstance(value, UploadFile) or not value.filename:
            continue
        material_id = key[len("file-") :]
        if material_id not in specs:
            continue
        field = f"{forms.MATERIALS}.{material_id}"
        name = uploads.safe_name(value.filename)
        content = await value.read(uploads.MAX_UPLOAD + 1)
        checked = file_error(field, name, content, specs[material_id])
        if isinstance(checked, FieldError):
            problems.append(checked)
            continue
        now = service.clock.now()
        try:
            row = await run_in_threadpool(
                uploads.store, service.db, d.uploads_dir, content, name, checked, now, owner, d.limits
            )
        except Refused as e:
            problems.append(FieldError(field, page_message(e, d.limits), e.code))
            return problems, e
        draft.uploads.setdefault(material_id, []).append(row.id)  # kept even if another file is wrong
    return problems, None


async def save_materials(
    request: Request, doc: Document, ctx: dict[str, Any], draft: drafts.Draft, form: FormData, browser: str, new: bool
) -> Response:
    """Store the files, save the draft, then the next page, or this one with what is wrong or missing."""
    service = deps(request).service
    problems, refused = await store_files(request, doc, draft, form)
    draft.uploads = {k: v for k, v in draft.uploads.items() if v}
    await run_in_threadpool(drafts.save, service.db, draft, service.clock.now())
    _, errors = forms.validate(service.catalogue, doc, draft.data, draft.uploads)
    missing = [e for e in errors if e.field.startswith(f"{forms.MATERIALS}.")]
    problems += [e for e in missing if e.field not in {p.field for p in problems}]
    if problems:
        status = refused.status if refused is not None else 422
        page = await run_in_threadpool(
            render_page, request, doc, ctx, browser, new, errors_by_field(problems), status, problems
        )
        if refused is not None and refused.retry_after is not None:
            page.headers["Retry-After"] = str(refused.retry_after)
        return page
    return RedirectResponse(next_url(service.catalogue, doc, draft, MATERIALS_PAGE), status_code=303)


async def supplement_files(request: Request, number: str, form: FormData) -> tuple[dict[str, Any], list[FieldError]]:
    """A supplement's payload (its files, stored for the case, and the applicant's note) and what is
    wrong or missing. The files are stored under the same limits as a draft's uploads: per case, per
    client address, and the disk's free-space floor (engine.service.upload_limits)."""
    d = deps(request)
    service = d.service
    owner = Owner(case=number, client=client(request))
    case, snap = await run_in_threadpool(service.load, number)
    specs = {m["id"]: m for m in stated.materials(snap["item"])}
    wanted = {m["material"] for m in case.missing}
    sent: dict[str, list[str]] = {}
    errors: list[FieldError] = []
    for name, value in form.multi_items():
        if not name.startswith("file-") or not isinstance(value, UploadFile) or not value.filename:
            continue
        material_id = name[len("file-") :]
        if material_id not in wanted:
            continue
        field = f"{forms.MATERIALS}.{material_id}"
        content = await value.read(uploads.MAX_UPLOAD + 1)
        label = uploads.safe_name(value.filename)
        content_type = uploads.sniff(content, label) if 0 < len(content) <= uploads.MAX_UPLOAD else None
        problem = (
            uploads.file_problem(specs[material_id], content_type, len(content))
            if content_type
            else ("unsupported_type", i18n.gettext(uploads.NOT_ACCEPTED))
        )
        if problem is not None:
            errors.append(forms.field_error(field, problem[0], FILE_PROBLEM, name=label, why=problem[1]))
            continue
        now = service.clock.now()
        try:
            row = await run_in_threadpool(
                uploads.store, service.db, d.uploads_dir, content, label, str(content_type), now, owner, d.limits
            )
        except Refused as e:  # past a limit, or the disk nearly full: no later file is tried
            errors.append(FieldError(field, page_message(e, d.limits), e.code))
            break
        sent.setdefault(material_id, []).append(row.id)
    for material_id in sorted(wanted - set(sent)):
        field = f"{forms.MATERIALS}.{material_id}"
        if not any(e.field == field for e in errors):
            name = specs.get(material_id, {}).get("name", material_id)
            errors.append(forms.field_error(field, "missing_material", UPLOAD_MISSING, name=name))
    note = str(form.get("note", ""))[:500]
    return {"uploads": sent, **({"note": note} if note else {})}, errors
