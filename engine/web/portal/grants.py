"""Which cases this browser may see on the progress pages (办件查询), and the cookies that say so.

The query code is checked once (``POST /progress``, engine.service.query_codes); the browser then
holds a signed cookie for that case only (:data:`GRANT_COOKIE` + number), which names its own end,
so the code never travels in a URL. A browser may instead ask to be remembered: a long-lived,
revocable grant of this device (engine.service.device_grants). One code opens a chain application
and every member case.
"""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request

from engine.base import input_guard, keys
from engine.base.i18n import gettext
from engine.ledger import tables
from engine.ledger.db import read_only
from engine.service import chains as chain_service
from engine.service import device_grants
from engine.web.deps import deps

GRANT_COOKIE = "yg_case_"  # + case number
GRANT_SECONDS = 8 * 3600


def is_chain(number: str) -> bool:
    """A chain application's number (engine.service.chains) rather than a case's."""
    return number.startswith(chain_service.NUMBER_PREFIX)


def device(request: Request) -> str | None:
    """This browser's remembered device, if it asked to be remembered (and the cookie is signed)."""
    return device_grants.device_of(deps(request).key, request.cookies.get(device_grants.COOKIE, ""))


def granted(request: Request, number: str, browser: str) -> bool:
    """This browser gave the case's query code — or its chain's: one code opens the chain
    application and every member case — or asked to be remembered for it and was not forgotten."""
    d = deps(request)
    now = d.service.clock.now()
    expires, _, signature = request.cookies.get(GRANT_COOKIE + number, "").partition(".")
    if (
        (input_guard.whole(expires) or 0) > now.timestamp()  # the server ends a grant, not the browser
        and keys.verify(d.key, signature, "case", number, browser, expires)
    ):
        return True
    remembered = device(request)
    if remembered is not None and device_grants.allows(d.service.db, remembered, number, now):
        return True
    chain = chain_of(request, number)
    return chain is not None and granted(request, chain, browser)


def grant_value(request: Request, number: str, browser: str) -> str:
    """``expires.signature``: the grant names its own end (a copied cookie stops working
    :data:`GRANT_SECONDS` after the code was given, whatever the browser keeps)."""
    d = deps(request)
    expires = str(int(d.service.clock.now().timestamp()) + GRANT_SECONDS)
    return f"{expires}.{keys.sign(d.key, 'case', number, browser, expires)}"


def chain_of(request: Request, number: str) -> str | None:
    """The chain application a member case belongs to, if any."""
    if is_chain(number):
        return None
    with read_only(deps(request).service.db) as conn:
        found = conn.execute(select(tables.cases.c.chain_number).where(tables.cases.c.number == number)).first()
    return found.chain_number if found is not None and found.chain_number else None


def remembered_cases(request: Request) -> list[dict[str, str]]:
    """The cases this browser asked to remember, with what they are, for the query page."""
    found = device(request)
    if found is None:
        return []
    service = deps(request).service
    numbers = device_grants.numbers(service.db, found, service.clock.now())
    with read_only(service.db) as conn:
        codes = dict(
            conn.execute(
                select(tables.cases.c.number, tables.cases.c.item_code).where(tables.cases.c.number.in_(numbers))
            ).all()
        )
    items = service.catalogue.items
    out = []
    for number in numbers:
        code = codes.get(number)
        name = items[code].data["name"] if code in items else (gettext("并联审批申请") if is_chain(number) else "")
        out.append({"number": number, "name": str(name)})
    return out


__all__ = [
    "GRANT_COOKIE",
    "GRANT_SECONDS",
    "chain_of",
    "device",
    "grant_value",
    "granted",
    "is_chain",
    "remembered_cases",
]
