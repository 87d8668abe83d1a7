"""What a catalogue version's handlers reach through ``request.app.state``: one typed object.

Every live catalogue version is one Starlette app (engine.web.app builds it; live reload swaps it
whole), and its handlers are module-level functions: they find the version's service, renderer,
key and limits with ``deps(request)``, never in a closure, so a handler can be imported and tested
alone and a preview (engine.web.admin) serves the same handlers with its own ``Deps``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from engine.rules.cases.model import Actor
from engine.service.cases import CaseService
from engine.service.upload_limits import Limits

if TYPE_CHECKING:
    from engine.supervision.search import ItemIndex
    from engine.web.reload import LiveApp

Render = Callable[..., HTMLResponse]
"""Render a template as a page of one catalogue's center: a template name, a status and the context."""


@dataclass(frozen=True, slots=True)
class Deps:
    """Everything one catalogue version's pages and API need, built once per version."""

    service: CaseService
    render: Render
    key: bytes  # the server key (engine.base.keys): CSRF tokens, cookies, API draft tokens
    uploads_dir: Path
    limits: Limits
    staff_of: Callable[[Request], Actor | None]  # the signed-in staff member, if any (proxy filing)
    index: ItemIndex | None = None  # the catalogue's search index (home page, public search)
    open_data_dir: Path | None = None  # where the open-data file is written (/open-data)
    extra: dict[str, Any] | None = None  # what one part of the site keeps per version (e.g. admin's live app)
    live: LiveApp | None = None  # the server's live app (/healthz: whether newer files fail to load)
    # the same version's service on the read database (serve --db-read: a replica); None reads the primary.
    # Handlers never pick it themselves: reader(request) does, from REPLICA_ROUTES
    replica: CaseService | None = None
    # What handlers compute once per version and keep (the portal's blank pages, admin's preview, the
    # guide pages), filled on first use. Not an argument: every Deps (a preview's made with
    # dataclasses.replace too) starts with its own, so nothing cached for one catalogue is served for another.
    memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)


def deps(request: Request) -> Deps:
    """The ``Deps`` of the catalogue version that serves ``request``."""
    found: Deps = request.app.state.deps
    return found


REPLICA_ROUTES = frozenset({
    "/announcements",
    "/announcements.{kind:str}",
    "/sunshine",
    "/sunshine/{month}.{kind:str}",
    "/open-data/yangguang.sqlite",
    "/transparency/checkpoints",
    "/supervision",
    "/supervision/cases",
    "/api/supervision/summary",
})  # fmt: skip
"""The one place that decides which routes may read from the replica (``serve --db-read``): public and
supervision pages that only read, and can show figures a moment old. Everything else reads the primary:
whatever writes, and whatever must read its own writes (the desk, the portal, the API, sign-in and the
session check of every staff page, the corrections page a supervisor is sent back to after issuing one)."""


def reader(request: Request) -> CaseService:
    """The service ``request``'s handler reads from: the replica's for a GET of a REPLICA_ROUTES route when
    the server has one (``--db-read``), else the primary's."""
    d = deps(request)
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    if d.replica is not None and request.method in ("GET", "HEAD") and path in REPLICA_ROUTES:
        return d.replica
    return d.service


__all__ = ["REPLICA_ROUTES", "Deps", "Render", "deps", "reader"]
