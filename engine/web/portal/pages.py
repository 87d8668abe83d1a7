"""The application's pages as the applicant sees them: a form section's fields, the materials page,
and the check page with every answer and file; each with its CSRF token and never cached.

Every page is generated from the item's YAML (engine.web.portal.form_view). A blank page (no draft
yet) is the same for everyone but its CSRF token: it is rendered once per item, page and language
and kept in the version's ``Deps.memo``, with a placeholder swapped for the browser's token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from engine.base import i18n, stated
from engine.catalogue.model import Catalogue, Document
from engine.rules import forms
from engine.rules.forms import FieldError
from engine.service import drafts, uploads
from engine.web import csrf
from engine.web.deps import deps
from engine.web.portal import form_view
from engine.web.portal.application import draft_key, urls
from engine.web.portal.browser import remember_browser
from engine.web.portal.form_view import CHECK_PAGE, MATERIALS_PAGE

PLACEHOLDER = "0" * 31 + "f"  # shaped like a token, so the template escapes nothing differently


def csrf_token(request: Request, browser: str) -> str:
    """The token of this browser's application forms (engine.web.csrf, purpose ``apply``)."""
    return csrf.token(deps(request).key, csrf.APPLY, browser)


def errors_by_field(errors: list[FieldError]) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in errors:
        out.setdefault(e.field, e.text())  # in the page's language (the API keeps the Chinese message)
    return out


def show(
    request: Request,
    template: str,
    browser: str,
    new_browser: bool,
    status: int = 200,
    token: str | None = None,
    **ctx: Any,
) -> Response:
    """A portal page with the browser's CSRF token (or ``token``), never cached, the browser's cookie
    set when it is new."""
    render = deps(request).render
    response = render(template, status=status, csrf=token or csrf_token(request, browser), **ctx)
    response.headers["Cache-Control"] = "no-store"  # personal data: never cached
    return remember_browser(response, request, browser) if new_browser else response


def page_context(request: Request, doc: Document, draft: drafts.Draft | None, page_id: str) -> dict[str, Any]:
    cat = deps(request).service.catalogue
    all_pages = form_view.pages(cat, doc, draft.data if draft else {})
    ids = [p.id for p in all_pages]
    if page_id not in ids:
        raise HTTPException(404, i18n.gettext("这一页不存在或已不需要填写，请从第一页开始。"))
    index = ids.index(page_id)
    return {
        "item": cat.data(doc),
        **urls(doc),
        "pages": all_pages,
        "page": all_pages[index],
        "index": index,
        "draft": draft,
    }


def next_url(cat: Catalogue, doc: Document, draft: drafts.Draft, after: str, return_to: str = "") -> str:
    """The page after ``after`` (or the check page, when the applicant came from it to change an answer)."""
    ids = [p.id for p in form_view.pages(cat, doc, draft.data)]
    if return_to == CHECK_PAGE and CHECK_PAGE in ids:
        target = CHECK_PAGE
    else:
        target = ids[min(ids.index(after) + 1, len(ids) - 1)] if after in ids else ids[0]
    return f"{urls(doc)['base']}/{target}?draft={draft.id}"


def blank_page(request: Request, doc: Document, page_id: str) -> str:
    """The page without a draft, with :data:`PLACEHOLDER` for its CSRF token: rendered once per item,
    page, language and return target for this catalogue version."""
    blank: dict[tuple[str, str, str, str], str] = deps(request).memo.setdefault("portal.blank", {})
    return_to = CHECK_PAGE if request.query_params.get("return_to") == CHECK_PAGE else ""
    key = (draft_key(doc), page_id, i18n.language(), return_to)
    if key not in blank:
        ctx = page_context(request, doc, None, page_id)
        html = render_page(request, doc, ctx, PLACEHOLDER, False, {}, 200, token=PLACEHOLDER)
        blank[key] = bytes(html.body).decode("utf-8")
    return blank[key]


def render_page(
    request: Request,
    doc: Document,
    ctx: dict[str, Any],
    browser: str,
    new: bool,
    errors: Mapping[str, str],
    status: int,
    summary: list[FieldError] | None = None,
    token: str | None = None,
) -> Response:
    """The page ``ctx`` names (engine.web.portal.pages.page_context), with ``errors`` by field."""
    cat = deps(request).service.catalogue
    draft: drafts.Draft | None = ctx["draft"]
    data = draft.data if draft else {}
    page: form_view.Page = ctx["page"]
    summary = [e.translated() for e in summary or []]
    if page.id == MATERIALS_PAGE:
        return show(
            request, "portal/materials.html", browser, new, status, token, **ctx,
            materials=materials_view(request, doc, draft, errors), errors=errors, summary=summary or [],
        )  # fmt: skip
    if page.id == CHECK_PAGE:
        return show(
            request, "portal/check.html", browser, new, status, token, **ctx,
            answers=answers(cat, doc, data), files=files_view(request, doc, draft), summary=summary or [],
        )  # fmt: skip
    fields = form_view.widgets(cat, doc, page.id, data, errors)
    ordered = [(w.id, w.error) for w in fields if w.error]
    known = form_view.flat_values(forms.normalise(cat, doc, data))
    return show(
        request, "portal/page.html", browser, new, status, token, **ctx, fields=fields, summary_links=ordered,
        return_to=request.query_params.get("return_to", ""), known=known,
    )  # fmt: skip


def materials_view(
    request: Request, doc: Document, draft: drafts.Draft | None, errors: Mapping[str, str]
) -> list[dict[str, Any]]:
    service = deps(request).service
    cat = service.catalogue
    data = draft.data if draft else {}
    have = draft.uploads if draft else {}
    specs = {m["id"]: m for m in stated.materials(cat.data(doc))}
    found = uploads.fetch(service.db, (u for v in have.values() for u in v))
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


def files_view(request: Request, doc: Document, draft: drafts.Draft | None) -> list[dict[str, Any]]:
    return [m for m in materials_view(request, doc, draft, {}) if not m["shared"] and not m["produced_by"]]


def answers(cat: Catalogue, doc: Document, data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The check page's answers, page by page, as labels and the values in words."""
    typed = forms.normalise(cat, doc, data)
    infos = form_view.item_fields(doc, cat.forms)
    out = []
    for page in form_view.pages(cat, doc, data):
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
