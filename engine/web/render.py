"""Pages from templates: the one Jinja environment of the site and the renderer of a catalogue's pages.

Templates live in engine/web/templates (read through the package, so an installed wheel finds them).
Their words go through the request's language (engine.base.i18n); the source text is Chinese.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse

from engine.base import i18n, wording
from engine.catalogue.model import Catalogue
from engine.rules.calendar import WorkCalendar
from engine.service import provisional
from engine.web.deps import Render
from engine.web.portal.progress import local as progress_local

env = Environment(
    loader=PackageLoader("engine.web", "templates"),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
)
# the request's language (engine.web.middleware.LocaleMiddleware); the source text is Chinese
env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
env.globals["current_language"] = i18n.language
env.globals["languages"] = i18n.LANGUAGES
# after a deadline: tentative(date, first provisional year[, full]) marks it 暂定 (engine.service.provisional)
env.globals["tentative"] = provisional.mark
# every time a person reads: local time (engine.base.wording.local_time), ``{{ at|local }}``
env.filters["local"] = wording.local_time
env.filters["local_day"] = wording.local_day

# A number never parts from its unit at a line end ("500平方/米", "10万/元"): ``{{ text|units }}``.
_UNIT = re.compile(
    r"\d[\d,.]*\s?(?:平方米|平方公里|立方米|万元|亿元|元|个工作日|个自然日|工作日|自然日|日|天|小时|分钟|千米|公里|米|吨|千伏|千瓦|MB|％|%)"
)


def keep_units(text: Any) -> Markup:
    """``text`` escaped, each number with its unit in a ``span.nw`` (white-space:nowrap, base.html)."""
    return Markup(_UNIT.sub(lambda m: f'<span class="nw">{m.group(0)}</span>', str(escape(text))))


env.filters["units"] = keep_units


def renderer(cat: Catalogue, calendar: WorkCalendar | None = None) -> Render:
    """Render a template as a page of ``cat``'s center (its name heads every page). ``since`` in
    every page is ``calendar``'s first provisional year: a deadline computed on the page is 暂定
    from that year on (``tentative(date, since)``)."""
    since = calendar.provisional_from if calendar is not None else None

    def render(name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        ctx.setdefault("since", since)
        ctx.setdefault("center", cat.center or {})
        ctx.setdefault("wording", wording)
        ctx.setdefault("actor", None)
        ctx.setdefault("local", progress_local)
        return HTMLResponse(env.get_template(name).render(**ctx), status_code=status)

    return render


__all__ = ["env", "keep_units", "renderer"]
