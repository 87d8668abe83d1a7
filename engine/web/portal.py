"""The applicant portal (网上办事): apply for an item page by page, upload materials, check
the answers, submit, and follow the case with its number and query code.

Every page is generated from the item's YAML (engine.web.form_view); the server is the source of
truth for validation (engine.rules.forms) and works without JavaScript. An application in
progress is a draft bound to this browser (engine.service.drafts): nothing typed or uploaded is lost
when a page has errors. Forms that change anything carry a CSRF token keyed with the server key
and bound to the browser's cookie token (engine.web.csrf; the cookie is HttpOnly and SameSite=Lax).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from engine.base import i18n, stated
from engine.base.wording import N_
from engine.catalogue.model import Catalogue, Document
from engine.rules import chains, forms, notice
from engine.rules.cases.model import Actor
from engine.rules.forms import FieldError
from engine.service import chains as chain_service
from engine.service import drafts, filing_limits, upload_limits, uploads
from engine.service.cases import CaseService, SubmissionInvalid
from engine.service.upload_limits import LIMITS, Limits, Owner, Refused, page_message
from engine.web import csrf, form_view
from engine.web.form_view import CHECK_PAGE, MATERIALS_PAGE

BROWSER_COOKIE = "yg_browser"
MAX_REQUEST = 100 * 1024 * 1024  # one materials page, all files together
MAX_FILES = 40
APPLICANT = Actor("applicant", "applicant")
CHAIN_APPLICATION = "chain_application"  # Document.kind of a chain's one application

Render = Callable[..., Response]


class RequestTooLarge(Exception):
    pass


def browser_token(request: Request) -> tuple[str, bool]:
    """This browser's token (from its cookie, or a new one) and whether it is new."""
    token = request.cookies.get(BROWSER_COOKIE, "")
    if 20 <= len(token) <= 64 and token.isalnum():
        return token, False
    return secrets.token_hex(16), True


def remember_browser(response: Response, request: Request, token: str) -> Response:
    response.set_cookie(
        BROWSER_COOKIE,
        token,
        max_age=30 * 86400,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


def _errors_by_field(errors: list[FieldError]) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in errors:
        out.setdefault(e.field, e.text())  # in the page's language (the API keeps the Chinese message)
    return out


async def _limited_form(request: Request, multipart: bool) -> FormData:
    limited = uploads.limited(request, MAX_REQUEST, RequestTooLarge)
    if multipart:
        return await limited.form(max_files=MAX_FILES, max_fields=200)
    return await limited.form(max_files=0, max_fields=500)


UNAVAILABLE_WORDS = {
    "suspended": N_("本事项已暂停办理，暂不受理申请。"),
    "cancelled": N_("本事项已取消，不再受理申请。"),
    "materials": N_("本事项公布的办事指南未说明申请材料，不能在线申请，请到窗口办理或先打电话咨询。"),
}


def unavailable_message(cat: Catalogue, code: str, chain: bool = False) -> str | None:
    """Why the item (or, for a chain, one of its members) cannot be applied for, with the window and the
    phone to turn to instead; None when it can (engine.base.stated.unavailable)."""
    codes = [c for s in cat.data(cat.chains[code])["stages"] for c in s["items"]] if chain else [code]
    for member in codes:
        data = cat.data(cat.items[member]) if member in cat.items else None
        why = stated.unavailable(data) if data is not None else None
        if data is not None and why is not None:
            place, phone = notice.counter(cat, data)
            words = i18n.gettext(UNAVAILABLE_WORDS[why])
            if member != code:
                words = i18n.gettext("链条中的事项“{name}”不能申请：").format(name=data["name"]) + words
            where = i18n.gettext("办理地点：{place}").format(place=place)
            if phone:
                where += i18n.gettext("；咨询电话：{phone}").format(phone=phone)
            return f"{words}{where}"
    return None


def withdrawn_message(cat: Catalogue, code: str) -> str | None:
    """Why a parent's item is not offered here (a lower-level catalogue withdrew it), for its 404 pages."""
    if code not in cat.withdrawn:
        return None
    reason, _where = cat.withdrawn[code]
    return f"本中心不办理此事项（{code}）：{reason} / This center does not offer this item here."


def portal_routes(
    service: CaseService,
    upload_dir: Path,
    render: Render,
    key: bytes,
    staff_of: Callable[[Request], Actor | None] | None = None,
    limits: Limits = LIMITS,
) -> list[Route]:
    """``key`` is the server key (engine.base.keys) the forms' CSRF tokens are made with; ``staff_of``
    finds a signed-in staff member: their submissions are proxy filings (代办), recorded as filed by them.
    ``limits``: the upload limits and free-space floor (engine.service.uploads)."""
    cat, db = service.catalogue, service.db

    def csrf_token(browser: str) -> str:
        return csrf.token(key, csrf.APPLY, browser)

    def check_csrf(request: Request, form: FormData, browser: str) -> None:
        csrf.check(request, form, key, csrf.APPLY, browser)

    # A chain's one application (一表申请) is item-shaped (engine.rules.chains.application_item), so
    # every page below serves items and chains alike; only the URLs, the draft's key and the
    # submission differ.
    applications = {
        chain_id: Document(doc.file, CHAIN_APPLICATION, chains.application_item(cat, cat.data(doc)))
        for chain_id, doc in cat.chains.items()
    }

    def item_doc(code: str, request: Request | None = None) -> Document:
        is_chain = request is not None and request.url.path.startswith("/chains/")
        doc = applications.get(code) if is_chain else cat.items.get(code)
        if doc is None:
            why = None if is_chain else withdrawn_message(cat, code)
            if why is not None:  # withdrawn by a lower-level catalogue: say why
                raise HTTPException(404, why)
            raise HTTPException(404, "没有这个审批链条，请从首页查找。" if is_chain else "没有这个事项，请从首页查找。")
        why = unavailable_message(cat, code, chain=is_chain)
        if why is not None:  # suspended, cancelled, or materials not stated: the window instead
            raise HTTPException(409, why)
        return doc

    def urls(doc: Document) -> dict[str, str]:
        """Where this application's pages live, and its guide."""
        code = doc.data["code"]
        if doc.kind == CHAIN_APPLICATION:
            return {"base": f"/chains/{code}/apply", "guide": f"/chains/{code}"}
        return {"base": f"/apply/{code}", "guide": f"/items/{code}"}

    def draft_key(doc: Document) -> str:
        return f"chain:{doc.data['code']}" if doc.kind == CHAIN_APPLICATION else str(doc.data["code"])

    def page_list(doc: Document, data: Mapping[str, Any]) -> list[form_view.Page]:
        return form_view.pages(cat, doc, data)

    def show(
        request: Request,
        template: str,
        browser: str,
        new_browser: bool,
        status: int = 200,
        csrf: str | None = None,
        **ctx: Any,
    ) -> Response:
        response = render(template, status=status, csrf=csrf or csrf_token(browser), **ctx)
        response.headers["Cache-Control"] = "no-store"  # personal data: never cached
        return remember_browser(response, request, browser) if new_browser else response

    def page_context(doc: Document, draft: drafts.Draft | None, page_id: str) -> dict[str, Any]:
        data = draft.data if draft else {}
        all_pages = page_list(doc, data)
        ids = [p.id for p in all_pages]
        if page_id not in ids:
            raise HTTPException(404, "这一页不存在或已不需要填写，请从第一页开始。")
        index = ids.index(page_id)
        return {
            "item": cat.data(doc),
            **urls(doc),
            "pages": all_pages,
            "page": all_pages[index],
            "index": index,
            "draft": draft,
        }

    async def start(request: Request) -> Response:
        doc = item_doc(request.path_params["code"], request)
        first = page_list(doc, {})[0]
        return RedirectResponse(f"{urls(doc)['base']}/{first.id}", status_code=303)

    def load_draft(request: Request, code: str, browser: str, draft_id: str | None) -> drafts.Draft | None:
        if not draft_id:
            return None
        draft = drafts.get(db, draft_id, browser, draft_key(item_doc(code, request)))
        if draft is None:
            raise HTTPException(404, "找不到这份申请草稿（可能已过期，或不是在这个浏览器中填写的），请重新开始。")
        return draft

    # A blank page (no draft yet) is the same for everyone but its CSRF token: rendered once per
    # item, page and language, with a placeholder that is swapped for the browser's token.
    blank: dict[tuple[str, str, str, str], str] = {}
    placeholder = "0" * 31 + "f"  # shaped like a token, so the template escapes nothing differently

    def blank_page(request: Request, doc: Document, page_id: str) -> str:
        return_to = CHECK_PAGE if request.query_params.get("return_to") == CHECK_PAGE else ""
        key = (draft_key(doc), page_id, i18n.language(), return_to)
        if key not in blank:
            ctx = page_context(doc, None, page_id)
            html = render_page(request, doc, ctx, placeholder, False, {}, 200, csrf=placeholder)
            blank[key] = bytes(html.body).decode("utf-8")
        return blank[key]

    async def page_get(request: Request) -> Response:
        code, page_id = request.path_params["code"], request.path_params["page"]
        doc = item_doc(code, request)
        browser, new = browser_token(request)
        draft_id = request.query_params.get("draft")
        if not draft_id:  # served from memory, in the event loop: no database, no worker thread
            html = blank_page(request, doc, page_id).replace(placeholder, csrf_token(browser))
            response = HTMLResponse(html, headers={"Cache-Control": "no-store"})
            return remember_browser(response, request, browser) if new else response
        draft = await run_in_threadpool(load_draft, request, code, browser, draft_id)
        if draft is not None and draft.case_number:
            return RedirectResponse(f"{urls(doc)['base']}/done?draft={draft.id}", status_code=303)
        ctx = page_context(doc, draft, page_id)
        return await run_in_threadpool(render_page, request, doc, ctx, browser, new, {}, 200)

    def render_page(
        request: Request,
        doc: Document,
        ctx: dict[str, Any],
        browser: str,
        new: bool,
        errors: Mapping[str, str],
        status: int,
        summary: list[FieldError] | None = None,
        csrf: str | None = None,
    ) -> Response:
        draft: drafts.Draft | None = ctx["draft"]
        data = draft.data if draft else {}
        page: form_view.Page = ctx["page"]
        summary = [e.translated() for e in summary or []]
        if page.id == MATERIALS_PAGE:
            return show(
                request, "portal/materials.html", browser, new, status, csrf, **ctx,
                materials=materials_view(doc, draft, errors), errors=errors, summary=summary or [],
            )  # fmt: skip
        if page.id == CHECK_PAGE:
            return show(
                request, "portal/check.html", browser, new, status, csrf, **ctx,
                answers=answers(doc, data), files=files_view(doc, draft), summary=summary or [],
            )  # fmt: skip
        fields = form_view.widgets(cat, doc, page.id, data, errors)
        ordered = [(w.id, w.error) for w in fields if w.error]
        known = form_view.flat_values(forms.normalise(cat, doc, data))
        return show(
            request, "portal/page.html", browser, new, status, csrf, **ctx, fields=fields, summary_links=ordered,
            return_to=request.query_params.get("return_to", ""), known=known,
        )  # fmt: skip

    def materials_view(doc: Document, draft: drafts.Draft | None, errors: Mapping[str, str]) -> list[dict[str, Any]]:
        data = draft.data if draft else {}
        have = draft.uploads if draft else {}
        specs = {m["id"]: m for m in stated.materials(cat.data(doc))}
        found = uploads.fetch(db, (u for v in have.values() for u in v))
        out = []
        for m in forms.required_materials(cat, doc, data):
            spec = specs[m["id"]]
            out.append(
                {
                    **m,
                    "spec": spec,
                    "accept": uploads.accept_attribute(spec),
                    "files": [found[u] for u in have.get(m["id"], []) if u in found],
                    "error": errors.get(f"{forms.MATERIALS}.{m['id']}", ""),
                    "html_id": f"m-{m['id']}",
                }
            )
        return out

    def files_view(doc: Document, draft: drafts.Draft | None) -> list[dict[str, Any]]:
        return [m for m in materials_view(doc, draft, {}) if not m["shared"] and not m["produced_by"]]

    def answers(doc: Document, data: Mapping[str, Any]) -> list[dict[str, Any]]:
        typed = forms.normalise(cat, doc, data)
        infos = form_view.item_fields(doc, cat.forms)
        out = []
        for page in page_list(doc, data):
            if page.id in (MATERIALS_PAGE, CHECK_PAGE):
                continue
            rows = [
                {
                    "label": infos[f"{page.id}.{k}"].spec["label"],
                    "text": form_view.answer_text(infos[f"{page.id}.{k}"].spec, v),
                }
                for k, v in typed.get(page.id, {}).items()
                if f"{page.id}.{k}" in infos
            ]
            out.append({"page": page, "rows": rows})
        return out

    async def page_post(request: Request) -> Response:
        code, page_id = request.path_params["code"], request.path_params["page"]
        doc = item_doc(code, request)
        browser, new = browser_token(request)
        try:
            form = await _limited_form(request, multipart=page_id == MATERIALS_PAGE)
        except RequestTooLarge:
            raise HTTPException(413, "上传的文件合计太大，请分几次上传。") from None
        try:
            check_csrf(request, form, browser)
            draft_id = form.get("draft")
            draft = await run_in_threadpool(
                load_draft, request, code, browser, draft_id if isinstance(draft_id, str) else None
            )
            if draft is not None and draft.case_number:
                return RedirectResponse(f"{urls(doc)['base']}/done?draft={draft.id}", status_code=303)
            if draft is None:
                draft = await new_draft(request, doc, browser)
            ctx = page_context(doc, draft, page_id)
            if page_id == MATERIALS_PAGE:
                return await save_materials(request, doc, ctx, draft, form, browser, new)
            if page_id == CHECK_PAGE:
                raise HTTPException(405, "请使用“提交申请”按钮。")
            return await run_in_threadpool(save_section, request, doc, ctx, draft, form, browser, new)
        except drafts.TooLarge:
            raise HTTPException(413, i18n.gettext("填写的内容太长，请删减后重新提交。")) from None
        finally:
            await form.close()

    async def new_draft(request: Request, doc: Document, browser: str) -> drafts.Draft:
        """A draft for this browser; an address that began its hour's drafts (portal and API alike,
        engine.service.uploads.Limits) is refused with 429 — a signed-in member of staff filing for others is not."""
        staff = await run_in_threadpool(staff_of, request) if staff_of is not None else None
        client = None if staff is not None else upload_limits.client(request)
        now = service.clock.now()
        try:
            return await run_in_threadpool(
                drafts.create, db, draft_key(doc), browser, now, client, limits.client_drafts_per_hour
            )
        except drafts.TooMany as exc:
            seconds = exc.retry_after(now)
            message = i18n.gettext("新建申请过于频繁，请 {minutes} 分钟后再试。").format(
                minutes=math.ceil(seconds / 60)
            )
            raise HTTPException(429, message, headers={"Retry-After": str(seconds)}) from None

    def next_url(doc: Document, draft: drafts.Draft, after: str, return_to: str = "") -> str:
        ids = [p.id for p in page_list(doc, draft.data)]
        if return_to == CHECK_PAGE and CHECK_PAGE in ids:
            target = CHECK_PAGE
        else:
            target = ids[min(ids.index(after) + 1, len(ids) - 1)] if after in ids else ids[0]
        return f"{urls(doc)['base']}/{target}?draft={draft.id}"

    def save_section(
        request: Request,
        doc: Document,
        ctx: dict[str, Any],
        draft: drafts.Draft,
        form: FormData,
        browser: str,
        new: bool,
    ) -> Response:
        section = ctx["page"].id
        shown = form_view.widgets(cat, doc, section, draft.data, {})
        draft.data[section] = form_view.section_of_page(form, section, shown)
        drafts.save(db, draft, service.clock.now())  # kept even when there are errors
        _, errors = forms.validate(cat, doc, draft.data, None)
        mine = [e for e in errors if e.field.partition(".")[0] == section]
        if mine:
            return render_page(request, doc, ctx, browser, new, _errors_by_field(mine), 422)
        return_to = form.get("return_to")
        url = next_url(doc, draft, section, return_to if isinstance(return_to, str) else "")
        return (
            remember_browser(RedirectResponse(url, status_code=303), request, browser)
            if new
            else RedirectResponse(url, status_code=303)
        )

    async def save_materials(
        request: Request,
        doc: Document,
        ctx: dict[str, Any],
        draft: drafts.Draft,
        form: FormData,
        browser: str,
        new: bool,
    ) -> Response:
        specs = {m["id"]: m for m in stated.materials(cat.data(doc))}
        problems: list[FieldError] = []
        # the files count against this draft's limits and this address's; a signed-in member of
        # staff filing for an applicant (代办) is not limited by address: the whole office shares one
        staff = await run_in_threadpool(staff_of, request) if staff_of is not None else None
        client = None if staff is not None else upload_limits.client(request)
        owner = Owner(draft=draft.id, client=client)
        refused: Refused | None = None
        removed = {str(v) for v in form.getlist("remove")}
        for material_id in list(draft.uploads):
            draft.uploads[material_id] = [u for u in draft.uploads[material_id] if u not in removed]
        for key, value in form.multi_items():
            if not key.startswith("file-") or not isinstance(value, UploadFile) or not value.filename:
                continue
            material_id = key[len("file-") :]
            spec = specs.get(material_id)
            field = f"{forms.MATERIALS}.{material_id}"
            if spec is None:
                continue
            content = await value.read(uploads.MAX_UPLOAD + 1)
            name = uploads.safe_name(value.filename)
            if not content:
                empty = N_("文件“%(name)s”是空的，请重新选择")
                problems.append(forms.field_error(field, "empty_file", empty, name=name))
                continue
            if len(content) > uploads.MAX_UPLOAD:
                problems.append(
                    forms.field_error(
                        field,
                        "file_too_large",
                        N_("文件“%(name)s”超过 %(mb)s MB"),
                        name=name,
                        mb=uploads.MAX_UPLOAD // 2**20,
                    )
                )
                continue
            content_type = uploads.sniff(content, name)
            if content_type is None:
                problems.append(
                    forms.field_error(
                        field,
                        "unsupported_type",
                        N_("文件“%(name)s”：%(why)s"),
                        name=name,
                        why=i18n.gettext(uploads.NOT_ACCEPTED),
                    )
                )
                continue
            problem = uploads.file_problem(spec, content_type, len(content))
            if problem is not None:
                problems.append(FieldError(field, f"文件“{name}”：{problem[1]}", problem[0]))
                continue
            try:
                row = await run_in_threadpool(
                    uploads.store, db, upload_dir, content, name, content_type, service.clock.now(), owner, limits
                )
            except Refused as e:  # past a limit, or the disk nearly full: no later file is tried
                refused = e
                problems.append(FieldError(field, page_message(e, limits), e.code))
                break
            draft.uploads.setdefault(material_id, []).append(row.id)  # kept even if another file is wrong
        draft.uploads = {k: v for k, v in draft.uploads.items() if v}
        await run_in_threadpool(drafts.save, db, draft, service.clock.now())
        _, errors = forms.validate(cat, doc, draft.data, draft.uploads)
        missing = [e for e in errors if e.field.startswith(f"{forms.MATERIALS}.")]
        problems += [e for e in missing if e.field not in {p.field for p in problems}]
        if problems:
            status = refused.status if refused is not None else 422
            page = await run_in_threadpool(
                render_page, request, doc, ctx, browser, new, _errors_by_field(problems), status, problems
            )
            if refused is not None and refused.retry_after is not None:
                page.headers["Retry-After"] = str(refused.retry_after)
            return page
        return RedirectResponse(next_url(doc, draft, MATERIALS_PAGE), status_code=303)

    async def submit(request: Request) -> Response:
        code = request.path_params["code"]
        doc = item_doc(code, request)
        browser, new = browser_token(request)
        form = await _limited_form(request, multipart=False)
        check_csrf(request, form, browser)
        draft_id = form.get("draft")
        draft = await run_in_threadpool(
            load_draft, request, code, browser, draft_id if isinstance(draft_id, str) else "x"
        )
        assert draft is not None
        done = f"{urls(doc)['base']}/done?draft={draft.id}"
        if draft.case_number:
            return RedirectResponse(done, status_code=303)

        def work() -> Response:
            actor = (staff_of(request) if staff_of else None) or APPLICANT
            # an applicant's filing counts against the address's limit; staff filing for one (代办) do not
            filer = filing_limits.of(request, limits) if actor is APPLICANT else None
            try:
                if doc.kind == CHAIN_APPLICATION:  # one set of materials, by name, for every member
                    names = {m["id"]: m["name"] for m in stated.materials(doc.data)}
                    by_name = {names[k]: v for k, v in draft.uploads.items() if k in names}
                    once = f"draft:{draft.id}"  # the draft's idempotency key (engine.service.drafts.key)
                    sub: Any = chain_service.submit(service, code, draft.data, by_name, actor, once, filer)
                else:
                    sub = service.submit(code, draft.data, draft.uploads, actor, f"draft:{draft.id}", filer=filer)
            except SubmissionInvalid as exc:
                ctx = page_context(doc, draft, CHECK_PAGE)
                return render_page(request, doc, ctx, browser, new, _errors_by_field(exc.errors), 422, exc.errors)
            except filing_limits.TooMany as exc:  # the check page again, as it was: the draft keeps everything
                ctx, why = page_context(doc, draft, CHECK_PAGE), [FieldError("submit", exc.page_message(), "too_many")]
                page = render_page(request, doc, ctx, browser, new, {}, 429, why)
                page.headers["Retry-After"] = str(exc.seconds)
                return page
            draft.case_number, draft.query_code = sub.number, sub.query_code
            drafts.save(db, draft, service.clock.now())
            return RedirectResponse(done, status_code=303)

        return await run_in_threadpool(work)

    async def done(request: Request) -> Response:
        code = request.path_params["code"]
        doc = item_doc(code, request)
        browser, new = browser_token(request)
        draft = await run_in_threadpool(load_draft, request, code, browser, request.query_params.get("draft") or "x")
        assert draft is not None
        if not draft.case_number:
            return RedirectResponse(f"{urls(doc)['base']}/{CHECK_PAGE}?draft={draft.id}", status_code=303)
        deadline, chain = None, None
        if doc.kind == CHAIN_APPLICATION:
            chain = await run_in_threadpool(chain_service.state, service, draft.case_number)
        else:
            case, snap = await run_in_threadpool(service.load, draft.case_number)
            deadline = await run_in_threadpool(service.deadlines, case, snap)
        staff = await run_in_threadpool(staff_of, request) if staff_of else None
        return show(
            request, "portal/done.html", browser, new, item=cat.data(doc), guide=urls(doc)["guide"], draft=draft,
            deadline=deadline, chain=chain, staff=staff,
        )  # fmt: skip

    return [
        Route(prefix + path, endpoint, methods=[method])
        for prefix in ("/apply/{code}", "/chains/{code}/apply")
        for path, endpoint, method in (
            ("", start, "GET"),
            ("/submit", submit, "POST"),
            ("/done", done, "GET"),
            ("/{page}", page_get, "GET"),
            ("/{page}", page_post, "POST"),
        )
    ]
