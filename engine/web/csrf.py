"""The one CSRF scheme of every HTML form (portal, progress pages, desk, supervision, admin).

A form's token is an HMAC with the server key (engine.base.keys) over a *purpose* and what the form
is bound to: the browser's cookie token for the applicant's forms and the staff login, the
staff session token for every staff page. Without the key nobody can make a token for a cookie
value, and a token made for one purpose (say the portal) is refused by the others (the desk).

A form posted from another site is refused twice: its page could not read the token, and —
for browsers that say where a request comes from — ``Sec-Fetch-Site: cross-site`` or
``same-site`` (a neighbouring subdomain, which could also have planted a cookie) is refused
before the token is looked at.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request

from engine.base import keys
from engine.base.i18n import N_, gettext

APPLY = "apply"  # the portal's application forms (bound to the browser cookie)
PROGRESS = "progress"  # the progress pages: find a case, supplement, rate (bound to the browser cookie)
LOGIN = "login"  # the staff login form (bound to the browser cookie: no login CSRF)
STAFF = "staff"  # every signed-in staff page (bound to the session token)
PURPOSES = frozenset({APPLY, PROGRESS, LOGIN, STAFF})

EXPIRED = N_("表单已失效（可能打开太久或来自其他网站），请返回上一页刷新后重新提交。")


def token(key: bytes, purpose: str, binding: str) -> str:
    """The CSRF token of forms for ``purpose`` bound to ``binding`` (a cookie or session token)."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown CSRF purpose {purpose!r}")
    # the binding is hashed first, so a token never carries (part of) the secret it is bound to
    return keys.sign(key, "csrf", purpose, hashlib.sha256(binding.encode("utf-8", "replace")).hexdigest())


def valid(key: bytes, sent: object, purpose: str, binding: str) -> bool:
    """Whether ``sent`` is the token for ``purpose`` and ``binding`` (compared in constant time)."""
    if not isinstance(sent, str) or not binding or not sent.isascii():
        return False
    return hmac.compare_digest(sent.encode("ascii"), token(key, purpose, binding).encode("ascii"))


def check(request: Request, form: FormData, key: bytes, purpose: str, binding: str) -> None:
    """Refuse (403, the HTML error page) a form without the right token or sent from another site."""
    if request.headers.get("sec-fetch-site", "").lower() in ("cross-site", "same-site"):
        raise HTTPException(403, gettext(EXPIRED))
    if not valid(key, form.get("csrf"), purpose, binding):
        raise HTTPException(403, gettext(EXPIRED))


__all__ = ["APPLY", "EXPIRED", "LOGIN", "PROGRESS", "PURPOSES", "STAFF", "check", "token", "valid"]
