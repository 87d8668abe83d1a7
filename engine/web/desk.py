"""The staff desk (工作台): log in, see the worklist, open a case, act on it.

Which actions a person is offered is decided by the engine's own rules: every candidate
action is checked with ``cases.decide`` against the case as it is now (a dry run), so the
desk never offers what the engine would refuse and never duplicates a rule. The session is
an HttpOnly, SameSite=Strict cookie holding the opaque token of engine.service.auth; every form
carries a CSRF token signed with the server key for that session (engine.web.csrf).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from engine.base import addresses, input_guard, stated, wording
from engine.base.i18n import gettext
from engine.ledger import ledger
from engine.rules.cases.actions import decide
from engine.rules.cases.law import completeness_lapsed
from engine.rules.cases.model import ActionRefused, Actor, Case, FeeMismatch, Timing
from engine.rules.cases.steps import open_steps, steps_of
from engine.rules.forms import field_specs
from engine.service import access, auth, documents, uploads, worklist
from engine.service import chains as chain_service
from engine.service.cases import CaseService, SubmissionInvalid, UnknownCase
from engine.supervision.counts import lights_of
from engine.web import csrf, desk_nav
from engine.web.desk_words import (
    accept_hint,
    decide_hint,
    done_text,
    step_hints,
    typed_input,
    unticked_reasons,
    what_next,
)
from engine.web.form_view import answer_text
from engine.web.portal import browser_token, remember_browser
from engine.web.progress import local

STAFF_COOKIE = "yg_staff"
Render = Callable[..., Response]
Handler = Callable[[Request, Actor], Awaitable[Response]]

# (action, probe payload) tried in a dry run to decide what this person may do now
_PROBES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("accept", {}),
    ("refuse", {"reason": "-"}),
    ("request_supplement", {}),
    ("assess_fee", {}),
    ("record_payment", {}),
    ("extend", {"reason": "-"}),
    ("decide", {"outcome": "approve"}),
    ("complete", {}),
)


def staff_csrf(key: bytes, token: str) -> str:
    """The CSRF token of a staff session's forms (engine.web.csrf, purpose ``staff``)."""
    return csrf.token(key, csrf.STAFF, token)


def available(
    case: Case, item: Mapping[str, Any], actor: Actor, now: Any, timing: Timing | None = None
) -> dict[str, Any]:
    """What ``actor`` may do to ``case`` now: {action: details} (steps and procedure kinds listed),
    judged with the law's clocks (``timing``) exactly as the action itself will be."""
    out: dict[str, Any] = {}

    def allowed(action: str, payload: Mapping[str, Any]) -> bool:
        try:
            decide(case, item, action, actor, payload, now, timing)
        except FeeMismatch:
            return True  # the probe amount was wrong, the action itself is open
        except ActionRefused as exc:
            return exc.code == "invalid"  # only the probe's payload was lacking
        return True

    for action, probe in _PROBES:
        if action == "decide" and case.decision is not None:
            continue  # decided: the page says what was decided and offers what comes next, no second form
        if action == "record_payment" and case.assessment is not None:
            probe = {"amount_fen": int(case.assessment["total_fen"])}
        if allowed(action, probe):
            out[action] = True
    steps = [s for s in open_steps(case, item) if allowed("complete_step", {"step": s["id"]})]
    if steps:
        out["complete_step"] = steps
    for action in ("start_special_procedure", "end_special_procedure"):
        kinds = [sp for sp in item.get("special_procedures", []) if allowed(action, {"kind": sp["kind"]})]
        if kinds:
            out[action] = kinds
    return out


def _fen(text: str) -> int | None:
    """Yuan as typed (``80``, ``80.5``, ``80.50``) to exact fen; None when not an amount."""
    typed = text.strip().replace(",", "").replace("，", "")
    if not _AMOUNT.fullmatch(typed):  # not Decimal() alone: it takes Infinity, sNaN and 1E+999999999
        return None
    return int(Decimal(typed) * 100)


_AMOUNT = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,2})?")  # yuan to the fen, up to 10^12


def payload_from(action: str, form: FormData, item: Mapping[str, Any]) -> dict[str, Any]:
    """The action's payload from the desk's form (the engine checks it); ``in_person`` marks an
    action done with the applicant at the window (supervision counts visits against the item's
    ``visits.max``)."""
    payload = _payload(action, form)
    if form.get("in_person") == "1":
        payload["in_person"] = True
    return payload


def _payload(action: str, form: FormData) -> dict[str, Any]:
    text = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    if action in ("refuse", "extend"):
        return {"reason": text.get("reason", "")[:1000]}
    if action == "request_supplement":
        chosen = [str(v) for v in form.getlist("material")]
        return {
            "missing": [
                {"material": m, "reason": text.get(f"reason-{m}", "")[:500] or "材料不齐全或不符合法定形式"}
                for m in chosen
            ],
            "note": text.get("note", "")[:1000],
        }
    if action == "complete_step":
        return {"step": text.get("step", ""), "note": text.get("note", "")[:1000]}
    if action == "record_payment":
        fen = _fen(text.get("amount", ""))
        return {"amount_fen": fen if fen is not None else -1, "note": text.get("note", "")[:500]}
    if action in ("start_special_procedure", "end_special_procedure"):
        return {"kind": text.get("kind", ""), "note": text.get("note", "")[:1000]}
    if action == "decide":
        return {"outcome": text.get("outcome", ""), "reason": text.get("reason", "")[:1000]}
    return {}


def _session(service: CaseService, request: Request) -> tuple[Actor, str] | None:
    """The signed-in staff member of a request and their session token, or None."""
    token = request.cookies.get(STAFF_COOKIE, "")
    actor = auth.actor_for_token(service.db, token, service.clock.now()) if token else None
    return (actor, token) if actor is not None else None


def staff_from_cookie(service: CaseService) -> Callable[[Request], Actor | None]:
    """The signed-in staff member of a request, for other parts of the site (proxy filing)."""

    def staff_of(request: Request) -> Actor | None:
        found = _session(service, request)
        return found[0] if found else None

    return staff_of


StaffHandler = Callable[[Request, Actor, str], Awaitable[Response]]


def staff_guard(
    service: CaseService, key: bytes, rule: access.Rule | None = None
) -> Callable[[StaffHandler], Callable[[Request], Awaitable[Response]]]:
    """Wrap a staff page: a signed-in session (else to the login page), the CSRF token on every
    POST, and — with a role ``rule`` of engine.service.access — the role it names (else 403). A rule about a
    case is the handler's to apply, with the case (``access.may_see``)."""

    def guard(fn: StaffHandler) -> Callable[[Request], Awaitable[Response]]:
        async def wrapped(request: Request) -> Response:
            found = await run_in_threadpool(_session, service, request)
            if found is None:
                target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
                return RedirectResponse(f"/desk/login?next={target}", status_code=303)
            actor, token = found
            if rule is not None and rule.roles is not None and not rule.allows(actor):
                raise HTTPException(403, gettext("您的角色无权查看此页面。"))
            if request.method == "POST":
                form = await request.form(max_files=0, max_fields=200)
                csrf.check(request, form, key, csrf.STAFF, token)
            return await fn(request, actor, token)

        return wrapped

    return guard


def desk_routes(service: CaseService, render: Render, key: bytes) -> list[Route]:
    cat, db = service.catalogue, service.db
    thresholds = (cat.center or {}).get("supervision", {})
    warning_days = int(thresholds.get("warning_working_days", 1))
    departments = {d["id"]: d for d in (cat.center or {}).get("departments", [])}

    def show(request: Request, template: str, token: str, status: int = 200, **ctx: Any) -> Response:
        nav = desk_nav.links(service, ctx.get("actor"))
        response = render(template, status=status, csrf=staff_csrf(key, token) if token else "", nav=nav, **ctx)
        response.headers["Cache-Control"] = "no-store"
        return response

    def login_form(request: Request, status: int = 200, **ctx: Any) -> Response:
        """The login page; its CSRF token is tied to the browser cookie (login CSRF: nobody can
        sign a victim into the attacker's account from another site)."""
        browser, new = browser_token(request)
        response = render("desk/login.html", status=status, csrf=csrf.token(key, csrf.LOGIN, browser), **ctx)
        response.headers["Cache-Control"] = "no-store"
        return remember_browser(response, request, browser) if new else response

    async def login_page(request: Request) -> Response:
        return login_form(request, next=_safe_next(request.query_params.get("next", "")), error="")

    async def login(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=10)
        browser, _ = browser_token(request)
        csrf.check(request, form, key, csrf.LOGIN, browser)
        username, password = str(form.get("username", ""))[:64], str(form.get("password", ""))[:1024]
        target = _safe_next(str(form.get("next", "")))
        client = addresses.of(request)
        try:
            session = await run_in_threadpool(
                functools.partial(auth.start_session, client=client), db, username, password, service.clock.now()
            )
        except auth.AuthError as exc:
            status = 429 if isinstance(exc, auth.LoginThrottled) else 401
            message = wording.one_language(str(exc))
            return login_form(request, status, next=target, error=message, username=username)
        response = RedirectResponse(target or desk_nav.landing(session.actor), status_code=303)
        response.set_cookie(
            STAFF_COOKIE,
            session.token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    async def logout(request: Request, actor: Actor, token: str) -> Response:
        await run_in_threadpool(auth.logout, db, token)
        response = RedirectResponse("/desk/login", status_code=303)
        response.delete_cookie(STAFF_COOKIE, path="/")
        return response

    async def home(request: Request, actor: Actor, token: str) -> Response:
        item = request.query_params.get("item", "") or None
        state = request.query_params.get("state", "")
        states = [state] if state in worklist.OPEN_STATES else list(worklist.OPEN_STATES)
        rows = await run_in_threadpool(
            worklist.for_actor, db, actor, service.clock.now(), service.calendar, warning_days,
            item_code=item, states=states,
        )  # fmt: skip
        mine = sorted(
            {r.item_code for r in rows} | ({item} if item else set()),
        )
        return show(
            request, "desk/worklist.html", token, actor=actor, rows=rows, items=cat.items, chosen_item=item or "",
            chosen_state=state, states={k: wording.state(k) for k in wording.STATES}, open_states=worklist.OPEN_STATES,
            item_codes=mine,
            local=local, wording=wording, departments=departments,
        )  # fmt: skip

    def visible(actor: Actor, number: str) -> tuple[Case, dict[str, Any]]:
        """The case and its snapshot if this person may see it (engine.service.access); a case they may
        not see is answered as one that does not exist, so its number tells them nothing."""
        try:
            case, snap = service.load(number)
        except UnknownCase:
            raise HTTPException(404, gettext("没有这个办件。")) from None
        if not access.may_see(actor, case):
            raise HTTPException(404, gettext("没有这个办件。"))
        return case, snap

    def case_context(actor: Actor, number: str) -> dict[str, Any]:
        case, snap = visible(actor, number)
        item = snap["item"]
        with ledger.read_only(db) as conn:
            records = ledger.events_of(conn, number)
        try:
            due = service.deadlines(case, snap)
        except LookupError:
            due = None
        now = service.clock.now()
        timing = Timing(due.completeness, due.legal) if due else None
        frozen = field_specs(item, snap.get("forms", {}))  # the form the case was filed under
        data_rows = [  # as the applicant saw them on the check page: labels, and amounts in their unit
            {
                "section": section,
                "label": str(frozen[f"{section}.{k}"]["label"]) if f"{section}.{k}" in frozen else k,
                "value": answer_text(frozen[f"{section}.{k}"], v) if f"{section}.{k}" in frozen else v,
            }
            for section, values in case.data.items()
            for k, v in (values.items() if isinstance(values, Mapping) else [])
        ]
        files = uploads.fetch(db, access.case_uploads(case, records))
        materials = {m["id"]: m for m in stated.materials(item)}
        steps = steps_of(item)
        actions = available(case, item, actor, now, timing)
        return {
            "step_names": wording.step_names(steps),
            "hints": step_hints(steps),
            "accept_hint": accept_hint(steps),
            "decide_hint": decide_hint(steps),
            "what_next": what_next(case, item, actions),
            "case": case,
            "item": item,
            "actor": actor,
            "state": wording.state(case.state),
            "records": records,
            "due": due,
            "local": local,
            "wording": wording,
            "data_rows": data_rows,
            "files": files,
            "materials": materials,
            "open_steps": open_steps(case, item),
            "actions": actions,
            "lapsed": completeness_lapsed(case, timing, now),
            "delivery_light": worklist.light(due.delivery if due else None, now, service.calendar, warning_days, False)[
                0
            ],
            "documents": documents.documents_for(case, snap, cat.center, due, records),
            "lights": lights_of(db, number),
            "department": departments.get(case.department, {}),
        }

    async def case_page(request: Request, actor: Actor, token: str) -> Response:
        number = request.path_params["number"]
        ctx = await run_in_threadpool(case_context, actor, number)
        done = request.query_params.get("done", "")
        flash = done_text(done, ctx["records"], ctx["step_names"]) if done in wording.ACTIONS else ""
        return show(request, "desk/case.html", token, **ctx, flash=flash, error="", typed={})

    async def act(request: Request, actor: Actor, token: str) -> Response:
        number = request.path_params["number"]
        form = await request.form(max_files=0, max_fields=200)
        action = str(form.get("action", ""))
        version = str(form.get("version", ""))

        def work() -> Response:
            _, snap = visible(actor, number)  # before anything about the form is said
            if input_guard.whole(version) is None:
                raise HTTPException(400, gettext("表单缺少办件版本，请刷新页面后重试。"))
            payload = payload_from(action, form, snap["item"])
            status, error = 200, ""
            typed = typed_input(form)
            unused = unticked_reasons(action, form, snap["item"])
            try:
                if action == "decide" and payload["outcome"] not in ("approve", "deny"):
                    raise ActionRefused("invalid", gettext("请选择决定：“准予”或“不予准予”，再提交。"))
                if unused:
                    raise ActionRefused(
                        "invalid",
                        gettext(
                            "未勾选的材料填写的说明未被采用：%(names)s。请勾选这些材料，或删去其说明后再发出补正告知。"
                        )
                        % {"names": "、".join(unused)},
                    )
                chain_service.after_member_action(service, service.act(number, action, actor, payload, int(version)))
                return RedirectResponse(f"/desk/cases/{number}?done={action}", status_code=303)
            except ledger.VersionConflict:
                status, error = 409, gettext("本件刚刚被他人办理，页面已更新为最新状态，请核对后再操作。")
            except FeeMismatch as exc:
                status, error = 422, wording.one_language(str(exc))
            except ActionRefused as exc:
                status = 403 if exc.code == "forbidden" else 422
                error = wording.one_language(str(exc))
            except SubmissionInvalid as exc:
                status, error = 422, gettext("；").join(e.text() for e in exc.errors)  # in the page's language
            ctx = case_context(actor, number)
            return show(request, "desk/case.html", token, status, **ctx, flash="", error=error, typed=typed)

        return await run_in_threadpool(work)

    async def file(request: Request, actor: Actor, token: str) -> Response:
        number, upload_id = request.path_params["number"], request.path_params["upload"]

        def find() -> tuple[Any, Case, list[Any], dict[str, Any]]:
            case, snap = visible(actor, number)
            with ledger.read_only(db) as conn:
                records = ledger.events_of(conn, number)
            if not access.may_fetch_upload(actor, case, records, upload_id):
                return None, case, records, {}
            materials = {m["id"]: m for m in stated.materials(snap["item"])}
            return uploads.fetch(db, {upload_id}).get(upload_id), case, records, materials

        row, case, records, materials = await run_in_threadpool(find)
        if row is None:
            raise HTTPException(404, gettext("本件没有这个文件。"))
        # named after its material (never the client's name, e.g. evil.html) with the sniffed type's
        # extension, served as that type and as an attachment: nothing uploaded renders in the desk
        given = [case.uploads] + [r.payload.get("uploads", {}) for r in records if r.action == "supplement"]
        material, index = next(
            ((m, ids.index(upload_id)) for sent in given for m, ids in sent.items() if upload_id in ids), ("", 0)
        )
        label = str(materials.get(material, {}).get("name") or material or "材料")
        name = uploads.served_name(label, row.content_type, index)
        response = FileResponse(row.path, media_type=uploads.served_type(row.content_type))
        response.headers["Content-Disposition"] = uploads.content_disposition(name, f"{upload_id}.{row.format}")
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    async def document(request: Request, actor: Actor, token: str) -> Response:
        number, index = request.path_params["number"], request.path_params["index"]
        ctx = await run_in_threadpool(case_context, actor, number)
        docs = ctx["documents"]
        at = input_guard.whole(index)
        if at is None or not 0 <= at < len(docs):
            raise HTTPException(404, gettext("没有这份文书。"))
        return HTMLResponse(documents.render(docs[int(index)], cat.center))

    async def proxy(request: Request, actor: Actor, token: str) -> Response:
        code = request.query_params.get("item", "")
        if code not in cat.items:
            raise HTTPException(404, gettext("没有这个事项。"))
        return RedirectResponse(f"/apply/{code}", status_code=303)

    def staff(method: str, path: str, fn: StaffHandler) -> Route:
        return guarded_route(service, key, method, path, fn)

    return [
        staff("GET", "/desk/proxy", proxy),
        Route("/desk/login", login_page, methods=["GET"]),
        Route("/desk/login", login, methods=["POST"]),
        staff("POST", "/desk/logout", logout),
        staff("GET", "/desk", home),
        staff("GET", "/desk/cases/{number}", case_page),
        staff("POST", "/desk/cases/{number}/act", act),
        staff("GET", "/desk/cases/{number}/files/{upload}", file),
        staff("GET", "/desk/cases/{number}/documents/{index}", document),
    ]


def guarded_route(service: CaseService, key: bytes, method: str, path: str, fn: StaffHandler) -> Route:
    """A staff route guarded by its rule in engine.service.access.ROUTES (KeyError: give the route a rule
    there first)."""
    return Route(path, staff_guard(service, key, access.rule_for(method, path))(fn), methods=[method])


def _safe_next(target: str) -> str:
    """Only a path on this site (no scheme, no //host): never an open redirect."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else ""
