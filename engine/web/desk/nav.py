"""Where each member of staff lands after login, and the links to the work waiting for them
that head every staff page (with how many items wait behind each).

Every role lands on its own work: the front desk on the chain applications waiting for unified
acceptance, supervisors on the supervision dashboard, administrators on the catalogue's admin
page, everyone else on their worklist. Who may open which page is engine.service.access's rule; a link
is shown only to those the rule lets in.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from engine.base.i18n import gettext
from engine.ledger import outbox, tables
from engine.ledger.db import read_only
from engine.rules.cases.model import Actor
from engine.service import access, appeal_lists, worklist
from engine.service import chains as chain_service
from engine.service.cases import CaseService

# role -> the page that is that role's own work (others: the worklist, /desk)
_LANDING = {
    access.FRONT_DESK: "/desk/chains",
    "supervisor": "/supervision",
    "admin": "/admin",
}


@dataclass(frozen=True, slots=True)
class Link:
    href: str
    label: str
    count: int | None = None  # items waiting behind the link; None: not counted


def landing(actor: Actor) -> str:
    """The page this person lands on after login when no other page was asked for."""
    target = _LANDING.get(actor.role, "/desk")
    return target if access.rule_for("GET", target).allows(actor) else "/desk"


def waiting_count(service: CaseService, actor: Actor) -> int:
    """How many open cases wait on this person's role in their department (everything open for
    those who see the whole center): the worklist's rows, counted without building them."""
    c = tables.cases
    query = select(c.c.assignee_role, func.count()).where(c.c.state.in_(worklist.OPEN_STATES))
    if not access.center_wide(actor):
        query = query.where(c.c.department == actor.department)
    with read_only(service.db) as conn:
        rows = conn.execute(query.group_by(c.c.assignee_role)).all()
    if access.center_wide(actor):
        return sum(int(n) for _, n in rows)
    return sum(int(n) for assignee, n in rows if worklist.waits_on(assignee, actor))


def _sees_appeals(service: CaseService, actor: Actor) -> bool:
    """The appeals link heads the pages of those who record or watch requests and complaints (and of anyone
    with one waiting)."""
    office = service.catalogue.appeals_office()
    return access.may_record_appeal(actor) or access.may_see_appeal(actor, "", office)


def _failing(service: CaseService) -> int:
    with read_only(service.db) as conn:
        counts = outbox.status_counts(conn)
    return counts.get("failed", 0) + counts.get("dead", 0)


def links(service: CaseService, actor: Actor | None) -> list[Link]:
    """The staff pages this person may open, with the work waiting behind each."""
    if actor is None:
        return []
    out = [Link("/desk", gettext("待办件"), waiting_count(service, actor))]
    if access.rule_for("GET", "/desk/chains").allows(actor):
        out.append(Link("/desk/chains", gettext("链条申请统一受理"), len(chain_service.waiting(service))))
    if service.catalogue.appeals is not None:
        waiting = appeal_lists.count(service, actor)
        if waiting or _sees_appeals(service, actor):
            out.append(Link("/desk/appeals", gettext("诉求办理"), waiting))
    if service.catalogue.appointments and (access.holds(actor, access.CHAIN_DESK) or actor.department):
        out.append(Link("/desk/bookings", gettext("预约叫号")))  # the windows' appointments (engine.web.desk.bookings)
    if access.rule_for("GET", "/supervision").allows(actor):
        out.append(Link("/supervision", gettext("电子监察")))
    if access.rule_for("GET", "/admin").allows(actor):
        out.append(Link("/admin", gettext("目录管理")))
    if access.rule_for("GET", "/admin/outbox").allows(actor):  # with how many are failing or given up
        out.append(Link("/admin/outbox", gettext("通知发送"), _failing(service)))
    return out
