"""The applicant's view of a case (办件查询): with its number and query code the applicant sees
the timeline, the current step, the deadline, whether the clock is paused, what is missing,
the fee to pay; supplements the missing materials once; and rates the service at the end.

The query code is checked once (``POST /progress``, engine.service.query_codes: wrong codes are
limited per client and per case, 429 past the limit); the browser then holds a signed cookie
for that case only, so the code never travels in a URL. Wrong number and wrong code get the
same answer, so case numbers cannot be probed. Forms carry CSRF tokens of engine.web.csrf.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from engine.base import addresses, input_guard, keys, stated, wording
from engine.base.i18n import gettext
from engine.ledger import ledger
from engine.rules import forms
from engine.rules.cases.model import RATINGS, TERMINAL, ActionRefused
from engine.rules.cases.steps import open_steps, steps_of
from engine.rules.forms import FieldError
from engine.service import chains as chain_service
from engine.service import device_grants, documents, joint_decision, query_codes, upload_limits, uploads
from engine.service.cases import CaseService, SubmissionInvalid, UnknownCase
from engine.service.upload_limits import LIMITS, Limits, Owner, Refused, page_message
from engine.web import csrf
from engine.web.portal import (
    APPLICANT,
    RequestTooLarge,
    _limited_form,
    browser_token,
    remember_browser,
)

GRANT_COOKIE = "yg_case_"  # + case number
GRANT_SECONDS = 8 * 3600
NOT_FOUND = "没有与此办件编号和查询码相符的办件，请核对后重新输入。"

Render = Callable[..., Response]


def is_chain(number: str) -> bool:
    """A chain application's number (engine.service.chains) rather than a case's."""
    return number.startswith(chain_service.NUMBER_PREFIX)


def local(moment: datetime | None) -> str:
    """A stored instant as the applicant reads it: local time, minutes (engine.base.wording.local_time)."""
    return wording.local_time(moment)


def progress_routes(
    service: CaseService, upload_dir: Path, render: Render, key: bytes, limits: Limits = LIMITS
) -> list[Route]:
    db = service.db

    def device(request: Request) -> str | None:
        return device_grants.device_of(key, request.cookies.get(device_grants.COOKIE, ""))

    def granted(request: Request, number: str, browser: str) -> bool:
        """This browser gave the case's query code — or its chain's: one code opens the chain
        application and every member case — or asked to be remembered for it and was not forgotten."""
        expires, _, signature = request.cookies.get(GRANT_COOKIE + number, "").partition(".")
        if (
            (input_guard.whole(expires) or 0)
            > service.clock.now().timestamp()  # the server ends a grant, not the browser
            and keys.verify(key, signature, "case", number, browser, expires)
        ):
            return True
        remembered = device(request)
        if remembered is not None and device_grants.allows(db, remembered, number, service.clock.now()):
            return True
        chain = chain_of(number)
        return chain is not None and granted(request, chain, browser)

    def grant_value(number: str, browser: str) -> str:
        """``expires.signature``: the grant names its own end (a copied cookie stops working
        :data:`GRANT_SECONDS` after the code was given, whatever the browser keeps)."""
        expires = str(int(service.clock.now().timestamp()) + GRANT_SECONDS)
        return f"{expires}.{keys.sign(key, 'case', number, browser, expires)}"

    def chain_of(number: str) -> str | None:
        if is_chain(number):
            return None
        with ledger.read_only(db) as conn:
            found = conn.execute(select(ledger.cases.c.chain_number).where(ledger.cases.c.number == number)).first()
        return found.chain_number if found is not None and found.chain_number else None

    def show(request: Request, template: str, browser: str, new: bool, status: int = 200, **ctx: Any) -> Response:
        response = render(template, status=status, csrf=csrf.token(key, csrf.PROGRESS, browser), **ctx)
        response.headers["Cache-Control"] = "no-store"
        return remember_browser(response, request, browser) if new else response

    def remembered_cases(request: Request) -> list[dict[str, str]]:
        """The cases this browser asked to remember, with what they are, for the query page."""
        found = device(request)
        if found is None:
            return []
        numbers = device_grants.numbers(db, found, service.clock.now())
        with ledger.read_only(db) as conn:
            codes = dict(
                conn.execute(
                    select(ledger.cases.c.number, ledger.cases.c.item_code).where(ledger.cases.c.number.in_(numbers))
                ).all()
            )
        items = service.catalogue.items
        out = []
        for number in numbers:
            code = codes.get(number)
            name = items[code].data["name"] if code in items else (gettext("并联审批申请") if is_chain(number) else "")
            out.append({"number": number, "name": str(name)})
        return out

    async def find(request: Request, error: str = "", status: int = 200, number: str | None = None) -> Response:
        browser, new = browser_token(request)
        number = request.query_params.get("number", "")[:32] if number is None else number
        remembered = await run_in_threadpool(remembered_cases, request)
        forgot = request.query_params.get("forgot") == "1"
        return show(
            request, "portal/progress_find.html", browser, new, status,
            number=number, error=error, remembered=remembered, forgot=forgot,
        )  # fmt: skip

    async def forget(request: Request) -> Response:
        """ "Forget this device": every grant of this browser is revoked at once, and its cookies go."""
        browser, new = browser_token(request)
        form = await request.form(max_files=0, max_fields=10)
        csrf.check(request, form, key, csrf.PROGRESS, browser)
        found = device(request)
        had = await run_in_threadpool(device_grants.forget, db, found, service.clock.now()) if found else []
        response = RedirectResponse("/progress?forgot=1", status_code=303)
        secure = request.url.scheme == "https"
        response.delete_cookie(device_grants.COOKIE, path="/progress", secure=secure, httponly=True, samesite="lax")
        for number in had:
            response.delete_cookie(
                GRANT_COOKIE + number, path="/progress", secure=secure, httponly=True, samesite="lax"
            )
        return remember_browser(response, request, browser) if new else response

    async def lookup(request: Request) -> Response:
        browser, new = browser_token(request)
        form = await request.form(max_files=0, max_fields=10)
        csrf.check(request, form, key, csrf.PROGRESS, browser)
        number = str(form.get("number", "")).strip().upper()[:32]
        code = str(form.get("query_code", ""))[: query_codes.MAX_TYPED + 1]
        client = addresses.of(request)
        try:
            found = await run_in_threadpool(query_codes.check, db, number, code, client, service.clock.now())
        except query_codes.Throttled as exc:
            message = gettext("查询码输错次数过多，请 {minutes} 分钟后再试。").format(minutes=exc.minutes)
            response = render("error.html", status=429, code=429, message=message)
            response.headers["Retry-After"] = str(exc.seconds)
            response.headers["Cache-Control"] = "no-store"
            return response
        if not found:
            return await find(request, NOT_FOUND, 404, number)
        response = RedirectResponse(f"/progress/{number}", status_code=303)
        if form.get("remember") == "1":  # opt-in: a long-lived, revocable grant for this browser
            kept = device(request) or device_grants.new_device()
            await run_in_threadpool(device_grants.remember, db, kept, number, service.clock.now())
            response.set_cookie(
                device_grants.COOKIE,
                device_grants.cookie_value(key, kept),
                max_age=device_grants.DAYS * 86400,
                httponly=True,
                samesite="lax",
                secure=request.url.scheme == "https",
                path="/progress",
            )
            return remember_browser(response, request, browser) if new else response
        response.set_cookie(
            GRANT_COOKIE + number,
            grant_value(number, browser),
            max_age=GRANT_SECONDS,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/progress",
        )
        return remember_browser(response, request, browser) if new else response

    def view(number: str) -> dict[str, Any]:
        case, snap = service.load(number)
        item = snap["item"]
        try:
            due = service.deadlines(case, snap)
        except LookupError:  # the calendar lacks a year: no date rather than a wrong one
            due = None
        with ledger.read_only(db) as conn:
            records = ledger.events_of(conn, number)
        materials = {m["id"]: m for m in stated.materials(item)}
        names = {s["id"]: s["name"] for s in steps_of(item)}
        timeline = [
            {
                "at": local(r.at_datetime),
                "what": wording.action(r.action)
                + (f"：{names.get(r.payload.get('step'), '')}" if r.action == "complete_step" else ""),
                "who": wording.role(r.role),
            }
            for r in records
        ]
        paused = next((p for p in case.pauses if p["end"] is None), None)
        return {
            "case": case,
            "item": item,
            "state": wording.state(case.state),
            "open_steps": [s["name"] for s in open_steps(case, item)],
            "timeline": timeline,
            "due": due,
            "local": local,
            "paused": paused
            and (
                wording.special_procedure(paused["kind"])
                if paused["kind"] in wording.SPECIAL_PROCEDURES
                else gettext("补正材料")
            ),
            "missing": [
                {
                    **m,
                    "spec": materials.get(m["material"], {}),
                    "accept": uploads.accept_attribute(materials.get(m["material"], {})),
                }
                for m in case.missing
            ]
            if case.state == "awaiting_supplement"
            else [],
            "assessment": case.assessment,
            "ratings": RATINGS,
            "can_rate": case.state in TERMINAL and case.evaluation is None,
            "decision": wording.decision(case.decision),
            "documents": documents.documents_for(case, snap, service.catalogue.center, due, records),
        }

    def chain_view(number: str) -> dict[str, Any]:
        st = chain_service.state(service, number)
        chain = chain_service.pinned(service, number)
        names = {code: service.catalogue.items[code].data["name"] for code in service.catalogue.items}
        decided = joint_decision.decided_stages(service, number)
        stages = []
        for i, stage in enumerate(chain["stages"]):
            members = [
                {"code": code, "name": names.get(code, code), "number": case_number, "state": wording.state(state_)}
                for code, case_number, state_ in st.members.get(stage["id"], [])
            ]
            status = chain_service.stage_status(st, i, stage["id"])
            stages.append({**stage, "members": members, "status": status, "document": stage["id"] in decided})
        asked = chain_service.services_asked(service, number)
        services = [
            {"name": names.get(code, code), "number": case_number, "state": wording.state(state_) if state_ else ""}
            | {"asked": code in asked}
            for code, _after, case_number, state_ in st.services
        ]
        return {"chain": chain, "st": st, "stages": stages, "services": services, "local": local, "number": number}

    async def page(request: Request) -> Response:
        number = request.path_params["number"]
        browser, new = browser_token(request)
        if not await run_in_threadpool(granted, request, number, browser):
            return RedirectResponse(f"/progress?number={number}", status_code=303)
        if is_chain(number):
            try:
                ctx = await run_in_threadpool(chain_view, number)
            except UnknownCase:
                raise HTTPException(404, NOT_FOUND) from None
            return show(request, "portal/chain_progress.html", browser, new, **ctx)
        try:
            ctx = await run_in_threadpool(view, number)
        except UnknownCase:
            raise HTTPException(404, NOT_FOUND) from None
        flash = {"supplement": "补正材料已提交，窗口将审查后决定是否受理。", "evaluate": "感谢您的评价。"}
        said = flash.get(request.query_params.get("done", ""), "")
        return show(request, "portal/progress.html", browser, new, **ctx, flash=said, errors={}, summary=[])

    async def act(request: Request) -> Response:
        number, action = request.path_params["number"], request.path_params["action"]
        browser, new = browser_token(request)
        allowed = await run_in_threadpool(granted, request, number, browser)
        if action not in ("supplement", "evaluate") or not allowed:
            raise HTTPException(403, "请先用办件编号和查询码查询本件。")
        try:
            form = await _limited_form(request, multipart=action == "supplement")
        except RequestTooLarge:
            raise HTTPException(413, "上传的文件合计太大，请分几次上传。") from None
        try:
            csrf.check(request, form, key, csrf.PROGRESS, browser)
            version = str(form.get("version", ""))
            if input_guard.whole(version) is None:
                raise HTTPException(400, "表单缺少办件版本，请刷新页面后重试。")
            errors: list[FieldError] = []
            if action == "supplement":
                payload, errors = await supplement_payload(request, number, form)
            else:
                payload = {"rating": str(form.get("rating", "")), "comment": str(form.get("comment", ""))[:500]}
            if not errors:
                try:
                    await run_in_threadpool(service.act, number, action, APPLICANT, payload, int(version))
                    return RedirectResponse(f"/progress/{number}?done={action}", status_code=303)
                except SubmissionInvalid as exc:
                    errors = exc.errors
                except ActionRefused as exc:
                    refusal = wording.one_language(str(exc.args[0] if exc.args else exc))
                    errors = [FieldError(action, refusal, exc.code)]
                except ledger.VersionConflict:
                    moved_on = wording.N_("办件刚刚有了新进展，请查看最新状态后再操作。")
                    errors = [forms.field_error(action, "conflict", moved_on)]
            ctx = await run_in_threadpool(view, number)
            errors = [e.translated() for e in errors]  # engine.rules.forms errors in the page's language
            by_field = {e.field: e.message for e in errors}
            return show(
                request, "portal/progress.html", browser, new, 422, **ctx, flash="", errors=by_field, summary=errors
            )
        finally:
            await form.close()

    async def supplement_payload(
        request: Request, number: str, form: FormData
    ) -> tuple[dict[str, Any], list[FieldError]]:
        """The supplement's files, stored for the case (its owner) under the same limits as a draft's
        uploads: per case, per client address, and the disk's free-space floor (engine.service.uploads)."""
        owner = Owner(case=number, client=upload_limits.client(request))
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
                else ("unsupported_type", uploads.NOT_ACCEPTED)
            )
            if problem is not None:
                errors.append(FieldError(field, f"文件“{label}”：{problem[1]}", problem[0]))
                continue
            try:
                row = await run_in_threadpool(
                    uploads.store, db, upload_dir, content, label, str(content_type), service.clock.now(), owner, limits
                )
            except Refused as e:  # past a limit, or the disk nearly full: no later file is tried
                errors.append(FieldError(field, page_message(e, limits), e.code))
                break
            sent.setdefault(material_id, []).append(row.id)
        for material_id in sorted(wanted - set(sent)):
            if not any(e.field == f"{forms.MATERIALS}.{material_id}" for e in errors):
                name = specs.get(material_id, {}).get("name", material_id)
                errors.append(FieldError(f"{forms.MATERIALS}.{material_id}", f"请上传补正的{name}", "missing_material"))
        note = str(form.get("note", ""))[:500]
        return {"uploads": sent, **({"note": note} if note else {})}, errors

    async def document(request: Request) -> Response:
        number, index = request.path_params["number"], request.path_params["index"]
        browser, _ = browser_token(request)
        if not await run_in_threadpool(granted, request, number, browser):
            return RedirectResponse(f"/progress?number={number}", status_code=303)
        if is_chain(number):  # a chain's documents are its joint decisions, by stage id
            found = await run_in_threadpool(joint_decision.joint_decision, service, number, index)
            if found is None:
                raise HTTPException(404, "没有这份文书。")
            response = HTMLResponse(documents.render(found, service.catalogue.center))
            response.headers["Cache-Control"] = "no-store"
            return response
        ctx = await run_in_threadpool(view, number)
        docs = ctx["documents"]
        at = input_guard.whole(index)
        if at is None or not 0 <= at < len(docs):
            raise HTTPException(404, "没有这份文书。")
        response = HTMLResponse(documents.render(docs[int(index)], service.catalogue.center))
        response.headers["Cache-Control"] = "no-store"
        return response

    return [
        Route("/progress/{number}/documents/{index}", document, methods=["GET"]),
        Route("/progress/forget", forget, methods=["POST"]),
        Route("/progress", find, methods=["GET"]),
        Route("/progress", lookup, methods=["POST"]),
        Route("/progress/{number}", page, methods=["GET"]),
        Route("/progress/{number}/{action}", act, methods=["POST"]),
    ]
