"""The JSON API: sessions, drafts and uploads, submission, reading and acting on cases and chain
applications, the catalogue's items and forms, and the supervision export; one module per resource.

Handlers are module-level functions that reach the catalogue version serving the request through
``engine.web.deps.deps(request)``; they raise, and engine.web.errors answers every error in one shape::

    {"error": {"status": 422, "code": "invalid", "message": "...", "fields": [{"field", "code", "message"}]}}

(``fields`` only for field errors), the message in the request's language (``?lang=en`` or
Accept-Language; Chinese by default). A failure the code did not expect is logged and answered with a
generic 500; no traceback reaches the client.

Access: staff send ``Authorization: Bearer <token>`` from ``POST /api/session``. Applicants have no
accounts: they submit without a token and reach their case with its query code. Reading a case
without a token and without ``query_code`` is 403; an unknown number and a wrong query code both
answer the same 404, so numbers cannot be probed. engine/web/openapi.py documents every route.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from engine.service.cases import CaseService
from engine.service.upload_limits import LIMITS, Limits
from engine.web import errors, openapi
from engine.web.api import cases, chains, items, session, supervision
from engine.web.api import uploads as api_uploads
from engine.web.deps import Deps
from engine.web.middleware import InputGuard, LocaleMiddleware
from engine.web.render import renderer

#: one route per path, so a 405 answers Allow with every method the path has
ROUTES = [
    Route("/api/session", session.session, methods=["POST", "DELETE"]),
    Route("/api/drafts", api_uploads.draft_create, methods=["POST"]),
    Route("/api/uploads", api_uploads.upload, methods=["POST"]),
    Route("/api/cases", cases.case_create, methods=["POST"]),
    Route("/api/cases/{number}", cases.case_get, methods=["GET"]),
    Route("/api/chains", chains.chain_create, methods=["POST"]),
    Route("/api/chains/{number}", chains.chain_get, methods=["GET"]),
    Route("/api/cases/{number}/actions", cases.case_action, methods=["POST"]),
    Route("/api/items", items.items, methods=["GET"]),
    Route("/api/items/{code}", items.item, methods=["GET"]),
    Route("/api/items/{code}/form", items.item_form, methods=["GET"]),
    Route("/api/supervision/summary", supervision.summary, methods=["GET"]),
    Route("/openapi.json", openapi.serve, methods=["GET"]),
]


def standalone(service: CaseService, upload_dir: Path, limits: Limits = LIMITS, key: bytes | None = None) -> Starlette:
    """The API alone, as one app on ``service`` (tests; a host that serves no pages): the same routes,
    error answers and language choice as the site. ``key`` signs API draft tokens (engine.base.keys;
    without one, a key of this app: its tokens then end with it)."""
    app = Starlette(
        routes=ROUTES,
        exception_handlers=errors.HANDLERS,
        middleware=[
            Middleware(LocaleMiddleware),
            Middleware(InputGuard, errors.bad_text),
            Middleware(errors.LastResort),
        ],
    )
    app.state.deps = Deps(
        service=service,
        render=renderer(service.catalogue, service.calendar),
        key=key if key is not None else secrets.token_bytes(32),
        uploads_dir=upload_dir,
        limits=limits,
        staff_of=lambda request: None,  # no staff pages: API staff send bearer tokens
    )
    return app


__all__ = ["ROUTES", "standalone"]
