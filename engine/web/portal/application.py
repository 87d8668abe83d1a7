"""What an applicant applies for: an item, or a chain's one application (一表申请), and whether it
can be applied for here.

A chain's one application is item-shaped (engine.rules.chains.application_item), so every portal
page serves items and chains alike; only the URLs, the draft's key and the submission differ.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request

from engine.base import i18n, stated
from engine.base.i18n import N_
from engine.catalogue.model import Catalogue, Document
from engine.rules import chains, notice
from engine.web.deps import Deps, deps

CHAIN_APPLICATION = "chain_application"  # Document.kind of a chain's one application

UNAVAILABLE_WORDS = {
    "suspended": N_("本事项已暂停办理，暂不受理申请。"),
    "cancelled": N_("本事项已取消，不再受理申请。"),
    "materials": N_("本事项公布的办事指南未说明申请材料，不能在线申请，请到窗口办理或先打电话咨询。"),
}
NO_SUCH_ITEM = N_("没有这个事项，请从首页查找。")
NO_SUCH_CHAIN = N_("没有这个审批链条，请从首页查找。")


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
    return i18n.gettext("本中心不办理此事项（{code}）：{reason}").format(code=code, reason=reason)


def chain_applications(d: Deps) -> dict[str, Document]:
    """Every chain's one application in the version ``d`` serves, built on first use and kept."""
    found: dict[str, Document] | None = d.memo.get("portal.chain_applications")
    if found is None:
        cat = d.service.catalogue
        found = {
            chain_id: Document(doc.file, CHAIN_APPLICATION, chains.application_item(cat, cat.data(doc)))
            for chain_id, doc in cat.chains.items()
        }
        d.memo["portal.chain_applications"] = found
    return found


def applied_for(request: Request, code: str) -> Document:
    """The item (``/apply/CODE``) or chain application (``/chains/CODE/apply``) a page is about: 404 when
    there is none (saying why, if a lower-level catalogue withdrew it), 409 when it cannot be applied for."""
    d = deps(request)
    cat = d.service.catalogue
    is_chain = request.url.path.startswith("/chains/")
    doc = chain_applications(d).get(code) if is_chain else cat.items.get(code)
    if doc is None:
        why = None if is_chain else withdrawn_message(cat, code)
        if why is not None:  # withdrawn by a lower-level catalogue: say why
            raise HTTPException(404, why)
        raise HTTPException(404, i18n.gettext(NO_SUCH_CHAIN if is_chain else NO_SUCH_ITEM))
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
    """What a draft of this application is kept under (engine.service.drafts)."""
    return f"chain:{doc.data['code']}" if doc.kind == CHAIN_APPLICATION else str(doc.data["code"])


__all__ = [
    "CHAIN_APPLICATION",
    "UNAVAILABLE_WORDS",
    "applied_for",
    "chain_applications",
    "draft_key",
    "unavailable_message",
    "urls",
    "withdrawn_message",
]
